package engine

import (
	"bytes"
	"context"
	"encoding/json"
	"slices"
	"strings"
	"time"

	"clavis.dev/clavis"
	"clavis.dev/clavis/internal/policy"
	"clavis.dev/clavis/internal/store"
)

const (
	// approvalTTL is how long a request stays pending before it expires.
	approvalTTL = 24 * time.Hour
	// grantWindow is how long after its approval a secret_access grant may be used (spec §4.14).
	grantWindow = time.Hour
	// The list defaults and ceilings of GET /v1/approvals (spec §1.8).
	approvalDefaultLimit, approvalMaxLimit = 50, 200
)

var errNotPending = clavis.E(clavis.KindConflict, "Approval is not pending")

// approvalView is the approval as callers see it at now: a pending approval past its expiry is expired
// (the store catches up when an approval is opened or decided).
func approvalView(a *store.Approval, now time.Time) *clavis.Approval {
	out := a.Approval
	if out.Status == clavis.ApprovalPending && !now.Before(out.ExpiresAt) {
		out.Status = clavis.ApprovalExpired
	}
	return &out
}

// policySummary is the summary of a policy_change request: the policy the agent asks for.
type policySummary struct {
	Pattern     string          `json:"secret_path_pattern"`
	Permissions []string        `json:"permissions"`
	ExpiresAt   *time.Time      `json:"expires_at,omitempty"`
	Conditions  json.RawMessage `json:"conditions,omitempty"`
}

// accessSummary is the summary of a secret_access request.
type accessSummary struct {
	Path       string `json:"path"`
	Permission string `json:"permission"`
}

// parseSummary validates a request's summary for its action and returns it in canonical form, with the
// path and permission of a secret_access request.
func parseSummary(action string, raw json.RawMessage, agentID string, now time.Time) (sum json.RawMessage, path, perm string, err error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || raw[0] != '{' {
		return nil, "", "", clavis.Invalid("summary", "summary must be a JSON object")
	}
	bad := clavis.Invalid("summary", "summary does not match the action")
	switch action {
	case clavis.ApprovalPolicyChange:
		var s policySummary
		if json.Unmarshal(raw, &s) != nil {
			return nil, "", "", bad
		}
		p := &clavis.Policy{Pattern: s.Pattern, PrincipalType: clavis.PrincipalAgent, PrincipalID: agentID,
			Effect: clavis.EffectAllow, ExpiresAt: s.ExpiresAt}
		if err := validatePolicy(p, now, true); err != nil {
			return nil, "", "", err
		}
		perms, cond, err := parsePolicyParts(s.Permissions, s.Conditions)
		if err != nil {
			return nil, "", "", err
		}
		s.Permissions = make([]string, len(perms))
		for i, p := range perms {
			s.Permissions[i] = string(p)
		}
		if string(cond) == "{}" {
			cond = nil
		}
		s.Conditions = cond
		sum, err = json.Marshal(s)
		return sum, "", "", err
	case clavis.ApprovalSecretAccess:
		var s accessSummary
		if json.Unmarshal(raw, &s) != nil {
			return nil, "", "", bad
		}
		if err := policy.ValidatePath(s.Path); err != nil {
			return nil, "", "", err
		}
		perms, err := policy.ParsePermissions([]string{s.Permission})
		if err != nil {
			return nil, "", "", clavis.Invalid("summary", "permission must be one of "+permissionNames())
		}
		s.Permission = string(perms[0])
		sum, err = json.Marshal(s)
		return sum, s.Path, s.Permission, err
	}
	return nil, "", "", clavis.Invalid("action", "action must be policy_change or secret_access")
}

// permissionNames lists the permissions for an error message: "read, write, …".
func permissionNames() string {
	var names []string
	for _, p := range clavis.Permissions() {
		names = append(names, string(p))
	}
	return strings.Join(names, ", ")
}

// RequestApproval files an agent's request (spec §4.14).
func (e *Engine) RequestApproval(ctx context.Context, c *clavis.Caller, in clavis.ApprovalInput) (*clavis.Approval, error) {
	if err := e.refuseScoped(ctx, c, "approval", ""); err != nil {
		return nil, err
	}
	if err := requireAgent(c); err != nil {
		return nil, err
	}
	now := e.now()
	if in.Action != clavis.ApprovalPolicyChange && in.Action != clavis.ApprovalSecretAccess {
		return nil, clavis.Invalid("action", "action must be policy_change or secret_access")
	}
	if in.TargetType != "vault" {
		return nil, clavis.Invalid("target_type", "target_type must be vault")
	}
	if in.RiskTier == 0 {
		in.RiskTier = 1
	}
	if in.RiskTier < 1 || in.RiskTier > 5 {
		return nil, clavis.Invalid("risk_tier", "risk_tier must be between 1 and 5")
	}
	if err := checkLen("reason", in.Reason, 0, 1024); err != nil {
		return nil, err
	}
	sum, path, perm, err := parseSummary(in.Action, in.Summary, c.ID, now)
	if err != nil {
		return nil, err
	}
	if err := lookupIDs(in.TargetID); err != nil {
		return nil, err
	}
	a := &store.Approval{Approval: clavis.Approval{ID: newID(), OrgID: c.OrgID, AgentID: c.ID, Action: in.Action,
		TargetType: in.TargetType, TargetID: in.TargetID, RiskTier: in.RiskTier, Status: clavis.ApprovalPending,
		Summary: sum, Reason: in.Reason, ExpiresAt: now.Add(approvalTTL), CreatedAt: now},
		Path: path, Permission: perm}
	var out *store.Approval
	err = e.write(ctx, func(tx store.Tx) error {
		v, err := tx.GetVault(in.TargetID)
		if clavis.IsKind(err, clavis.KindNotFound) {
			return clavis.ErrNotFound
		}
		if err != nil {
			return err
		}
		if v.OrgID != c.OrgID || v.System || (len(c.VaultIDs) > 0 && !slices.Contains(c.VaultIDs, v.ID)) {
			return clavis.ErrNotFound
		}
		if in.Action == clavis.ApprovalSecretAccess {
			out, err = e.openAccessApproval(tx, c, a, now)
			return err
		}
		out = a
		if err := tx.CreateApproval(a); err != nil {
			return err
		}
		return e.record(tx, approvalEvent(c, "approval.request", a))
	})
	if err != nil {
		return nil, err
	}
	return approvalView(out, now), nil
}

// approvalEvent is the audit event of an approval's request or decision (spec §5.2). Its details are
// what a notification about it needs besides names: never a value.
func approvalEvent(c *clavis.Caller, action string, a *store.Approval) event {
	d := map[string]any{"action": a.Action, "vault_id": a.TargetID, "agent_id": a.AgentID}
	if a.Path != "" {
		d["path"], d["permission"] = a.Path, a.Permission
	}
	return callerEvent(c, action, "approval", a.ID, d)
}

// openAccessApproval returns the pending secret_access approval for a's agent, vault, path and
// permission, creating a (and recording its request) if there is none: at most one is ever pending.
func (e *Engine) openAccessApproval(tx store.Tx, c *clavis.Caller, a *store.Approval, now time.Time) (*store.Approval, error) {
	if err := tx.ExpireApprovals(now); err != nil {
		return nil, err
	}
	for attempt := 0; ; attempt++ {
		p, err := tx.PendingAccessApproval(a.AgentID, a.TargetID, a.Path, a.Permission)
		if err == nil || !clavis.IsKind(err, clavis.KindNotFound) {
			return p, err
		}
		err = tx.CreateApproval(a)
		if err == nil {
			return a, e.record(tx, approvalEvent(c, "approval.request", a))
		}
		// A concurrent request opened it first: take that one.
		if attempt == 1 || !clavis.IsKind(err, clavis.KindConflict) {
			return nil, err
		}
	}
}

// useGrant settles a request that a require_approval policy decided (spec §3.3 step 7) inside a write
// transaction. It uses an approved, unused grant of (agent, vault, path, permission) when there is one
// and returns its id; a grant is used at most once, also under concurrency and across replicas, and if
// the transaction rolls back (the request then fails) the grant stays unused. Otherwise it opens (or
// finds) the pending secret_access approval, records the denial and returns a kept approval_required
// error naming the approval.
func (e *Engine) useGrant(tx store.Tx, c *clavis.Caller, vaultID, path string, perm clavis.Permission, d policy.Decision, now time.Time) (string, error) {
	id, err := tx.UseGrant(c.ID, vaultID, path, string(perm), now.Add(-grantWindow), now)
	if err != nil || id != "" {
		return id, err
	}
	sum, _ := json.Marshal(accessSummary{Path: path, Permission: string(perm)})
	a := &store.Approval{Approval: clavis.Approval{ID: newID(), OrgID: c.OrgID, AgentID: c.ID,
		Action: clavis.ApprovalSecretAccess, TargetType: "vault", TargetID: vaultID, RiskTier: 1,
		Status: clavis.ApprovalPending, Summary: sum, ExpiresAt: now.Add(approvalTTL), CreatedAt: now},
		Path: path, Permission: string(perm)}
	open, err := e.openAccessApproval(tx, c, a, now)
	if err != nil {
		return "", err
	}
	ev := deniedEvent(c, vaultID, path, perm, d)
	ev.details["approval_request_id"] = open.ID
	if err := e.record(tx, ev); err != nil {
		return "", err
	}
	return "", keep(&clavis.Error{Kind: clavis.KindApprovalRequired, Message: "A human must approve this access",
		ApprovalID: open.ID})
}

// decidable loads an approval that user c may decide (the owner or owner-equivalent of its vault);
// anything else is ErrNotFound.
func decidable(tx store.Tx, c *clavis.Caller, id string) (*store.Approval, error) {
	a, err := tx.GetApproval(id)
	if clavis.IsKind(err, clavis.KindNotFound) {
		return nil, clavis.ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	if a.OrgID != c.OrgID {
		return nil, clavis.ErrNotFound
	}
	ok, err := ownsVault(tx, c, a.TargetID)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, clavis.ErrNotFound
	}
	return a, nil
}

// ownsVault reports whether c is the owner or owner-equivalent of a vault (false when it is gone).
func ownsVault(tx store.Tx, c *clavis.Caller, vaultID string) (bool, error) {
	v, err := tx.GetVault(vaultID)
	if clavis.IsKind(err, clavis.KindNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return v.OrgID == c.OrgID && isOwner(c, v), nil
}

// ListApprovals lists, newest first, the approvals the user may decide (spec §4.14).
func (e *Engine) ListApprovals(ctx context.Context, c *clavis.Caller, q clavis.ApprovalQuery) ([]*clavis.Approval, error) {
	if err := e.refuseScoped(ctx, c, "approval", ""); err != nil {
		return nil, err
	}
	if err := requireUser(c); err != nil {
		return nil, err
	}
	switch q.Status {
	case "", clavis.ApprovalPending, clavis.ApprovalApproved, clavis.ApprovalRejected, clavis.ApprovalExpired:
	default:
		return nil, clavis.Invalid("status", "status must be pending, approved, rejected or expired")
	}
	if q.Limit < 0 || q.Offset < 0 {
		return nil, clavis.Invalid("limit", "limit and offset must not be negative")
	}
	if q.Limit == 0 {
		q.Limit = approvalDefaultLimit
	}
	q.Limit = min(q.Limit, approvalMaxLimit)
	now := e.now()
	out := []*clavis.Approval{}
	err := e.read(ctx, func(tx store.Tx) error {
		out = out[:0]
		all, err := tx.ListApprovals(c.OrgID, "")
		if err != nil {
			return err
		}
		owned := map[string]bool{}
		skip := q.Offset
		for _, a := range all {
			v := approvalView(a, now)
			if q.Status != "" && v.Status != q.Status {
				continue
			}
			ok, seen := owned[a.TargetID]
			if !seen {
				if ok, err = ownsVault(tx, c, a.TargetID); err != nil {
					return err
				}
				owned[a.TargetID] = ok
			}
			if !ok {
				continue
			}
			if skip > 0 {
				skip--
				continue
			}
			if len(out) == q.Limit {
				break
			}
			out = append(out, v)
		}
		return nil
	})
	return out, err
}

// GetApproval returns an approval to a decider or to the agent that requested it.
func (e *Engine) GetApproval(ctx context.Context, c *clavis.Caller, id string) (*clavis.Approval, error) {
	if err := e.refuseScoped(ctx, c, "approval", id); err != nil {
		return nil, err
	}
	if err := lookupIDs(id); err != nil {
		return nil, err
	}
	now := e.now()
	var out *clavis.Approval
	err := e.read(ctx, func(tx store.Tx) error {
		if c.Type == clavis.PrincipalAgent {
			a, err := tx.GetApproval(id)
			if clavis.IsKind(err, clavis.KindNotFound) || err == nil && a.AgentID != c.ID {
				return clavis.ErrNotFound
			}
			if err != nil {
				return err
			}
			out = approvalView(a, now)
			return nil
		}
		a, err := decidable(tx, c, id)
		if err != nil {
			return err
		}
		out = approvalView(a, now)
		return nil
	})
	return out, err
}

// DecideApproval approves or rejects a pending approval; approving a policy_change creates the policy
// (principal: the requesting agent, created_by: the decider) in the same transaction.
func (e *Engine) DecideApproval(ctx context.Context, c *clavis.Caller, id, decision, reason string) (*clavis.Approval, error) {
	if err := e.refuseScoped(ctx, c, "approval", id); err != nil {
		return nil, err
	}
	if err := requireUser(c); err != nil {
		return nil, err
	}
	var approve bool
	switch decision {
	case "approve", "approved":
		approve = true
	case "reject", "rejected":
	default:
		return nil, clavis.Invalid("decision", "decision must be approve or reject")
	}
	if err := lookupIDs(id); err != nil {
		return nil, err
	}
	if err := checkLen("reason", reason, 0, 1024); err != nil {
		return nil, err
	}
	now := e.now()
	var out *clavis.Approval
	err := e.write(ctx, func(tx store.Tx) error {
		if err := tx.ExpireApprovals(now); err != nil {
			return err
		}
		a, err := decidable(tx, c, id)
		if err != nil {
			return err
		}
		if a.Status != clavis.ApprovalPending {
			return errNotPending
		}
		a.Status, a.DecidedBy, a.DecidedAt, a.DecisionReason = clavis.ApprovalRejected, c.ID, &now, reason
		action := "approval.reject"
		if approve {
			a.Status, action = clavis.ApprovalApproved, "approval.approve"
		}
		if err := tx.DecideApproval(a); err != nil {
			if clavis.IsKind(err, clavis.KindNotFound) {
				return errNotPending
			}
			return err
		}
		if err := e.record(tx, approvalEvent(c, action, a)); err != nil {
			return err
		}
		if approve && a.Action == clavis.ApprovalPolicyChange {
			if err := e.grantPolicy(tx, c, a, now); err != nil {
				return err
			}
		}
		out = approvalView(a, now)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// grantPolicy creates the policy an approved policy_change asked for.
func (e *Engine) grantPolicy(tx store.Tx, c *clavis.Caller, a *store.Approval, now time.Time) error {
	var s policySummary
	if err := json.Unmarshal(a.Summary, &s); err != nil {
		return clavis.Internal(err) // validated when requested
	}
	ok, err := principalExists(tx, c.OrgID, clavis.PrincipalAgent, a.AgentID)
	if err != nil {
		return err
	}
	if !ok {
		return clavis.E(clavis.KindConflict, "The requesting agent no longer exists")
	}
	p := &clavis.Policy{ID: newID(), VaultID: a.TargetID, Pattern: s.Pattern, PrincipalType: clavis.PrincipalAgent,
		PrincipalID: a.AgentID, Effect: clavis.EffectAllow, ExpiresAt: s.ExpiresAt, CreatedBy: c.ID,
		CreatedByType: c.Type, CreatedAt: now}
	if p.ExpiresAt != nil && !p.ExpiresAt.After(now) {
		return clavis.E(clavis.KindConflict, "The requested policy has expired")
	}
	if p.Permissions, p.Conditions, err = parsePolicyParts(s.Permissions, s.Conditions); err != nil {
		return err
	}
	if err := tx.CreatePolicy(p); err != nil {
		return err
	}
	return e.record(tx, callerEvent(c, "policy.create", "policy", p.ID,
		map[string]any{"vault_id": a.TargetID, "approval_id": a.ID}))
}
