package httpapi

import (
	"net/http"
	"regexp"

	"clavis.dev/clavis"
)

type apiKeyBody struct {
	Name      string   `json:"name"`
	Scopes    []string `json:"scopes"`
	ExpiresAt *reqTime `json:"expires_at"`
}

func createAPIKey(s *server, w http.ResponseWriter, r *http.Request, c *clavis.Caller) error {
	var in apiKeyBody
	if err := decode(r, &in); err != nil {
		return err
	}
	k, raw, err := s.svc.CreateAPIKey(r.Context(), c, clavis.APIKeyInput{Name: in.Name, Scopes: in.Scopes, ExpiresAt: in.ExpiresAt.ptr()})
	if err != nil {
		return err
	}
	writeJSON(w, 201, apiKeyCreatedModel{Key: apiKeyOf(k), APIKey: string(raw)})
	return nil
}

func listAPIKeys(s *server, w http.ResponseWriter, r *http.Request, c *clavis.Caller) error {
	ks, err := s.svc.ListAPIKeys(r.Context(), c)
	if err != nil {
		return err
	}
	writeJSON(w, 200, apiKeyList{mapList(ks, apiKeyOf)})
	return nil
}

// revokeAPIKey still decides two rules itself: the humans-only refusal (403) and the malformed key id
// (404), in that order, both before engine.RevokeAPIKey refuses a scoped key. That method lives in
// internal/engine/auth.go, which the token-package split owns; when it checks the persona and the id first
// (requireUser, lookupIDs, then refuseScoped, as UpdateAgent does), errHumansOnly, uuidRe and keyID go.
func revokeAPIKey(s *server, w http.ResponseWriter, r *http.Request, c *clavis.Caller) error {
	if c.Type != clavis.PrincipalUser {
		return errHumansOnly // a route-level refusal comes before any lookup (spec §1.7 rule 6)
	}
	kid, err := keyID(r)
	if err != nil {
		return err
	}
	if err := s.svc.RevokeAPIKey(r.Context(), c, kid); err != nil {
		return err
	}
	w.WriteHeader(204)
	return nil
}

// errHumansOnly refuses an agent on a route for human users, before anything is looked up.
var errHumansOnly = clavis.E(clavis.KindForbidden, "This endpoint is for human users only")

var uuidRe = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

// keyID returns the {key_id} path parameter; a malformed one means "does not exist" (spec §1.1).
func keyID(r *http.Request) (string, error) {
	v := r.PathValue("key_id")
	if !uuidRe.MatchString(v) {
		return "", clavis.ErrNotFound
	}
	return v, nil
}
