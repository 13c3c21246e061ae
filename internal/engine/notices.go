package engine

import (
	"context"
	"time"

	"clavis.dev/clavis"
	"clavis.dev/clavis/internal/store"
)

// Notifier receives committed audit events for notifications (a pending approval or enrolment must reach
// a human without polling). Notify is called after the event's commit, on the request's goroutine: it
// must not block (it queues or drops) and must not modify the event.
type Notifier interface {
	Notify(ev *clavis.AuditEvent)
}

// noticeTypes maps the audit actions that notify to their notice type.
var noticeTypes = map[string]string{
	"approval.request":     clavis.NoticeApprovalRequested,
	"approval.approve":     clavis.NoticeApprovalDecided,
	"approval.reject":      clavis.NoticeApprovalDecided,
	"agent.enroll_request": clavis.NoticeEnrollmentRequested,
	"agent.enroll_approve": clavis.NoticeEnrollmentDecided,
	"agent.enroll_deny":    clavis.NoticeEnrollmentDecided,
}

// Notice makes the notification of a committed audit event, or returns nil for an event that notifies
// nobody. It resolves names, the dashboard link and the email recipients: for a requested approval the
// owner of its vault (else the org's owners), for an enrolment the addressed human if that email
// belongs to a user. It runs on the notifier's worker, never on the request path, so that the work it
// does for an enrolment (looking the addressee up) never shows in the enrolment's answer.
func (e *Engine) Notice(ctx context.Context, ev *clavis.AuditEvent) (*clavis.Notice, error) {
	typ, ok := noticeTypes[ev.Action]
	if !ok {
		return nil, nil
	}
	n := &clavis.Notice{ID: ev.ID, Type: typ, OccurredAt: ev.CreatedAt, OrgID: ev.OrgID}
	now := e.now()
	err := e.read(ctx, func(tx store.Tx) error {
		n.Recipients = nil
		switch ev.ResourceType {
		case "approval":
			return e.approvalNotice(tx, n, ev.ResourceID, now)
		case "enrollment":
			en, err := tx.GetEnrollment(ev.ResourceID)
			if err != nil {
				return err
			}
			n.EnrollmentID, n.AgentName, n.Status, n.AgentID = en.ID, en.Name, enrollmentView(en, now).Status, en.AgentID
			n.URL = e.cfg.Issuer + "/ui/enrollments/" + en.ID
			if typ != clavis.NoticeEnrollmentRequested {
				return nil
			}
			u, err := tx.GetUserByEmail(en.HumanEmail)
			if clavis.IsKind(err, clavis.KindNotFound) {
				return nil // nobody to tell; the answer to the request was the same
			}
			if err != nil {
				return err
			}
			if !u.Disabled {
				n.Recipients = []string{u.Email}
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return n, nil
}

func (e *Engine) approvalNotice(tx store.Tx, n *clavis.Notice, id string, now time.Time) error {
	a, err := tx.GetApproval(id)
	if err != nil {
		return err
	}
	n.ApprovalID, n.Action, n.Status, n.AgentID, n.VaultID = a.ID, a.Action, approvalView(a, now).Status, a.AgentID, a.TargetID
	n.Path, n.Permission = a.Path, a.Permission
	n.URL = e.cfg.Issuer + "/ui/approvals/" + a.ID
	if ag, err := tx.GetAgent(a.AgentID); err == nil {
		n.AgentName = ag.Name
	} else if !clavis.IsKind(err, clavis.KindNotFound) {
		return err
	}
	v, err := tx.GetVault(a.TargetID)
	if clavis.IsKind(err, clavis.KindNotFound) {
		return nil // deleted since: nobody can decide it
	}
	if err != nil {
		return err
	}
	n.VaultName = v.Name
	if n.Type != clavis.NoticeApprovalRequested {
		return nil
	}
	if u, err := tx.GetUser(v.OwnerUserID); err == nil && !u.Disabled {
		n.Recipients = []string{u.Email}
		return nil
	} else if err != nil && !clavis.IsKind(err, clavis.KindNotFound) {
		return err
	}
	users, err := tx.ListUsers(a.OrgID) // the owner's account is gone: tell the org's owners
	if err != nil {
		return err
	}
	for _, u := range users {
		if u.Role == clavis.RoleOwner && !u.Disabled {
			n.Recipients = append(n.Recipients, u.Email)
		}
	}
	return nil
}

// RecordDelivery records the outcome of delivering a notice on one channel.
func (e *Engine) RecordDelivery(ctx context.Context, d *clavis.Delivery) error {
	return e.write(ctx, func(tx store.Tx) error { return tx.RecordDelivery(d) })
}
