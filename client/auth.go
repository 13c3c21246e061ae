package client

import (
	"context"
	"net/http"
	"time"

	"clavis.dev/clavis"
)

// Health returns the server's health (GET /v1/health, public). A degraded server still answers 200 with
// Status "degraded".
func (c *Client) Health(ctx context.Context) (Health, error) {
	return call[Health](ctx, c, http.MethodGet, "/v1/health", nil, nil)
}

// Signup creates an account and logs it in (POST /v1/auth/signup); displayName "" is omitted. Errors:
// KindInvalid (validation, weak password), KindForbidden (signup closed), KindConflict (email taken).
func (c *Client) Signup(ctx context.Context, email, password, displayName string) (Token, error) {
	in := struct {
		Email       string `json:"email"`
		Password    string `json:"password"`
		DisplayName string `json:"display_name,omitempty"`
	}{email, password, displayName}
	return call[Token](ctx, c, http.MethodPost, "/v1/auth/signup", nil, in)
}

// Login trades an email and password for a user token (POST /v1/auth/token). With MFA enabled the Token
// has MFARequired and MFAToken set and no AccessToken. Errors: KindUnauthorized ("Invalid credentials"
// for every kind of failure), KindRateLimited.
func (c *Client) Login(ctx context.Context, email, password string) (Token, error) {
	in := struct {
		Email    string `json:"email"`
		Password string `json:"password"`
	}{email, password}
	return call[Token](ctx, c, http.MethodPost, "/v1/auth/token", nil, in)
}

// AgentToken trades an agent key (ocv_…) for an agent token (POST /v1/auth/agent-token). agentID "" is
// omitted from the request; the server then echoes the agent's id in Token.AgentID.
func (c *Client) AgentToken(ctx context.Context, apiKey, agentID string) (Token, error) {
	in := struct {
		APIKey  string `json:"api_key"`
		AgentID string `json:"agent_id,omitempty"`
	}{apiKey, agentID}
	return call[Token](ctx, c, http.MethodPost, "/v1/auth/agent-token", nil, in)
}

// APIKeyToken trades a personal key (1ck_…, user token) or an agent key (ocv_…, agent token) for an
// access token (POST /v1/auth/api-key-token).
func (c *Client) APIKeyToken(ctx context.Context, apiKey string) (Token, error) {
	in := struct {
		APIKey string `json:"api_key"`
	}{apiKey}
	return call[Token](ctx, c, http.MethodPost, "/v1/auth/api-key-token", nil, in)
}

// RevokeToken revokes the access token the Client authenticates with (DELETE /v1/auth/token). With a raw
// key as credential the server answers KindInvalid.
func (c *Client) RevokeToken(ctx context.Context) error {
	return c.do(ctx, http.MethodDelete, "/v1/auth/token", nil, nil, nil)
}

// Me returns the calling user's profile (GET /v1/auth/me); agents get KindForbidden.
func (c *Client) Me(ctx context.Context) (UserProfile, error) {
	return call[UserProfile](ctx, c, http.MethodGet, "/v1/auth/me", nil, nil)
}

// UpdateMe changes the calling user's profile (PATCH /v1/auth/me); nil arguments are left unchanged.
func (c *Client) UpdateMe(ctx context.Context, displayName *string, marketingEmails *bool) (UserProfile, error) {
	in := struct {
		DisplayName     *string `json:"display_name,omitempty"`
		MarketingEmails *bool   `json:"marketing_emails,omitempty"`
	}{displayName, marketingEmails}
	return call[UserProfile](ctx, c, http.MethodPatch, "/v1/auth/me", nil, in)
}

// ChangePassword changes the calling user's password (POST /v1/auth/change-password). Every token of the
// user issued before the change is revoked, the one in use included; API keys stay valid. Errors:
// KindInvalid (weak new password), KindForbidden (wrong current password).
func (c *Client) ChangePassword(ctx context.Context, current, next string) error {
	in := struct {
		Current string `json:"current_password"`
		New     string `json:"new_password"`
	}{current, next}
	return c.do(ctx, http.MethodPost, "/v1/auth/change-password", nil, in, nil)
}

// CreateAPIKey creates a personal API key (POST /v1/auth/api-keys) and returns it with the raw key
// (1ck_…), which the server shows only this once; string(raw) reveals it. scopes nil means none;
// expiresAt nil means never.
func (c *Client) CreateAPIKey(ctx context.Context, name string, scopes []string, expiresAt *time.Time) (ApiKey, clavis.Sensitive, error) {
	in := struct {
		Name      string     `json:"name"`
		Scopes    []string   `json:"scopes,omitempty"`
		ExpiresAt *time.Time `json:"expires_at,omitempty"`
	}{name, scopes, expiresAt}
	out, err := call[struct {
		Key    ApiKey           `json:"key"`
		APIKey clavis.Sensitive `json:"api_key"`
	}](ctx, c, http.MethodPost, "/v1/auth/api-keys", nil, in)
	return out.Key, out.APIKey, err
}

// ListAPIKeys lists the caller's personal API keys, revoked ones included (GET /v1/auth/api-keys).
func (c *Client) ListAPIKeys(ctx context.Context) ([]ApiKey, error) {
	out, err := call[struct {
		Keys []ApiKey `json:"keys"`
	}](ctx, c, http.MethodGet, "/v1/auth/api-keys", nil, nil)
	if err != nil {
		return nil, err
	}
	return nonNil(out.Keys), nil
}

// RevokeAPIKey revokes one of the caller's personal API keys (DELETE /v1/auth/api-keys/{id}); revoking
// twice is not an error. Another user's key gives KindNotFound.
func (c *Client) RevokeAPIKey(ctx context.Context, id string) error {
	return c.do(ctx, http.MethodDelete, "/v1/auth/api-keys/"+seg(id), nil, nil, nil)
}
