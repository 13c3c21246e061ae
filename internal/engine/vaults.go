package engine

import (
	"context"
	"slices"

	"clavis.dev/clavis"
	"clavis.dev/clavis/internal/store"
)

// CreateVault creates a vault with a fresh vault key (spec §4.4).
func (e *Engine) CreateVault(ctx context.Context, c *clavis.Caller, in clavis.VaultInput) (*clavis.Vault, error) {
	if err := e.refuseScoped(ctx, c, "vault", ""); err != nil {
		return nil, err
	}
	if err := checkLen("name", in.Name, 1, 255); err != nil {
		return nil, err
	}
	if reservedName(in.Name) {
		return nil, clavis.Invalid("name", "vault names starting with __ are reserved")
	}
	if err := checkLen("description", in.Description, 0, 1024); err != nil {
		return nil, err
	}
	if c.Type == clavis.PrincipalAgent && len(c.VaultIDs) > 0 {
		return nil, clavis.E(clavis.KindForbidden, "Agents bound to vaults may not create vaults")
	}
	v := &store.Vault{Vault: clavis.Vault{ID: newID(), OrgID: c.OrgID, Name: in.Name, Description: in.Description,
		CreatedBy: c.ID, CreatedByType: c.Type, CreatedAt: e.now()}}
	wrapped, err := e.keys.NewVaultKey(ctx, v.OrgID, v.ID)
	if err != nil {
		return nil, e.classify(ctx, err)
	}
	v.WrappedKey = wrapped
	err = e.write(ctx, func(tx store.Tx) error {
		v.OwnerUserID = c.ID
		if c.Type == clavis.PrincipalAgent {
			a, err := tx.GetAgent(c.ID)
			if err != nil {
				return err
			}
			v.OwnerUserID = a.CreatedBy
		}
		if err := createVaultRow(tx, v); err != nil {
			return err
		}
		return e.record(tx, callerEvent(c, "vault.create", "vault", v.ID, map[string]any{"name": v.Name}))
	})
	if err != nil {
		return nil, err
	}
	return &v.Vault, nil
}

// ListVaults returns exactly the vaults visible to the caller, oldest first.
func (e *Engine) ListVaults(ctx context.Context, c *clavis.Caller) ([]*clavis.Vault, error) {
	now := e.now()
	out := []*store.Vault{}
	err := e.read(ctx, func(tx store.Tx) error {
		all, err := tx.ListVaults(c.OrgID)
		if err != nil {
			return err
		}
		withPolicy, err := tx.PolicyVaultIDs(c.Type, c.ID, now)
		if err != nil {
			return err
		}
		for _, v := range all {
			if c.Type == clavis.PrincipalAgent && len(c.VaultIDs) > 0 && !v.System && !slices.Contains(c.VaultIDs, v.ID) {
				continue
			}
			visible := isOwner(c, v) || slices.Contains(withPolicy, v.ID)
			if v.System && !visible {
				rules, err := e.agentKeyRules(tx, c)
				if err != nil {
					return err
				}
				visible = len(rules) > 0
			}
			if visible {
				out = append(out, v)
			}
		}
		return nil
	})
	return allOf(out, vaultOf), err
}

// GetVault returns a visible vault.
func (e *Engine) GetVault(ctx context.Context, c *clavis.Caller, id string) (*clavis.Vault, error) {
	if err := lookupIDs(id); err != nil {
		return nil, err
	}
	var v *store.Vault
	err := e.read(ctx, func(tx store.Tx) error {
		va, err := e.openVault(tx, c, id, e.now())
		if err != nil {
			return err
		}
		v = va.vault
		return nil
	})
	return vaultOf(v), err
}

// DeleteVault destroys a vault, its key and everything in it; only its owner may (spec §4.4).
func (e *Engine) DeleteVault(ctx context.Context, c *clavis.Caller, id string) error {
	if err := e.refuseScoped(ctx, c, "vault", id); err != nil {
		return err
	}
	if err := lookupIDs(id); err != nil {
		return err
	}
	var org string
	err := e.write(ctx, func(tx store.Tx) error {
		va, err := e.openVault(tx, c, id, e.now())
		if err != nil {
			return err
		}
		if va.vault.System {
			return clavis.E(clavis.KindForbidden, "The __agent-keys vault cannot be deleted")
		}
		if !va.owner {
			if orphaned, err := ownerRemoved(tx, c, va.vault); err != nil {
				return err
			} else if !orphaned {
				return clavis.ErrForbidden
			}
		}
		org = va.vault.OrgID
		if err := tx.DeleteVault(id); err != nil {
			return err
		}
		return e.record(tx, callerEvent(c, "vault.delete", "vault", id, map[string]any{"name": va.vault.Name}))
	})
	if err == nil {
		e.keys.Forget(org, id)
	}
	return err
}

// ownerRemoved reports whether c is an org owner and the vault's human owner was removed from the org:
// then the org owner may delete the vault (spec §3.7).
func ownerRemoved(tx store.Tx, c *clavis.Caller, v *store.Vault) (bool, error) {
	if c.Type != clavis.PrincipalUser || c.Role != clavis.RoleOwner {
		return false, nil
	}
	u, err := tx.GetUser(v.OwnerUserID)
	if clavis.IsKind(err, clavis.KindNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return u.Disabled && u.OrgID == c.OrgID, nil
}
