package postgres

import (
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"

	"clavis.dev/clavis"
	"clavis.dev/clavis/internal/store"
)

// TestGuessedHead: a group commit that knows the org's head from its last commit appends without locking
// the head row until its commit; when another instance appended since, the guess fails, nothing of it
// commits, and the batch runs again the ordinary way, so the chain stays linear; for a while after, that
// org is appended to the ordinary way.
func TestGuessedHead(t *testing.T) {
	s1, dsn := open(t)
	s2, err := Open(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	org := uuid.NewString()

	// batch appends one event through s1's group commit and returns how many times its unit ran and in
	// how many of those runs the head row was free for another transaction to lock (it is when the run
	// appended after a guessed head).
	batch := func() (runs, free int) {
		t.Helper()
		errs := s1.WriteBatch(t.Context(), []func(store.Tx) error{func(tx store.Tx) error {
			runs++
			if err := appendEvent(org)(tx); err != nil {
				return err
			}
			probe, err := s2.pool.Begin(t.Context())
			if err != nil {
				return err
			}
			defer probe.Rollback(t.Context())
			if _, err := probe.Exec(t.Context(), `SELECT 1 FROM audit_heads WHERE org_id = $1 FOR UPDATE NOWAIT`, org); err == nil {
				free++
			}
			return nil
		}})
		if err := errors.Join(errs...); err != nil {
			t.Fatalf("WriteBatch: %v", err)
		}
		return runs, free
	}
	check := func(step string, wantRuns, wantFree int) {
		t.Helper()
		if runs, free := batch(); runs != wantRuns || free != wantFree {
			t.Errorf("%s: the unit ran %d times, %d of them with the head row free; want %d and %d",
				step, runs, free, wantRuns, wantFree)
		}
	}
	chain := func() []*clavis.AuditEvent {
		t.Helper()
		var c []*clavis.AuditEvent
		read(t, s2, func(tx store.Tx) (err error) { c, err = tx.AuditChain(org, nil, nil, 0); return err })
		for i, e := range c {
			want := ""
			if i > 0 {
				want = c[i-1].ID
			}
			if e.PrevEventID != want {
				t.Fatalf("event %d follows %q, want %q: the chain forked", i, e.PrevEventID, want)
			}
		}
		return c
	}

	write(t, s2, appendEvent(org))                       // the org's head row exists (a new one would be invisible to the probe)
	check("first batch", 1, 0)                           // nothing known: the ordinary way, locking the row
	check("second batch", 1, 1)                          // after the head the first one committed
	write(t, s2, appendEvent(org))                       // another instance appends: s1's known head is stale
	check("batch after another instance appended", 2, 1) // the guess fails; run again the ordinary way
	if c := chain(); len(c) != 5 {
		t.Fatalf("chain has %d events, want 5", len(c))
	}
	check("batch right after a failed guess", 1, 0) // the ordinary way for a while
	s1.heads.mu.Lock()
	s1.heads.contended[org] = time.Now().Add(-guessBackoff)
	s1.heads.mu.Unlock()
	check("batch once the backoff is over", 1, 1)
	if c := chain(); len(c) != 7 {
		t.Fatalf("chain has %d events, want 7", len(c))
	}
}
