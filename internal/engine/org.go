package engine

import (
	"context"
	"net/netip"
	"time"

	"clavis.dev/clavis"
	"clavis.dev/clavis/internal/store"
)

// inviteTTL is how long an invitation stays valid (spec §2.4).
const inviteTTL = 7 * 24 * time.Hour

var (
	errNotOrgAdmin   = clavis.E(clavis.KindForbidden, "Only org owners and admins may do this")
	errOwnersOnly    = clavis.E(clavis.KindForbidden, "Only org owners may grant, change or remove the owner role")
	errLastOwner     = clavis.E(clavis.KindConflict, "The org must keep at least one owner")
	errIPRuleBlocked = clavis.E(clavis.KindForbidden, "Access denied by the organisation's IP rules")
)

// requireOrgAdmin refuses (403, before any lookup) callers that are not org owners or admins.
func requireOrgAdmin(c *clavis.Caller) error {
	if err := requireUser(c); err != nil {
		return err
	}
	if !orgAdmin(c) {
		return errNotOrgAdmin
	}
	return nil
}

// parseRole validates a role; "" is def.
func parseRole(r clavis.Role, def clavis.Role) (clavis.Role, error) {
	switch r {
	case "":
		return def, nil
	case clavis.RoleOwner, clavis.RoleAdmin, clavis.RoleMember:
		return r, nil
	}
	return "", clavis.Invalid("role", "role must be owner, admin or member")
}

// ListMembers lists the org's active users, oldest first.
func (e *Engine) ListMembers(ctx context.Context, c *clavis.Caller) ([]*clavis.User, error) {
	if err := e.refuseScoped(ctx, c, "org", c.OrgID); err != nil {
		return nil, err
	}
	if err := requireUser(c); err != nil {
		return nil, err
	}
	out := []*clavis.User{}
	err := e.read(ctx, func(tx store.Tx) error {
		us, err := tx.ListUsers(c.OrgID)
		for _, u := range us {
			if !u.Disabled {
				out = append(out, userOf(u))
			}
		}
		return err
	})
	return out, err
}

// InviteMember invites an email into the caller's org; signing up with it joins the org with the role.
func (e *Engine) InviteMember(ctx context.Context, c *clavis.Caller, email string, role clavis.Role) (*clavis.Invite, error) {
	if err := e.refuseScoped(ctx, c, "org", c.OrgID); err != nil {
		return nil, err
	}
	if err := requireOrgAdmin(c); err != nil {
		return nil, err
	}
	email, err := normalizeEmail(email)
	if err != nil {
		return nil, err
	}
	if role, err = parseRole(role, clavis.RoleMember); err != nil {
		return nil, err
	}
	if role == clavis.RoleOwner && c.Role != clavis.RoleOwner {
		return nil, errOwnersOnly
	}
	now := e.now()
	inv := &clavis.Invite{Email: email, OrgID: c.OrgID, Role: role, InvitedBy: c.ID, ExpiresAt: now.Add(inviteTTL), CreatedAt: now}
	err = e.write(ctx, func(tx store.Tx) error {
		if _, err := tx.GetUserByEmail(email); err == nil {
			return clavis.E(clavis.KindConflict, "Email already has an account")
		} else if !clavis.IsKind(err, clavis.KindNotFound) {
			return err
		}
		if err := tx.PutInvite(inv); err != nil {
			return err
		}
		return e.record(tx, callerEvent(c, "org.invite", "user", c.OrgID, map[string]any{"email": email, "role": string(role)}))
	})
	if err != nil {
		return nil, err
	}
	return inv, nil
}

// member loads a live user of the caller's org for a change by an owner or admin: 404 for anyone else,
// 403 when an admin addresses an owner.
func member(tx store.Tx, c *clavis.Caller, id string) (*store.User, error) {
	u, err := tx.GetUser(id)
	if clavis.IsKind(err, clavis.KindNotFound) {
		return nil, clavis.ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	if u.OrgID != c.OrgID || u.Disabled {
		return nil, clavis.ErrNotFound
	}
	if u.Role == clavis.RoleOwner && c.Role != clavis.RoleOwner {
		return nil, errOwnersOnly
	}
	return u, nil
}

// otherOwners counts the active owners of the org other than u; the caller holds the org lock.
func otherOwners(tx store.Tx, u *store.User) (int, error) {
	us, err := tx.ListUsers(u.OrgID)
	n := 0
	for _, o := range us {
		if o.ID != u.ID && o.Role == clavis.RoleOwner && !o.Disabled {
			n++
		}
	}
	return n, err
}

// SetMemberRole changes a member's role under the owner/admin rules; the org keeps an owner.
func (e *Engine) SetMemberRole(ctx context.Context, c *clavis.Caller, id string, role clavis.Role) (*clavis.User, error) {
	if err := e.refuseScoped(ctx, c, "user", id); err != nil {
		return nil, err
	}
	if err := requireOrgAdmin(c); err != nil {
		return nil, err
	}
	if role == "" {
		return nil, clavis.Invalid("role", "role is required")
	}
	role, err := parseRole(role, "")
	if err != nil {
		return nil, err
	}
	if err := lookupIDs(id); err != nil {
		return nil, err
	}
	if role == clavis.RoleOwner && c.Role != clavis.RoleOwner {
		return nil, errOwnersOnly
	}
	var out *clavis.User
	err = e.write(ctx, func(tx store.Tx) error {
		if err := tx.LockOrg(c.OrgID); err != nil {
			return err
		}
		u, err := member(tx, c, id)
		if err != nil {
			return err
		}
		if u.Role == clavis.RoleOwner && role != clavis.RoleOwner {
			if n, err := otherOwners(tx, u); err != nil {
				return err
			} else if n == 0 {
				return errLastOwner
			}
		}
		u.Role = role
		if err := tx.UpdateUser(u); err != nil {
			return err
		}
		out = userOf(u)
		return e.record(tx, callerEvent(c, "org.member_update", "user", u.ID, map[string]any{"email": u.Email, "role": string(role)}))
	})
	if err != nil {
		return nil, err // fn may still run: read nothing it writes
	}
	return out, nil
}

// RemoveMember disables a member's account: its logins, tokens and keys fail from the next request.
func (e *Engine) RemoveMember(ctx context.Context, c *clavis.Caller, id string) error {
	if err := e.refuseScoped(ctx, c, "user", id); err != nil {
		return err
	}
	if err := requireOrgAdmin(c); err != nil {
		return err
	}
	if err := lookupIDs(id); err != nil {
		return err
	}
	return e.write(ctx, func(tx store.Tx) error {
		if err := tx.LockOrg(c.OrgID); err != nil {
			return err
		}
		u, err := member(tx, c, id)
		if err != nil {
			return err
		}
		if u.Role == clavis.RoleOwner {
			if n, err := otherOwners(tx, u); err != nil {
				return err
			} else if n == 0 {
				return errLastOwner
			}
		}
		u.Disabled = true
		u.TokenGen++
		if err := tx.UpdateUser(u); err != nil {
			return err
		}
		return e.record(tx, callerEvent(c, "org.member_remove", "user", u.ID, map[string]any{"email": u.Email, "role": string(u.Role)}))
	})
}

// AgentKeysVault returns the id of the org's __agent-keys vault (spec §4.12).
func (e *Engine) AgentKeysVault(ctx context.Context, c *clavis.Caller) (string, error) {
	if err := e.refuseScoped(ctx, c, "vault", ""); err != nil {
		return "", err
	}
	if err := requireUser(c); err != nil {
		return "", err
	}
	var id string
	err := e.read(ctx, func(tx store.Tx) error {
		v, err := tx.SystemVault(c.OrgID)
		if err != nil {
			return err
		}
		id = v.ID
		return nil
	})
	return id, err
}

// ListIPRules lists the org's IP rules, oldest first.
func (e *Engine) ListIPRules(ctx context.Context, c *clavis.Caller) ([]*clavis.IPRule, error) {
	if err := e.refuseScoped(ctx, c, "ip_rule", ""); err != nil {
		return nil, err
	}
	if err := requireOrgAdmin(c); err != nil {
		return nil, err
	}
	out := []*clavis.IPRule{}
	err := e.read(ctx, func(tx store.Tx) error {
		rs, err := tx.ListIPRules(c.OrgID)
		out = append(out, rs...)
		return err
	})
	return out, err
}

// CreateIPRule adds an IP rule unless it would refuse the caller's own request (self-lockout, 409).
func (e *Engine) CreateIPRule(ctx context.Context, c *clavis.Caller, in clavis.IPRuleInput) (*clavis.IPRule, error) {
	if err := e.refuseScoped(ctx, c, "ip_rule", ""); err != nil {
		return nil, err
	}
	if err := requireOrgAdmin(c); err != nil {
		return nil, err
	}
	r := &clavis.IPRule{ID: newID(), OrgID: c.OrgID, Label: in.Label, AppliesTo: in.AppliesTo, CreatedBy: c.ID, CreatedAt: e.now()}
	switch in.RuleType {
	case clavis.IPRuleAllow, clavis.IPRuleDeny:
		r.RuleType = in.RuleType
	case "block":
		r.RuleType = clavis.IPRuleDeny
	case "":
		return nil, clavis.Invalid("rule_type", "rule_type is required")
	default:
		return nil, clavis.Invalid("rule_type", "rule_type must be allow or deny")
	}
	if in.CIDR == "" {
		return nil, clavis.Invalid("cidr", "cidr is required")
	}
	p, err := parsePrefix(in.CIDR)
	if err != nil {
		return nil, clavis.Invalid("cidr", "cidr must be an IP address or CIDR")
	}
	r.CIDR = p.String()
	if err := checkLen("label", in.Label, 0, 255); err != nil {
		return nil, err
	}
	switch in.AppliesTo {
	case "":
		r.AppliesTo = clavis.IPRulesForAll
	case clavis.IPRulesForAll, clavis.IPRulesForUsers, clavis.IPRulesForAgents:
	default:
		return nil, clavis.Invalid("applies_to", "applies_to must be all, users or agents")
	}
	err = e.write(ctx, func(tx store.Tx) error {
		rules, err := tx.ListIPRules(c.OrgID)
		if err != nil {
			return err
		}
		if !clavis.IPAllowed(append(rules, r), c.Type, c.IP) {
			return clavis.E(clavis.KindConflict, "This rule would block your own current request")
		}
		if err := tx.CreateIPRule(r); err != nil {
			return err
		}
		return e.record(tx, callerEvent(c, "ip_rule.create", "ip_rule", r.ID, map[string]any{"cidr": r.CIDR, "rule_type": r.RuleType}))
	})
	if err != nil {
		return nil, err
	}
	return r, nil
}

// DeleteIPRule removes one of the org's IP rules.
func (e *Engine) DeleteIPRule(ctx context.Context, c *clavis.Caller, id string) error {
	if err := e.refuseScoped(ctx, c, "ip_rule", id); err != nil {
		return err
	}
	if err := requireOrgAdmin(c); err != nil {
		return err
	}
	if err := lookupIDs(id); err != nil {
		return err
	}
	return e.write(ctx, func(tx store.Tx) error {
		r, err := tx.GetIPRule(id)
		if err != nil {
			return err
		}
		if r.OrgID != c.OrgID {
			return clavis.ErrNotFound
		}
		if err := tx.DeleteIPRule(id); err != nil {
			return err
		}
		return e.record(tx, callerEvent(c, "ip_rule.delete", "ip_rule", r.ID, map[string]any{"cidr": r.CIDR, "rule_type": r.RuleType}))
	})
}

// checkIPRules enforces the org's IP rules on an authenticated caller (spec §4.12); a refusal is
// audited as access.denied with reason ip_rule.
func (e *Engine) checkIPRules(ctx context.Context, c *clavis.Caller, rules []*clavis.IPRule, ip netip.Addr) error {
	if clavis.IPAllowed(rules, c.Type, ip) {
		return nil
	}
	ev := callerEvent(c, "access.denied", "org", c.OrgID, map[string]any{"reason": "ip_rule"})
	if err := e.write(ctx, func(tx store.Tx) error { return e.record(tx, ev) }); err != nil {
		return err
	}
	return errIPRuleBlocked
}
