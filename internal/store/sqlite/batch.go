package sqlite

import (
	"context"
	"fmt"

	"clavis.dev/clavis/internal/store"
)

var _ store.Batcher = (*Store)(nil)

var _ store.WarmWriter = (*Store)(nil)

// WarmWriter implements store.WarmWriter.
func (s *Store) WarmWriter() {}

// WriteBatch implements store.Batcher: one BEGIN IMMEDIATE transaction and one commit (one fsync of
// the WAL) for the whole batch. It first runs the units back to back; only if one of them fails does it
// roll the whole attempt back and run them again each inside its own SAVEPOINT, so the common case pays
// nothing for isolating units.
func (s *Store) WriteBatch(ctx context.Context, fns []func(store.Tx) error) []error {
	if errs, ok := s.writeBatch(ctx, fns, false); ok {
		return errs
	}
	errs, _ := s.writeBatch(ctx, fns, true)
	return errs
}

// writeBatch runs one attempt. Without savepoints it gives up (ok false, nothing committed) at the first
// failing unit.
func (s *Store) writeBatch(ctx context.Context, fns []func(store.Tx) error, savepoints bool) (errs []error, ok bool) {
	errs = make([]error, len(fns))
	failAll := func(err error) ([]error, bool) {
		for i := range errs {
			if errs[i] == nil {
				errs[i] = fmt.Errorf("%w: %v", store.ErrCommit, err)
			}
		}
		return errs, true
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
				return nil, false
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
	if err := tx.Commit(); err != nil {
		return failAll(err)
	}
	t.afterCommit()
	return errs, true
}
