package client

import (
	"context"
	"net/http"
	"net/url"
	"time"

	"clavis.dev/clavis"
)

// Secret paths are sent with raw slashes between segments and each segment percent-escaped; the
// version routes put the path between the route name and the version number (spec §4.5.1, §4.6).

// PutSecretInput is a new version of a secret. Zero optional fields are omitted: Type "" is the server
// default (generic), Metadata nil is {}, ExpiresAt and MaxAccessCount nil mean no limit. Like every
// clavis.Sensitive, Value encodes as "[redacted]" in JSON; PutSecret sends it as is.
type PutSecretInput struct {
	Value          clavis.Sensitive `json:"value"`
	Type           string           `json:"type,omitempty"`
	Metadata       map[string]any   `json:"metadata,omitempty"`
	ExpiresAt      *time.Time       `json:"expires_at,omitempty"`
	MaxAccessCount *int             `json:"max_access_count,omitempty"`
}

// RotateInput asks the server for a generated value; zero fields take the server defaults (length 32,
// charset hex, the previous version's type).
type RotateInput struct {
	Length  int    `json:"length,omitempty"`
	Charset string `json:"charset,omitempty"` // hex, base64, alphanumeric or ascii
	Type    string `json:"type,omitempty"`
}

// PutSecret writes a new version of the secret at path (PUT /v1/vaults/{id}/secrets/{path}) and returns
// its metadata. Errors: KindInvalid (path, body), KindForbidden, KindLimitExceeded, KindNotFound (vault),
// KindTooLarge.
func (c *Client) PutSecret(ctx context.Context, vaultID, path string, in PutSecretInput) (SecretMetadata, error) {
	// clavis.Sensitive encodes as "[redacted]": the one place the value goes on the wire reveals it.
	wire := struct {
		Value          string         `json:"value"`
		Type           string         `json:"type,omitempty"`
		Metadata       map[string]any `json:"metadata,omitempty"`
		ExpiresAt      *time.Time     `json:"expires_at,omitempty"`
		MaxAccessCount *int           `json:"max_access_count,omitempty"`
	}{string(in.Value), in.Type, in.Metadata, in.ExpiresAt, in.MaxAccessCount}
	return call[SecretMetadata](ctx, c, http.MethodPut, vaultPath(vaultID, "/secrets/"+secretPath(path)), nil, wire)
}

// GetSecret reads the latest version of a secret with its value (GET /v1/vaults/{id}/secrets/{path}).
// Errors: KindForbidden, KindNotFound (never written), KindGone (deleted; latest version expired,
// exhausted or disabled).
func (c *Client) GetSecret(ctx context.Context, vaultID, path string) (Secret, error) {
	return call[Secret](ctx, c, http.MethodGet, vaultPath(vaultID, "/secrets/"+secretPath(path)), nil, nil)
}

// ListSecrets lists the metadata of the latest version of every readable, undeleted secret whose path
// starts with prefix ("" for all), by path (GET /v1/vaults/{id}/secrets).
func (c *Client) ListSecrets(ctx context.Context, vaultID, prefix string) ([]SecretMetadata, error) {
	var q url.Values
	if prefix != "" {
		q = url.Values{"prefix": {prefix}}
	}
	out, err := call[struct {
		Secrets []SecretMetadata `json:"secrets"`
	}](ctx, c, http.MethodGet, vaultPath(vaultID, "/secrets"), q, nil)
	if err != nil {
		return nil, err
	}
	return nonNil(out.Secrets), nil
}

// DeleteSecret soft-deletes a secret (DELETE /v1/vaults/{id}/secrets/{path}). Errors: KindForbidden,
// KindNotFound, KindGone (already deleted).
func (c *Client) DeleteSecret(ctx context.Context, vaultID, path string) error {
	return c.do(ctx, http.MethodDelete, vaultPath(vaultID, "/secrets/"+secretPath(path)), nil, nil, nil)
}

// ListVersions lists every version of a secret, newest first (GET …/secret-versions/{path}).
func (c *Client) ListVersions(ctx context.Context, vaultID, path string) ([]SecretVersion, error) {
	out, err := call[struct {
		Versions []SecretVersion `json:"versions"`
	}](ctx, c, http.MethodGet, vaultPath(vaultID, "/secret-versions/"+secretPath(path)), nil, nil)
	if err != nil {
		return nil, err
	}
	return nonNil(out.Versions), nil
}

// GetVersion reads version n of a secret with its value (GET …/secret-version/{path}/{n}); the read
// counts toward the version's max_access_count. Errors: KindInvalid, KindForbidden, KindNotFound, KindGone.
func (c *Client) GetVersion(ctx context.Context, vaultID, path string, n int) (Secret, error) {
	return call[Secret](ctx, c, http.MethodGet, versionPath(vaultID, "secret-version", path, n), nil, nil)
}

// DisableVersion makes version n unreadable (POST …/secret-version-disable/{path}/{n}); disabling twice
// is not an error.
func (c *Client) DisableVersion(ctx context.Context, vaultID, path string, n int) error {
	return c.do(ctx, http.MethodPost, versionPath(vaultID, "secret-version-disable", path, n), nil, nil, nil)
}

// RotateSecret stores a server-generated value as a new version (POST …/secret-rotate/{path}) and returns
// its metadata; read the value with GetSecret.
func (c *Client) RotateSecret(ctx context.Context, vaultID, path string, in RotateInput) (SecretMetadata, error) {
	return call[SecretMetadata](ctx, c, http.MethodPost, vaultPath(vaultID, "/secret-rotate/"+secretPath(path)), nil, in)
}

// RestoreVersion copies version n into a new latest version, reviving a deleted path
// (POST …/secret-restore/{path}/{n}). Errors: KindInvalid, KindForbidden, KindNotFound, KindGone (source
// version disabled).
func (c *Client) RestoreVersion(ctx context.Context, vaultID, path string, n int) (SecretMetadata, error) {
	return call[SecretMetadata](ctx, c, http.MethodPost, versionPath(vaultID, "secret-restore", path, n), nil, nil)
}
