package engine

import (
	"context"

	"clavis.dev/clavis"
	"clavis.dev/clavis/internal/policy"
	"clavis.dev/clavis/internal/store"
	"clavis.dev/clavis/internal/token"
)

// CreateAPIKey issues a personal API key; the raw key is returned once.
func (e *Engine) CreateAPIKey(ctx context.Context, c *clavis.Caller, in clavis.APIKeyInput) (*clavis.APIKey, clavis.Sensitive, error) {
	if err := e.refuseScoped(ctx, c, "api_key", ""); err != nil {
		return nil, "", err
	}
	if err := requireUser(c); err != nil {
		return nil, "", err
	}
	if err := checkLen("name", in.Name, 1, 255); err != nil {
		return nil, "", err
	}
	if in.Scopes == nil {
		in.Scopes = []string{}
	}
	if err := policy.ValidateScopes(in.Scopes); err != nil {
		return nil, "", err
	}
	now := e.now()
	if in.ExpiresAt != nil && !in.ExpiresAt.After(now) {
		return nil, "", clavis.Invalid("expires_at", "expires_at must be in the future")
	}
	raw, err := token.NewAPIKey(token.UserKeyPrefix)
	if err != nil {
		return nil, "", e.classify(ctx, clavis.Internal(err))
	}
	k := &store.APIKey{APIKey: clavis.APIKey{ID: newID(), UserID: c.ID, OrgID: c.OrgID, Name: in.Name,
		Prefix: raw[:12], Scopes: in.Scopes, Active: true, ExpiresAt: in.ExpiresAt, CreatedAt: now},
		Hash: token.HashKey(e.pepper, raw)}
	err = e.write(ctx, func(tx store.Tx) error {
		if err := tx.CreateAPIKey(k); err != nil {
			return err
		}
		return e.record(tx, callerEvent(c, "api_key.create", "api_key", k.ID, map[string]any{"name": k.Name}))
	})
	if err != nil {
		return nil, "", err
	}
	return &k.APIKey, clavis.Sensitive(raw), nil
}

// ListAPIKeys returns the caller's keys, revoked ones included.
func (e *Engine) ListAPIKeys(ctx context.Context, c *clavis.Caller) ([]*clavis.APIKey, error) {
	if err := e.refuseScoped(ctx, c, "api_key", ""); err != nil {
		return nil, err
	}
	if err := requireUser(c); err != nil {
		return nil, err
	}
	var ks []*store.APIKey
	err := e.read(ctx, func(tx store.Tx) error {
		var err error
		ks, err = tx.ListAPIKeys(c.ID)
		return err
	})
	return allOf(ks, apiKeyOf), err
}

// RevokeAPIKey deactivates one of the caller's keys (idempotent); another user's key is 404.
func (e *Engine) RevokeAPIKey(ctx context.Context, c *clavis.Caller, id string) error {
	if err := e.refuseScoped(ctx, c, "api_key", id); err != nil {
		return err
	}
	if err := requireUser(c); err != nil {
		return err
	}
	return e.write(ctx, func(tx store.Tx) error {
		k, err := tx.GetAPIKey(id)
		if err != nil {
			return err // a missing key is the store's KindNotFound; anything else is internal
		}
		if k.UserID != c.ID {
			return clavis.ErrNotFound
		}
		if !k.Active {
			return nil
		}
		k.Active = false
		if err := tx.UpdateAPIKey(k); err != nil {
			return err
		}
		return e.record(tx, callerEvent(c, "api_key.revoke", "api_key", k.ID, map[string]any{"name": k.Name}))
	})
}
