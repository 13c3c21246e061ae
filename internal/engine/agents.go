package engine

import (
	"context"
	"crypto/ecdh"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"time"

	"clavis.dev/clavis"
	"clavis.dev/clavis/internal/policy"
	"clavis.dev/clavis/internal/store"
	"clavis.dev/clavis/internal/token"
)

const (
	agentKeysVault = "__agent-keys"
	maxTokenTTL    = 86400
)

// validateVaultIDs checks that every id names a vault of the org.
func validateVaultIDs(tx store.Tx, org string, ids []string) error {
	for _, id := range ids {
		if !validID(id) {
			return clavis.Invalid("vault_ids", "vault_ids must name vaults of your organisation")
		}
		v, err := tx.GetVault(id)
		if err != nil && !clavis.IsKind(err, clavis.KindNotFound) {
			return err
		}
		if err != nil || v.OrgID != org {
			return clavis.Invalid("vault_ids", "vault_ids must name vaults of your organisation")
		}
	}
	return nil
}

func validateAgentFields(name, desc *string, scopes *[]string, ttl *int, exp *time.Time, now time.Time) error {
	if name != nil {
		if err := checkLen("name", *name, 1, 255); err != nil {
			return err
		}
	}
	if desc != nil {
		if err := checkLen("description", *desc, 0, 1024); err != nil {
			return err
		}
	}
	if scopes != nil {
		if err := policy.ValidateScopes(*scopes); err != nil {
			return err
		}
	}
	if ttl != nil && (*ttl < 1 || *ttl > maxTokenTTL) {
		return clavis.Invalid("token_ttl_seconds", "token_ttl_seconds must be between 1 and 86400")
	}
	if exp != nil && !exp.After(now) {
		return clavis.Invalid("expires_at", "expires_at must be in the future")
	}
	return nil
}

// identityKeys generates an agent's Ed25519 and P-256 key pairs: public halves for the record, private
// halves (standard base64) for the __agent-keys vault.
func identityKeys() (sshPub, ecdhPub, sshPriv, ecdhPriv string, err error) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return "", "", "", "", err
	}
	ek, err := ecdh.P256().GenerateKey(rand.Reader)
	if err != nil {
		return "", "", "", "", err
	}
	std := base64.StdEncoding
	return std.EncodeToString(pub), std.EncodeToString(ek.PublicKey().Bytes()),
		std.EncodeToString(priv.Seed()), std.EncodeToString(ek.Bytes()), nil
}

// CreateAgent registers an agent and returns it with its key, shown once (spec §4.7).
func (e *Engine) CreateAgent(ctx context.Context, c *clavis.Caller, in clavis.AgentInput) (*clavis.AgentKey, error) {
	if err := e.refuseScoped(ctx, c, "agent", ""); err != nil {
		return nil, err
	}
	if err := requireUser(c); err != nil {
		return nil, err
	}
	a, raw, err := e.newAgent(ctx, c, in, nil)
	if err != nil {
		return nil, err
	}
	return &clavis.AgentKey{Agent: &a.Agent, Key: clavis.Sensitive(raw)}, nil
}

// newAgent validates in and registers the agent for user c; also, when set, runs in the same
// transaction. It returns the agent and its raw key.
func (e *Engine) newAgent(ctx context.Context, c *clavis.Caller, in clavis.AgentInput, also func(tx store.Tx, a *store.Agent) error) (*store.Agent, string, error) {
	now := e.now()
	if in.Scopes == nil {
		in.Scopes = []string{}
	}
	if in.VaultIDs == nil {
		in.VaultIDs = []string{}
	}
	if err := validateAgentFields(&in.Name, &in.Description, &in.Scopes, in.TokenTTL, in.ExpiresAt, now); err != nil {
		return nil, "", err
	}
	raw, err := token.NewAPIKey(token.AgentKeyPrefix)
	if err != nil {
		return nil, "", e.classify(ctx, clavis.Internal(err))
	}
	sshPub, ecdhPub, sshPriv, ecdhPriv, err := identityKeys()
	if err != nil {
		return nil, "", e.classify(ctx, clavis.Internal(err))
	}
	ttl := 0 // the default
	if in.TokenTTL != nil {
		ttl = *in.TokenTTL
	}
	a := &store.Agent{Agent: clavis.Agent{ID: newID(), OrgID: c.OrgID, Name: in.Name, Description: in.Description,
		Scopes: in.Scopes, VaultIDs: in.VaultIDs, Active: true, ExpiresAt: in.ExpiresAt, TokenTTL: ttl,
		SSHPublicKey: sshPub, ECDHPublicKey: ecdhPub, CreatedBy: c.ID, CreatedAt: now},
		KeyHash: token.HashKey(e.pepper, raw)}
	for attempt := 0; ; attempt++ {
		err = e.registerAgent(ctx, c, a, sshPriv, ecdhPriv, now, also)
		// A concurrent first registration in the org may have created __agent-keys first: try again.
		if err == nil || attempt == 1 || !clavis.IsKind(err, clavis.KindConflict) {
			break
		}
	}
	if err != nil {
		return nil, "", err
	}
	return a, raw, nil
}

// registerAgent stores a new agent and its private identity keys in the org's __agent-keys vault,
// creating that vault with the org's first agent.
func (e *Engine) registerAgent(ctx context.Context, c *clavis.Caller, a *store.Agent, sshPriv, ecdhPriv string, now time.Time,
	also func(tx store.Tx, a *store.Agent) error) error {
	sysKey, err := e.systemVaultKey(ctx, c.OrgID)
	if err != nil {
		return err
	}
	return e.write(ctx, func(tx store.Tx) error {
		if err := validateVaultIDs(tx, c.OrgID, a.VaultIDs); err != nil {
			return err
		}
		if err := tx.CreateAgent(a); err != nil {
			return err
		}
		sys, err := tx.SystemVault(c.OrgID)
		if clavis.IsKind(err, clavis.KindNotFound) {
			sys = &store.Vault{Vault: clavis.Vault{ID: sysKey.vaultID, OrgID: c.OrgID, Name: agentKeysVault,
				CreatedBy: c.ID, CreatedByType: clavis.PrincipalUser, System: true, CreatedAt: now},
				WrappedKey: sysKey.wrapped}
			err = createVaultRow(tx, sys)
		}
		if err != nil {
			return err
		}
		va := &vaultAccess{vault: sys}
		for _, k := range []struct{ path, value string }{
			{"agents/" + a.ID + "/ssh/private_key", sshPriv},
			{"agents/" + a.ID + "/ecdh/private_key", ecdhPriv},
		} {
			if _, err := e.newVersion(ctx, tx, c, va, k.path, []byte(k.value),
				clavis.Version{Type: "private_key", Metadata: []byte("{}")}, "secret.write", now); err != nil {
				return err
			}
		}
		if err := e.record(tx, callerEvent(c, "agent.register", "agent", a.ID, map[string]any{"name": a.Name})); err != nil {
			return err
		}
		if also != nil {
			return also(tx, a)
		}
		return nil
	})
}

type systemKey struct {
	vaultID string
	wrapped []byte
}

// systemVaultKey prepares the id and wrapped key of the org's __agent-keys vault in case it must be
// created (the root key may be an HSM, so it is not called inside a transaction when avoidable).
func (e *Engine) systemVaultKey(ctx context.Context, org string) (systemKey, error) {
	exists := false
	err := e.read(ctx, func(tx store.Tx) error {
		_, err := tx.SystemVault(org)
		if clavis.IsKind(err, clavis.KindNotFound) {
			return nil
		}
		exists = err == nil
		return err
	})
	if err != nil || exists {
		return systemKey{}, err
	}
	k := systemKey{vaultID: newID()}
	if k.wrapped, err = e.keys.NewVaultKey(ctx, org, k.vaultID); err != nil {
		return systemKey{}, e.classify(ctx, err)
	}
	return k, nil
}

// ListAgents returns every agent of the caller's org (users only).
func (e *Engine) ListAgents(ctx context.Context, c *clavis.Caller) ([]*clavis.Agent, error) {
	if err := e.refuseScoped(ctx, c, "agent", ""); err != nil {
		return nil, err
	}
	if err := requireUser(c); err != nil {
		return nil, err
	}
	var out []*store.Agent
	err := e.read(ctx, func(tx store.Tx) error {
		var err error
		out, err = tx.ListAgents(c.OrgID)
		return err
	})
	if out == nil {
		out = []*store.Agent{}
	}
	return allOf(out, agentOf), err
}

// orgAgent loads an agent of the caller's org, or ErrNotFound.
func orgAgent(tx store.Tx, c *clavis.Caller, id string) (*store.Agent, error) {
	a, err := tx.GetAgent(id)
	if clavis.IsKind(err, clavis.KindNotFound) || (err == nil && a.OrgID != c.OrgID) {
		return nil, clavis.ErrNotFound
	}
	return a, err
}

// GetAgent returns an agent of the org to a user, or an agent its own record.
func (e *Engine) GetAgent(ctx context.Context, c *clavis.Caller, id string) (*clavis.Agent, error) {
	if err := e.refuseScoped(ctx, c, "agent", id); err != nil {
		return nil, err
	}
	if err := lookupIDs(id); err != nil {
		return nil, err
	}
	if c.Type == clavis.PrincipalAgent && c.ID != id {
		return nil, clavis.ErrNotFound
	}
	var a *store.Agent
	err := e.read(ctx, func(tx store.Tx) error {
		var err error
		a, err = orgAgent(tx, c, id)
		return err
	})
	return agentOf(a), err
}

// AgentMe returns the calling agent's record.
func (e *Engine) AgentMe(ctx context.Context, c *clavis.Caller) (*clavis.Agent, error) {
	if err := e.refuseScoped(ctx, c, "agent", ""); err != nil {
		return nil, err
	}
	if err := requireAgent(c); err != nil {
		return nil, err
	}
	return e.GetAgent(ctx, c, c.ID)
}

// manageAgent loads an agent the caller may manage: its registering user, org owners and admins.
func manageAgent(tx store.Tx, c *clavis.Caller, id string) (*store.Agent, error) {
	if err := requireUser(c); err != nil {
		return nil, err
	}
	a, err := orgAgent(tx, c, id)
	if err != nil {
		return nil, err
	}
	if a.CreatedBy != c.ID && c.Role != clavis.RoleOwner && c.Role != clavis.RoleAdmin {
		return nil, clavis.ErrForbidden
	}
	return a, nil
}

// UpdateAgent applies a patch; deactivation revokes every token issued before it (spec §2.7).
func (e *Engine) UpdateAgent(ctx context.Context, c *clavis.Caller, id string, p clavis.AgentPatch) (*clavis.Agent, error) {
	if err := e.refuseScoped(ctx, c, "agent", id); err != nil {
		return nil, err
	}
	if err := requireUser(c); err != nil {
		return nil, err
	}
	if err := lookupIDs(id); err != nil {
		return nil, err
	}
	now := e.now()
	if err := validateAgentFields(p.Name, p.Description, p.Scopes, p.TokenTTL, p.ExpiresAt, now); err != nil {
		return nil, err
	}
	var a *store.Agent
	err := e.write(ctx, func(tx store.Tx) error {
		var err error
		if a, err = manageAgent(tx, c, id); err != nil {
			return err
		}
		action := "agent.update"
		if p.VaultIDs != nil {
			if err := validateVaultIDs(tx, c.OrgID, *p.VaultIDs); err != nil {
				return err
			}
			a.VaultIDs = append([]string{}, *p.VaultIDs...)
		}
		if p.Name != nil {
			a.Name = *p.Name
		}
		if p.Description != nil {
			a.Description = *p.Description
		}
		if p.Scopes != nil {
			a.Scopes = append([]string{}, *p.Scopes...)
		}
		if p.ExpiresAt != nil {
			a.ExpiresAt = p.ExpiresAt
		} else if p.ClearExpiresAt {
			a.ExpiresAt = nil
		}
		if p.TokenTTL != nil {
			a.TokenTTL = *p.TokenTTL
		} else if p.ClearTokenTTL {
			a.TokenTTL = 0
		}
		if p.Active != nil && *p.Active != a.Active {
			a.Active = *p.Active
			if a.Active {
				action = "agent.activate"
			} else {
				action = "agent.deactivate"
				a.TokenGen++
			}
		}
		if err := tx.UpdateAgent(a); err != nil {
			return err
		}
		return e.record(tx, callerEvent(c, action, "agent", a.ID, nil))
	})
	if err != nil {
		return nil, err // fn may still run: read nothing it writes
	}
	return agentOf(a), nil
}

// DeleteAgent removes an agent, its policies and its __agent-keys entries; audit events stay.
func (e *Engine) DeleteAgent(ctx context.Context, c *clavis.Caller, id string) error {
	if err := e.refuseScoped(ctx, c, "agent", id); err != nil {
		return err
	}
	if err := requireUser(c); err != nil {
		return err
	}
	if err := lookupIDs(id); err != nil {
		return err
	}
	return e.write(ctx, func(tx store.Tx) error {
		a, err := manageAgent(tx, c, id)
		if err != nil {
			return err
		}
		if err := tx.DeleteAgent(a.ID); err != nil {
			return err
		}
		if err := tx.DeletePrincipalPolicies(clavis.PrincipalAgent, a.ID); err != nil {
			return err
		}
		if err := tx.DeleteSharesTo(a.ID); err != nil { // shares to it are revoked (spec §4.7)
			return err
		}
		if sys, err := tx.SystemVault(c.OrgID); err == nil {
			if err := tx.PurgeSecrets(sys.ID, "agents/"+a.ID+"/"); err != nil {
				return err
			}
		} else if !clavis.IsKind(err, clavis.KindNotFound) {
			return err
		}
		return e.record(tx, callerEvent(c, "agent.delete", "agent", a.ID, nil))
	})
}

// RotateAgentKey replaces the agent's key; the old key and every token issued before die at once.
func (e *Engine) RotateAgentKey(ctx context.Context, c *clavis.Caller, id string) (*clavis.AgentKey, error) {
	if err := e.refuseScoped(ctx, c, "agent", id); err != nil {
		return nil, err
	}
	if err := requireUser(c); err != nil {
		return nil, err
	}
	if err := lookupIDs(id); err != nil {
		return nil, err
	}
	raw, err := token.NewAPIKey(token.AgentKeyPrefix)
	if err != nil {
		return nil, e.classify(ctx, clavis.Internal(err))
	}
	var a *store.Agent
	err = e.write(ctx, func(tx store.Tx) error {
		var err error
		if a, err = manageAgent(tx, c, id); err != nil {
			return err
		}
		a.KeyHash = token.HashKey(e.pepper, raw)
		a.TokenGen++
		if err := tx.UpdateAgent(a); err != nil {
			return err
		}
		return e.record(tx, callerEvent(c, "agent.rotate_key", "agent", a.ID, nil))
	})
	if err != nil {
		return nil, err
	}
	return &clavis.AgentKey{Agent: &a.Agent, Key: clavis.Sensitive(raw)}, nil
}
