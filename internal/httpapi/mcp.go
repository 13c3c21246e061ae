package httpapi

import (
	"net/http"
	"strings"

	"clavis.dev/clavis"
)

// mcp serves /mcp in the order of docs/mcp.md §1: an Origin other than the public URL → 403 (DNS
// rebinding guard); body limit; authentication (missing or invalid credentials, and user credentials
// unless Options.MCPAllowUsers → 401 with WWW-Authenticate: Bearer); per-principal rate limit as the
// API; then the handler of Options.MCP for the caller, marked Via "mcp" so that its audit events say so.
func (s *server) mcp() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if o := r.Header.Get("Origin"); o != "" && strings.TrimSuffix(o, "/") != strings.TrimSuffix(s.opt.PublicURL, "/") {
			writeError(w, clavis.E(clavis.KindForbidden, "Origin not allowed"))
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
