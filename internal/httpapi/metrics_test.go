package httpapi

import (
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

// TestMetricsOnlyForLocalClients: /metrics on the API listener answers the TCP peers of this host only,
// whatever X-Forwarded-For says, and nobody when the metrics have a listener of their own. Everyone else
// gets the 404 of an unknown route.
func TestMetricsOnlyForLocalClients(t *testing.T) {
	proxies := []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("10.0.0.0/8")}
	for _, c := range []struct {
		name, peer string
		hdr        map[string]string
		separate   bool
		want       int
	}{
		{"loopback IPv4", "127.0.0.1:5000", nil, false, 200},
		{"loopback IPv6", "[::1]:5000", nil, false, 200},
		{"IPv4-mapped loopback", "[::ffff:127.0.0.1]:5000", nil, false, 200},
		{"remote peer", "192.0.2.7:5000", nil, false, 404},
		{"remote peer claiming loopback", "192.0.2.7:5000", map[string]string{"X-Forwarded-For": "127.0.0.1"}, false, 404},
		{"trusted remote proxy relaying loopback", "10.1.2.3:5000", map[string]string{"X-Forwarded-For": "127.0.0.1"}, false, 404},
		{"trusted loopback proxy relaying a remote client", "127.0.0.1:5000", map[string]string{"X-Forwarded-For": "198.51.100.1"}, false, 404},
		{"loopback proxy with Forwarded", "127.0.0.1:5000", map[string]string{"Forwarded": "for=198.51.100.1"}, false, 404},
		{"loopback proxy with X-Real-IP", "127.0.0.1:5000", map[string]string{"X-Real-IP": "198.51.100.1"}, false, 404},
		{"separate listener: loopback too", "127.0.0.1:5000", nil, true, 404},
	} {
		t.Run(c.name, func(t *testing.T) {
			opt := Options{TrustedProxies: proxies}
			if c.separate {
				opt.Metrics = prometheus.NewRegistry()
			}
			h := New(nil, opt)
			r := httptest.NewRequest("GET", "/metrics", nil)
			r.RemoteAddr = c.peer
			for k, v := range c.hdr {
				r.Header.Set(k, v)
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != c.want {
				t.Fatalf("GET /metrics from %s = %d, want %d", c.peer, w.Code, c.want)
			}
			if c.want == 404 {
				u := httptest.NewRecorder()
				h.ServeHTTP(u, httptest.NewRequest("GET", "/no-such-route", nil))
				if got, want := w.Body.String(), u.Body.String(); !sameProblem(got, want) {
					t.Fatalf("404 for /metrics = %s, want the unknown route's %s", got, want)
				}
			}
		})
	}
}

// sameProblem compares two problem documents without their instance (the request id).
func sameProblem(a, b string) bool {
	a, _, _ = strings.Cut(a, `,"instance"`)
	b, _, _ = strings.Cut(b, `,"instance"`)
	return a == b
}

// TestMetricsOverTCP: the same decision over real connections, from a loopback peer and from this host's
// non-loopback address.
func TestMetricsOverTCP(t *testing.T) {
	h := New(nil, Options{})
	local := httptest.NewServer(h)
	t.Cleanup(local.Close)
	if got := get(t, local.URL+"/metrics"); got != 200 {
		t.Fatalf("GET /metrics from loopback = %d, want 200", got)
	}
	ip := nonLoopbackIP(t)
	ln, err := net.Listen("tcp", net.JoinHostPort(ip, "0"))
	if err != nil {
		t.Skipf("cannot listen on %s: %v", ip, err)
	}
	remote := httptest.NewUnstartedServer(h)
	_ = remote.Listener.Close() // unused: replaced by ln before Start
	remote.Listener = ln
	remote.Start()
	t.Cleanup(remote.Close)
	if got := get(t, remote.URL+"/metrics"); got != 404 {
		t.Fatalf("GET /metrics from %s = %d, want 404", ip, got)
	}
	if got := get(t, remote.URL+"/healthz"); got != 200 {
		t.Fatalf("GET /healthz from %s = %d, want 200", ip, got)
	}
}

func get(t *testing.T, url string) int {
	t.Helper()
	res, err := http.Get(url) // #nosec G107 -- the test server's URL
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	_, _ = io.Copy(io.Discard, res.Body)
	return res.StatusCode
}

// nonLoopbackIP returns an address of this host that is not loopback, or skips.
func nonLoopbackIP(t *testing.T) string {
	t.Helper()
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		t.Skipf("interface addresses: %v", err)
	}
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && n.IP.To4() != nil && !n.IP.IsLoopback() && !n.IP.IsLinkLocalUnicast() {
			return n.IP.String()
		}
	}
	t.Skip("no non-loopback IPv4 address on this host")
	return ""
}

// TestMetricsMethodLabelIsBounded: methods that no route serves are counted as "other", so a client
// cannot add a series per made-up method.
func TestMetricsMethodLabelIsBounded(t *testing.T) {
	h := New(nil, Options{})
	for _, m := range []string{"BREW", "PROPFIND", "X-PROBE-1"} {
		r := httptest.NewRequest(m, "/healthz", nil)
		r.RemoteAddr = "127.0.0.1:5000"
		h.ServeHTTP(httptest.NewRecorder(), r)
	}
	r := httptest.NewRequest("GET", "/metrics", nil)
	r.RemoteAddr = "127.0.0.1:5000"
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	body := w.Body.String()
	for _, m := range []string{"BREW", "PROPFIND", "X-PROBE-1"} {
		if strings.Contains(body, `method="`+m+`"`) {
			t.Errorf("/metrics has a series for method %s", m)
		}
	}
	if !strings.Contains(body, `clavis_http_requests_total{code="405",method="other",route="unmatched"} 3`) {
		t.Errorf("/metrics does not count the three as method=\"other\":\n%s", body)
	}
}
