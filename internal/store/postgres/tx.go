package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"clavis.dev/clavis"
	"clavis.dev/clavis/internal/store"
)

var _ store.Tx = (*txn)(nil)

// txn is a store.Tx over one transaction: a pgx.Tx, or a lazyTx. It is used by one goroutine, inside one Read or Write callback.
// pgx prepares each statement on first use on a connection and reuses it (QueryExecModeCacheStatement).
type txn struct {
	ctx   context.Context
	tx    querier
	write bool // a Write transaction: AuditHead locks the head row
	// heads are the chain heads of the orgs whose head row this write transaction has locked, as its
	// appends moved them: the next AuditHead of such an org needs no round trip. A unit rolled back to
	// its savepoint restores the map as it was before the unit (the rollback also releases the locks the
	// unit took).
	heads map[string]auditHead
	// audits, when not nil, queues the audit inserts of a batch run together (writeBatchTogether):
	// they are sent in one round trip before the commit, or before anything reads the audit log.
	audits *pgx.Batch
	// moved counts the deferred inserts of each org whose head they advance (takeAudits).
	moved map[string]int
	// known, in a batch run together, are the heads this process last committed: AuditHead takes an
	// org's head from there without a round trip, and guessed records it (org → the event id its row
	// must still hold when the batch moves it; knownHeads).
	known   *knownHeads
	guessed map[string]string
	// atCommit, set by StateEpochAtCommit in a batch run together, receives the state epoch read in the
	// commit's round trip.
	atCommit func(epoch int64, err error)
}

// auditHead is an org's chain head: its newest event's id and integrity hash.
type auditHead struct{ id, hash string }

// execOne runs a statement that must affect exactly one row; ErrNotFound if it affected none.
func (t *txn) execOne(op, q string, args ...any) error {
	tag, err := t.tx.Exec(t.ctx, q, args...)
	if err != nil {
		return dbErr(op, err)
	}
	if tag.RowsAffected() == 0 {
		return store.ErrNotFound
	}
	return nil
}

// execAny runs a statement that may affect any number of rows.
func (t *txn) execAny(op, q string, args ...any) error {
	_, err := t.tx.Exec(t.ctx, q, args...)
	return dbErr(op, err)
}

// insert runs an INSERT … ON CONFLICT DO NOTHING: ErrConflict if it inserted nothing. Unlike a unique
// violation, a conflict handled this way does not abort the transaction.
func (t *txn) insert(op, q string, args ...any) error {
	tag, err := t.tx.Exec(t.ctx, q, args...)
	if err != nil {
		return dbErr(op, err)
	}
	if tag.RowsAffected() == 0 {
		return store.ErrConflict
	}
	return nil
}

// ensure runs insert (an INSERT … ON CONFLICT DO NOTHING) and then get (a SELECT of the row) in one
// round trip, and scans get's row. Under READ COMMITTED the SELECT, a statement of its own, sees the row
// whether this INSERT or a concurrent transaction wrote it: an INSERT that conflicts with an uncommitted
// row waits for that transaction to end.
func (t *txn) ensure(op, insert string, insertArgs []any, get string, getArgs []any, dest ...any) error {
	b := &pgx.Batch{}
	b.Queue(insert, insertArgs...)
	b.Queue(get, getArgs...)
	br := t.tx.SendBatch(t.ctx, b)
	_, err := br.Exec()
	if err == nil {
		err = br.QueryRow().Scan(dest...)
	}
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	return dbErr(op, err)
}

// scanner is a pgx.Row or pgx.Rows.
type scanner interface {
	Scan(dest ...any) error
}

// list runs q and scans each row with scan.
func list[T any](t *txn, op string, scan func(scanner) (T, error), q string, args ...any) ([]T, error) {
	rows, err := t.tx.Query(t.ctx, q, args...)
	if err != nil {
		return nil, dbErr(op, err)
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, dbErr(op, err)
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, dbErr(op, err)
	}
	return out, nil
}

// dbErr classifies a driver error: no rows is store.ErrNotFound, a unique violation store.ErrConflict,
// anything else an unexpected error naming op (that wraps the *pgconn.PgError, so that Write can tell
// a deadlock).
func dbErr(op string, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, pgx.ErrNoRows) {
		return store.ErrNotFound
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.Code == "23505" { // unique_violation
		return store.ErrConflict
	}
	return fmt.Errorf("postgres: %s: %w", op, err)
}

// --- column encodings ---

// timeArg brings an instant to the stored precision. PostgreSQL would round to the microsecond;
// clavis.TimeFormat truncates.
func timeArg(t time.Time) time.Time { return clavis.Truncate(t) }

// optTimeArg encodes an optional instant; nil is NULL.
func optTimeArg(t *time.Time) any {
	if t == nil {
		return nil
	}
	return clavis.Truncate(*t)
}

// bytesArg encodes a byte slice; empty is NULL (so that unique columns allow several empty values).
func bytesArg(b []byte) any {
	if len(b) == 0 {
		return nil
	}
	return b
}

// sliceArg encodes a string slice as a TEXT[]; nil is the empty array.
func sliceArg[T ~string](s []T) []string {
	out := make([]string, len(s))
	for i, v := range s {
		out[i] = string(v)
	}
	return out
}

// rawArg encodes a JSON document exactly as given; empty is "{}".
func rawArg(m json.RawMessage) string {
	if len(m) == 0 {
		return "{}"
	}
	return string(m)
}

// textOf returns a TEXT column value as a string.
func textOf(src any) (string, bool) {
	switch v := src.(type) {
	case string:
		return v, true
	case []byte:
		return string(v), true
	}
	return "", false
}

// rawCol scans a JSON document exactly as stored; empty is "{}".
type rawCol struct{ p *json.RawMessage }

func (c rawCol) Scan(src any) error {
	s, ok := textOf(src)
	if !ok && src != nil {
		return fmt.Errorf("JSON column: unexpected %T", src)
	}
	if s == "" {
		s = "{}"
	}
	*c.p = json.RawMessage(s)
	return nil
}
