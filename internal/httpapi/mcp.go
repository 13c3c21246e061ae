package httpapi

import (
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"

	"clavis.dev/clavis"
)

// mcp serves /mcp in the order of docs/mcp.md §1: an Origin other than the public URL, or a request
// that reached a loopback listener under a Host that is neither loopback nor the public URL's → 403
// (DNS rebinding guards); body limit; authentication (missing or invalid credentials, and user credentials
// unless Options.MCPAllowUsers → 401 with WWW-Authenticate: Bearer); per-principal rate limit as the
// API; then the handler of Options.MCP for the caller, marked Via "mcp" so that its audit events say so.
func (s *server) mcp() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if o := r.Header.Get("Origin"); o != "" && strings.TrimSuffix(o, "/") != strings.TrimSuffix(s.opt.PublicURL, "/") {
			writeError(w, clavis.E(clavis.KindForbidden, "Origin not allowed"))
			return
		}
		if s.rebound(r) {
			writeError(w, clavis.E(clavis.KindForbidden, "Host not allowed"))
			return
		}
		if r.ContentLength > maxBodyBytes {
			writeError(w, errBodyTooLarge)
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, maxBodyBytes)
		c, err := s.authenticate(r)
		if err == nil && c.Type != clavis.PrincipalAgent && !s.opt.MCPAllowUsers {
			err = clavis.E(clavis.KindUnauthorized, "MCP requires agent credentials")
		}
		if err != nil {
			if clavis.IsKind(err, clavis.KindUnauthorized) {
				w.Header().Set("WWW-Authenticate", "Bearer")
			}
			writeError(w, err)
			return
		}
		if s.perPrincipal != nil {
			if err := limited(s.perPrincipal, c.Principal.String()); err != nil {
				writeError(w, err)
				return
			}
		}
		mc := *c
		mc.Via = "mcp"
		s.opt.MCP(&mc, r).ServeHTTP(w, r)
	})
}

// rebound reports a request that reached a loopback listener under a Host that is neither a loopback
// address nor the host of the public URL: a browser's request to a name rebound to 127.0.0.1. (A
// reverse proxy on the same host forwards the public name, which passes.)
func (s *server) rebound(r *http.Request) bool {
	local, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr)
	if !ok || !loopback(local.String()) || loopback(r.Host) {
		return false
	}
	pub, err := url.Parse(s.opt.PublicURL)
	return err != nil || !strings.EqualFold(pub.Host, r.Host)
}

// loopback reports whether hostport names localhost or a loopback address.
func loopback(hostport string) bool {
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	if strings.EqualFold(host, "localhost") {
		return true
	}
	a, err := netip.ParseAddr(strings.Trim(host, "[]"))
	return err == nil && a.IsLoopback()
}
