package client

import (
	"context"
	"net/http"
	"time"

	"clavis.dev/clavis"
)

// wireShare is ShareCreated and ShareListItem (spec §1.4): the list item's keys are a superset.
type wireShare struct {
	ID             string    `json:"id"`
	ShareURL       string    `json:"share_url"`
	SecretID       string    `json:"secret_id"`
	SecretPath     string    `json:"secret_path"`
	RecipientType  string    `json:"recipient_type"`
	RecipientID    string    `json:"recipient_id"`
	RecipientEmail string    `json:"recipient_email"`
	AccessCount    int       `json:"access_count"`
	MaxAccessCount int       `json:"max_access_count"`
	ExpiresAt      time.Time `json:"expires_at"`
	CreatedAt      time.Time `json:"created_at"`
	IsAccepted     bool      `json:"is_accepted"`
	IsExpired      bool      `json:"is_expired"`
}

func (w wireShare) root() *clavis.Share {
	return &clavis.Share{ID: w.ID, URL: w.ShareURL, SecretID: w.SecretID, SecretPath: w.SecretPath,
		RecipientType: w.RecipientType, RecipientID: w.RecipientID, RecipientEmail: w.RecipientEmail,
		AccessCount: w.AccessCount, MaxAccessCount: w.MaxAccessCount, ExpiresAt: w.ExpiresAt, CreatedAt: w.CreatedAt,
		Accepted: w.IsAccepted && w.RecipientType != clavis.ShareToAnyone, Expired: w.IsExpired}
}

// CreateShare shares a secret by its stable id (POST /v1/secrets/{id}/share). The passphrase, if any,
// is sent in the body and never kept. Errors: KindInvalid, KindForbidden, KindNotFound, KindRateLimited.
func (c *Client) CreateShare(ctx context.Context, secretID string, in clavis.ShareInput) (*clavis.Share, error) {
	body := struct {
		RecipientType  string     `json:"recipient_type"`
		RecipientID    string     `json:"recipient_id,omitempty"`
		Email          string     `json:"email,omitempty"`
		ExpiresAt      *time.Time `json:"expires_at,omitempty"`
		MaxAccessCount *int       `json:"max_access_count,omitempty"`
		Passphrase     string     `json:"passphrase,omitempty"`
		IPAllowlist    []string   `json:"ip_allowlist,omitempty"`
	}{in.RecipientType, in.RecipientID, in.Email, in.ExpiresAt, in.MaxAccessCount, string(in.Passphrase), in.IPAllowlist}
	w, err := call[wireShare](ctx, c, http.MethodPost, "/v1/secrets/"+seg(secretID)+"/share", nil, body)
	if err != nil {
		return nil, err
	}
	return w.root(), nil
}

// OpenShare reads a share (GET /v1/share/{id}) with the Client's credential, or anonymously when it
// has none (link shares); passphrase "" sends none. Every success counts one access.
func (c *Client) OpenShare(ctx context.Context, shareID string, passphrase clavis.Sensitive) (*clavis.SharedSecret, error) {
	h := http.Header{}
	if passphrase != "" {
		h.Set("X-Share-Passphrase", string(passphrase))
	}
	var w struct {
		ID             string           `json:"id"`
		Path           string           `json:"path"`
		Type           string           `json:"type"`
		Value          clavis.Sensitive `json:"value"`
		AccessCount    int              `json:"access_count"`
		MaxAccessCount int              `json:"max_access_count"`
	}
	if err := c.doHeader(ctx, http.MethodGet, "/v1/share/"+seg(shareID), nil, h, nil, &w); err != nil {
		return nil, err
	}
	return &clavis.SharedSecret{ShareID: w.ID, Path: w.Path, Type: w.Type, Value: w.Value, AccessCount: w.AccessCount,
		MaxAccessCount: w.MaxAccessCount}, nil
}

// RevokeShare revokes a share the caller created (DELETE /v1/share/{id}).
func (c *Client) RevokeShare(ctx context.Context, shareID string) error {
	return c.do(ctx, http.MethodDelete, "/v1/share/"+seg(shareID), nil, nil, nil)
}

// ListOutboundShares lists the shares the caller created (GET /v1/shares/outbound).
func (c *Client) ListOutboundShares(ctx context.Context) ([]*clavis.Share, error) {
	return c.shares(ctx, "/v1/shares/outbound")
}

// ListInboundShares lists the shares addressed to the caller (GET /v1/shares/inbound).
func (c *Client) ListInboundShares(ctx context.Context) ([]*clavis.Share, error) {
	return c.shares(ctx, "/v1/shares/inbound")
}

func (c *Client) shares(ctx context.Context, path string) ([]*clavis.Share, error) {
	out, err := call[struct {
		Shares []wireShare `json:"shares"`
	}](ctx, c, http.MethodGet, path, nil, nil)
	if err != nil {
		return nil, err
	}
	return roots(out.Shares, wireShare.root), nil
}

// AcceptShare accepts a share addressed to the caller (POST /v1/shares/{id}/accept).
func (c *Client) AcceptShare(ctx context.Context, shareID string) error {
	return c.do(ctx, http.MethodPost, "/v1/shares/"+seg(shareID)+"/accept", nil, nil, nil)
}

// DeclineShare declines a share addressed to the caller (POST /v1/shares/{id}/decline).
func (c *Client) DeclineShare(ctx context.Context, shareID string) error {
	return c.do(ctx, http.MethodPost, "/v1/shares/"+seg(shareID)+"/decline", nil, nil, nil)
}
