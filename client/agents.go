package client

import (
	"context"
	"net/http"
	"time"

	"clavis.dev/clavis"
)

// AgentInput registers an agent. Zero optional fields are omitted and take the server defaults.
type AgentInput struct {
	Name            string     `json:"name"`
	Description     string     `json:"description,omitempty"`
	Scopes          []string   `json:"scopes,omitempty"`
	VaultIDs        []string   `json:"vault_ids,omitempty"`
	ExpiresAt       *time.Time `json:"expires_at,omitempty"`
	TokenTTLSeconds *int       `json:"token_ttl_seconds,omitempty"`
}

// CreateAgent registers an agent (POST /v1/agents) and returns it with its key (ocv_…), shown only this
// once; string(key) reveals it. Errors: KindInvalid, KindForbidden (caller is an agent), KindLimitExceeded.
func (c *Client) CreateAgent(ctx context.Context, in AgentInput) (Agent, clavis.Sensitive, error) {
	out, err := call[struct {
		Agent  Agent            `json:"agent"`
		APIKey clavis.Sensitive `json:"api_key"`
	}](ctx, c, http.MethodPost, "/v1/agents", nil, in)
	return out.Agent, out.APIKey, err
}

// ListAgents lists every agent of the caller's org (GET /v1/agents); agents get KindForbidden.
func (c *Client) ListAgents(ctx context.Context) ([]Agent, error) {
	out, err := call[struct {
		Agents []Agent `json:"agents"`
	}](ctx, c, http.MethodGet, "/v1/agents", nil, nil)
	if err != nil {
		return nil, err
	}
	return nonNil(out.Agents), nil
}

// GetAgent returns one agent (GET /v1/agents/{id}); an agent may read only itself.
func (c *Client) GetAgent(ctx context.Context, id string) (Agent, error) {
	return call[Agent](ctx, c, http.MethodGet, "/v1/agents/"+seg(id), nil, nil)
}

// AgentMe returns the calling agent's own record (GET /v1/agents/me); users get KindForbidden.
func (c *Client) AgentMe(ctx context.Context) (AgentSelf, error) {
	return call[AgentSelf](ctx, c, http.MethodGet, "/v1/agents/me", nil, nil)
}

// UpdateAgent changes an agent (PATCH /v1/agents/{id}). patch holds the wire keys to change (name,
// description, scopes, vault_ids, is_active, expires_at, token_ttl_seconds); a nil value sends JSON null,
// which clears expires_at or token_ttl_seconds.
func (c *Client) UpdateAgent(ctx context.Context, id string, patch map[string]any) (Agent, error) {
	if patch == nil {
		patch = map[string]any{}
	}
	return call[Agent](ctx, c, http.MethodPatch, "/v1/agents/"+seg(id), nil, patch)
}

// DeleteAgent deletes an agent with its policies; its key and tokens stop working
// (DELETE /v1/agents/{id}).
func (c *Client) DeleteAgent(ctx context.Context, id string) error {
	return c.do(ctx, http.MethodDelete, "/v1/agents/"+seg(id), nil, nil, nil)
}

// RotateAgentKey issues a new key for an agent (POST /v1/agents/{id}/rotate-key) and returns the agent
// with the new key (string(key) reveals it); the old key and every token issued before stop working at
// once.
func (c *Client) RotateAgentKey(ctx context.Context, id string) (Agent, clavis.Sensitive, error) {
	out, err := call[struct {
		APIKey clavis.Sensitive `json:"api_key"`
		Agent  Agent            `json:"agent"`
	}](ctx, c, http.MethodPost, "/v1/agents/"+seg(id)+"/rotate-key", nil, nil)
	return out.Agent, out.APIKey, err
}
