package client

import (
	"context"
	"encoding/base64"
	"net/http"
	"time"

	"clavis.dev/clavis"
)

// Use without read (spec use.md): destination configs and proxied calls. The value of the secret never
// reaches this client: the server injects it and redacts the answer.

type wireUseInject struct {
	As       string  `json:"as"`
	Name     *string `json:"name,omitempty"`
	Prefix   *string `json:"prefix,omitempty"`
	Username *string `json:"username,omitempty"`
	Password *string `json:"password,omitempty"`
}

type wireUseConfig struct {
	AllowedHosts        []string      `json:"allowed_hosts"`
	AllowedMethods      []string      `json:"allowed_methods,omitempty"`
	AllowedPathPrefixes []string      `json:"allowed_path_prefixes"`
	Inject              wireUseInject `json:"inject"`
	AllowHTTP           bool          `json:"allow_http"`
	CreatedBy           string        `json:"created_by,omitempty"`
	CreatedByType       string        `json:"created_by_type,omitempty"`
	CreatedAt           *time.Time    `json:"created_at,omitempty"`
	UpdatedAt           *time.Time    `json:"updated_at,omitempty"`
}

func (w *wireUseConfig) config(vaultID, path string) *clavis.UseConfig {
	c := &clavis.UseConfig{VaultID: vaultID, Path: path, AllowedHosts: w.AllowedHosts, AllowedMethods: w.AllowedMethods,
		AllowedPathPrefixes: w.AllowedPathPrefixes, AllowHTTP: w.AllowHTTP, CreatedBy: w.CreatedBy,
		CreatedByType: clavis.PrincipalType(w.CreatedByType),
		Inject:        clavis.UseInject{As: w.Inject.As, Username: w.Inject.Username, Password: w.Inject.Password}}
	if w.Inject.Name != nil {
		c.Inject.Name = *w.Inject.Name
	}
	if w.Inject.Prefix != nil {
		c.Inject.Prefix = *w.Inject.Prefix
	}
	if w.CreatedAt != nil {
		c.CreatedAt = w.CreatedAt.UTC()
	}
	if w.UpdatedAt != nil {
		c.UpdatedAt = w.UpdatedAt.UTC()
	}
	return c
}

func useConfigPath(vaultID, path string) string {
	return vaultPath(vaultID, "/secret-use/"+secretPath(path))
}

// PutUseConfig sets the destination config of a path (PUT /v1/vaults/{id}/secret-use/{path}). Errors:
// KindInvalid, KindForbidden, KindNotFound, KindConflict (the value is shorter than 16 bytes).
func (c *Client) PutUseConfig(ctx context.Context, vaultID, path string, in clavis.UseConfigInput) (*clavis.UseConfig, error) {
	inj := wireUseInject{As: in.Inject.As, Username: in.Inject.Username, Password: in.Inject.Password}
	if in.Inject.Name != "" {
		inj.Name = &in.Inject.Name
	}
	if in.Inject.Prefix != "" {
		inj.Prefix = &in.Inject.Prefix
	}
	wire := wireUseConfig{AllowedHosts: in.AllowedHosts, AllowedMethods: in.AllowedMethods,
		AllowedPathPrefixes: in.AllowedPathPrefixes, Inject: inj, AllowHTTP: in.AllowHTTP}
	w, err := call[wireUseConfig](ctx, c, http.MethodPut, useConfigPath(vaultID, path), nil, wire)
	if err != nil {
		return nil, err
	}
	return w.config(vaultID, path), nil
}

// GetUseConfig returns the destination config of a path (GET /v1/vaults/{id}/secret-use/{path}).
// Errors: KindForbidden, KindNotFound (vault, or no config).
func (c *Client) GetUseConfig(ctx context.Context, vaultID, path string) (*clavis.UseConfig, error) {
	w, err := call[wireUseConfig](ctx, c, http.MethodGet, useConfigPath(vaultID, path), nil, nil)
	if err != nil {
		return nil, err
	}
	return w.config(vaultID, path), nil
}

// DeleteUseConfig removes the destination config of a path (DELETE /v1/vaults/{id}/secret-use/{path}).
func (c *Client) DeleteUseConfig(ctx context.Context, vaultID, path string) error {
	return c.do(ctx, http.MethodDelete, useConfigPath(vaultID, path), nil, nil, nil)
}

// UseSecret asks the server to make req with the secret injected (POST /v1/vaults/{id}/use/{path}) and
// returns the redacted answer; an upstream 4xx or 5xx is a result, not an error. Errors: KindInvalid,
// KindForbidden, KindDestinationNotAllowed, KindNotFound, KindGone, KindConflict, KindRateLimited,
// KindBadGateway, KindGatewayTimeout.
func (c *Client) UseSecret(ctx context.Context, vaultID, path string, req clavis.UseRequest) (*clavis.UseResult, error) {
	wire := struct {
		Method     string            `json:"method,omitempty"`
		URL        string            `json:"url"`
		Headers    map[string]string `json:"headers,omitempty"`
		Body       *string           `json:"body,omitempty"`
		BodyBase64 *string           `json:"body_base64,omitempty"`
		TimeoutMS  int               `json:"timeout_ms,omitempty"`
	}{Method: req.Method, URL: req.URL, Headers: req.Headers, TimeoutMS: req.TimeoutMS}
	if len(req.Body) > 0 {
		b := base64.StdEncoding.EncodeToString(req.Body)
		wire.BodyBase64 = &b
	}
	w, err := call[struct {
		Status       int                 `json:"status"`
		Headers      map[string][]string `json:"headers"`
		Body         string              `json:"body"`
		BodyEncoding string              `json:"body_encoding"`
		Truncated    bool                `json:"truncated"`
		Redactions   int                 `json:"redactions"`
	}](ctx, c, http.MethodPost, vaultPath(vaultID, "/use/"+secretPath(path)), nil, wire)
	if err != nil {
		return nil, err
	}
	out := &clavis.UseResult{Status: w.Status, Headers: w.Headers, Body: []byte(w.Body), Truncated: w.Truncated, Redactions: w.Redactions}
	if w.BodyEncoding == "base64" {
		if out.Body, err = base64.StdEncoding.DecodeString(w.Body); err != nil {
			return nil, err
		}
	}
	return out, nil
}
