package postgres

import (
	"context"
	"errors"
	"fmt"

	"clavis.dev/clavis/internal/store"
)

// WriteBatch implements store.Batcher: one READ COMMITTED transaction, a savepoint per fn, one durable
// commit for the whole batch. Releasing one unit's savepoint and setting the next one's share a round
// trip.
//
// The units of a batch hold their row locks until the one commit, so batches of different replicas
// can deadlock where single Writes would not. As in Write, a deadlock or serialization failure (in a
// unit or at commit) rolls the whole transaction back and runs the batch again, every fn included, up to
// maxWriteAttempts times; if it still fails, each fn then runs in a Write of its own. Each fn may thus run
// more than once, with the same rules as Write's fn.
func (s *Store) WriteBatch(ctx context.Context, fns []func(store.Tx) error) []error {
	if len(fns) == 0 {
		return nil
	}
	for attempt := 1; attempt <= maxWriteAttempts; attempt++ {
		errs, retry := s.writeBatchOnce(ctx, fns)
		if !retry {
			return errs
		}
		if !backoff(ctx, attempt) {
			return failUnits(make([]error, len(fns)), ctx.Err())
		}
	}
	errs := make([]error, len(fns))
	for i, fn := range fns {
		errs[i] = s.Write(ctx, fn)
	}
	return errs
}

const (
	qSetUnit             = `SAVEPOINT clavis_unit`
	qNextUnit            = `RELEASE SAVEPOINT clavis_unit; SAVEPOINT clavis_unit`
	qLastUnit            = `RELEASE SAVEPOINT clavis_unit`
	qRollbackUnit        = `ROLLBACK TO SAVEPOINT clavis_unit`
	qRollbackUnitAndNext = qRollbackUnit + `; ` + qNextUnit
	qRollbackUnitAndLast = qRollbackUnit + `; ` + qLastUnit
)

// writeBatchOnce runs the batch in one transaction. retry reports that the database aborted the
// transaction to resolve a conflict with another one; errs is then nil.
func (s *Store) writeBatchOnce(ctx context.Context, fns []func(store.Tx) error) (errs []error, retry bool) {
	errs = make([]error, len(fns))
	// fail ends the batch on a database error outside the units: retry, or nothing kept is committed.
	fail := func(err error) ([]error, bool) {
		if retryable(err) {
			return nil, true
		}
		return failUnits(errs, err), false
	}
	tx, err := s.beginWrite(ctx)
	if err != nil {
		return failUnits(errs, err), false
	}
	defer tx.Rollback(ctx) // no-op after Commit
	t := &txn{ctx: ctx, tx: tx, write: true}
	// These statements take no arguments, so pgx sends each string in one simple-protocol round trip.
	if _, err := tx.Exec(ctx, qSetUnit); err != nil {
		return fail(err)
	}
	for i, fn := range fns {
		last := i == len(fns)-1
		err := fn(t)
		if retryable(err) {
			return nil, true
		}
		if err == nil {
			next := qNextUnit
			if last {
				next = qLastUnit
			}
			_, err = tx.Exec(ctx, next)
			if err == nil {
				continue
			}
			if retryable(err) {
				return nil, true
			}
			// fn returned nil from a failed transaction (it ignored an error): its unit fails.
			err = fmt.Errorf("postgres: unit left its transaction failed: %w", err)
		}
		errs[i] = err
		rollback := qRollbackUnitAndNext
		if last {
			rollback = qRollbackUnitAndLast
		}
		if _, err := tx.Exec(ctx, rollback); err != nil {
			return fail(err)
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return fail(fmt.Errorf("postgres: commit: %w", err))
	}
	return errs, false
}

// failUnits reports err, wrapped as store.ErrCommit, for every unit that has no error of its own: the
// transaction did not commit, so nothing of theirs was recorded.
func failUnits(errs []error, err error) []error {
	if !errors.Is(err, store.ErrCommit) {
		err = fmt.Errorf("%w: %w", store.ErrCommit, err)
	}
	for i := range errs {
		if errs[i] == nil {
			errs[i] = err
		}
	}
	return errs
}
