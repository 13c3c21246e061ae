package engine

import (
	"context"
	"time"

	"clavis.dev/clavis"
	"clavis.dev/clavis/internal/audit"
	"clavis.dev/clavis/internal/store"
)

func orgAdmin(c *clavis.Caller) bool {
	return c.Type == clavis.PrincipalUser && (c.Role == clavis.RoleOwner || c.Role == clavis.RoleAdmin)
}

// ListAudit returns events newest first: the whole org for owners and admins, the caller's own
// events for everyone else (spec §4.10).
func (e *Engine) ListAudit(ctx context.Context, c *clavis.Caller, q clavis.AuditQuery) ([]*clavis.AuditEvent, error) {
	if err := e.refuseScoped(ctx, c, "audit", ""); err != nil {
		return nil, err
	}
	f := store.AuditFilter{OrgID: c.OrgID, ActorID: q.ActorID, ResourceID: q.ResourceID, Action: q.Action,
		VaultID: q.VaultID, From: q.From, To: q.To, Limit: q.Limit, Offset: q.Offset}
	if !orgAdmin(c) {
		if q.ActorID != "" && q.ActorID != c.ID {
			return []*clavis.AuditEvent{}, nil
		}
		f.ActorID = c.ID
	}
	out := []*clavis.AuditEvent{}
	err := e.read(ctx, func(tx store.Tx) error {
		evs, err := tx.ListAudit(f)
		out = append(out, evs...)
		return err
	})
	return out, err
}

// VerifyAudit walks the caller's org chain from its first event (owners and admins only).
func (e *Engine) VerifyAudit(ctx context.Context, c *clavis.Caller, from, to *time.Time, limit int) (*clavis.AuditVerification, error) {
	if err := e.refuseScoped(ctx, c, "audit", ""); err != nil {
		return nil, err
	}
	if !orgAdmin(c) {
		return nil, clavis.E(clavis.KindForbidden, "Only organisation owners and admins may verify the audit log")
	}
	var res audit.Result
	err := e.read(ctx, func(tx store.Tx) error {
		evs, err := tx.AuditChain(c.OrgID, from, to, limit)
		if err != nil {
			return err
		}
		if from == nil || len(evs) == 0 {
			res = audit.Verify(e.auditKey, "", "", evs) // from the org's first event
			return nil
		}
		// A walk from a point in time starts mid-chain: its first event anchors the walk (its own link
		// cannot be checked without its predecessor); every later event is checked against it.
		res = audit.Verify(e.auditKey, evs[0].ID, evs[0].IntegrityHash, evs[1:])
		res.Checked++
		res.Verified++
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &clavis.AuditVerification{Valid: res.Valid, Verified: res.Verified, Checked: res.Checked, BrokenAt: res.BrokenAt}, nil
}

// VerifyAllChains walks the audit chain of every org from its first event, for operators (offline
// `clavis audit verify`). progress is called after each org with its position and result. It reports
// whether every chain is intact.
func (e *Engine) VerifyAllChains(ctx context.Context, progress func(i, n int, org string, r clavis.AuditVerification)) (bool, error) {
	var orgs []*clavis.Org
	if err := e.read(ctx, func(tx store.Tx) error {
		var err error
		orgs, err = tx.ListOrgs()
		return err
	}); err != nil {
		return false, err
	}
	allValid := true
	for i, o := range orgs {
		var res audit.Result
		err := e.read(ctx, func(tx store.Tx) error {
			evs, err := tx.AuditChain(o.ID, nil, nil, 0)
			if err != nil {
				return err
			}
			res = audit.Verify(e.auditKey, "", "", evs)
			return nil
		})
		if err != nil {
			return false, err
		}
		allValid = allValid && res.Valid
		progress(i+1, len(orgs), o.ID, clavis.AuditVerification{Valid: res.Valid, Verified: res.Verified, Checked: res.Checked, BrokenAt: res.BrokenAt})
	}
	return allValid, nil
}
