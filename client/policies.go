package client

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"time"

	"clavis.dev/clavis"
)

// policy sends one request whose answer is a policy.
func (c *Client) policy(ctx context.Context, method, path string, in any) (*clavis.Policy, error) {
	w, err := call[wirePolicy](ctx, c, method, path, nil, in)
	if err != nil {
		return nil, err
	}
	return w.root(), nil
}

// CreatePolicy creates a policy on a vault (POST /v1/vaults/{id}/policies). Zero or nil optional fields are not
// sent and take the server defaults (conditions {}, effect allow, priority 0, no approval, no expiry).
// Errors: KindInvalid, KindForbidden (not a manager of the vault), KindNotFound (vault).
func (c *Client) CreatePolicy(ctx context.Context, vaultID string, in clavis.PolicyInput) (*clavis.Policy, error) {
	body := struct {
		SecretPathPattern string          `json:"secret_path_pattern"`
		PrincipalType     string          `json:"principal_type"`
		PrincipalID       string          `json:"principal_id"`
		Permissions       []string        `json:"permissions"`
		Conditions        json.RawMessage `json:"conditions,omitempty"`
		ExpiresAt         *time.Time      `json:"expires_at,omitempty"`
		Effect            *clavis.Effect  `json:"effect,omitempty"`
		Priority          int             `json:"priority,omitempty"`
		RequireApproval   bool            `json:"require_approval,omitempty"`
	}{in.Pattern, string(in.PrincipalType), in.PrincipalID, in.Permissions, in.Conditions, in.ExpiresAt,
		in.Effect, in.Priority, in.RequireApproval}
	return c.policy(ctx, http.MethodPost, vaultPath(vaultID, "/policies"), body)
}

// ListPolicies lists a vault's policies, oldest first (GET /v1/vaults/{id}/policies).
func (c *Client) ListPolicies(ctx context.Context, vaultID string) ([]*clavis.Policy, error) {
	out, err := call[struct {
		Policies []wirePolicy `json:"policies"`
	}](ctx, c, http.MethodGet, vaultPath(vaultID, "/policies"), nil, nil)
	if err != nil {
		return nil, err
	}
	return roots(out.Policies, wirePolicy.root), nil
}

// UpdatePolicy changes a policy (PUT /v1/vaults/{id}/policies/{policyID}). Only the fields set in p are
// sent; ClearExpiresAt sends expires_at null, which clears it. Different values for the immutable fields
// give KindInvalid.
func (c *Client) UpdatePolicy(ctx context.Context, vaultID, policyID string, p clavis.PolicyPatch) (*clavis.Policy, error) {
	body := map[string]any{}
	set := func(key string, ok bool, v any) {
		if ok {
			body[key] = v
		}
	}
	set("secret_path_pattern", p.Pattern != nil, p.Pattern)
	set("principal_type", p.PrincipalType != nil, p.PrincipalType)
	set("principal_id", p.PrincipalID != nil, p.PrincipalID)
	set("permissions", p.Permissions != nil, p.Permissions)
	set("conditions", p.Conditions != nil, p.Conditions)
	set("expires_at", p.ExpiresAt != nil, p.ExpiresAt)
	set("expires_at", p.ClearExpiresAt, nil)
	set("effect", p.Effect != nil, p.Effect)
	set("priority", p.Priority != nil, p.Priority)
	set("require_approval", p.RequireApproval != nil, p.RequireApproval)
	return c.policy(ctx, http.MethodPut, vaultPath(vaultID, "/policies/"+seg(policyID)), body)
}

// DeletePolicy deletes a policy (DELETE /v1/vaults/{id}/policies/{policyID}).
func (c *Client) DeletePolicy(ctx context.Context, vaultID, policyID string) error {
	return c.do(ctx, http.MethodDelete, vaultPath(vaultID, "/policies/"+seg(policyID)), nil, nil, nil)
}

// Explain evaluates how a request of a principal would be decided now, without making it
// (GET /v1/vaults/{id}/policies/explain). With PrincipalType and PrincipalID empty it explains the
// caller's own access (self-explain; PolicyID only for vault managers); a zero IP means the caller's own
// address. Errors: KindInvalid, KindForbidden (another principal and not a manager, or outside a scoped
// key's ceiling), KindNotFound.
func (c *Client) Explain(ctx context.Context, vaultID string, q clavis.ExplainQuery) (*clavis.Explanation, error) {
	v := url.Values{"path": {q.Path}, "permission": {string(q.Permission)}}
	ip := ""
	if q.IP.IsValid() {
		ip = q.IP.String()
	}
	for k, s := range map[string]string{"principal_type": string(q.PrincipalType), "principal_id": q.PrincipalID, "ip": ip} {
		if s != "" {
			v.Set(k, s)
		}
	}
	w, err := call[wireExplanation](ctx, c, http.MethodGet, vaultPath(vaultID, "/policies/explain"), v, nil)
	if err != nil {
		return nil, err
	}
	return w.root(), nil
}
