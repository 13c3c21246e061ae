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

// issue sends one request whose answer is a token.
func (c *Client) issue(ctx context.Context, path string, in any) (*clavis.Token, error) {
	w, err := call[wireToken](ctx, c, http.MethodPost, path, nil, in)
	if err != nil {
		return nil, err
	}
	return w.root(), nil
}

// Signup creates an account and logs it in (POST /v1/auth/signup); displayName "" is omitted. Errors:
// KindInvalid (validation, weak password), KindForbidden (signup closed), KindConflict (email taken).
func (c *Client) Signup(ctx context.Context, email, password, displayName string) (*clavis.Token, error) {
	in := struct {
		Email       string `json:"email"`
		Password    string `json:"password"`
		DisplayName string `json:"display_name,omitempty"`
	}{email, password, displayName}
	return c.issue(ctx, "/v1/auth/signup", in)
}

// Login trades an email and password for a user token (POST /v1/auth/token). With MFA enabled the Token
// has MFAToken set and no AccessToken; complete the login with MFAVerify. Errors: KindUnauthorized
// ("Invalid credentials" for every kind of failure), KindRateLimited.
func (c *Client) Login(ctx context.Context, email, password string) (*clavis.Token, error) {
	in := struct {
		Email    string `json:"email"`
		Password string `json:"password"`
	}{email, password}
	return c.issue(ctx, "/v1/auth/token", in)
}

// MFAVerify completes a login challenged for a second factor (POST /v1/auth/mfa/verify) with a TOTP or
// recovery code. Errors: KindInvalid, KindUnauthorized (wrong code, or an expired challenge).
func (c *Client) MFAVerify(ctx context.Context, mfaToken, code string) (*clavis.Token, error) {
	in := struct {
		MFAToken string `json:"mfa_token"`
		Code     string `json:"code"`
	}{mfaToken, code}
	return c.issue(ctx, "/v1/auth/mfa/verify", in)
}

// AgentToken trades an agent key (ocv_…) for an agent token (POST /v1/auth/agent-token). agentID "" is
// omitted from the request; the server then echoes the agent's id in Token.AgentID.
func (c *Client) AgentToken(ctx context.Context, apiKey, agentID string) (*clavis.Token, error) {
	in := struct {
		APIKey  string `json:"api_key"`
		AgentID string `json:"agent_id,omitempty"`
	}{apiKey, agentID}
	return c.issue(ctx, "/v1/auth/agent-token", in)
}

// APIKeyToken trades a personal key (1ck_…, user token) or an agent key (ocv_…, agent token) for an
// access token (POST /v1/auth/api-key-token).
func (c *Client) APIKeyToken(ctx context.Context, apiKey string) (*clavis.Token, error) {
	in := struct {
		APIKey string `json:"api_key"`
	}{apiKey}
	return c.issue(ctx, "/v1/auth/api-key-token", in)
}

// RevokeToken revokes the access token the Client authenticates with (DELETE /v1/auth/token). With a raw
// key as credential the server answers KindInvalid.
func (c *Client) RevokeToken(ctx context.Context) error {
	return c.do(ctx, http.MethodDelete, "/v1/auth/token", nil, nil, nil)
}

// Me returns the calling user's profile (GET /v1/auth/me); agents get KindForbidden.
func (c *Client) Me(ctx context.Context) (*clavis.User, error) {
	w, err := call[wireUser](ctx, c, http.MethodGet, "/v1/auth/me", nil, nil)
	if err != nil {
		return nil, err
	}
	return w.root(), nil
}

// UpdateMe changes the calling user's profile (PATCH /v1/auth/me); nil fields are not sent and stay
// unchanged.
func (c *Client) UpdateMe(ctx context.Context, p clavis.ProfilePatch) (*clavis.User, error) {
	in := struct {
		DisplayName     *string `json:"display_name,omitempty"`
		MarketingEmails *bool   `json:"marketing_emails,omitempty"`
	}{p.DisplayName, p.MarketingEmails}
	w, err := call[wireUser](ctx, c, http.MethodPatch, "/v1/auth/me", nil, in)
	if err != nil {
		return nil, err
	}
	return w.root(), nil
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
// (1ck_…), which the server shows only this once; string(raw) reveals it. Scopes nil means none;
// ExpiresAt nil means never.
func (c *Client) CreateAPIKey(ctx context.Context, in clavis.APIKeyInput) (*clavis.APIKey, clavis.Sensitive, error) {
	body := struct {
		Name      string     `json:"name"`
		Scopes    []string   `json:"scopes,omitempty"`
		ExpiresAt *time.Time `json:"expires_at,omitempty"`
	}{in.Name, in.Scopes, in.ExpiresAt}
	out, err := call[struct {
		Key    wireAPIKey       `json:"key"`
		APIKey clavis.Sensitive `json:"api_key"`
	}](ctx, c, http.MethodPost, "/v1/auth/api-keys", nil, body)
	if err != nil {
		return nil, "", err
	}
	return out.Key.root(), out.APIKey, nil
}

// ListAPIKeys lists the caller's personal API keys, revoked ones included (GET /v1/auth/api-keys).
func (c *Client) ListAPIKeys(ctx context.Context) ([]*clavis.APIKey, error) {
	out, err := call[struct {
		Keys []wireAPIKey `json:"keys"`
	}](ctx, c, http.MethodGet, "/v1/auth/api-keys", nil, nil)
	if err != nil {
		return nil, err
	}
	return roots(out.Keys, wireAPIKey.root), nil
}

// RevokeAPIKey revokes one of the caller's personal API keys (DELETE /v1/auth/api-keys/{id}); revoking
// twice is not an error. Another user's key gives KindNotFound.
func (c *Client) RevokeAPIKey(ctx context.Context, id string) error {
	return c.do(ctx, http.MethodDelete, "/v1/auth/api-keys/"+seg(id), nil, nil, nil)
}

// MFAStatus reports whether the caller has MFA enabled (GET /v1/auth/mfa/status).
func (c *Client) MFAStatus(ctx context.Context) (bool, error) {
	out, err := call[struct {
		Enabled bool `json:"enabled"`
	}](ctx, c, http.MethodGet, "/v1/auth/mfa/status", nil, nil)
	return out.Enabled, err
}

// MFASetup starts MFA enrolment (POST /v1/auth/mfa/setup) and returns the otpauth URI and the base32
// secret. Errors: KindConflict (already enabled).
func (c *Client) MFASetup(ctx context.Context) (string, clavis.Sensitive, error) {
	out, err := call[struct {
		URI    string           `json:"otpauth_uri"`
		Secret clavis.Sensitive `json:"secret"`
	}](ctx, c, http.MethodPost, "/v1/auth/mfa/setup", nil, nil)
	if err != nil {
		return "", "", err
	}
	return out.URI, out.Secret, nil
}

// MFAVerifySetup enables MFA with a code of the pending secret (POST /v1/auth/mfa/verify-setup) and
// returns the recovery codes, shown only this once. Errors: KindInvalid (wrong code, nothing pending).
func (c *Client) MFAVerifySetup(ctx context.Context, code string) ([]clavis.Sensitive, error) {
	in := struct {
		Code string `json:"code"`
	}{code}
	out, err := call[struct {
		Codes []clavis.Sensitive `json:"recovery_codes"`
	}](ctx, c, http.MethodPost, "/v1/auth/mfa/verify-setup", nil, in)
	if err != nil {
		return nil, err
	}
	return out.Codes, nil
}

// MFADisable turns MFA off (DELETE /v1/auth/mfa) with a code, or with the password (sent in the
// X-Auth-Confirm header, never in the body); "" leaves either out. Errors: KindInvalid (neither given),
// KindConflict (MFA is off), KindForbidden (wrong code or password).
func (c *Client) MFADisable(ctx context.Context, code, password string) error {
	var h http.Header
	if password != "" {
		h = http.Header{"X-Auth-Confirm": {password}}
	}
	in := struct {
		Code string `json:"code,omitempty"`
	}{code}
	return c.doHeader(ctx, http.MethodDelete, "/v1/auth/mfa", nil, h, in, nil)
}
