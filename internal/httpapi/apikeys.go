package httpapi

import (
	"net/http"

	"clavis.dev/clavis"
)

func createAPIKey(s *server, w http.ResponseWriter, r *http.Request, c *clavis.Caller) error {
	var in struct {
		Name      string   `json:"name"`
		Scopes    []string `json:"scopes"`
		ExpiresAt *reqTime `json:"expires_at"`
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	k, raw, err := s.svc.CreateAPIKey(r.Context(), c, clavis.APIKeyInput{Name: in.Name, Scopes: in.Scopes, ExpiresAt: in.ExpiresAt.ptr()})
	if err != nil {
		return err
	}
	writeJSON(w, 201, map[string]any{"key": apiKeyOf(k), "api_key": string(raw)})
	return nil
}

func listAPIKeys(s *server, w http.ResponseWriter, r *http.Request, c *clavis.Caller) error {
	ks, err := s.svc.ListAPIKeys(r.Context(), c)
	if err != nil {
		return err
	}
	writeJSON(w, 200, map[string]any{"keys": mapList(ks, apiKeyOf)})
	return nil
}

func revokeAPIKey(s *server, w http.ResponseWriter, r *http.Request, c *clavis.Caller) error {
	if c.Type != clavis.PrincipalUser {
		return errHumansOnly // a route-level refusal comes before any lookup (spec §1.7 rule 6)
	}
	kid, err := id(r, "key_id")
	if err != nil {
		return err
	}
	if err := s.svc.RevokeAPIKey(r.Context(), c, kid); err != nil {
		return err
	}
	w.WriteHeader(204)
	return nil
}
