package postgres

import (
	"cmp"
	"context"
	"errors"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// querier is what a txn runs its statements on: a pgx.Tx, or a lazyTx.
type querier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
	SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults
}

const qBeginRead = `BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY`

// lazyTx is a transaction on one pooled connection that begins with its first statement: the statements
// that begin it (none takes arguments) travel in one round trip with a first QueryRow or SendBatch, and
// a transaction that runs no statement costs none. A Read is a lazyTx begun by qBeginRead; a batch of
// the group commit (writeBatchTogether) one begun by qBeginWrite and its settings, which commits with
// its last statements (commitWith).
//
// A lazyTx made for one statement (oneStatement) sends COMMIT with its first statement, when that is a
// QueryRow: the transaction then ends in the round trip that begins it. Any statement after that one
// fails with errSecondStatement and sets again (ReadOneStatement then runs its fn again, in full).
type lazyTx struct {
	conn         *pgxpool.Conn
	begin        []string
	begun        bool
	oneStatement bool
	ended        bool // the one statement's COMMIT was sent
	again        bool // a statement came after the one statement
}

// errSecondStatement is what a statement after the one statement of a oneStatement lazyTx fails with.
var errSecondStatement = errors.New("postgres: a second statement in a read of one statement")

// second reports whether this statement comes after the one statement, and marks the read to be run again.
func (r *lazyTx) second() bool {
	if r.ended {
		r.again = true
	}
	return r.ended
}

var _ querier = (*lazyTx)(nil)

// start begins the transaction in a round trip of its own, if it has not begun.
func (r *lazyTx) start(ctx context.Context) error {
	if r.begun {
		return nil
	}
	r.begun = true // even if BEGIN fails: end then rolls back or drops the connection
	// The begin statements take no arguments: pgx sends them in one simple-protocol query.
	_, err := r.conn.Exec(ctx, strings.Join(r.begin, "; "))
	return err
}

func (r *lazyTx) Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	if r.second() {
		return pgconn.CommandTag{}, errSecondStatement
	}
	if err := r.start(ctx); err != nil {
		return pgconn.CommandTag{}, err
	}
	return r.conn.Exec(ctx, sql, args...)
}

func (r *lazyTx) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	if r.second() {
		return nil, errSecondStatement
	}
	if err := r.start(ctx); err != nil {
		return nil, err
	}
	return r.conn.Query(ctx, sql, args...)
}

// SendBatch sends the begin statements ahead of b's when it is the first: one round trip for all.
func (r *lazyTx) SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults {
	if r.second() {
		return errBatch{err: errSecondStatement}
	}
	if r.begun {
		return r.conn.SendBatch(ctx, b)
	}
	r.begun = true
	first := &pgx.Batch{}
	for _, q := range r.begin {
		first.Queue(q)
	}
	first.QueuedQueries = append(first.QueuedQueries, b.QueuedQueries...)
	br := r.conn.SendBatch(ctx, first)
	for range r.begin {
		if _, err := br.Exec(); err != nil {
			_ = br.Close() // the begin's error is the one to report
			return errBatch{err: err}
		}
	}
	return br
}

// QueryRow sends the begin statements with the statement when it is the first: one round trip for all.
// For a oneStatement lazyTx, the first QueryRow also sends COMMIT in that round trip.
func (r *lazyTx) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	if r.second() {
		return errRow{errSecondStatement}
	}
	if r.begun {
		return r.conn.QueryRow(ctx, sql, args...)
	}
	b := &pgx.Batch{}
	b.Queue(sql, args...)
	if !r.oneStatement {
		return batchRow{br: r.SendBatch(ctx, b)}
	}
	b.Queue("COMMIT")
	br := r.SendBatch(ctx, b)
	r.ended = true
	return batchRow{br: br, commit: true}
}

// commitWith sends b's statements and COMMIT in one round trip (beginning the transaction first, if it
// has not begun), and reports whether the transaction committed: nil exactly when the COMMIT ran and
// committed. Statements after a failed one do not run, so then nothing is committed. b's callbacks must
// not fail once their statement has run (an error there would hide the outcome of the COMMIT).
func (r *lazyTx) commitWith(ctx context.Context, b *pgx.Batch) error {
	committed := false
	b.Queue("COMMIT").Exec(func(tag pgconn.CommandTag) error {
		committed = tag.String() == "COMMIT" // PostgreSQL answers ROLLBACK to the COMMIT of a failed transaction
		return nil
	})
	err := r.SendBatch(ctx, b).Close()
	if committed {
		return nil
	}
	return cmp.Or(err, errNotCommitted)
}

var errNotCommitted = errors.New("postgres: the transaction was rolled back at commit")

// end rolls the transaction back, if it began and has not ended, and returns the connection to the pool
// (which drops a connection left inside a transaction, as when the rollback failed).
func (r *lazyTx) end(ctx context.Context) {
	if r.begun && r.conn.Conn().PgConn().TxStatus() != 'I' {
		_, _ = r.conn.Exec(ctx, "ROLLBACK") // on failure the pool drops the connection
	}
	r.conn.Release()
}

// batchRow is the row of a statement sent after BEGIN in one batch, and before COMMIT if commit is set.
type batchRow struct {
	br     pgx.BatchResults
	commit bool
}

func (r batchRow) Scan(dest ...any) error {
	err := r.br.QueryRow().Scan(dest...)
	if r.commit {
		if _, cerr := r.br.Exec(); err == nil {
			err = cerr
		}
	}
	if cerr := r.br.Close(); err == nil {
		err = cerr
	}
	return err
}

type errRow struct{ err error }

func (r errRow) Scan(...any) error { return r.err }

// errBatch is the BatchResults of a batch that could not be sent: every result is err. (The embedded
// interface is nil; it only completes the method set.)
type errBatch struct {
	pgx.BatchResults
	err error
}

func (b errBatch) Exec() (pgconn.CommandTag, error) { return pgconn.CommandTag{}, b.err }
func (b errBatch) Query() (pgx.Rows, error)         { return nil, b.err }
func (b errBatch) QueryRow() pgx.Row                { return errRow{b.err} }
func (b errBatch) Close() error                     { return b.err }
