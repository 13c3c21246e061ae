package httpapi

import (
	"encoding/base64"
	"net/http"
	"unicode/utf8"

	"clavis.dev/clavis"
)

// Use without read (spec use.md): destination configs and the proxied call.

type (
	useInjectBody struct {
		As       string  `json:"as"`
		Name     string  `json:"name"`
		Prefix   string  `json:"prefix"`
		Username *string `json:"username"`
		Password *string `json:"password"`
	}
	useConfigBody struct {
		AllowedHosts        []string       `json:"allowed_hosts"`
		AllowedMethods      []string       `json:"allowed_methods"`
		AllowedPathPrefixes []string       `json:"allowed_path_prefixes"`
		Inject              *useInjectBody `json:"inject"`
		AllowHTTP           bool           `json:"allow_http"`
	}
	useBody struct {
		Method     string            `json:"method"`
		URL        string            `json:"url"`
		Headers    map[string]string `json:"headers"`
		Body       *string           `json:"body"`
		BodyBase64 *string           `json:"body_base64"`
		TimeoutMS  nullable[int64]   `json:"timeout_ms"`
	}
)

// useInjectModel is the inject object as configured: "as" and the fields of its slot.
type useInjectModel struct {
	As       string  `json:"as"`
	Name     *string `json:"name,omitempty"`
	Prefix   *string `json:"prefix,omitempty"`
	Username *string `json:"username,omitempty"`
	Password *string `json:"password,omitempty"`
}

// useConfigModel is UseConfig (use.md §2), defaults echoed.
type useConfigModel struct {
	AllowedHosts        []string       `json:"allowed_hosts"`
	AllowedMethods      []string       `json:"allowed_methods"`
	AllowedPathPrefixes []string       `json:"allowed_path_prefixes"`
	Inject              useInjectModel `json:"inject"`
	AllowHTTP           bool           `json:"allow_http"`
	CreatedBy           string         `json:"created_by"`
	CreatedByType       string         `json:"created_by_type"`
	CreatedAt           string         `json:"created_at"`
	UpdatedAt           string         `json:"updated_at"`
}

// useResultModel is UseResult (use.md §3).
type useResultModel struct {
	Status       int                 `json:"status"`
	Headers      map[string][]string `json:"headers"`
	Body         string              `json:"body"`
	BodyEncoding string              `json:"body_encoding"`
	Truncated    bool                `json:"truncated"`
	Redactions   int                 `json:"redactions"`
}

func useConfigOf(c *clavis.UseConfig) useConfigModel {
	inj := useInjectModel{As: c.Inject.As}
	switch c.Inject.As {
	case clavis.InjectBasic:
		inj.Username, inj.Password = c.Inject.Username, c.Inject.Password
	case clavis.InjectHeader:
		inj.Name, inj.Prefix = &c.Inject.Name, &c.Inject.Prefix
	case clavis.InjectQuery:
		inj.Name = &c.Inject.Name
	}
	return useConfigModel{AllowedHosts: nonNil(c.AllowedHosts), AllowedMethods: nonNil(c.AllowedMethods),
		AllowedPathPrefixes: nonNil(c.AllowedPathPrefixes), Inject: inj, AllowHTTP: c.AllowHTTP,
		CreatedBy: c.CreatedBy, CreatedByType: string(c.CreatedByType), CreatedAt: ts(c.CreatedAt), UpdatedAt: ts(c.UpdatedAt)}
}

func useResultOf(r *clavis.UseResult) useResultModel {
	m := useResultModel{Status: r.Status, Headers: r.Headers, Truncated: r.Truncated, Redactions: r.Redactions,
		Body: string(r.Body), BodyEncoding: "utf8"}
	if m.Headers == nil {
		m.Headers = map[string][]string{}
	}
	if !utf8.Valid(r.Body) {
		m.Body, m.BodyEncoding = base64.StdEncoding.EncodeToString(r.Body), "base64"
	}
	return m
}

func putUseConfig(s *server, w http.ResponseWriter, r *http.Request, c *clavis.Caller) error {
	var b useConfigBody
	if err := decode(r, &b); err != nil {
		return err
	}
	in := clavis.UseConfigInput{AllowedHosts: b.AllowedHosts, AllowedMethods: b.AllowedMethods,
		AllowedPathPrefixes: b.AllowedPathPrefixes, AllowHTTP: b.AllowHTTP}
	if b.Inject != nil {
		in.Inject = clavis.UseInject{As: b.Inject.As, Name: b.Inject.Name, Prefix: b.Inject.Prefix,
			Username: b.Inject.Username, Password: b.Inject.Password}
	}
	cfg, err := s.svc.PutUseConfig(r.Context(), c, r.PathValue("vault_id"), secretPath(r), in)
	if err != nil {
		return err
	}
	writeJSON(w, 200, useConfigOf(cfg))
	return nil
}

func getUseConfig(s *server, w http.ResponseWriter, r *http.Request, c *clavis.Caller) error {
	cfg, err := s.svc.GetUseConfig(r.Context(), c, r.PathValue("vault_id"), secretPath(r))
	if err != nil {
		return err
	}
	writeJSON(w, 200, useConfigOf(cfg))
	return nil
}

func deleteUseConfig(s *server, w http.ResponseWriter, r *http.Request, c *clavis.Caller) error {
	if err := s.svc.DeleteUseConfig(r.Context(), c, r.PathValue("vault_id"), secretPath(r)); err != nil {
		return err
	}
	w.WriteHeader(204)
	return nil
}

func useSecret(s *server, w http.ResponseWriter, r *http.Request, c *clavis.Caller) error {
	var b useBody
	if err := decode(r, &b); err != nil {
		return err
	}
	req := clavis.UseRequest{Method: b.Method, URL: b.URL, Headers: b.Headers}
	if n := b.TimeoutMS.value(); n != nil {
		if *n == 0 { // 0 is the engine's "default"; on the wire it is out of range
			return clavis.Invalid("timeout_ms", "timeout_ms must be 1 to 30000")
		}
		req.TimeoutMS = toInt(*n)
	}
	switch {
	case b.Body != nil && b.BodyBase64 != nil:
		return clavis.Invalid("body", "give body or body_base64, not both")
	case b.Body != nil:
		req.Body = []byte(*b.Body)
	case b.BodyBase64 != nil:
		body, err := base64.StdEncoding.DecodeString(*b.BodyBase64)
		if err != nil {
			return clavis.Invalid("body_base64", "body_base64 must be standard base64")
		}
		req.Body = body
	}
	res, err := s.svc.UseSecret(r.Context(), c, r.PathValue("vault_id"), secretPath(r), req)
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, 200, useResultOf(res))
	return nil
}
