package client

import (
	"context"
	"net/http"
	"time"

	"clavis.dev/clavis"
)

// Agents as the API shows them: OrgID and CreatedBy (the bare UUID of the registering user) are set only
// by AgentMe; the key hash is never set.

// agentKey sends one request whose answer is an agent with its new key.
func (c *Client) agentKey(ctx context.Context, path string, in any) (*clavis.AgentKey, error) {
	w, err := call[wireAgentKey](ctx, c, http.MethodPost, path, nil, in)
	if err != nil {
		return nil, err
	}
	return w.root(), nil
}

// agent sends one request whose answer is an agent.
func (c *Client) agent(ctx context.Context, method, path string, in any) (*clavis.Agent, error) {
	w, err := call[wireAgent](ctx, c, method, path, nil, in)
	if err != nil {
		return nil, err
	}
	return w.root(), nil
}

// CreateAgent registers an agent (POST /v1/agents) and returns it with its key (ocv_…), shown only this
// once; string(Key) reveals it. Zero or nil optional fields are not sent and take the server defaults. Errors:
// KindInvalid, KindForbidden (caller is an agent), KindLimitExceeded.
func (c *Client) CreateAgent(ctx context.Context, in clavis.AgentInput) (*clavis.AgentKey, error) {
	body := struct {
		Name            string     `json:"name"`
		Description     string     `json:"description,omitempty"`
		Scopes          []string   `json:"scopes,omitempty"`
		VaultIDs        []string   `json:"vault_ids,omitempty"`
		ExpiresAt       *time.Time `json:"expires_at,omitempty"`
		TokenTTLSeconds *int       `json:"token_ttl_seconds,omitempty"`
	}{in.Name, in.Description, in.Scopes, in.VaultIDs, in.ExpiresAt, in.TokenTTL}
	return c.agentKey(ctx, "/v1/agents", body)
}

// ListAgents lists every agent of the caller's org (GET /v1/agents); agents get KindForbidden.
func (c *Client) ListAgents(ctx context.Context) ([]*clavis.Agent, error) {
	out, err := call[struct {
		Agents []wireAgent `json:"agents"`
	}](ctx, c, http.MethodGet, "/v1/agents", nil, nil)
	if err != nil {
		return nil, err
	}
	return roots(out.Agents, wireAgent.root), nil
}

// GetAgent returns one agent (GET /v1/agents/{id}); an agent may read only itself.
func (c *Client) GetAgent(ctx context.Context, id string) (*clavis.Agent, error) {
	return c.agent(ctx, http.MethodGet, "/v1/agents/"+seg(id), nil)
}

// AgentMe returns the calling agent's own record (GET /v1/agents/me); users get KindForbidden.
func (c *Client) AgentMe(ctx context.Context) (*clavis.Agent, error) {
	return c.agent(ctx, http.MethodGet, "/v1/agents/me", nil)
}

// UpdateAgent changes an agent (PATCH /v1/agents/{id}). Only the fields set in p are sent; ClearExpiresAt
// and ClearTokenTTL send JSON null, which clears the field.
func (c *Client) UpdateAgent(ctx context.Context, id string, p clavis.AgentPatch) (*clavis.Agent, error) {
	body := map[string]any{}
	set := func(key string, ok bool, v any) {
		if ok {
			body[key] = v
		}
	}
	set("name", p.Name != nil, p.Name)
	set("description", p.Description != nil, p.Description)
	set("scopes", p.Scopes != nil, p.Scopes)
	set("vault_ids", p.VaultIDs != nil, p.VaultIDs)
	set("is_active", p.Active != nil, p.Active)
	set("expires_at", p.ExpiresAt != nil, p.ExpiresAt)
	set("expires_at", p.ClearExpiresAt, nil)
	set("token_ttl_seconds", p.TokenTTL != nil, p.TokenTTL)
	set("token_ttl_seconds", p.ClearTokenTTL, nil)
	return c.agent(ctx, http.MethodPatch, "/v1/agents/"+seg(id), body)
}

// DeleteAgent deletes an agent with its policies; its key and tokens stop working
// (DELETE /v1/agents/{id}).
func (c *Client) DeleteAgent(ctx context.Context, id string) error {
	return c.do(ctx, http.MethodDelete, "/v1/agents/"+seg(id), nil, nil, nil)
}

// RotateAgentKey issues a new key for an agent (POST /v1/agents/{id}/rotate-key) and returns the agent
// with the new key (string(Key) reveals it); the old key and every token issued before stop working at
// once.
func (c *Client) RotateAgentKey(ctx context.Context, id string) (*clavis.AgentKey, error) {
	return c.agentKey(ctx, "/v1/agents/"+seg(id)+"/rotate-key", nil)
}
