package storetest

import (
	"encoding/json"
	"testing"
	"time"

	"clavis.dev/clavis"
	"clavis.dev/clavis/internal/store"
)

func newAccessApproval(org *clavis.Org, v *store.Vault, agentID, path string) *store.Approval {
	return &store.Approval{Approval: clavis.Approval{ID: newID(), OrgID: org.ID, AgentID: agentID,
		Action: clavis.ApprovalSecretAccess, TargetType: "vault", TargetID: v.ID, RiskTier: 1,
		Status: clavis.ApprovalPending, Summary: json.RawMessage(`{"path":"` + path + `","permission":"read"}`),
		ExpiresAt: at(3600), CreatedAt: t0}, Path: path, Permission: "read"}
}

// testApprovals: round trip, at most one pending secret_access approval per (agent, vault, path,
// permission), decisions only on pending approvals, expiry, and listing newest first.
func testApprovals(t *testing.T, s store.Store) {
	org, _, v := seed(t, s)
	agent := newID()
	a := newAccessApproval(org, v, agent, "prod/db")
	a.Reason = "deploy"
	write(t, s, func(tx store.Tx) error { return tx.CreateApproval(a) })
	got := get(t, s, func(tx store.Tx) (*store.Approval, error) { return tx.GetApproval(a.ID) })
	if got.Path != "prod/db" || got.Reason != "deploy" || got.Status != clavis.ApprovalPending || !got.ExpiresAt.Equal(a.ExpiresAt) ||
		string(got.Summary) != string(a.Summary) || got.DecidedAt != nil || got.UsedAt != nil {
		t.Fatalf("GetApproval = %+v, want %+v", got, a)
	}
	twin := newAccessApproval(org, v, agent, "prod/db")
	if err := s.Write(t.Context(), func(tx store.Tx) error { return tx.CreateApproval(twin) }); !clavis.IsKind(err, clavis.KindConflict) {
		t.Fatalf("second pending approval for the same access: %v, want ErrConflict", err)
	}
	p := get(t, s, func(tx store.Tx) (*store.Approval, error) {
		return tx.PendingAccessApproval(agent, v.ID, "prod/db", "read")
	})
	if p.ID != a.ID {
		t.Fatalf("PendingAccessApproval = %s, want %s", p.ID, a.ID)
	}

	a.Status, a.DecidedBy, a.DecidedAt, a.DecisionReason = clavis.ApprovalApproved, "u", new(at(10)), "ok"
	write(t, s, func(tx store.Tx) error { return tx.DecideApproval(a) })
	if err := s.Write(t.Context(), func(tx store.Tx) error { return tx.DecideApproval(a) }); !clavis.IsKind(err, clavis.KindNotFound) {
		t.Fatalf("deciding a decided approval: %v, want ErrNotFound", err)
	}
	// Decided, it no longer blocks a new pending request for the same access.
	write(t, s, func(tx store.Tx) error { return tx.CreateApproval(twin) })

	old := newAccessApproval(org, v, agent, "prod/old")
	old.ExpiresAt = at(5)
	write(t, s, func(tx store.Tx) error { return tx.CreateApproval(old) })
	write(t, s, func(tx store.Tx) error { return tx.ExpireApprovals(at(5)) })
	if got := get(t, s, func(tx store.Tx) (*store.Approval, error) { return tx.GetApproval(old.ID) }); got.Status != clavis.ApprovalExpired {
		t.Fatalf("status after expiry = %s, want expired", got.Status)
	}
	if got := get(t, s, func(tx store.Tx) (*store.Approval, error) { return tx.GetApproval(twin.ID) }); got.Status != clavis.ApprovalPending {
		t.Fatalf("an unexpired approval was expired: %s", got.Status)
	}

	all := get(t, s, func(tx store.Tx) ([]*store.Approval, error) { return tx.ListApprovals(org.ID, "") })
	if len(all) != 3 || all[0].ID != old.ID || all[2].ID != a.ID {
		t.Fatalf("ListApprovals: %d approvals, want 3 newest first", len(all))
	}
	pending := get(t, s, func(tx store.Tx) ([]*store.Approval, error) { return tx.ListApprovals(org.ID, clavis.ApprovalPending) })
	if len(pending) != 1 || pending[0].ID != twin.ID {
		t.Fatalf("ListApprovals pending: %d approvals, want only %s", len(pending), twin.ID)
	}
	if other := get(t, s, func(tx store.Tx) ([]*store.Approval, error) { return tx.ListApprovals(newID(), "") }); len(other) != 0 {
		t.Fatalf("ListApprovals of another org: %d", len(other))
	}
}

// testUseGrantConcurrent: an approved grant is used by exactly one of many concurrent UseGrant calls,
// only within its window, and only for its own agent, vault, path and permission.
func testUseGrantConcurrent(t *testing.T, s store.Store) {
	org, _, v := seed(t, s)
	agent := newID()
	a := newAccessApproval(org, v, agent, "prod/db")
	a.Status, a.DecidedBy, a.DecidedAt = clavis.ApprovalApproved, "u", new(at(100))
	write(t, s, func(tx store.Tx) error { return tx.CreateApproval(a) })
	use := func(agentID, path, perm string, since time.Time) string {
		t.Helper()
		var id string
		write(t, s, func(tx store.Tx) error {
			var err error
			id, err = tx.UseGrant(agentID, v.ID, path, perm, since, at(200))
			return err
		})
		return id
	}
	for _, c := range []struct{ agent, path, perm string }{{newID(), "prod/db", "read"}, {agent, "prod/other", "read"}, {agent, "prod/db", "write"}} {
		if id := use(c.agent, c.path, c.perm, at(0)); id != "" {
			t.Fatalf("UseGrant(%s, %s, %s) used grant %s of another access", c.agent, c.path, c.perm, id)
		}
	}
	if id := use(agent, "prod/db", "read", at(100)); id != "" {
		t.Fatalf("UseGrant used a grant decided before its window")
	}

	const n = 50
	ids := make([]string, n)
	errs := parallel(n, func(i int) error {
		return s.Write(t.Context(), func(tx store.Tx) error {
			var err error
			ids[i], err = tx.UseGrant(agent, v.ID, "prod/db", "read", at(0), at(200))
			return err
		})
	})
	used := 0
	for i, err := range errs {
		if err != nil {
			t.Fatalf("UseGrant %d: %v", i, err)
		}
		if ids[i] != "" {
			used++
			if ids[i] != a.ID {
				t.Fatalf("UseGrant returned %s, want %s", ids[i], a.ID)
			}
		}
	}
	if used != 1 {
		t.Fatalf("%d of %d concurrent UseGrant calls used the grant, want exactly 1", used, n)
	}
	if got := get(t, s, func(tx store.Tx) (*store.Approval, error) { return tx.GetApproval(a.ID) }); got.UsedAt == nil || !got.UsedAt.Equal(at(200)) {
		t.Fatalf("UsedAt = %v, want %v", got.UsedAt, at(200))
	}
}

// testEnrollments: round trip, newest first by email, decisions only on pending enrolments, expiry, and
// a key delivered exactly once under concurrency.
func testEnrollments(t *testing.T, s store.Store) {
	mk := func(email string, sec int) *store.Enrollment {
		return &store.Enrollment{Enrollment: clavis.Enrollment{ID: newID(), Name: "bot", Description: "d", HumanEmail: email,
			Status: clavis.EnrollmentPending, CreatedAt: at(sec), ExpiresAt: at(sec + 3600)}, SecretHash: []byte("hash-" + newID())}
	}
	e1, e2, other := mk("a@example.com", 0), mk("a@example.com", 10), mk("b@example.com", 20)
	write(t, s, func(tx store.Tx) error {
		for _, e := range []*store.Enrollment{e1, e2, other} {
			if err := tx.CreateEnrollment(e); err != nil {
				return err
			}
		}
		return nil
	})
	list := get(t, s, func(tx store.Tx) ([]*store.Enrollment, error) { return tx.ListEnrollments("a@example.com") })
	if len(list) != 2 || list[0].ID != e2.ID || string(list[1].SecretHash) != string(e1.SecretHash) {
		t.Fatalf("ListEnrollments: %d, want 2 newest first", len(list))
	}
	e1.Status, e1.AgentID, e1.OrgID, e1.DecidedBy = clavis.EnrollmentApproved, newID(), newID(), newID()
	write(t, s, func(tx store.Tx) error { return tx.DecideEnrollment(e1) })
	if err := s.Write(t.Context(), func(tx store.Tx) error { return tx.DecideEnrollment(e1) }); !clavis.IsKind(err, clavis.KindNotFound) {
		t.Fatalf("deciding a decided enrolment: %v, want ErrNotFound", err)
	}
	got := get(t, s, func(tx store.Tx) (*store.Enrollment, error) { return tx.GetEnrollment(e1.ID) })
	if got.Status != clavis.EnrollmentApproved || got.AgentID != e1.AgentID || got.OrgID != e1.OrgID || got.KeyDelivered {
		t.Fatalf("GetEnrollment after approval = %+v", got)
	}
	const n = 20
	delivered := make([]bool, n)
	errs := parallel(n, func(i int) error {
		return s.Write(t.Context(), func(tx store.Tx) error {
			var err error
			delivered[i], err = tx.DeliverEnrollmentKey(e1.ID)
			return err
		})
	})
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if count(delivered) != 1 {
		t.Fatalf("%d of %d DeliverEnrollmentKey calls delivered, want 1", count(delivered), n)
	}
	write(t, s, func(tx store.Tx) error {
		if ok, err := tx.DeliverEnrollmentKey(e2.ID); ok || err != nil {
			t.Errorf("DeliverEnrollmentKey of a pending enrolment = %v, %v; want false", ok, err)
		}
		return nil
	})
	write(t, s, func(tx store.Tx) error { return tx.ExpireEnrollments(at(10 + 3600)) })
	if got := get(t, s, func(tx store.Tx) (*store.Enrollment, error) { return tx.GetEnrollment(e2.ID) }); got.Status != clavis.EnrollmentExpired {
		t.Fatalf("status after expiry = %s", got.Status)
	}
	if got := get(t, s, func(tx store.Tx) (*store.Enrollment, error) { return tx.GetEnrollment(other.ID) }); got.Status != clavis.EnrollmentPending {
		t.Fatalf("an unexpired enrolment was expired: %s", got.Status)
	}
}

// testClaimEnrollmentConcurrent: of 20 concurrent claims for one email, exactly one records; the others
// get its time. A claim after the cooldown records again; another email is independent.
func testClaimEnrollmentConcurrent(t *testing.T, s store.Store) {
	const n = 20
	lasts := make([]*time.Time, n)
	errs := parallel(n, func(i int) error {
		return s.Write(t.Context(), func(tx store.Tx) error {
			var err error
			lasts[i], err = tx.ClaimEnrollment("a@example.com", at(i), at(-600))
			return err
		})
	})
	won := -1
	for i, err := range errs {
		if err != nil {
			t.Fatalf("claim %d: %v", i, err)
		}
		if lasts[i] == nil {
			if won >= 0 {
				t.Fatalf("claims %d and %d both recorded", won, i)
			}
			won = i
		}
	}
	if won < 0 {
		t.Fatal("no claim recorded")
	}
	for i, last := range lasts {
		if i != won && !last.Equal(at(won)) {
			t.Fatalf("claim %d refused with %v, want the recorded %v", i, last, at(won))
		}
	}
	claim := func(email string, now, since time.Time) *time.Time {
		t.Helper()
		var last *time.Time
		write(t, s, func(tx store.Tx) error {
			var err error
			last, err = tx.ClaimEnrollment(email, now, since)
			return err
		})
		return last
	}
	if last := claim("b@example.com", at(1), at(-600)); last != nil {
		t.Fatalf("first claim of another email refused: %v", last)
	}
	if last := claim("a@example.com", at(700), at(won)); last != nil {
		t.Fatalf("a claim after the cooldown refused: %v", last)
	}
	if last := claim("a@example.com", at(701), at(100)); last == nil || !last.Equal(at(700)) {
		t.Fatalf("a claim within the cooldown: %v, want refused with %v", last, at(700))
	}
}
