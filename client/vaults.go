package client

import (
	"context"
	"net/http"

	"clavis.dev/clavis"
)

// CreateVault creates a vault owned by the caller (POST /v1/vaults). Errors: KindInvalid, KindForbidden
// (agent bound by vault_ids), KindLimitExceeded.
func (c *Client) CreateVault(ctx context.Context, in clavis.VaultInput) (*clavis.Vault, error) {
	body := struct {
		Name        string `json:"name"`
		Description string `json:"description"`
	}{in.Name, in.Description}
	w, err := call[wireVault](ctx, c, http.MethodPost, "/v1/vaults", nil, body)
	if err != nil {
		return nil, err
	}
	return w.root(), nil
}

// ListVaults lists the vaults visible to the caller (GET /v1/vaults).
func (c *Client) ListVaults(ctx context.Context) ([]*clavis.Vault, error) {
	out, err := call[struct {
		Vaults []wireVault `json:"vaults"`
	}](ctx, c, http.MethodGet, "/v1/vaults", nil, nil)
	if err != nil {
		return nil, err
	}
	return roots(out.Vaults, wireVault.root), nil
}

// GetVault returns one vault (GET /v1/vaults/{id}); missing and invisible vaults alike give KindNotFound.
func (c *Client) GetVault(ctx context.Context, id string) (*clavis.Vault, error) {
	w, err := call[wireVault](ctx, c, http.MethodGet, vaultPath(id, ""), nil, nil)
	if err != nil {
		return nil, err
	}
	return w.root(), nil
}

// DeleteVault deletes a vault with its key, secrets and policies (DELETE /v1/vaults/{id}). Errors:
// KindForbidden (visible but not the owner), KindNotFound.
func (c *Client) DeleteVault(ctx context.Context, id string) error {
	return c.do(ctx, http.MethodDelete, vaultPath(id, ""), nil, nil, nil)
}
