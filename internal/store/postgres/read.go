package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// querier is what a txn runs its statements on: a pgx.Tx, or a lazyRead.
type querier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
	SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults
}

const qBeginRead = `BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY`

// lazyRead is a REPEATABLE READ READ ONLY transaction on one pooled connection that begins with its
// first statement: a first QueryRow travels in one round trip with the BEGIN, and a Read that runs no
// statement (its callback found everything in a cache) costs none. end rolls it back and releases the
// connection.
type lazyRead struct {
	conn  *pgxpool.Conn
	begun bool
}

var _ querier = (*lazyRead)(nil)

func (r *lazyRead) begin(ctx context.Context) error {
	if r.begun {
		return nil
	}
	r.begun = true // even if BEGIN fails: end then rolls back or drops the connection
	_, err := r.conn.Exec(ctx, qBeginRead)
	return err
}

func (r *lazyRead) Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	if err := r.begin(ctx); err != nil {
		return pgconn.CommandTag{}, err
	}
	return r.conn.Exec(ctx, sql, args...)
}

func (r *lazyRead) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	if err := r.begin(ctx); err != nil {
		return nil, err
	}
	return r.conn.Query(ctx, sql, args...)
}

func (r *lazyRead) SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults {
	if err := r.begin(ctx); err != nil {
		return errBatch{err: err}
	}
	return r.conn.SendBatch(ctx, b)
}

// QueryRow sends BEGIN with the statement when it is the first: one round trip for both.
func (r *lazyRead) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	if r.begun {
		return r.conn.QueryRow(ctx, sql, args...)
	}
	r.begun = true
	b := &pgx.Batch{}
	b.Queue(qBeginRead)
	b.Queue(sql, args...)
	br := r.conn.SendBatch(ctx, b)
	if _, err := br.Exec(); err != nil {
		_ = br.Close() // BEGIN's error is the one to report
		return errRow{err}
	}
	return batchRow{br}
}

// end rolls the transaction back, if it began, and returns the connection to the pool (which drops a
// connection left inside a transaction, as when the rollback failed).
func (r *lazyRead) end(ctx context.Context) {
	if r.begun {
		_, _ = r.conn.Exec(ctx, "ROLLBACK") // a read has nothing to commit; on failure the pool drops the connection
	}
	r.conn.Release()
}

// batchRow is the row of a statement sent after BEGIN in one batch.
type batchRow struct{ br pgx.BatchResults }

func (r batchRow) Scan(dest ...any) error {
	err := r.br.QueryRow().Scan(dest...)
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
