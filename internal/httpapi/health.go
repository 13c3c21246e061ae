package httpapi

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"clavis.dev/clavis"
)

func health(s *server, w http.ResponseWriter, r *http.Request, _ *clavis.Caller) error {
	status := "healthy"
	if s.ready(r.Context()) != nil {
		status = "degraded"
	}
	writeJSON(w, 200, healthModel{Status: status, Version: s.opt.Version})
	return nil
}

func healthz(_ *server, w http.ResponseWriter, _ *http.Request, _ *clavis.Caller) error {
	writeJSON(w, 200, statusModel{"ok"})
	return nil
}

func readyz(s *server, w http.ResponseWriter, r *http.Request, _ *clavis.Caller) error {
	if err := s.ready(r.Context()); err != nil {
		return clavis.E(clavis.KindUnavailable, "not ready")
	}
	writeJSON(w, 200, statusModel{"ready"})
	return nil
}

// metrics serves /metrics to clients on this host only, and to nobody when it has a listener of its own
// (Options.Metrics); everyone else gets the 404 of an unknown route.
func metrics(s *server, w http.ResponseWriter, r *http.Request, _ *clavis.Caller) error {
	if s.opt.Metrics != nil || !loopbackClient(r) {
		return clavis.ErrNotFound
	}
	promhttp.HandlerFor(s.reg, promhttp.HandlerOpts{}).ServeHTTP(w, r)
	return nil
}

func openapiDoc(s *server, w http.ResponseWriter, _ *http.Request, _ *clavis.Caller) error {
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(s.openapi)
	return nil
}

func jwtPublicKey(s *server, w http.ResponseWriter, _ *http.Request, _ *clavis.Caller) error {
	writeJSON(w, 200, publicKeyModel{Alg: "EdDSA", PublicKey: b64std(s.svc.PublicKey())})
	return nil
}

func jwks(s *server, w http.ResponseWriter, _ *http.Request, _ *clavis.Caller) error {
	w.Header().Set("Content-Type", "application/jwk-set+json")
	w.Header().Set("Cache-Control", "public, max-age=300")
	w.Header().Set("Access-Control-Allow-Origin", "*")
	_, _ = w.Write(s.svc.JWKS())
	return nil
}

func openidConfig(s *server, w http.ResponseWriter, _ *http.Request, _ *clavis.Caller) error {
	base := s.svc.IssuerURL()
	writeJSON(w, 200, openIDConfigModel{Issuer: base, JWKSURI: base + "/.well-known/jwks.json",
		TokenEndpoint: base + "/v1/auth/agent-token", SigningAlgs: []string{"EdDSA"}, SubjectTypes: []string{"public"},
		ResponseTypes: []string{"token"}})
	return nil
}
