package client

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"time"

	"clavis.dev/clavis"
)

// Secret paths are sent with raw slashes between segments and each segment percent-escaped; the
// version routes put the path between the route name and the version number (spec §4.5.1, §4.6).
//
// Results are root types: SecretMeta.Secret carries the secret's id, vault and path (the vault as
// asked), SecretMeta.Version the version's number, type, metadata (raw JSON as sent), times, disabled
// flag and, for a read, CreatedBy ("user:<uuid>" or "agent:<uuid>").

// secretMeta sends one request whose answer is a secret's metadata.
func (c *Client) secretMeta(ctx context.Context, method, path, vaultID string, in any) (*clavis.SecretMeta, error) {
	w, err := call[wireSecret](ctx, c, method, path, nil, in)
	if err != nil {
		return nil, err
	}
	m := w.meta(vaultID)
	return &m, nil
}

// PutSecret writes a new version of the secret at path (PUT /v1/vaults/{id}/secrets/{path}) and returns
// its metadata. Zero optional fields are not sent: Type "" is the server default (generic), Metadata nil
// is {}, ExpiresAt nil and MaxAccessCount nil mean no limit. Errors: KindInvalid (path, body),
// KindForbidden, KindLimitExceeded, KindNotFound (vault), KindTooLarge.
func (c *Client) PutSecret(ctx context.Context, vaultID, path string, in clavis.SecretInput) (*clavis.SecretMeta, error) {
	// clavis.Sensitive encodes as "[redacted]": the one place the value goes on the wire reveals it.
	wire := struct {
		Value          string          `json:"value"`
		Type           string          `json:"type,omitempty"`
		Metadata       json.RawMessage `json:"metadata,omitempty"`
		ExpiresAt      *time.Time      `json:"expires_at,omitempty"`
		MaxAccessCount *int            `json:"max_access_count,omitempty"`
	}{string(in.Value), in.Type, in.Metadata, in.ExpiresAt, in.MaxAccessCount}
	return c.secretMeta(ctx, http.MethodPut, vaultPath(vaultID, "/secrets/"+secretPath(path)), vaultID, wire)
}

// GetSecret reads the latest version of a secret with its value (GET /v1/vaults/{id}/secrets/{path}).
// Errors: KindForbidden, KindNotFound (never written), KindGone (deleted; latest version expired,
// exhausted or disabled).
func (c *Client) GetSecret(ctx context.Context, vaultID, path string) (*clavis.SecretValue, error) {
	w, err := call[wireSecret](ctx, c, http.MethodGet, vaultPath(vaultID, "/secrets/"+secretPath(path)), nil, nil)
	if err != nil {
		return nil, err
	}
	return w.value(vaultID), nil
}

// ListSecrets lists the metadata of the latest version of every readable, undeleted secret whose path
// starts with prefix ("" for all), by path (GET /v1/vaults/{id}/secrets).
func (c *Client) ListSecrets(ctx context.Context, vaultID, prefix string) ([]clavis.SecretMeta, error) {
	var q url.Values
	if prefix != "" {
		q = url.Values{"prefix": {prefix}}
	}
	out, err := call[struct {
		Secrets []wireSecret `json:"secrets"`
	}](ctx, c, http.MethodGet, vaultPath(vaultID, "/secrets"), q, nil)
	if err != nil {
		return nil, err
	}
	return metas(out.Secrets, vaultID), nil
}

// DeleteSecret soft-deletes a secret (DELETE /v1/vaults/{id}/secrets/{path}). Errors: KindForbidden,
// KindNotFound, KindGone (already deleted).
func (c *Client) DeleteSecret(ctx context.Context, vaultID, path string) error {
	return c.do(ctx, http.MethodDelete, vaultPath(vaultID, "/secrets/"+secretPath(path)), nil, nil, nil)
}

// ListVersions lists every version of a secret, newest first (GET …/secret-versions/{path}).
func (c *Client) ListVersions(ctx context.Context, vaultID, path string) ([]clavis.SecretMeta, error) {
	out, err := call[struct {
		Versions []wireSecret `json:"versions"`
	}](ctx, c, http.MethodGet, vaultPath(vaultID, "/secret-versions/"+secretPath(path)), nil, nil)
	if err != nil {
		return nil, err
	}
	return metas(out.Versions, vaultID), nil
}

// GetVersion reads version n of a secret with its value (GET …/secret-version/{path}/{n}); the read
// counts toward the version's max_access_count. Errors: KindInvalid, KindForbidden, KindNotFound, KindGone.
func (c *Client) GetVersion(ctx context.Context, vaultID, path string, n int) (*clavis.SecretValue, error) {
	w, err := call[wireSecret](ctx, c, http.MethodGet, versionPath(vaultID, "secret-version", path, n), nil, nil)
	if err != nil {
		return nil, err
	}
	return w.value(vaultID), nil
}

// DisableVersion makes version n unreadable (POST …/secret-version-disable/{path}/{n}); disabling twice
// is not an error.
func (c *Client) DisableVersion(ctx context.Context, vaultID, path string, n int) error {
	return c.do(ctx, http.MethodPost, versionPath(vaultID, "secret-version-disable", path, n), nil, nil, nil)
}

// RotateSecret stores a server-generated value as a new version (POST …/secret-rotate/{path}) and returns
// its metadata; read the value with GetSecret. Zero or nil fields take the server defaults (length 32,
// charset hex, the previous version's type).
func (c *Client) RotateSecret(ctx context.Context, vaultID, path string, in clavis.RotateInput) (*clavis.SecretMeta, error) {
	body := struct {
		Length  *int   `json:"length,omitempty"`
		Charset string `json:"charset,omitempty"`
		Type    string `json:"type,omitempty"`
	}{in.Length, in.Charset, in.Type}
	return c.secretMeta(ctx, http.MethodPost, vaultPath(vaultID, "/secret-rotate/"+secretPath(path)), vaultID, body)
}

// RestoreVersion copies version n into a new latest version, reviving a deleted path
// (POST …/secret-restore/{path}/{n}). Errors: KindInvalid, KindForbidden, KindNotFound, KindGone (source
// version disabled).
func (c *Client) RestoreVersion(ctx context.Context, vaultID, path string, n int) (*clavis.SecretMeta, error) {
	return c.secretMeta(ctx, http.MethodPost, versionPath(vaultID, "secret-restore", path, n), vaultID, nil)
}
