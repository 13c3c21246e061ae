package httpapi

import (
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
)

func TestClientIP(t *testing.T) {
	s := &server{opt: Options{TrustedProxies: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("fd00::/8")}}}
	for _, c := range []struct {
		name, peer, xff, want string
	}{
		{"direct peer", "203.0.113.7:5000", "", "203.0.113.7"},
		{"untrusted peer's X-Forwarded-For is ignored", "203.0.113.7:5000", "198.51.100.1", "203.0.113.7"},
		{"trusted proxy: the client it saw", "10.1.2.3:5000", "198.51.100.1", "198.51.100.1"},
		{"trusted chain: the first untrusted hop from the right", "10.1.2.3:5000", "192.0.2.9, 198.51.100.1, 10.9.9.9", "198.51.100.1"},
		{"a spoofed leftmost entry does not win", "10.1.2.3:5000", "1.1.1.1, 198.51.100.1", "198.51.100.1"},
		{"trusted proxy without header", "10.1.2.3:5000", "", "10.1.2.3"},
		{"garbage header: the proxy itself", "10.1.2.3:5000", "not-an-ip", "10.1.2.3"},
		{"IPv4-mapped IPv6 peer counts as IPv4", "[::ffff:203.0.113.7]:5000", "", "203.0.113.7"},
		{"IPv6 peer", "[2001:db8::1]:5000", "", "2001:db8::1"},
		{"trusted IPv6 proxy", "[fd00::1]:5000", "2001:db8::2", "2001:db8::2"},
		{"a proxy's own header line counts, not only the client's first", "10.1.2.3:5000", "1.1.1.1\n198.51.100.1", "198.51.100.1"},
		{"Unicode space is not OWS", "10.1.2.3:5000", "198.51.100.1\u00a0", "10.1.2.3"},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/", nil)
			r.RemoteAddr = c.peer
			for _, line := range strings.Split(c.xff, "\n") {
				if line != "" {
					r.Header.Add("X-Forwarded-For", line)
				}
			}
			if got := s.clientIP(r).String(); got != c.want {
				t.Fatalf("clientIP = %s, want %s", got, c.want)
			}
		})
	}
}
