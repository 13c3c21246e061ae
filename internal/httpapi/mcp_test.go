package httpapi

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
)

// TestMcpRebound: on a loopback listener, only loopback names and the public URL's host (forwarded by a
// reverse proxy on the same machine) pass; on other listeners the Host is not judged.
func TestMcpRebound(t *testing.T) {
	s := &server{opt: Options{PublicURL: "https://vault.example.com"}}
	loop := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 8080}
	public := &net.TCPAddr{IP: net.IPv4(10, 0, 0, 5), Port: 8080}
	for _, c := range []struct {
		local net.Addr
		host  string
		want  bool
	}{
		{loop, "127.0.0.1:8080", false},
		{loop, "localhost:8080", false},
		{loop, "[::1]:8080", false},
		{loop, "vault.example.com", false},
		{loop, "VAULT.example.com", false},
		{loop, "evil.example", true},
		{loop, "vault.example.com:8443", true},
		{public, "evil.example", false},
	} {
		r := httptest.NewRequest("POST", "/mcp", nil)
		r.Host = c.host
		r = r.WithContext(context.WithValue(r.Context(), http.LocalAddrContextKey, c.local))
		if got := s.rebound(r); got != c.want {
			t.Errorf("rebound(local %v, Host %q) = %v, want %v", c.local, c.host, got, c.want)
		}
	}
}
