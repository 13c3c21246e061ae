package netguard

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
)

func TestCheckRefusesThePrivateAndReservedRanges(t *testing.T) {
	g := New(nil)
	refused := []string{
		"0.0.0.0", "0.1.2.3", "10.0.0.1", "100.64.0.1", "100.127.255.254", "127.0.0.1", "127.255.0.1",
		"169.254.0.5", "169.254.169.254", "172.16.0.1", "172.31.255.255", "192.0.0.8", "192.168.1.1",
		"198.18.0.1", "198.19.255.255", "224.0.0.1", "239.1.2.3", "240.0.0.1", "255.255.255.255",
		"::", "::1", "fc00::1", "fd12:3456::1", "fe80::1", "ff02::1", "64:ff9b::8.8.8.8", "2002:0808:0808::1",
		"2001:0:4136:e378:8000:63bf:3fff:fdd2", "::ffff:127.0.0.1", "::ffff:10.0.0.1", "::ffff:169.254.169.254",
		"fd00:ec2::254", "100.100.100.200", "168.63.129.16", "fe80::1%eth0",
	}
	for _, s := range refused {
		a := netip.MustParseAddr(s)
		if err := g.Check(a); !errors.Is(err, ErrRefused) {
			t.Errorf("Check(%s) = %v, want refused", s, err)
		}
	}
	allowed := []string{"8.8.8.8", "1.1.1.1", "93.184.216.34", "172.32.0.1", "100.128.0.1", "192.0.1.1",
		"2606:4700:4700::1111", "::ffff:8.8.8.8", "198.20.0.1", "11.0.0.1"}
	for _, s := range allowed {
		if err := g.Check(netip.MustParseAddr(s)); err != nil {
			t.Errorf("Check(%s) = %v, want allowed", s, err)
		}
	}
}

func TestAllowPrivateOpensRangesButNeverMetadata(t *testing.T) {
	ps, err := ParsePrefixes("127.0.0.0/8, 10.0.0.1,169.254.0.0/16,fd00::/8,100.64.0.0/10")
	if err != nil {
		t.Fatal(err)
	}
	g := New(ps)
	for _, s := range []string{"127.0.0.1", "::ffff:127.0.0.1", "10.0.0.1", "169.254.1.1", "fd00::5"} {
		if err := g.Check(netip.MustParseAddr(s)); err != nil {
			t.Errorf("Check(%s) = %v, want allowed by the opened ranges", s, err)
		}
	}
	for _, s := range []string{"10.0.0.2", "::1", "192.168.0.1"} {
		if err := g.Check(netip.MustParseAddr(s)); !errors.Is(err, ErrRefused) {
			t.Errorf("Check(%s) = %v, want refused (not opened)", s, err)
		}
	}
	for _, s := range []string{"169.254.169.254", "::ffff:169.254.169.254", "fd00:ec2::254", "100.100.100.200", "168.63.129.16"} {
		var re *RefusedError
		if err := g.Check(netip.MustParseAddr(s)); !errors.As(err, &re) || !re.Metadata {
			t.Errorf("Check(%s) = %v, want refused as a metadata address", s, err)
		}
	}
}

func TestParsePrefixesRefusesGarbage(t *testing.T) {
	for _, s := range []string{"x", "10.0.0.0/33", "10.0.0.1,nope", "::1/129"} {
		if _, err := ParsePrefixes(s); err == nil {
			t.Errorf("ParsePrefixes(%q) accepted", s)
		}
	}
	if ps, err := ParsePrefixes(""); err != nil || len(ps) != 0 {
		t.Errorf(`ParsePrefixes("") = %v, %v`, ps, err)
	}
}

// A name whose answer holds one refused address among public ones is refused: the guard must not let
// the resolver (an attacker) pick which address is used.
func TestResolveRefusesANameWithAnyPrivateAddress(t *testing.T) {
	g := New(nil)
	g.LookupNetIP = func(_ context.Context, _, host string) ([]netip.Addr, error) {
		return []netip.Addr{netip.MustParseAddr("8.8.8.8"), netip.MustParseAddr("10.1.2.3")}, nil
	}
	if _, err := g.Resolve(context.Background(), "rebind.example"); !errors.Is(err, ErrRefused) {
		t.Fatalf("Resolve = %v, want refused", err)
	}
	// The real resolver: "localhost" resolves to loopback on every machine.
	if _, err := New(nil).Resolve(context.Background(), "localhost"); !errors.Is(err, ErrRefused) {
		t.Fatalf("Resolve(localhost) = %v, want refused", err)
	}
}

// The guard refuses before any connection: a listener on the refused address sees nothing.
func TestDialRefusesBeforeConnecting(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = ln.Close() }()
	accepted := make(chan struct{}, 16)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepted <- struct{}{}
			_ = c.Close()
		}
	}()
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	g := New(nil)
	for _, host := range []string{"127.0.0.1", "[::ffff:127.0.0.1]", "localhost"} {
		if _, err := g.DialContext(context.Background(), "tcp", net.JoinHostPort(strings.Trim(host, "[]"), port)); !errors.Is(err, ErrRefused) {
			t.Errorf("dial %s = %v, want refused", host, err)
		}
	}
	if _, err := g.DialContext(context.Background(), "udp", "8.8.8.8:53"); err == nil {
		t.Error("udp dialled")
	}
	// Opened: the same listener is reached.
	open := New([]netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")})
	c, err := open.DialContext(context.Background(), "tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	_ = c.Close()
	if _, err := g.DialContext(context.Background(), "tcp", ln.Addr().String()); !errors.Is(err, ErrRefused) {
		t.Fatal("refused again expected")
	}
	// Only the opened dial reached the listener: its accept arrives; the refused ones never did. A
	// second dial with the opened guard is the barrier: once it is accepted, every earlier connection
	// would have been accepted before it.
	c, err = open.DialContext(context.Background(), "tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	_ = c.Close()
	<-accepted
	<-accepted
	if n := len(accepted); n != 0 {
		t.Fatalf("listener accepted %d connections beyond the two opened dials", n)
	}
}

// DNS rebinding: the guard dials the address it validated, never a second lookup's answer.
func TestDialUsesTheValidatedAddress(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "ok") }))
	defer srv.Close()
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	var lookups atomic.Int32
	g := New([]netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")})
	g.LookupNetIP = func(context.Context, string, string) ([]netip.Addr, error) {
		// first answer allowed, every later one private: a second resolution would be refused.
		if lookups.Add(1) == 1 {
			return []netip.Addr{netip.MustParseAddr("127.0.0.1")}, nil
		}
		return []netip.Addr{netip.MustParseAddr("10.9.9.9")}, nil
	}
	client := &http.Client{Transport: g.Transport()}
	resp, err := client.Get("http://rebind.test:" + port + "/")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if string(b) != "ok" || lookups.Load() != 1 {
		t.Fatalf("body %q after %d lookups, want ok after 1", b, lookups.Load())
	}
}

// The transport ignores HTTPS_PROXY/HTTP_PROXY from the environment.
func TestTransportIgnoresProxyFromEnvironment(t *testing.T) {
	var proxied atomic.Int32
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { proxied.Add(1) }))
	defer proxy.Close()
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "direct") }))
	defer upstream.Close()
	t.Setenv("HTTP_PROXY", proxy.URL)
	t.Setenv("HTTPS_PROXY", proxy.URL)
	t.Setenv("NO_PROXY", "")
	g := New([]netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")})
	resp, err := (&http.Client{Transport: g.Transport()}).Get(upstream.URL)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if string(b) != "direct" || proxied.Load() != 0 {
		t.Fatalf("body %q, proxy saw %d requests", b, proxied.Load())
	}
}

func FuzzCheckEmbeddedIPv4(f *testing.F) {
	f.Add([]byte{10, 0, 0, 1})
	f.Add([]byte{127, 0, 0, 1})
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) != 4 {
			return
		}
		v4 := netip.AddrFrom4([4]byte(b))
		g := New(nil)
		want := g.Check(v4) == nil
		// Every IPv6 form carrying this IPv4 address is judged like it (or refused by its own range).
		mapped := netip.AddrFrom16(v4.As16())
		if got := g.Check(mapped) == nil; got != want {
			t.Fatalf("mapped %s allowed=%v, IPv4 allowed=%v", mapped, got, want)
		}
		var nat64 [16]byte
		copy(nat64[:], []byte{0, 0x64, 0xff, 0x9b})
		copy(nat64[12:], b)
		if g.Check(netip.AddrFrom16(nat64)) == nil {
			t.Fatalf("NAT64 %v allowed", netip.AddrFrom16(nat64))
		}
	})
}
