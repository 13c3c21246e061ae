package engine

import (
	"context"
	"slices"
	"time"

	"clavis.dev/clavis"
	"clavis.dev/clavis/internal/policy"
	"clavis.dev/clavis/internal/store"
)

// validatePolicy checks a complete policy's own fields (not its principal's existence).
func validatePolicy(p *clavis.Policy, now time.Time, creating bool) error {
	if p.Pattern == "" {
		return clavis.Invalid("secret_path_pattern", "secret_path_pattern is required")
	}
	if err := policy.ValidatePattern(p.Pattern); err != nil {
		return err
	}
	if p.PrincipalType != clavis.PrincipalUser && p.PrincipalType != clavis.PrincipalAgent {
		return clavis.Invalid("principal_type", "principal_type must be user or agent")
	}
	if p.Effect != clavis.EffectAllow && p.Effect != clavis.EffectDeny {
		return clavis.Invalid("effect", "effect must be allow or deny")
	}
	if p.Priority < 0 || p.Priority > 1000 {
		return clavis.Invalid("priority", "priority must be between 0 and 1000")
	}
	if p.RequireApproval && (p.PrincipalType != clavis.PrincipalAgent || p.Effect != clavis.EffectAllow) {
		return clavis.Invalid("require_approval", "require_approval needs principal_type agent and effect allow")
	}
	if creating && p.ExpiresAt != nil && !p.ExpiresAt.After(now) {
		return clavis.Invalid("expires_at", "expires_at must be in the future")
	}
	return nil
}

// parsePolicyParts validates permissions and conditions and returns their canonical forms.
func parsePolicyParts(perms []string, cond []byte) ([]clavis.Permission, []byte, error) {
	ps, err := policy.ParsePermissions(perms)
	if err != nil {
		return nil, nil, err
	}
	if _, err := policy.ParseConditions(cond); err != nil {
		return nil, nil, err
	}
	if len(cond) == 0 || string(cond) == "null" {
		cond = []byte("{}")
	}
	return ps, cond, nil
}

// principalExists checks that the policy's principal is a user or agent of the org.
func principalExists(tx store.Tx, org string, pt clavis.PrincipalType, id string) (bool, error) {
	switch pt {
	case clavis.PrincipalUser:
		u, err := tx.GetUser(id)
		if clavis.IsKind(err, clavis.KindNotFound) {
			return false, nil
		}
		return err == nil && u.OrgID == org, err
	case clavis.PrincipalAgent:
		a, err := tx.GetAgent(id)
		if clavis.IsKind(err, clavis.KindNotFound) {
			return false, nil
		}
		return err == nil && a.OrgID == org, err
	}
	return false, nil
}

// managedVault opens a vault whose policies the caller manages: 404 if invisible, 403 if not a manager.
func (e *Engine) managedVault(tx store.Tx, c *clavis.Caller, vaultID string, now time.Time) (*vaultAccess, error) {
	va, err := e.openVault(tx, c, vaultID, now)
	if err != nil {
		return nil, err
	}
	if !canManagePolicies(c, va) {
		return nil, clavis.ErrForbidden
	}
	return va, nil
}

// CreatePolicy adds a policy to a vault (spec §4.9).
func (e *Engine) CreatePolicy(ctx context.Context, c *clavis.Caller, vaultID string, in clavis.PolicyInput) (*clavis.Policy, error) {
	if err := e.refuseScoped(ctx, c, "policy", ""); err != nil {
		return nil, err
	}
	if err := lookupIDs(vaultID); err != nil {
		return nil, err
	}
	if in.PrincipalID != "" && !validID(in.PrincipalID) {
		return nil, clavis.Invalid("principal_id", "principal_id must be a UUID")
	}
	now := e.now()
	effect := clavis.EffectAllow
	if in.Effect != nil {
		effect = *in.Effect
	}
	p := &clavis.Policy{ID: newID(), VaultID: vaultID, Pattern: in.Pattern, PrincipalType: in.PrincipalType,
		PrincipalID: in.PrincipalID, Effect: effect, Priority: in.Priority, RequireApproval: in.RequireApproval,
		ExpiresAt: in.ExpiresAt, CreatedBy: c.ID, CreatedByType: c.Type, CreatedAt: now}
	if err := validatePolicy(p, now, true); err != nil {
		return nil, err
	}
	var err error
	if p.Permissions, p.Conditions, err = parsePolicyParts(in.Permissions, in.Conditions); err != nil {
		return nil, err
	}
	err = e.write(ctx, func(tx store.Tx) error {
		if _, err := e.managedVault(tx, c, vaultID, now); err != nil {
			return err
		}
		ok, err := principalExists(tx, c.OrgID, p.PrincipalType, p.PrincipalID)
		if err != nil {
			return err
		}
		if !ok {
			return clavis.Invalid("principal_id", "principal_id must name a principal ("+string(p.PrincipalType)+") of your organisation")
		}
		if err := tx.CreatePolicy(p); err != nil {
			return err
		}
		return e.record(tx, callerEvent(c, "policy.create", "policy", p.ID, map[string]any{"vault_id": vaultID}))
	})
	if err != nil {
		return nil, err
	}
	return p, nil
}

// ListPolicies returns a vault's policies, oldest first, to its managers.
func (e *Engine) ListPolicies(ctx context.Context, c *clavis.Caller, vaultID string) ([]*clavis.Policy, error) {
	if err := e.refuseScoped(ctx, c, "policy", ""); err != nil {
		return nil, err
	}
	if err := lookupIDs(vaultID); err != nil {
		return nil, err
	}
	out := []*clavis.Policy{}
	err := e.read(ctx, func(tx store.Tx) error {
		if _, err := e.managedVault(tx, c, vaultID, e.now()); err != nil {
			return err
		}
		ps, err := tx.ListPolicies(vaultID)
		if err != nil {
			return err
		}
		out = append(out, ps...)
		return nil
	})
	return out, err
}

// vaultPolicy loads a policy of the vault, or ErrNotFound (also for another vault's policy).
func vaultPolicy(tx store.Tx, vaultID, id string) (*clavis.Policy, error) {
	p, err := tx.GetPolicy(id)
	if clavis.IsKind(err, clavis.KindNotFound) || (err == nil && p.VaultID != vaultID) {
		return nil, clavis.ErrNotFound
	}
	return p, err
}

// UpdatePolicy applies a partial update; the pattern and principal are immutable (spec §4.9).
func (e *Engine) UpdatePolicy(ctx context.Context, c *clavis.Caller, vaultID, policyID string, in clavis.PolicyPatch) (*clavis.Policy, error) {
	if err := e.refuseScoped(ctx, c, "policy", policyID); err != nil {
		return nil, err
	}
	if err := lookupIDs(vaultID, policyID); err != nil {
		return nil, err
	}
	now := e.now()
	var p *clavis.Policy
	err := e.write(ctx, func(tx store.Tx) error {
		if _, err := e.managedVault(tx, c, vaultID, now); err != nil {
			return err
		}
		var err error
		if p, err = vaultPolicy(tx, vaultID, policyID); err != nil {
			return err
		}
		if (in.Pattern != nil && *in.Pattern != p.Pattern) || (in.PrincipalType != nil && *in.PrincipalType != p.PrincipalType) ||
			(in.PrincipalID != nil && *in.PrincipalID != p.PrincipalID) {
			return clavis.Invalid("", "secret_path_pattern, principal_type and principal_id cannot be changed")
		}
		perms := make([]string, 0, len(p.Permissions))
		for _, x := range p.Permissions {
			perms = append(perms, string(x))
		}
		if in.Permissions != nil {
			perms = *in.Permissions
		}
		cond := []byte(p.Conditions)
		if in.Conditions != nil {
			cond = *in.Conditions
		}
		if p.Permissions, p.Conditions, err = parsePolicyParts(perms, cond); err != nil {
			return err
		}
		if in.Effect != nil {
			p.Effect = *in.Effect
		}
		if in.Priority != nil {
			p.Priority = *in.Priority
		}
		if in.RequireApproval != nil {
			p.RequireApproval = *in.RequireApproval
		}
		if in.ExpiresAt != nil {
			if !in.ExpiresAt.After(now) {
				return clavis.Invalid("expires_at", "expires_at must be in the future")
			}
			p.ExpiresAt = in.ExpiresAt
		} else if in.ClearExpiresAt {
			p.ExpiresAt = nil
		}
		if err := validatePolicy(p, now, false); err != nil {
			return err
		}
		if err := tx.UpdatePolicy(p); err != nil {
			return err
		}
		return e.record(tx, callerEvent(c, "policy.update", "policy", p.ID, map[string]any{"vault_id": vaultID}))
	})
	if err != nil {
		return nil, err // fn may still run: read nothing it writes
	}
	return p, nil
}

// DeletePolicy removes a policy of the vault.
func (e *Engine) DeletePolicy(ctx context.Context, c *clavis.Caller, vaultID, policyID string) error {
	if err := e.refuseScoped(ctx, c, "policy", policyID); err != nil {
		return err
	}
	if err := lookupIDs(vaultID, policyID); err != nil {
		return err
	}
	return e.write(ctx, func(tx store.Tx) error {
		if _, err := e.managedVault(tx, c, vaultID, e.now()); err != nil {
			return err
		}
		if _, err := vaultPolicy(tx, vaultID, policyID); err != nil {
			return err
		}
		if err := tx.DeletePolicy(policyID); err != nil {
			return err
		}
		return e.record(tx, callerEvent(c, "policy.delete", "policy", policyID, map[string]any{"vault_id": vaultID}))
	})
}

// Explain evaluates how a request of a principal would be decided now (spec §4.9). Self-explain: with
// PrincipalType and PrincipalID empty, or naming the caller, any caller that can see the vault explains
// its own access exactly as its requests are decided (its live scopes and binding included); PolicyID is
// then set only for managers. Explaining another principal needs a manager. A scoped personal key explains
// only paths within its ceiling (§2.8).
func (e *Engine) Explain(ctx context.Context, c *clavis.Caller, vaultID string, q clavis.ExplainQuery) (*clavis.Explanation, error) {
	if err := lookupIDs(vaultID); err != nil {
		return nil, err
	}
	if q.PrincipalID != "" && !validID(q.PrincipalID) {
		return nil, clavis.ErrNotFound // a principal that cannot exist (spec §4.9: not in the org → 404)
	}
	self := (q.PrincipalType == "" && q.PrincipalID == "") || (q.PrincipalType == c.Type && q.PrincipalID == c.ID)
	if !self {
		if q.PrincipalType != clavis.PrincipalUser && q.PrincipalType != clavis.PrincipalAgent {
			return nil, clavis.Invalid("principal_type", "principal_type must be user or agent")
		}
		if q.PrincipalID == "" {
			return nil, clavis.Invalid("principal_id", "principal_id is required")
		}
	}
	if err := policy.ValidatePath(q.Path); err != nil {
		return nil, err
	}
	if !slices.Contains(clavis.Permissions(), q.Permission) {
		return nil, clavis.Invalid("permission", "permission must be read, write, delete, rotate, share or use")
	}
	if scopedKey(c) && !policy.InScopes(c.Scopes, q.Path) {
		return nil, e.deny(ctx, c, vaultID, q.Path, q.Permission, policy.Decision{Reason: policy.ReasonOutsideScopes})
	}
	if !q.IP.IsValid() {
		q.IP = c.IP
	}
	now := e.now()
	var out *clavis.Explanation
	err := e.read(ctx, func(tx store.Tx) error {
		va, err := e.openVault(tx, c, vaultID, now)
		if err != nil {
			return err
		}
		manager := canManagePolicies(c, va)
		if self {
			subject := *c
			subject.IP = q.IP.Unmap()
			d := va.decide(&subject, q.Path, q.Permission, now)
			out = &clavis.Explanation{Allowed: d.Allowed, Reason: string(d.Reason)}
			if manager {
				out.PolicyID = d.PolicyID
			}
			return nil
		}
		if !manager {
			return clavis.ErrForbidden
		}
		out, err = e.explainOther(tx, c, va, q, now)
		return err
	})
	return out, err
}

// explainOther decides q for another principal of the caller's org, as seen by a manager of va.
func (e *Engine) explainOther(tx store.Tx, c *clavis.Caller, va *vaultAccess, q clavis.ExplainQuery, now time.Time) (*clavis.Explanation, error) {
	subject := &clavis.Caller{Principal: clavis.Principal{Type: q.PrincipalType, ID: q.PrincipalID, OrgID: c.OrgID}, IP: q.IP.Unmap()}
	inactive := false
	switch q.PrincipalType {
	case clavis.PrincipalAgent:
		a, err := orgAgent(tx, c, q.PrincipalID)
		if err != nil {
			return nil, err
		}
		agentCaller(subject, a)
		inactive = !a.Active || (a.ExpiresAt != nil && !now.Before(*a.ExpiresAt))
	case clavis.PrincipalUser:
		u, err := tx.GetUser(q.PrincipalID)
		if clavis.IsKind(err, clavis.KindNotFound) || (err == nil && u.OrgID != c.OrgID) {
			return nil, clavis.ErrNotFound
		}
		if err != nil {
			return nil, err
		}
		userCaller(subject, u, nil)
		inactive = u.Disabled
	}
	switch {
	case inactive:
		return &clavis.Explanation{Reason: "principal_inactive"}, nil
	case subject.Type == clavis.PrincipalAgent && len(subject.VaultIDs) > 0 && !va.vault.System && !slices.Contains(subject.VaultIDs, va.vault.ID):
		return &clavis.Explanation{Reason: "vault_not_bound"}, nil
	}
	sva, err := e.openVault(tx, subject, va.vault.ID, now)
	if clavis.IsKind(err, clavis.KindNotFound) {
		sva = &vaultAccess{vault: va.vault} // not visible: no owner bypass and no policies
	} else if err != nil {
		return nil, err
	}
	d := sva.decide(subject, q.Path, q.Permission, now)
	return &clavis.Explanation{Allowed: d.Allowed, Reason: string(d.Reason), PolicyID: d.PolicyID}, nil
}
