package client

import (
	"context"
	"net/http"
	"net/url"
	"time"
)

// PolicyInput creates a policy. Zero optional fields are omitted and take the server defaults
// (conditions {}, effect allow, priority 0, no approval, no expiry).
type PolicyInput struct {
	SecretPathPattern string         `json:"secret_path_pattern"`
	PrincipalType     string         `json:"principal_type"` // "user" or "agent"
	PrincipalID       string         `json:"principal_id"`
	Permissions       []string       `json:"permissions"` // read, write, delete, rotate, share
	Conditions        map[string]any `json:"conditions,omitempty"`
	ExpiresAt         *time.Time     `json:"expires_at,omitempty"`
	Effect            string         `json:"effect,omitempty"` // "allow" or "deny"
	Priority          int            `json:"priority,omitempty"`
	RequireApproval   bool           `json:"require_approval,omitempty"`
}

// ExplainQuery names the request to explain; IP "" means the caller's own address.
type ExplainQuery struct {
	PrincipalType string // "user" or "agent"
	PrincipalID   string
	Path          string
	Permission    string
	IP            string
}

// CreatePolicy creates a policy on a vault (POST /v1/vaults/{id}/policies). Errors: KindInvalid,
// KindForbidden (not a manager of the vault), KindNotFound (vault).
func (c *Client) CreatePolicy(ctx context.Context, vaultID string, in PolicyInput) (Policy, error) {
	p, err := call[Policy](ctx, c, http.MethodPost, vaultPath(vaultID, "/policies"), nil, in)
	return withDefaults(p), err
}

// ListPolicies lists a vault's policies, oldest first (GET /v1/vaults/{id}/policies).
func (c *Client) ListPolicies(ctx context.Context, vaultID string) ([]Policy, error) {
	out, err := call[struct {
		Policies []Policy `json:"policies"`
	}](ctx, c, http.MethodGet, vaultPath(vaultID, "/policies"), nil, nil)
	if err != nil {
		return nil, err
	}
	for i := range out.Policies {
		out.Policies[i] = withDefaults(out.Policies[i])
	}
	return nonNil(out.Policies), nil
}

// UpdatePolicy changes a policy (PUT /v1/vaults/{id}/policies/{policyID}). patch holds the wire keys to
// change (permissions, conditions, expires_at, effect, priority, require_approval); a nil expires_at
// sends JSON null, which clears it. Different values for the immutable keys give KindInvalid.
func (c *Client) UpdatePolicy(ctx context.Context, vaultID, policyID string, patch map[string]any) (Policy, error) {
	if patch == nil {
		patch = map[string]any{}
	}
	p, err := call[Policy](ctx, c, http.MethodPut, vaultPath(vaultID, "/policies/"+seg(policyID)), nil, patch)
	return withDefaults(p), err
}

// DeletePolicy deletes a policy (DELETE /v1/vaults/{id}/policies/{policyID}).
func (c *Client) DeletePolicy(ctx context.Context, vaultID, policyID string) error {
	return c.do(ctx, http.MethodDelete, vaultPath(vaultID, "/policies/"+seg(policyID)), nil, nil, nil)
}

// Explain evaluates how a request of a principal would be decided now, without making it
// (GET /v1/vaults/{id}/policies/explain). With PrincipalType and PrincipalID empty it explains the
// caller's own access (self-explain; PolicyID only for vault managers). Errors: KindInvalid,
// KindForbidden (another principal and not a manager, or outside a scoped key's ceiling), KindNotFound.
func (c *Client) Explain(ctx context.Context, vaultID string, q ExplainQuery) (Explain, error) {
	v := url.Values{"path": {q.Path}, "permission": {q.Permission}}
	for k, s := range map[string]string{"principal_type": q.PrincipalType, "principal_id": q.PrincipalID, "ip": q.IP} {
		if s != "" {
			v.Set(k, s)
		}
	}
	return call[Explain](ctx, c, http.MethodGet, vaultPath(vaultID, "/policies/explain"), v, nil)
}

// withDefaults fills in the keys the server omits at their defaults; the zero Policy (an error result)
// stays zero.
func withDefaults(p Policy) Policy {
	if p.ID != "" && p.Effect == "" {
		p.Effect = "allow"
	}
	return p
}
