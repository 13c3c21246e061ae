package sqlite

import (
	"context"
	"fmt"

	"clavis.dev/clavis/internal/store"
)

var _ store.SyncPipeliner = (*Store)(nil)

// WriteBatch implements store.Batcher: one BEGIN IMMEDIATE transaction and one commit (one sync of the
// log) for the whole batch.
func (s *Store) WriteBatch(ctx context.Context, fns []func(store.Tx) error) []error {
	errs, durable := s.WriteBatchNoSync(ctx, fns)
	if err := durable(); err != nil {
		for i := range errs {
			if errs[i] == nil {
				errs[i] = err
			}
		}
	}
	return errs
}

// WriteBatchNoSync implements store.SyncPipeliner. It first runs the units back to back; only if one of
// them fails does it roll the whole attempt back and run them again each inside its own SAVEPOINT, so
// the common case pays nothing for isolating units.
func (s *Store) WriteBatchNoSync(ctx context.Context, fns []func(store.Tx) error) ([]error, func() error) {
	errs, seq, ok := s.writeBatch(ctx, fns, false)
	if !ok && len(fns) > 1 { // a lone unit that failed has nothing to keep
		errs, seq, _ = s.writeBatch(ctx, fns, true)
	}
	return errs, func() error { return s.dur.until(seq) }
}

// writeBatch runs one attempt and returns the sequence number of its commit (0: none). Without
// savepoints it gives up at the first failing unit: ok is false, nothing is committed, and errs holds
// that unit's error.
func (s *Store) writeBatch(ctx context.Context, fns []func(store.Tx) error, savepoints bool) (errs []error, seq uint64, ok bool) {
	errs = make([]error, len(fns))
	failAll := func(err error) ([]error, uint64, bool) {
		for i := range errs {
			if errs[i] == nil {
				errs[i] = fmt.Errorf("%w: %v", store.ErrCommit, err)
			}
		}
		return errs, 0, true
	}
	tx, err := s.write.BeginTx(ctx, nil)
	if err != nil {
		return failAll(err)
	}
	defer tx.Rollback() // no-op after Commit
	t := &txn{ctx: ctx, tx: tx, st: s.ws, s: s}
	exec := func(q string) error { _, err := tx.ExecContext(ctx, q); return err }
	for i, fn := range fns {
		if !savepoints {
			if errs[i] = fn(t); errs[i] != nil {
				return errs, 0, false
			}
			continue
		}
		if err := exec("SAVEPOINT unit"); err != nil {
			return failAll(err)
		}
		m := t.audit().mark()
		if errs[i] = fn(t); errs[i] != nil {
			if err := exec("ROLLBACK TO SAVEPOINT unit"); err != nil {
				return failAll(err)
			}
			t.audit().rollbackTo(m)
		}
		if err := exec("RELEASE SAVEPOINT unit"); err != nil {
			return failAll(err)
		}
	}
	if err := t.beforeCommit(); err != nil {
		return failAll(err)
	}
	seq, err = s.commit(tx)
	if err != nil {
		return failAll(err)
	}
	t.afterCommit()
	return errs, seq, true
}
