package sqlite

import (
	"context"
	"fmt"

	"clavis.dev/clavis/internal/store"
)

var _ store.Batcher = (*Store)(nil)

// WriteBatch implements store.Batcher: one BEGIN IMMEDIATE transaction, a SAVEPOINT per fn, one commit
// (one fsync of the WAL) for the whole batch.
func (s *Store) WriteBatch(ctx context.Context, fns []func(store.Tx) error) []error {
	errs := make([]error, len(fns))
	failAll := func(err error) []error {
		for i := range errs {
			if errs[i] == nil {
				errs[i] = fmt.Errorf("%w: %v", store.ErrCommit, err)
			}
		}
		return errs
	}
	tx, err := s.write.BeginTx(ctx, nil)
	if err != nil {
		return failAll(err)
	}
	defer tx.Rollback() // no-op after Commit
	t := &txn{ctx: ctx, tx: tx, st: s.ws}
	for i, fn := range fns {
		if _, err := tx.ExecContext(ctx, "SAVEPOINT unit"); err != nil {
			return failAll(err)
		}
		if errs[i] = fn(t); errs[i] != nil {
			if _, err := tx.ExecContext(ctx, "ROLLBACK TO SAVEPOINT unit"); err != nil {
				return failAll(err)
			}
		}
		if _, err := tx.ExecContext(ctx, "RELEASE SAVEPOINT unit"); err != nil {
			return failAll(err)
		}
	}
	if err := tx.Commit(); err != nil {
		return failAll(err)
	}
	return errs
}
