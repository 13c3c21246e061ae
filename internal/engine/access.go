package engine

import (
	"context"
	"slices"
	"strings"
	"time"

	"clavis.dev/clavis"
	"clavis.dev/clavis/internal/policy"
	"clavis.dev/clavis/internal/store"
)

// vaultAccess is what the engine knows about a caller's relation to one visible vault.
type vaultAccess struct {
	vault *store.Vault
	owner bool          // owner or owner-equivalent (spec §3.1)
	rules []policy.Rule // the caller's policies on the vault, oldest first
}

// isOwner applies the owner rule: the creator, or for agent-created vaults the registering human.
func isOwner(c *clavis.Caller, v *store.Vault) bool {
	if v.System {
		return false // __agent-keys has no owner bypass
	}
	switch c.Type {
	case clavis.PrincipalUser:
		return v.OwnerUserID == c.ID
	case clavis.PrincipalAgent:
		return v.CreatedByType == clavis.PrincipalAgent && v.CreatedBy == c.ID
	}
	return false
}

// openVault authorizes the caller to see vault id (spec §3.3 step 1 and the vault_ids binding) and loads
// its rules. A vault the caller may not see is ErrNotFound, exactly like a missing one. In a read
// transaction the vault and the caller's policies on it come from the state cache when it has them.
func (e *Engine) openVault(tx store.Tx, c *clavis.Caller, id string, now time.Time) (*vaultAccess, error) {
	vp, err := e.vaultPolicies(tx, c, id)
	if err != nil {
		return nil, err
	}
	v := vp.vault
	if v.OrgID != c.OrgID {
		return nil, clavis.ErrNotFound
	}
	if c.Type == clavis.PrincipalAgent && len(c.VaultIDs) > 0 && !v.System && !slices.Contains(c.VaultIDs, v.ID) {
		return nil, clavis.ErrNotFound
	}
	va := &vaultAccess{vault: v, owner: isOwner(c, v)}
	visible := va.owner
	for _, r := range vp.rules {
		if r.ExpiresAt != nil && !now.Before(*r.ExpiresAt) {
			continue
		}
		visible = true
		va.rules = append(va.rules, r)
	}
	if v.System {
		sys, err := e.agentKeyRules(tx, c)
		if err != nil {
			return nil, err
		}
		visible = visible || len(sys) > 0
		va.rules = append(sys, va.rules...)
	}
	if !visible {
		return nil, clavis.ErrNotFound
	}
	return va, nil
}

// vaultEntry is a vault with one principal's policies on it, parsed, expired ones included.
type vaultEntry struct {
	vault *store.Vault
	rules []policy.Rule
}

// vaultPolicies loads vault id and the caller's policies on it. In a read transaction of e.read they
// come from the state cache (filled on a miss). In a write transaction, which must see the state as of
// itself (its own changes and those of earlier units in its batch included), a cached entry serves only
// when the transaction reads the very state epoch the entry is exact at; otherwise tx is asked.
func (e *Engine) vaultPolicies(tx store.Tx, c *clavis.Caller, id string) (*vaultEntry, error) {
	rt, cached := tx.(*readTx)
	key := vaultKey(c, id)
	if cached {
		if v, ok := e.cache.get(key); ok {
			return v.(*vaultEntry), nil
		}
	} else if v, at, ok := e.cache.getAt(key); ok {
		if now, err := tx.StateEpoch(); err != nil {
			return nil, err
		} else if now == at {
			return v.(*vaultEntry), nil
		}
	}
	v, err := tx.GetVault(id)
	if clavis.IsKind(err, clavis.KindNotFound) {
		return nil, clavis.ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	ps, err := tx.ListPrincipalPolicies(v.ID, c.Type, c.ID)
	if err != nil {
		return nil, err
	}
	vp := &vaultEntry{vault: v}
	for _, p := range ps {
		r, err := ruleOf(p)
		if err != nil {
			return nil, err
		}
		vp.rules = append(vp.rules, r)
	}
	vp.rules = slices.Clip(vp.rules)
	if cached {
		e.cache.put(rt.gen, key, vp)
	}
	return vp, nil
}

// vaultKey is the state cache key of vault id with the caller's policies on it.
func vaultKey(c *clavis.Caller, id string) string {
	return "v:" + id + "|" + string(c.Type) + "|" + c.ID
}

// agentKeyRules are the implicit read rules of the __agent-keys vault (spec §4.12): an agent reads its
// own entries, a user the entries of the agents it registered.
func (e *Engine) agentKeyRules(tx store.Tx, c *clavis.Caller) ([]policy.Rule, error) {
	read := []clavis.Permission{clavis.PermRead}
	if c.Type == clavis.PrincipalAgent {
		return []policy.Rule{{ID: "", Pattern: "agents/" + c.ID + "/**", Permissions: read}}, nil
	}
	agents, err := tx.ListAgents(c.OrgID)
	if err != nil {
		return nil, err
	}
	var rules []policy.Rule
	for _, a := range agents {
		if a.CreatedBy == c.ID {
			rules = append(rules, policy.Rule{Pattern: "agents/" + a.ID + "/**", Permissions: read})
		}
	}
	return rules, nil
}

// ruleOf converts a stored policy for the evaluator.
func ruleOf(p *clavis.Policy) (policy.Rule, error) {
	cond, err := policy.ParseConditions(p.Conditions)
	if err != nil {
		return policy.Rule{}, clavis.Internal(err) // validated on write; a stored bad condition is corruption
	}
	return policy.Rule{ID: p.ID, Pattern: p.Pattern, Permissions: p.Permissions, Effect: p.Effect,
		Priority: p.Priority, RequireApproval: p.RequireApproval, ExpiresAt: p.ExpiresAt, Conditions: cond}, nil
}

// decide evaluates one path and permission for the caller inside a visible vault (spec §3.3 steps 2–7).
func (va *vaultAccess) decide(c *clavis.Caller, path string, perm clavis.Permission, now time.Time) policy.Decision {
	return policy.Evaluate(policy.Input{Path: path, Permission: perm, ClientIP: c.IP, Now: now,
		Scopes: c.Scopes, Owner: va.owner, Rules: va.rules})
}

// authorize decides a path inside a write transaction; a denial is recorded as access.denied and
// returned as a kept 403, so the audit event commits with the transaction. A path guarded by a
// require_approval policy uses a one-time grant (see useGrant) or answers approval_required.
func (e *Engine) authorize(tx store.Tx, c *clavis.Caller, va *vaultAccess, path string, perm clavis.Permission, now time.Time) error {
	d := va.decide(c, path, perm, now)
	if d.Allowed {
		return nil
	}
	if d.Reason == policy.ReasonApprovalRequired {
		_, err := e.useGrant(tx, c, va.vault.ID, path, perm, d, now)
		return err
	}
	if err := e.record(tx, deniedEvent(c, va.vault.ID, path, perm, d)); err != nil {
		return err
	}
	return keep(clavis.ErrForbidden)
}

// deniedEvent is the access.denied event of a path decision: resource_id is the vault, so that the
// event never tells whether a secret exists at the path (spec §5.2).
func deniedEvent(c *clavis.Caller, vaultID, path string, perm clavis.Permission, d policy.Decision) event {
	return callerEvent(c, "access.denied", "secret", vaultID,
		map[string]any{"vault_id": vaultID, "path": path, "permission": string(perm), "reason": string(d.Reason)})
}

// deny records a denial decided outside a write transaction and returns the 403.
func (e *Engine) deny(ctx context.Context, c *clavis.Caller, vaultID, path string, perm clavis.Permission, d policy.Decision) error {
	if err := e.write(ctx, func(tx store.Tx) error { return e.record(tx, deniedEvent(c, vaultID, path, perm, d)) }); err != nil {
		return err
	}
	return clavis.ErrForbidden
}

// canManagePolicies reports whether the caller manages the vault's policies (spec §3.7).
func canManagePolicies(c *clavis.Caller, va *vaultAccess) bool {
	if va.vault.System {
		return c.Type == clavis.PrincipalUser && c.Role == clavis.RoleOwner
	}
	return va.owner
}

// reservedName reports a vault name reserved for system vaults.
func reservedName(name string) bool { return strings.HasPrefix(name, "__") }

// errScopedCredential answers a path-scoped credential used on a route its ceiling does not allow.
var errScopedCredential = clavis.E(clavis.KindForbidden, "Scoped credentials cannot grant access")

// scopedKey reports whether c is a personal API key with path scopes, or a token minted from one.
func scopedKey(c *clavis.Caller) bool { return c.Type == clavis.PrincipalUser && len(c.Scopes) > 0 }

// refuseScoped enforces the ceiling of spec §2.8: a scoped personal key may use only the secret routes
// within its ceiling, the vault reads, explain, me and revoking its own token. Every other service method
// that takes a Caller calls this first; for a scoped key it records access.denied on the object the
// request names (resType/resID) and returns 403 "Scoped credentials cannot grant access". A test calls
// every Service method with a scoped caller, so a new method without this call fails it.
func (e *Engine) refuseScoped(ctx context.Context, c *clavis.Caller, resType, resID string) error {
	if !scopedKey(c) {
		return nil
	}
	if !validID(resID) {
		resID = "" // a malformed id names nothing; the event does not repeat it
	}
	ev := callerEvent(c, "access.denied", resType, resID, map[string]any{"reason": string(policy.ReasonOutsideScopes)})
	if err := e.write(ctx, func(tx store.Tx) error { return e.record(tx, ev) }); err != nil {
		return err
	}
	return errScopedCredential
}
