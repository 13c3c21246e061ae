package client

import (
	"context"
	"net/http"
	"time"

	"clavis.dev/clavis"
)

// ListMembers lists the org's members (GET /v1/org/members).
func (c *Client) ListMembers(ctx context.Context) ([]*clavis.User, error) {
	out, err := call[struct {
		Members []wireUser `json:"members"`
	}](ctx, c, http.MethodGet, "/v1/org/members", nil, nil)
	if err != nil {
		return nil, err
	}
	return roots(out.Members, wireUser.root), nil
}

// InviteMember invites an email with a role ("" = member) (POST /v1/org/invite).
func (c *Client) InviteMember(ctx context.Context, email string, role clavis.Role) (*clavis.Invite, error) {
	body := struct {
		Email string      `json:"email"`
		Role  clavis.Role `json:"role,omitempty"`
	}{email, role}
	w, err := call[struct {
		Email     string    `json:"email"`
		Role      string    `json:"role"`
		ExpiresAt time.Time `json:"expires_at"`
	}](ctx, c, http.MethodPost, "/v1/org/invite", nil, body)
	if err != nil {
		return nil, err
	}
	return &clavis.Invite{Email: w.Email, Role: clavis.Role(w.Role), ExpiresAt: w.ExpiresAt}, nil
}

// SetMemberRole changes a member's role (PATCH /v1/org/members/{id}).
func (c *Client) SetMemberRole(ctx context.Context, userID string, role clavis.Role) (*clavis.User, error) {
	w, err := call[wireUser](ctx, c, http.MethodPatch, "/v1/org/members/"+seg(userID), nil, map[string]any{"role": role})
	if err != nil {
		return nil, err
	}
	return w.root(), nil
}

// RemoveMember removes a member from the org (DELETE /v1/org/members/{id}).
func (c *Client) RemoveMember(ctx context.Context, userID string) error {
	return c.do(ctx, http.MethodDelete, "/v1/org/members/"+seg(userID), nil, nil, nil)
}

// AgentKeysVault returns the id of the org's __agent-keys vault (GET /v1/org/agent-keys-vault).
func (c *Client) AgentKeysVault(ctx context.Context) (string, error) {
	w, err := call[struct {
		VaultID string `json:"vault_id"`
	}](ctx, c, http.MethodGet, "/v1/org/agent-keys-vault", nil, nil)
	return w.VaultID, err
}

type wireIPRule struct {
	ID        string    `json:"id"`
	OrgID     string    `json:"org_id"`
	RuleType  string    `json:"rule_type"`
	CIDR      string    `json:"cidr"`
	Label     string    `json:"label"`
	AppliesTo string    `json:"applies_to"`
	CreatedBy string    `json:"created_by"`
	CreatedAt time.Time `json:"created_at"`
}

func (w wireIPRule) root() *clavis.IPRule {
	return &clavis.IPRule{ID: w.ID, OrgID: w.OrgID, RuleType: w.RuleType, CIDR: w.CIDR, Label: w.Label,
		AppliesTo: w.AppliesTo, CreatedBy: w.CreatedBy, CreatedAt: w.CreatedAt}
}

// ListIPRules lists the org's IP rules (GET /v1/security/ip-rules).
func (c *Client) ListIPRules(ctx context.Context) ([]*clavis.IPRule, error) {
	out, err := call[struct {
		Rules []wireIPRule `json:"rules"`
	}](ctx, c, http.MethodGet, "/v1/security/ip-rules", nil, nil)
	if err != nil {
		return nil, err
	}
	return roots(out.Rules, wireIPRule.root), nil
}

// CreateIPRule adds an IP rule (POST /v1/security/ip-rules).
func (c *Client) CreateIPRule(ctx context.Context, in clavis.IPRuleInput) (*clavis.IPRule, error) {
	body := struct {
		RuleType  string `json:"rule_type"`
		CIDR      string `json:"cidr"`
		Label     string `json:"label,omitempty"`
		AppliesTo string `json:"applies_to,omitempty"`
	}{in.RuleType, in.CIDR, in.Label, in.AppliesTo}
	w, err := call[wireIPRule](ctx, c, http.MethodPost, "/v1/security/ip-rules", nil, body)
	if err != nil {
		return nil, err
	}
	return w.root(), nil
}

// DeleteIPRule removes an IP rule (DELETE /v1/security/ip-rules/{id}).
func (c *Client) DeleteIPRule(ctx context.Context, id string) error {
	return c.do(ctx, http.MethodDelete, "/v1/security/ip-rules/"+seg(id), nil, nil, nil)
}
