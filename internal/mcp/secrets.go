package mcp

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"clavis.dev/clavis"
)

type pathIn struct {
	Path    string `json:"path" jsonschema:"secret path, e.g. api-keys/stripe"`
	VaultID string `json:"vault_id,omitempty" jsonschema:"vault UUID; default: the configured vault"`
}

type listIn struct {
	Prefix  string `json:"prefix,omitempty" jsonschema:"only paths starting with this prefix"`
	VaultID string `json:"vault_id,omitempty" jsonschema:"vault UUID; default: the configured vault"`
}

type putIn struct {
	Path           string         `json:"path" jsonschema:"secret path"`
	Value          string         `json:"value" jsonschema:"the secret value"`
	Type           string         `json:"type,omitempty" jsonschema:"secret type (default api_key)"`
	Metadata       map[string]any `json:"metadata,omitempty" jsonschema:"JSON object of metadata"`
	ExpiresAt      string         `json:"expires_at,omitempty" jsonschema:"expiry, RFC 3339"`
	MaxAccessCount *int           `json:"max_access_count,omitempty" jsonschema:"reads allowed, > 0"`
	VaultID        string         `json:"vault_id,omitempty" jsonschema:"vault UUID; default: the configured vault"`
}

type rotateIn struct {
	Path    string `json:"path" jsonschema:"secret path"`
	Value   string `json:"value" jsonschema:"the new value"`
	Type    string `json:"type,omitempty" jsonschema:"secret type; default: the current one"`
	VaultID string `json:"vault_id,omitempty" jsonschema:"vault UUID; default: the configured vault"`
}

type generateIn struct {
	Path    string `json:"path" jsonschema:"secret path"`
	Length  *int   `json:"length,omitempty" jsonschema:"length of the generated value, 8-1024 (default 32)"`
	Charset string `json:"charset,omitempty" jsonschema:"hex, base64, alphanumeric or ascii (default hex)"`
	VaultID string `json:"vault_id,omitempty" jsonschema:"vault UUID; default: the configured vault"`
}

func (t *tools) secretTools(s *mcp.Server) {
	add(t, s, "list_secrets", "List the secrets of the vault (paths and metadata, never values).", reads, (*call).listSecrets)
	add(t, s, "get_secret", "Read the decrypted value of a secret.", revealsValue, (*call).getSecret)
	add(t, s, "put_secret", "Store a new version of a secret.", writes, (*call).putSecret, enums{"type": clavis.SecretTypes()})
	add(t, s, "delete_secret", "Soft-delete a secret.", destroys, (*call).deleteSecret)
	add(t, s, "describe_secret", "Describe a secret's metadata without reading its value.", reads, (*call).describeSecret)
	add(t, s, "rotate_and_store", "Store a new value as the next version of a secret.", writes, (*call).rotateAndStore, enums{"type": clavis.SecretTypes()})
	add(t, s, "get_env_bundle", "Read an env_bundle secret as a JSON object of KEY: value.", revealsValue, (*call).getEnvBundle)
	add(t, s, "list_versions", "List the versions of a secret.", reads, (*call).listVersions)
	add(t, s, "rotate_generate", "Rotate a secret to a server-generated value, which is not returned.", writes, (*call).rotateGenerate,
		enums{"charset": {"hex", "base64", "alphanumeric", "ascii"}})
}

// expires formats an optional expiry as RFC 3339, or "never".
func expires(at *time.Time) string {
	if at == nil {
		return "never"
	}
	return at.UTC().Format(time.RFC3339)
}

func (c *call) listSecrets(ctx context.Context, in listIn) (string, error) {
	v, err := c.vault(ctx, in.VaultID)
	if err != nil {
		return "", err
	}
	list, err := c.svc.ListSecrets(ctx, v, in.Prefix)
	if err != nil {
		return "", c.fail(ctx, err, v, "")
	}
	if len(list) == 0 {
		return "No secrets found in this vault.", nil
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Found %d secret(s):", len(list))
	for _, m := range list {
		fmt.Fprintf(&b, "\n- %s  (type: %s, version: %d, expires: %s)", m.Secret.Path, m.Version.Type, m.Version.Version, expires(m.Version.ExpiresAt))
	}
	return b.String(), nil
}

func (c *call) getSecret(ctx context.Context, in pathIn) (string, error) {
	v, err := c.vault(ctx, in.VaultID)
	if err != nil {
		return "", err
	}
	sv, err := c.svc.GetSecret(ctx, v, in.Path)
	if err != nil {
		return "", c.fail(ctx, err, v, in.Path)
	}
	c.red.remember(in.Path, string(sv.Value))
	out, err := json.Marshal(struct {
		Path    string `json:"path"`
		Type    string `json:"type"`
		Version int    `json:"version"`
		Value   string `json:"value"`
	}{in.Path, sv.Version.Type, sv.Version.Version, string(sv.Value)})
	return string(out), err
}

func (c *call) getEnvBundle(ctx context.Context, in pathIn) (string, error) {
	v, err := c.vault(ctx, in.VaultID)
	if err != nil {
		return "", err
	}
	sv, err := c.svc.GetSecret(ctx, v, in.Path)
	if err != nil {
		return "", c.fail(ctx, err, v, in.Path)
	}
	if sv.Version.Type != "env_bundle" {
		return "", toolError("Secret at '" + in.Path + "' is not an env_bundle")
	}
	env := parseEnvBundle(string(sv.Value))
	for _, val := range env {
		if len(val) >= minRedactLen {
			c.red.remember(in.Path, val)
		}
	}
	out, err := json.Marshal(env)
	return string(out), err
}

// parseEnvBundle reads KEY=VALUE lines, skipping blank lines and # comments (api.md §4.5.2).
func parseEnvBundle(v string) map[string]string {
	env := map[string]string{}
	for _, line := range strings.Split(v, "\n") {
		line = strings.TrimSuffix(line, "\r")
		if t := strings.TrimLeft(line, " \t"); t == "" || strings.HasPrefix(t, "#") {
			continue
		}
		if k, val, ok := strings.Cut(line, "="); ok {
			env[k] = val
		}
	}
	return env
}

func (c *call) putSecret(ctx context.Context, in putIn) (string, error) {
	v, err := c.vault(ctx, in.VaultID)
	if err != nil {
		return "", err
	}
	si := clavis.SecretInput{Value: clavis.Sensitive(in.Value), Type: in.Type}
	if in.Metadata != nil {
		if si.Metadata, err = json.Marshal(in.Metadata); err != nil {
			return "", toolError("Error: metadata must be a JSON object")
		}
	}
	if si.Type == "" {
		si.Type = "api_key"
	}
	if in.ExpiresAt != "" {
		at, perr := time.Parse(time.RFC3339, in.ExpiresAt)
		if perr != nil {
			return "", toolError("Error: expires_at must be an RFC 3339 time")
		}
		si.ExpiresAt = &at
	}
	if in.MaxAccessCount != nil && *in.MaxAccessCount < 1 {
		return "", toolError("Error: max_access_count must be greater than 0")
	}
	si.MaxAccessCount = in.MaxAccessCount
	m, err := c.svc.PutSecret(ctx, v, in.Path, si)
	if err != nil {
		return "", c.fail(ctx, err, v, in.Path)
	}
	return fmt.Sprintf("Secret stored at '%s' (version %d, type: %s).", in.Path, m.Version.Version, m.Version.Type), nil
}

func (c *call) deleteSecret(ctx context.Context, in pathIn) (string, error) {
	v, err := c.vault(ctx, in.VaultID)
	if err != nil {
		return "", err
	}
	if err := c.svc.DeleteSecret(ctx, v, in.Path); err != nil {
		return "", c.fail(ctx, err, v, in.Path)
	}
	return "Secret at '" + in.Path + "' has been soft-deleted.", nil
}

// describeSecret reads metadata only: the newest version from ListVersions, never the value.
func (c *call) describeSecret(ctx context.Context, in pathIn) (string, error) {
	v, err := c.vault(ctx, in.VaultID)
	if err != nil {
		return "", err
	}
	vs, err := c.svc.ListVersions(ctx, v, in.Path)
	if err != nil {
		return "", c.fail(ctx, err, v, in.Path)
	}
	if len(vs) == 0 {
		return "", toolError("Secret not found: " + in.Path)
	}
	ver := vs[0].Version
	md := ver.Metadata
	if len(md) == 0 {
		md = json.RawMessage("{}")
	}
	var exp *string
	if ver.ExpiresAt != nil {
		s := ver.ExpiresAt.UTC().Format(time.RFC3339)
		exp = &s
	}
	out, err := json.Marshal(struct {
		Path      string          `json:"path"`
		Type      string          `json:"type"`
		Version   int             `json:"version"`
		Metadata  json.RawMessage `json:"metadata"`
		CreatedAt string          `json:"created_at"`
		ExpiresAt *string         `json:"expires_at"`
	}{in.Path, ver.Type, ver.Version, md, ver.CreatedAt.UTC().Format(time.RFC3339), exp})
	return string(out), err
}

// rotateAndStore keeps the current type when none is given and the caller can list the secret.
func (c *call) rotateAndStore(ctx context.Context, in rotateIn) (string, error) {
	v, err := c.vault(ctx, in.VaultID)
	if err != nil {
		return "", err
	}
	typ := in.Type
	if typ == "" {
		typ = "api_key"
		if list, lerr := c.svc.ListSecrets(ctx, v, in.Path); lerr == nil {
			for _, m := range list {
				if m.Secret.Path == in.Path {
					typ = m.Version.Type
				}
			}
		}
	}
	m, err := c.svc.PutSecret(ctx, v, in.Path, clavis.SecretInput{Value: clavis.Sensitive(in.Value), Type: typ})
	if err != nil {
		return "", c.fail(ctx, err, v, in.Path)
	}
	return fmt.Sprintf("Rotated secret at '%s'. New version: %d.", in.Path, m.Version.Version), nil
}

func (c *call) listVersions(ctx context.Context, in pathIn) (string, error) {
	v, err := c.vault(ctx, in.VaultID)
	if err != nil {
		return "", err
	}
	vs, err := c.svc.ListVersions(ctx, v, in.Path)
	if err != nil {
		return "", c.fail(ctx, err, v, in.Path)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Versions of '%s':", in.Path)
	for _, m := range vs {
		dis := "no"
		if m.Version.Disabled {
			dis = "yes"
		}
		fmt.Fprintf(&b, "\n- v%d  (created: %s, disabled: %s)", m.Version.Version, m.Version.CreatedAt.UTC().Format(time.RFC3339), dis)
	}
	return b.String(), nil
}

func (c *call) rotateGenerate(ctx context.Context, in generateIn) (string, error) {
	v, err := c.vault(ctx, in.VaultID)
	if err != nil {
		return "", err
	}
	if in.Length != nil && (*in.Length < 8 || *in.Length > 1024) {
		return "", toolError("Error: length must be between 8 and 1024")
	}
	ri := clavis.RotateInput{Charset: in.Charset, Length: in.Length}
	m, err := c.svc.RotateSecret(ctx, v, in.Path, ri)
	if err != nil {
		return "", c.fail(ctx, err, v, in.Path)
	}
	return fmt.Sprintf("Rotated secret at '%s'. New version: %d.", in.Path, m.Version.Version), nil
}
