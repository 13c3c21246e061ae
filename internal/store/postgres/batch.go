package postgres

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"clavis.dev/clavis/internal/store"
)

// WriteBatch implements store.Batcher: one READ COMMITTED transaction, a savepoint per fn, one durable
// commit for the whole batch. Releasing one unit's savepoint and setting the next one's share a round
// trip. It first runs the units back to back without savepoints (writeBatchTogether), which saves that
// round trip per unit and sends all the batch's audit inserts in one round trip before the commit, and
// only when a unit fails or the attempt does not commit does it run them again
// with savepoints, as follows.
//
// The units of a batch hold their row locks until the one commit, so they lock rows in no consistent
// order (unit 1 locks a version and the org's audit head, unit 2 another version while the head is
// held), and batches of different replicas can deadlock where single Writes would not. PostgreSQL would
// find such a deadlock only after deadlock_timeout (1s by default), so a batch waits at most
// batchLockTimeout for any lock: a unit that times out is rolled back to its savepoint and, once the rest
// of the batch has committed, runs again in a Write of its own, which waits for its locks as long as
// needed. A deadlock or serialization failure that still happens runs the whole batch again, as in
// Write, up to maxWriteAttempts times; then every fn runs in a Write of its own. Each fn may thus run more
// than once, with the same rules as Write's fn.
func (s *Store) WriteBatch(ctx context.Context, fns []func(store.Tx) error) []error {
	if len(fns) == 0 {
		return nil
	}
	if errs, ok := s.writeBatchTogether(ctx, fns); ok {
		return errs
	}
	var errs []error
	var alone []int // units to run in a Write of their own
	for attempt := 1; ; attempt++ {
		var retry bool
		errs, alone, retry = s.writeBatchOnce(ctx, fns)
		if !retry {
			break
		}
		if attempt == maxWriteAttempts || !backoff(ctx, attempt) {
			errs, alone = make([]error, len(fns)), make([]int, len(fns))
			for i := range alone {
				alone[i] = i
			}
			break
		}
	}
	for _, i := range alone {
		errs[i] = s.Write(ctx, fns[i])
	}
	return errs
}

var _ store.SingleBatcher = (*Store)(nil)

// BatchesSingleUnits implements store.SingleBatcher: writeBatchTogether takes one or two round trips.
func (s *Store) BatchesSingleUnits() {}

// batchLockTimeout is the lock_timeout of a batch transaction: well above the time a batch of another
// replica holds a lock it needs, well below deadlock_timeout.
const batchLockTimeout = "50ms"

const (
	qLockTimeout         = `SET LOCAL lock_timeout = '` + batchLockTimeout + `'`
	qBeginBatch          = qLockTimeout + `; SAVEPOINT clavis_unit`
	qNextUnit            = `RELEASE SAVEPOINT clavis_unit; SAVEPOINT clavis_unit`
	qLastUnit            = `RELEASE SAVEPOINT clavis_unit`
	qRollbackUnit        = `ROLLBACK TO SAVEPOINT clavis_unit`
	qRollbackUnitAndNext = qRollbackUnit + `; ` + qNextUnit
	qRollbackUnitAndLast = qRollbackUnit + `; ` + qLastUnit
)

// writeBatchTogether runs the units back to back in one transaction and commits it; ok reports that every
// unit succeeded and the transaction committed. Otherwise nothing was committed and the caller runs
// the batch again with savepoints. The transaction begins in the round trip of its first statement, and
// its deferred audit inserts, the moves of the heads they advance, a state epoch read asked for with
// StateEpochAtCommit, and COMMIT travel in one last round trip. Appending after a head known from the
// last commit (knownHeads) needs no statement before that: a batch of reads or token exchanges is then
// one round trip.
func (s *Store) writeBatchTogether(ctx context.Context, fns []func(store.Tx) error) (errs []error, ok bool) {
	conn, err := s.batches.Acquire(ctx)
	if err != nil {
		return nil, false
	}
	w := &lazyTx{conn: conn, begin: []string{qBeginWrite, qLockTimeout}}
	defer w.end(ctx) // rolls back unless committed
	t := &txn{ctx: ctx, tx: w, write: true, audits: &pgx.Batch{}, known: &s.heads}
	for _, fn := range fns {
		if fn(t) != nil {
			s.heads.failed(t.guessed)
			return nil, false
		}
	}
	last := t.takeAudits()
	var epoch int64
	epochErr := errNotCommitted
	if t.atCommit != nil {
		last.Queue(qStateEpoch).QueryRow(func(row pgx.Row) error {
			epochErr = row.Scan(&epoch)
			return nil // a failed statement is not committed: commitWith tells
		})
	}
	err = w.commitWith(ctx, last)
	if t.atCommit != nil {
		t.atCommit(epoch, cmp.Or(err, epochErr))
	}
	if err != nil {
		s.heads.failed(t.guessed)
		return nil, false
	}
	s.heads.committed(t.heads)
	return make([]error, len(fns)), true
}

// writeBatchOnce runs the batch in one transaction and returns each unit's error and the units that
// timed out waiting for a lock (their errors are nil: the caller runs them again). retry reports that
// the database aborted the transaction to resolve a conflict with another one; errs is then nil.
func (s *Store) writeBatchOnce(ctx context.Context, fns []func(store.Tx) error) (errs []error, alone []int, retry bool) {
	errs = make([]error, len(fns))
	// fail ends the batch on a database error outside the units: retry, or nothing kept is committed.
	fail := func(err error) ([]error, []int, bool) {
		if retryable(err) {
			return nil, nil, true
		}
		return failUnits(errs, err), nil, false
	}
	// These statements take no arguments, so pgx sends each string in one simple-protocol round trip.
	tx, err := beginWrite(ctx, s.batches, qBeginBatch)
	if err != nil {
		return failUnits(errs, err), nil, false
	}
	defer tx.Rollback(ctx) // no-op after Commit
	t := &txn{ctx: ctx, tx: tx, write: true}
	for i, fn := range fns {
		last := i == len(fns)-1
		heads := maps.Clone(t.heads)
		err := fn(t)
		if retryable(err) {
			return nil, nil, true
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
				return nil, nil, true
			}
			// fn returned nil from a failed transaction (it ignored an error): its unit fails.
			err = fmt.Errorf("postgres: unit left its transaction failed: %w", err)
		}
		if lockTimedOut(err) {
			alone = append(alone, i)
		} else {
			errs[i] = err
		}
		rollback := qRollbackUnitAndNext
		if last {
			rollback = qRollbackUnitAndLast
		}
		t.heads = heads
		if _, err := tx.Exec(ctx, rollback); err != nil {
			return fail(err)
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return fail(fmt.Errorf("postgres: commit: %w", err))
	}
	s.heads.committed(t.heads)
	return errs, alone, false
}

// lockTimedOut reports whether err says that a statement waited longer than lock_timeout for a lock.
func lockTimedOut(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "55P03" // lock_not_available
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
