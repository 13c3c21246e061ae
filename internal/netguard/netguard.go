// Package netguard decides which network addresses an outbound connection of the server may reach, and
// dials only addresses it has validated. It is the egress guard of use without read (spec/use.md §4) and
// of the notification webhooks: a destination name is resolved once, every address it resolves to must be
// allowed, and the connection goes to one of those validated addresses — never through a second lookup
// (DNS rebinding fails) and never through a proxy from the environment.
//
// Refused: the private, loopback, link-local, shared, benchmarking, multicast, reserved and translation
// ranges of spec/use.md §4, with IPv4 embedded in IPv6 (mapped, NAT64, 6to4, Teredo) judged as the IPv4
// address it carries. An operator may open ranges (allowPrivate, e.g. 127.0.0.0/8 for tests or 10.0.0.0/8
// for internal APIs); the cloud metadata addresses stay refused whatever is opened.
package netguard

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"time"
)

// ErrRefused is matched (errors.Is) by every refusal of an address by the guard.
var ErrRefused = errors.New("destination address refused")

// RefusedError names the refused address (an address, never a URL or anything the caller sent besides
// the host).
type RefusedError struct {
	Addr     netip.Addr
	Metadata bool // a cloud metadata address, refused even when its range is opened
}

func (e *RefusedError) Error() string {
	if e.Metadata {
		return fmt.Sprintf("%v: %s is a metadata address", ErrRefused, e.Addr)
	}
	return fmt.Sprintf("%v: %s is a private or reserved address", ErrRefused, e.Addr)
}

func (e *RefusedError) Unwrap() error { return ErrRefused }

// MaxResponseHeaderBytes caps the response headers read by Transport.
const MaxResponseHeaderBytes = 64 << 10

var refusedRanges = mustPrefixes(
	"0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12",
	"192.0.0.0/24", "192.168.0.0/16", "198.18.0.0/15", "224.0.0.0/4", "240.0.0.0/4", "255.255.255.255/32",
	"::/128", "::1/128", "fc00::/7", "fe80::/10", "ff00::/8", "64:ff9b::/96", "2002::/16", "2001::/32",
)

var metadataAddrs = []netip.Addr{
	netip.MustParseAddr("169.254.169.254"), netip.MustParseAddr("fd00:ec2::254"),
	netip.MustParseAddr("100.100.100.200"), netip.MustParseAddr("168.63.129.16"),
}

func mustPrefixes(ss ...string) []netip.Prefix {
	ps := make([]netip.Prefix, len(ss))
	for i, s := range ss {
		ps[i] = netip.MustParsePrefix(s)
	}
	return ps
}

// ParsePrefixes parses a comma-separated list of CIDRs or bare addresses (a bare address is its /32 or
// /128); "" gives none. Used for flags such as --use-allow-private.
func ParsePrefixes(s string) ([]netip.Prefix, error) {
	var ps []netip.Prefix
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		if p, err := netip.ParsePrefix(f); err == nil {
			ps = append(ps, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(f)
		if err != nil {
			return nil, fmt.Errorf("%q is neither an IP address nor a CIDR", f)
		}
		ps = append(ps, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
	}
	return ps, nil
}

// Guard validates and dials destinations. The zero value is not usable; use New.
type Guard struct {
	allow []netip.Prefix
	// LookupNetIP resolves a host name; nil means net.DefaultResolver. Tests replace it to play a DNS
	// server that answers with a private address.
	LookupNetIP func(ctx context.Context, network, host string) ([]netip.Addr, error)
	// DialTimeout bounds one connection attempt (default 10 s; the caller's context bounds it too).
	DialTimeout time.Duration
}

// New returns a guard that also allows the given ranges (never the metadata addresses).
func New(allowPrivate []netip.Prefix) *Guard {
	return &Guard{allow: append([]netip.Prefix(nil), allowPrivate...)}
}

// Check returns nil when a connection to addr is allowed, else a *RefusedError.
func (g *Guard) Check(addr netip.Addr) error {
	judged := embeddedIPv4(addr)
	for _, m := range metadataAddrs {
		if addr.Unmap() == m || judged == m {
			return &RefusedError{Addr: addr, Metadata: true}
		}
	}
	if !addr.IsValid() || addr.Zone() != "" {
		return &RefusedError{Addr: addr}
	}
	for _, p := range g.allow {
		if p.Contains(judged) || p.Contains(addr) {
			return nil
		}
	}
	for _, p := range refusedRanges {
		if p.Contains(judged) || p.Contains(addr) {
			return &RefusedError{Addr: addr}
		}
	}
	return nil
}

// embeddedIPv4 returns the IPv4 address an IPv6 address carries (IPv4-mapped, NAT64 64:ff9b::/96, 6to4
// 2002::/16, Teredo 2001::/32 whose client address is stored inverted), or addr itself.
func embeddedIPv4(addr netip.Addr) netip.Addr {
	if addr.Is4() || addr.Is4In6() {
		return addr.Unmap()
	}
	if !addr.Is6() {
		return addr
	}
	b := addr.As16()
	switch {
	case b[0] == 0x00 && b[1] == 0x64 && b[2] == 0xff && b[3] == 0x9b: // 64:ff9b::/96
		return netip.AddrFrom4([4]byte{b[12], b[13], b[14], b[15]})
	case b[0] == 0x20 && b[1] == 0x02: // 2002:AABB:CCDD::/48
		return netip.AddrFrom4([4]byte{b[2], b[3], b[4], b[5]})
	case b[0] == 0x20 && b[1] == 0x01 && b[2] == 0x00 && b[3] == 0x00: // Teredo: client = ^last 32 bits
		return netip.AddrFrom4([4]byte{^b[12], ^b[13], ^b[14], ^b[15]})
	}
	return addr
}

// Resolve returns the addresses of host (an IP literal is itself), or an error: a *RefusedError when any
// of them is refused (one refused address refuses the name: an attacker controls which one a client picks).
func (g *Guard) Resolve(ctx context.Context, host string) ([]netip.Addr, error) {
	host = strings.TrimSuffix(strings.TrimPrefix(strings.TrimSuffix(host, "]"), "["), ".")
	var addrs []netip.Addr
	if a, err := netip.ParseAddr(host); err == nil {
		addrs = []netip.Addr{a}
	} else {
		lookup := g.LookupNetIP
		if lookup == nil {
			lookup = net.DefaultResolver.LookupNetIP
		}
		addrs, err = lookup(ctx, "ip", host)
		if err != nil {
			return nil, &LookupError{Host: host, Err: err}
		}
		if len(addrs) == 0 {
			return nil, &LookupError{Host: host, Err: errors.New("no addresses")}
		}
	}
	for _, a := range addrs {
		if err := g.Check(a); err != nil {
			return nil, err
		}
	}
	return addrs, nil
}

// LookupError is a failed name resolution (the guard refused nothing: the name has no usable address).
type LookupError struct {
	Host string
	Err  error
}

func (e *LookupError) Error() string { return "resolving " + e.Host + ": " + e.Err.Error() }
func (e *LookupError) Unwrap() error { return e.Err }

// DialContext resolves address's host, validates every address, and connects to the validated addresses
// in order until one answers. Only "tcp", "tcp4" and "tcp6" are dialled.
func (g *Guard) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	switch network {
	case "tcp", "tcp4", "tcp6":
	default:
		return nil, fmt.Errorf("netguard: network %q not supported", network)
	}
	host, port, err := net.SplitHostPort(address)
	if err != nil {
		return nil, err
	}
	addrs, err := g.Resolve(ctx, host)
	if err != nil {
		return nil, err
	}
	timeout := g.DialTimeout
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	d := net.Dialer{Timeout: timeout}
	var firstErr error
	for _, a := range addrs {
		conn, err := d.DialContext(ctx, network, net.JoinHostPort(a.Unmap().String(), port))
		if err == nil {
			return conn, nil
		}
		if firstErr == nil {
			firstErr = err
		}
		if ctx.Err() != nil {
			break
		}
	}
	return nil, firstErr
}

// Transport returns an HTTP transport whose every connection goes through the guard: no proxy from the
// environment, response headers capped at MaxResponseHeaderBytes, no automatic decompression (callers
// that decode do it themselves, bounded), HTTP/2 over TLS when the server offers it. The caller decides
// redirects (an http.Client with CheckRedirect returning http.ErrUseLastResponse follows none).
func (g *Guard) Transport() *http.Transport {
	return &http.Transport{
		Proxy:                  nil,
		DialContext:            g.DialContext,
		ForceAttemptHTTP2:      true,
		MaxResponseHeaderBytes: MaxResponseHeaderBytes,
		DisableCompression:     true,
		TLSHandshakeTimeout:    10 * time.Second,
		IdleConnTimeout:        30 * time.Second,
		MaxIdleConnsPerHost:    4,
	}
}
