package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"clavis.dev/clavis"
	"clavis.dev/clavis/internal/store"
)

var _ store.Tx = (*txn)(nil)

// txn is a store.Tx over one *sql.Tx. It is used by one goroutine, inside one Read or Write callback.
type txn struct {
	ctx context.Context
	tx  *sql.Tx
	st  stmts
	s   *Store      // set in a write transaction only
	a   *auditState // a write transaction's audit state, once it uses the audit log

	bound map[string]*sql.Stmt // statements of st bound to tx, by query
}

// stmts are the statements of queries prepared on one pool. database/sql prepares each on a pool
// connection the first time a transaction on that connection uses it, and keeps it for reuse.
type stmts map[string]*sql.Stmt

// prepare prepares every statement of queries on db. It runs at Open, before any transaction: preparing
// through the single-connection write pool inside a transaction would wait for that connection forever.
func prepare(ctx context.Context, db *sql.DB) (stmts, error) {
	st := make(stmts, len(queries))
	for _, q := range queries {
		p, err := db.PrepareContext(ctx, q)
		if err != nil {
			for _, p := range st {
				_ = p.Close() // best effort: the prepare error is the one to report
			}
			return nil, fmt.Errorf("sqlite: prepare %q: %w", q, err)
		}
		st[q] = p
	}
	return st, nil
}

// stmt returns q's prepared statement bound to the transaction, or nil if q is not in queries. A
// transaction binds each statement once (a group commit runs the same ones many times).
func (t *txn) stmt(q string) *sql.Stmt {
	if s, ok := t.bound[q]; ok {
		return s
	}
	p, ok := t.st[q]
	if !ok {
		return nil
	}
	s := t.tx.StmtContext(t.ctx, p)
	if t.bound == nil {
		t.bound = make(map[string]*sql.Stmt)
	}
	t.bound[q] = s
	return s
}

func (t *txn) exec(q string, args ...any) (sql.Result, error) {
	if p := t.stmt(q); p != nil {
		return p.ExecContext(t.ctx, args...)
	}
	return t.tx.ExecContext(t.ctx, q, args...)
}

func (t *txn) query(q string, args ...any) (*sql.Rows, error) {
	if p := t.stmt(q); p != nil {
		return p.QueryContext(t.ctx, args...)
	}
	return t.tx.QueryContext(t.ctx, q, args...)
}

func (t *txn) queryRow(q string, args ...any) *sql.Row {
	if p := t.stmt(q); p != nil {
		return p.QueryRowContext(t.ctx, args...)
	}
	return t.tx.QueryRowContext(t.ctx, q, args...)
}

// execOne runs a statement that must affect exactly one row; ErrNotFound if it affected none.
func (t *txn) execOne(op, q string, args ...any) error {
	res, err := t.exec(q, args...)
	if err != nil {
		return dbErr(op, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return dbErr(op, err)
	}
	if n == 0 {
		return store.ErrNotFound
	}
	return nil
}

// execAny runs a statement that may affect any number of rows.
func (t *txn) execAny(op, q string, args ...any) error {
	_, err := t.exec(q, args...)
	return dbErr(op, err)
}

// scanner is a *sql.Row or *sql.Rows.
type scanner interface {
	Scan(dest ...any) error
}

// list runs q and scans each row with scan.
func list[T any](t *txn, op string, scan func(scanner) (T, error), q string, args ...any) ([]T, error) {
	rows, err := t.query(q, args...)
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

// dbErr classifies a driver error: no rows is store.ErrNotFound, a UNIQUE or PRIMARY KEY violation
// store.ErrConflict, anything else an unexpected error naming op.
func dbErr(op string, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, sql.ErrNoRows) {
		return store.ErrNotFound
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() {
		case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
			return store.ErrConflict
		}
	}
	return fmt.Errorf("sqlite: %s: %w", op, err)
}

// --- column encodings ---

// timeArg encodes an instant as TEXT in clavis.TimeFormat.
func timeArg(t time.Time) string { return clavis.FormatTime(t) }

// optTimeArg encodes an optional instant; nil is NULL.
func optTimeArg(t *time.Time) any {
	if t == nil {
		return nil
	}
	return clavis.FormatTime(*t)
}

// bytesArg encodes a byte slice; empty is NULL (so that unique columns allow several empty values).
func bytesArg(b []byte) any {
	if len(b) == 0 {
		return nil
	}
	return b
}

// sliceArg encodes a string slice as a JSON array; nil is "[]".
func sliceArg[T ~string](s []T) (string, error) {
	if len(s) == 0 {
		return "[]", nil
	}
	b, err := json.Marshal(s)
	return string(b), err
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

// timeCol scans a TEXT instant.
type timeCol struct{ p *time.Time }

func (c timeCol) Scan(src any) error {
	s, ok := textOf(src)
	if !ok {
		return fmt.Errorf("time column: unexpected %T", src)
	}
	t, err := parseTime(s)
	if err != nil {
		return err
	}
	*c.p = t
	return nil
}

// optTimeCol scans a nullable TEXT instant; NULL is nil.
type optTimeCol struct{ p **time.Time }

func (c optTimeCol) Scan(src any) error {
	if src == nil {
		*c.p = nil
		return nil
	}
	var t time.Time
	if err := (timeCol{&t}).Scan(src); err != nil {
		return err
	}
	*c.p = &t
	return nil
}

// sliceCol scans a JSON array of strings; empty is a non-nil empty slice.
type sliceCol[T ~string] struct{ p *[]T }

func (c sliceCol[T]) Scan(src any) error {
	s, ok := textOf(src)
	if !ok {
		return fmt.Errorf("JSON array column: unexpected %T", src)
	}
	v := []T{}
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		return err
	}
	if v == nil {
		v = []T{}
	}
	*c.p = v
	return nil
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
