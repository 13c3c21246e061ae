package httpapi

import (
	"net/http"

	"clavis.dev/clavis"
	"clavis.dev/clavis/internal/policy"
)

func listSecrets(s *server, w http.ResponseWriter, r *http.Request, c *clavis.Caller) error {
	vid := r.PathValue("vault_id")
	items, err := s.svc.ListSecrets(r.Context(), c, vid, r.URL.Query().Get("prefix"))
	if err != nil {
		return err
	}
	writeSecretList(w, items)
	return nil
}

// Request bodies of secret write and rotate.
type (
	secretBody struct {
		Value          *string         `json:"value"`
		Type           string          `json:"type"`
		Metadata       nullable[any]   `json:"metadata"`
		ExpiresAt      *reqTime        `json:"expires_at"`
		MaxAccessCount nullable[int64] `json:"max_access_count"`
	}
	rotateBody struct {
		Length  nullable[int64] `json:"length"`
		Charset string          `json:"charset"`
		Type    string          `json:"type"`
	}
)

func putSecret(s *server, w http.ResponseWriter, r *http.Request, c *clavis.Caller) error {
	vid := r.PathValue("vault_id")
	var in secretBody
	if err := decode(r, &in); err != nil {
		return err
	}
	out := clavis.SecretInput{Type: in.Type, ExpiresAt: in.ExpiresAt.ptr()}
	if in.Value != nil {
		out.Value = clavis.Sensitive(*in.Value) // absent or null: "", which the engine refuses as missing
	}
	if m := in.Metadata.value(); m != nil {
		out.Metadata = mustMarshal(*m) // canonical JSON (sorted keys); the engine refuses a non-object
	}
	if n := in.MaxAccessCount.value(); n != nil {
		out.MaxAccessCount = new(toInt(*n))
	}
	m, err := s.svc.PutSecret(r.Context(), c, vid, secretPath(r), out)
	if err != nil {
		return err
	}
	writeJSON(w, 201, secretMetaOf(*m))
	return nil
}

func getSecret(s *server, w http.ResponseWriter, r *http.Request, c *clavis.Caller) error {
	vid := r.PathValue("vault_id")
	v, err := s.svc.GetSecret(r.Context(), c, vid, secretPath(r))
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, 200, secretOf(v))
	return nil
}

func deleteSecret(s *server, w http.ResponseWriter, r *http.Request, c *clavis.Caller) error {
	vid := r.PathValue("vault_id")
	if err := s.svc.DeleteSecret(r.Context(), c, vid, secretPath(r)); err != nil {
		return err
	}
	w.WriteHeader(204)
	return nil
}

func listVersions(s *server, w http.ResponseWriter, r *http.Request, c *clavis.Caller) error {
	vid := r.PathValue("vault_id")
	vs, err := s.svc.ListVersions(r.Context(), c, vid, secretPath(r))
	if err != nil {
		return err
	}
	writeJSON(w, 200, versionList{mapList(vs, secretVersionOf)})
	return nil
}

// versionTail parses "{path...}/{n}" (spec §4.5.1).
func versionTail(r *http.Request) (string, int, error) {
	return policy.SplitVersionPath(secretPath(r))
}

func getVersion(s *server, w http.ResponseWriter, r *http.Request, c *clavis.Caller) error {
	vid := r.PathValue("vault_id")
	p, n, err := versionTail(r)
	if err != nil {
		return err
	}
	v, err := s.svc.GetVersion(r.Context(), c, vid, p, n)
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, 200, secretOf(v))
	return nil
}

func disableVersion(s *server, w http.ResponseWriter, r *http.Request, c *clavis.Caller) error {
	vid := r.PathValue("vault_id")
	p, n, err := versionTail(r)
	if err != nil {
		return err
	}
	if err := s.svc.DisableVersion(r.Context(), c, vid, p, n); err != nil {
		return err
	}
	w.WriteHeader(204)
	return nil
}

func rotateSecret(s *server, w http.ResponseWriter, r *http.Request, c *clavis.Caller) error {
	vid := r.PathValue("vault_id")
	var in rotateBody
	if err := decode(r, &in); err != nil {
		return err
	}
	ri := clavis.RotateInput{Charset: in.Charset, Type: in.Type}
	if n := in.Length.value(); n != nil {
		ri.Length = new(toInt(*n))
	}
	m, err := s.svc.RotateSecret(r.Context(), c, vid, secretPath(r), ri)
	if err != nil {
		return err
	}
	writeJSON(w, 201, secretMetaOf(*m))
	return nil
}

func restoreVersion(s *server, w http.ResponseWriter, r *http.Request, c *clavis.Caller) error {
	vid := r.PathValue("vault_id")
	p, n, err := versionTail(r)
	if err != nil {
		return err
	}
	m, err := s.svc.RestoreVersion(r.Context(), c, vid, p, n)
	if err != nil {
		return err
	}
	writeJSON(w, 201, secretMetaOf(*m))
	return nil
}
