package httpapi

import (
	"net/http/httptest"
	"testing"

	"clavis.dev/clavis/internal/ratelimit"
)

// TestPerIPLimitKeysIPv6By64: the hosts of one IPv6 /64 share the per-IP bucket (a /64 holds 2^64
// addresses one client can use freely); IPv4-mapped addresses count as IPv4.
func TestPerIPLimitKeysIPv6By64(t *testing.T) {
	h := New(nil, Options{RateLimits: &RateLimits{PublicAuth: ratelimit.Rule{Burst: 1, Rate: 0.001},
		Principal: ratelimit.Rule{Burst: 1, Rate: 0.001}}})
	status := func(peer string) int {
		t.Helper()
		r := httptest.NewRequest("POST", "/v1/auth/refresh", nil) // always 400 once past the limit
		r.RemoteAddr = peer
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w.Code
	}
	for _, c := range []struct {
		name, peer string
		want       int
	}{
		{"first host of a /64", "[2001:db8:1:2::1]:5000", 400},
		{"another host of the same /64 shares its bucket", "[2001:db8:1:2:aaaa:bbbb:cccc:dddd]:5000", 429},
		{"the next /64 has its own", "[2001:db8:1:3::1]:5000", 400},
		{"an IPv4 client", "203.0.113.7:5000", 400},
		{"the same client IPv4-mapped", "[::ffff:203.0.113.7]:5000", 429},
	} {
		if got := status(c.peer); got != c.want {
			t.Errorf("%s: status %d, want %d", c.name, got, c.want)
		}
	}
}
