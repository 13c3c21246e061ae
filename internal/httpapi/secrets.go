package httpapi

import (
	"net/http"

	"clavis.dev/clavis"
	"clavis.dev/clavis/internal/policy"
)

func listSecrets(s *server, w http.ResponseWriter, r *http.Request, c *clavis.Caller) error {
	vid, err := id(r, "vault_id")
	if err != nil {
		return err
	}
	items, err := s.svc.ListSecrets(r.Context(), c, vid, r.URL.Query().Get("prefix"))
	if err != nil {
		return err
	}
	writeJSON(w, 200, map[string]any{"secrets": mapList(items, secretMetaOf)})
	return nil
}

func putSecret(s *server, w http.ResponseWriter, r *http.Request, c *clavis.Caller) error {
	vid, err := id(r, "vault_id")
	if err != nil {
		return err
	}
	var in struct {
		Value          *string         `json:"value"`
		Type           string          `json:"type"`
		Metadata       nullable[any]   `json:"metadata"`
		ExpiresAt      *reqTime        `json:"expires_at"`
		MaxAccessCount nullable[int64] `json:"max_access_count"`
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	if in.Value == nil {
		return clavis.Invalid("value", "value is required")
	}
	out := clavis.SecretInput{Value: clavis.Sensitive(*in.Value), Type: in.Type, ExpiresAt: in.ExpiresAt.ptr()}
	if m := in.Metadata.value(); m != nil {
		obj, ok := (*m).(map[string]any)
		if !ok {
			return clavis.Invalid("metadata", "metadata must be a JSON object")
		}
		out.Metadata = mustMarshal(obj)
	}
	if n := in.MaxAccessCount.value(); n != nil {
		if *n < 1 || *n > 1<<31-1 {
			return clavis.Invalid("max_access_count", "max_access_count must be at least 1")
		}
		out.MaxAccessCount = int(*n)
	}
	m, err := s.svc.PutSecret(r.Context(), c, vid, secretPath(r), out)
	if err != nil {
		return err
	}
	writeJSON(w, 201, secretMetaOf(*m))
	return nil
}

func getSecret(s *server, w http.ResponseWriter, r *http.Request, c *clavis.Caller) error {
	vid, err := id(r, "vault_id")
	if err != nil {
		return err
	}
	v, err := s.svc.GetSecret(r.Context(), c, vid, secretPath(r))
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, 200, secretOf(v))
	return nil
}

func deleteSecret(s *server, w http.ResponseWriter, r *http.Request, c *clavis.Caller) error {
	vid, err := id(r, "vault_id")
	if err != nil {
		return err
	}
	if err := s.svc.DeleteSecret(r.Context(), c, vid, secretPath(r)); err != nil {
		return err
	}
	w.WriteHeader(204)
	return nil
}

func listVersions(s *server, w http.ResponseWriter, r *http.Request, c *clavis.Caller) error {
	vid, err := id(r, "vault_id")
	if err != nil {
		return err
	}
	vs, err := s.svc.ListVersions(r.Context(), c, vid, secretPath(r))
	if err != nil {
		return err
	}
	writeJSON(w, 200, map[string]any{"versions": mapList(vs, secretVersionOf)})
	return nil
}

// versionTail parses "{path...}/{n}" (spec §4.5.1).
func versionTail(r *http.Request) (string, int, error) {
	return policy.SplitVersionPath(secretPath(r))
}

func getVersion(s *server, w http.ResponseWriter, r *http.Request, c *clavis.Caller) error {
	vid, err := id(r, "vault_id")
	if err != nil {
		return err
	}
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
	vid, err := id(r, "vault_id")
	if err != nil {
		return err
	}
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
	vid, err := id(r, "vault_id")
	if err != nil {
		return err
	}
	var in struct {
		Length  nullable[int64] `json:"length"`
		Charset string          `json:"charset"`
		Type    string          `json:"type"`
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	ri := clavis.RotateInput{Charset: in.Charset, Type: in.Type}
	if n := in.Length.value(); n != nil {
		if *n < 8 || *n > 1024 {
			return clavis.Invalid("length", "length must be between 8 and 1024")
		}
		ri.Length = int(*n)
	}
	m, err := s.svc.RotateSecret(r.Context(), c, vid, secretPath(r), ri)
	if err != nil {
		return err
	}
	writeJSON(w, 201, secretMetaOf(*m))
	return nil
}

func restoreVersion(s *server, w http.ResponseWriter, r *http.Request, c *clavis.Caller) error {
	vid, err := id(r, "vault_id")
	if err != nil {
		return err
	}
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
