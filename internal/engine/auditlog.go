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

// VerifyAudit walks the caller's org chain from its first event (owners and admins only). A walk that
// reaches the end of the chain (no from, no to, fewer than limit events) also compares that end with the
// org's head, so events removed from the end are reported too; a walk within from/to or cut off by
// limit checks the events it covers.
func (e *Engine) VerifyAudit(ctx context.Context, c *clavis.Caller, from, to *time.Time, limit int) (*clavis.AuditVerification, error) {
	if err := e.refuseScoped(ctx, c, "audit", ""); err != nil {
		return nil, err
	}
	if !orgAdmin(c) {
		return nil, clavis.E(clavis.KindForbidden, "Only organisation owners and admins may verify the audit log")
	}
	var res audit.Result
	err := e.read(ctx, func(tx store.Tx) error {
		fetch := limit
		if limit > 0 {
			fetch = limit + 1 // one more than the walk tells whether it reaches the end of the chain
		}
		evs, err := tx.AuditChain(c.OrgID, from, to, fetch)
		if err != nil {
			return err
		}
		atEnd := from == nil && to == nil && (limit <= 0 || len(evs) <= limit)
		if limit > 0 && len(evs) > limit {
			evs = evs[:limit]
		}
		if from != nil && len(evs) > 0 {
			// A walk from a point in time starts mid-chain: its first event anchors the walk (its own link
			// cannot be checked without its predecessor); every later event is checked against it.
			res = audit.Verify(e.auditKey, evs[0].ID, evs[0].IntegrityHash, evs[1:])
			res.Checked++
			res.Verified++
			return nil
		}
		w := audit.NewWalker(e.auditKey, "", "") // from the org's first event
		walk(w, evs)
		if !atEnd {
			res = w.Result()
			return nil
		}
		h, err := tx.AuditChainHead(c.OrgID) // in the same snapshot as the events
		if err != nil {
			return err
		}
		res = w.End(h.EventID, h.Hash, h.Count)
		return nil
	})
	if err != nil {
		return nil, err
	}
	v := verification(res)
	return &v, nil
}

// walk gives w the events in order until one is broken, and reports whether all of them verified.
func walk(w *audit.Walker, evs []*clavis.AuditEvent) bool {
	for _, ev := range evs {
		if !w.Next(ev) {
			return false
		}
	}
	return true
}

func verification(r audit.Result) clavis.AuditVerification {
	return clavis.AuditVerification{Valid: r.Valid, Verified: r.Verified, Checked: r.Checked, BrokenAt: r.BrokenAt,
		Truncated: r.Truncated, Last: r.Last, HeadCount: r.HeadCount}
}

// DefaultAuditPage is how many events VerifyAllChains reads at a time unless told otherwise.
const DefaultAuditPage = 1000

// VerifyAllChains walks the audit chain of every org from its first event to its end and compares that
// end with the org's head, for operators (offline `clavis audit verify`). It reads each chain pageSize
// events at a time (DefaultAuditPage if pageSize <= 0), each page in a read transaction of its own, so
// that neither memory nor a transaction grows with the chain; the last page and the head are read in
// the same transaction. progress is called after each org with its position and result. It reports
// whether every chain is intact.
func (e *Engine) VerifyAllChains(ctx context.Context, pageSize int, progress func(i, n int, org string, r clavis.AuditVerification)) (bool, error) {
	if pageSize <= 0 {
		pageSize = DefaultAuditPage
	}
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
		w := audit.NewWalker(e.auditKey, "", "")
		var res audit.Result
		for after := ""; ; { // after: the last event walked, the cursor of the next page
			var evs []*clavis.AuditEvent
			var h store.ChainHead
			err := e.read(ctx, func(tx store.Tx) error {
				var err error
				if evs, err = tx.AuditChainAfter(o.ID, after, pageSize); err != nil || len(evs) == pageSize {
					return err
				}
				h, err = tx.AuditChainHead(o.ID) // the end of the chain: the head as of the same snapshot
				return err
			})
			if err != nil {
				return false, err
			}
			if !walk(w, evs) {
				res = w.Result()
				break
			}
			if len(evs) < pageSize {
				res = w.End(h.EventID, h.Hash, h.Count)
				break
			}
			after = evs[len(evs)-1].ID
		}
		allValid = allValid && res.Valid
		progress(i+1, len(orgs), o.ID, verification(res))
	}
	return allValid, nil
}
