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

type createVaultIn struct {
	Name        string `json:"name" jsonschema:"vault name, 1-255 characters"`
	Description string `json:"description,omitempty" jsonschema:"what the vault holds"`
}

type grantIn struct {
	VaultID           string   `json:"vault_id" jsonschema:"vault UUID"`
	PrincipalType     string   `json:"principal_type" jsonschema:"user or agent"`
	PrincipalID       string   `json:"principal_id" jsonschema:"UUID of the user or agent"`
	Permissions       []string `json:"permissions,omitempty" jsonschema:"permissions to grant (default [read])"`
	SecretPathPattern string   `json:"secret_path_pattern,omitempty" jsonschema:"path glob (default **)"`
}

type explainIn struct {
	Path       string `json:"path" jsonschema:"secret path"`
	Permission string `json:"permission,omitempty" jsonschema:"read, write, delete, rotate, share or use (default read)"`
	VaultID    string `json:"vault_id,omitempty" jsonschema:"vault UUID; default: the configured vault"`
}

type noIn struct{}

func (t *tools) vaultTools(s *mcp.Server) {
	add(t, s, "create_vault", "Create a vault.", writes, (*call).createVault)
	add(t, s, "list_vaults", "List the vaults you can see.", reads, (*call).listVaults)
	add(t, s, "grant_access", "Grant a user or agent access to secrets of a vault you manage.", writes, (*call).grantAccess,
		enums{"principal_type": {"user", "agent"}, "permissions": permissionNames()})
	add(t, s, "explain_access", "Explain whether you may act on a secret path, and why.", reads, (*call).explainAccess, enums{"permission": permissionNames()})
}

// permissionNames lists the permissions a policy may grant.
func permissionNames() []string {
	var out []string
	for _, p := range clavis.Permissions() {
		out = append(out, string(p))
	}
	return out
}

func (c *call) createVault(ctx context.Context, in createVaultIn) (string, error) {
	if in.Name == "" || len(in.Name) > 255 {
		return "", toolError("Error: name must be 1-255 characters")
	}
	v, err := c.svc.CreateVault(ctx, clavis.VaultInput{Name: in.Name, Description: in.Description})
	if err != nil {
		return "", c.fail(ctx, err, "", "")
	}
	return fmt.Sprintf("Vault created successfully.\n  ID: %s\n  Name: %s\n  Owner: %s:%s", v.ID, v.Name, v.CreatedByType, v.CreatedBy), nil
}

func (c *call) listVaults(ctx context.Context, _ noIn) (string, error) {
	vs, err := c.svc.ListVaults(ctx)
	if err != nil {
		return "", c.fail(ctx, err, "", "")
	}
	if len(vs) == 0 {
		return "No vaults found. Create one with create_vault.", nil
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Found %d vault(s):", len(vs))
	for _, v := range vs {
		fmt.Fprintf(&b, "\n- %s  (id: %s, created by: %s, %s)", v.Name, v.ID, v.CreatedByType, v.CreatedAt.UTC().Format(time.RFC3339))
	}
	return b.String(), nil
}

func (c *call) grantAccess(ctx context.Context, in grantIn) (string, error) {
	if in.PrincipalType != "user" && in.PrincipalType != "agent" {
		return "", toolError("Error: principal_type must be user or agent")
	}
	perms := in.Permissions
	if len(perms) == 0 {
		perms = []string{"read"}
	}
	pat := in.SecretPathPattern
	if pat == "" {
		pat = "**"
	}
	p, err := c.svc.CreatePolicy(ctx, in.VaultID, clavis.PolicyInput{
		Pattern: pat, PrincipalType: clavis.PrincipalType(in.PrincipalType), PrincipalID: in.PrincipalID, Permissions: perms,
	})
	if err != nil {
		return "", c.fail(ctx, err, in.VaultID, "")
	}
	ps := make([]string, len(p.Permissions))
	for i, x := range p.Permissions {
		ps[i] = string(x)
	}
	return fmt.Sprintf("Access granted.\n  Policy ID: %s\n  Vault: %s\n  Granted to: %s:%s\n  Permissions: %s\n  Path pattern: %s",
		p.ID, in.VaultID, p.PrincipalType, p.PrincipalID, strings.Join(ps, ", "), p.Pattern), nil
}

func (c *call) explainAccess(ctx context.Context, in explainIn) (string, error) {
	v, err := c.vault(ctx, in.VaultID)
	if err != nil {
		return "", err
	}
	perm := in.Permission
	if perm == "" {
		perm = "read"
	}
	x, err := c.svc.Explain(ctx, v, clavis.ExplainQuery{Path: in.Path, Permission: clavis.Permission(perm)})
	if err != nil {
		return "", c.fail(ctx, err, v, in.Path)
	}
	if x.Allowed {
		return "allowed: " + x.Reason, nil
	}
	return "denied: " + x.Reason, nil
}

// addResource adds vault://secrets: the default vault's secrets as JSON, without values.
func (t *tools) addResource(s *mcp.Server) {
	s.AddResource(&mcp.Resource{URI: "vault://secrets", Name: "secrets", MIMEType: "application/json",
		Description: "The secrets of the default vault (paths and metadata, never values)."},
		func(ctx context.Context, req *mcp.ReadResourceRequest) (*mcp.ReadResourceResult, error) {
			c, err := t.bind(req.Extra)
			if err != nil {
				return nil, err
			}
			v, err := c.vault(ctx, "")
			if err != nil {
				return nil, err
			}
			list, err := c.svc.ListSecrets(ctx, v, "")
			if err != nil {
				return nil, c.fail(ctx, err, v, "")
			}
			type item struct {
				Path      string  `json:"path"`
				Type      string  `json:"type"`
				Version   int     `json:"version"`
				ExpiresAt *string `json:"expires_at"`
			}
			items := make([]item, 0, len(list))
			for _, m := range list {
				it := item{Path: m.Secret.Path, Type: m.Version.Type, Version: m.Version.Version}
				if m.Version.ExpiresAt != nil {
					s := m.Version.ExpiresAt.UTC().Format(time.RFC3339)
					it.ExpiresAt = &s
				}
				items = append(items, it)
			}
			b, err := json.Marshal(items)
			if err != nil {
				return nil, err
			}
			return &mcp.ReadResourceResult{Contents: []*mcp.ResourceContents{{URI: req.Params.URI, MIMEType: "application/json", Text: c.red.apply(string(b))}}}, nil
		})
}
