// Package postgres implements store.Store on PostgreSQL with pgx and its connection pool. It is the store
// for several stateless Clavis replicas sharing one database.
//
// Concurrency. Read transactions are REPEATABLE READ READ ONLY: one snapshot, no locks, never a
// serialization failure. Write transactions are READ COMMITTED with explicit row locks rather than
// SERIALIZABLE, because every contended operation of the contract is a single row that can be locked
// or updated atomically, and a waiting writer then proceeds instead of failing and redoing its work:
//
//   - NextVersion and ConsumeAccess are single UPDATE statements. PostgreSQL locks the row, and a
//     concurrent writer waits for that lock and then re-evaluates its WHERE clause and SET expressions
//     against the committed row, so version numbers are distinct and gap-free and read counters exact.
//   - AuditHead in a Write locks the org's audit_heads row (creating it first if needed, so there is
//     always a row to lock) until commit: appenders of one org in every process take turns, and the chain
//     stays linear. A group commit that knows the head from its own last commit appends after it without
//     the lock, and moves it under a guard that fails the batch if another appender moved it since
//     (knownHeads): the batch then runs again the ordinary way.
//   - EnsureSecret and PutServerKey insert with ON CONFLICT DO NOTHING and then read the row that won.
//
// Row locks taken in different orders by two transactions can deadlock; PostgreSQL then aborts one of
// them with deadlock_detected, and Write runs that one again (see Write). The units of a group commit
// (WriteBatch) hold their locks together, so a batch bounds its lock waits instead (see WriteBatch).
//
// A unique violation in a Create*, AppendAudit or UpdateAgent call returns store.ErrConflict and, as in
// the SQLite store, leaves the transaction usable (inserts use ON CONFLICT DO NOTHING, UpdateAgent a
// savepoint). Any other database error aborts the transaction: fn should return it.
//
// Times are TIMESTAMPTZ at microsecond precision: arguments are truncated (PostgreSQL would round) and
// results come back in UTC, whatever the session's TimeZone.
package postgres

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"

	"clavis.dev/clavis/internal/store"
	"clavis.dev/clavis/internal/store/migration"
)

var (
	_ store.Store   = (*Store)(nil)
	_ store.Batcher = (*Store)(nil)
)

// Store is a store.Store backed by a PostgreSQL database through a connection pool. It is safe for
// concurrent use, also by several processes on one database; Close it when done.
type Store struct {
	pool *pgxpool.Pool
	// batches is the group commit's own connection (WriteBatch), so that the one serial stage of the
	// writes never waits for a connection behind reads.
	batches *pgxpool.Pool
	// heads are the audit heads the group commits last committed (knownHeads).
	heads knownHeads
}

// newStore makes the Store of pool, with a pool of one connection for WriteBatch.
func newStore(ctx context.Context, pool *pgxpool.Pool) (*Store, error) {
	cfg := pool.Config()
	cfg.MinConns, cfg.MaxConns = 0, 1
	batches, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		pool.Close()
		return nil, fmt.Errorf("postgres: %w", err)
	}
	return &Store{pool: pool, batches: batches}, nil
}

// Open connects to the database named by dsn (a postgres:// URL or a keyword/value string, with pgx's
// pool_* parameters such as pool_max_conns; the pool defaults to max(4, NumCPU) connections, and
// WriteBatch has one more of its own), applies the embedded migrations and returns the Store. Replicas
// may Open one database at once: migrations run under an advisory lock. It refuses a database whose
// schema version is newer than this binary knows. The caller must Close the Store.
func Open(ctx context.Context, dsn string) (*Store, error) {
	pool, err := connect(ctx, dsn)
	if err != nil {
		return nil, err
	}
	if _, _, err := migrate(ctx, pool); err != nil {
		pool.Close()
		return nil, err
	}
	return newStore(ctx, pool)
}

// OpenCurrent connects to the database named by dsn without changing its schema: it returns a
// *migration.VersionError, having created nothing, when the schema is not the newest this binary knows
// (older, newer, or none: an empty database). Operator commands open a live database this way;
// migrating is for the server and `clavis migrate`. The caller must Close the Store.
func OpenCurrent(ctx context.Context, dsn string) (*Store, error) {
	pool, err := connect(ctx, dsn)
	if err != nil {
		return nil, err
	}
	ms, err := migrations()
	if err == nil {
		var have int
		if have, err = schemaVersion(ctx, pool); err == nil {
			if err = migration.Check(have, len(ms)); err != nil {
				err = fmt.Errorf("postgres: %w", err)
			}
		}
	}
	if err != nil {
		pool.Close()
		return nil, err
	}
	return newStore(ctx, pool)
}

// Migrate brings the database named by dsn to the newest schema this binary knows and returns the
// schema versions before and after. It refuses a newer schema. Servers using the database may keep
// running: migrations run in one transaction under the advisory lock that servers starting take too.
func Migrate(ctx context.Context, dsn string) (from, to int, err error) {
	pool, err := connect(ctx, dsn)
	if err != nil {
		return 0, 0, err
	}
	defer pool.Close()
	return migrate(ctx, pool)
}

// connect makes the pool for dsn.
func connect(ctx context.Context, dsn string) (*pgxpool.Pool, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	if _, ok := cfg.ConnConfig.RuntimeParams["application_name"]; !ok {
		cfg.ConnConfig.RuntimeParams["application_name"] = "clavis"
	}
	cfg.AfterConnect = afterConnect
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	return pool, nil
}

// afterConnect prepares each new connection: timestamptz values scan in UTC, and a commit is durable
// (a server or role configured with synchronous_commit = off would lose acknowledged Writes in a crash).
func afterConnect(ctx context.Context, c *pgx.Conn) error {
	c.TypeMap().RegisterType(&pgtype.Type{Name: "timestamptz", OID: pgtype.TimestamptzOID,
		Codec: &pgtype.TimestamptzCodec{ScanLocation: time.UTC}})
	_, err := c.Exec(ctx, `SELECT set_config('synchronous_commit', 'on', false)
		WHERE current_setting('synchronous_commit') = 'off'`)
	return err
}

// Read runs fn in a REPEATABLE READ READ ONLY transaction: every statement sees the snapshot taken by
// the first one, and a write through the Tx fails. fn's error is returned unchanged.
// The transaction begins with fn's first statement, in the same round trip (lazyTx).
func (s *Store) Read(ctx context.Context, fn func(store.Tx) error) error {
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("postgres: begin read: %w", err)
	}
	r := &lazyTx{conn: conn, begin: []string{qBeginRead}}
	defer r.end(ctx)
	return fn(&txn{ctx: ctx, tx: r})
}

var _ store.OneStatementReader = (*Store)(nil)

// ReadOneStatement implements store.OneStatementReader: a first statement that reads one row travels
// with BEGIN and COMMIT, one round trip in all; a run that needs more is run again by Read.
func (s *Store) ReadOneStatement(ctx context.Context, fn func(store.Tx) error) error {
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("postgres: begin read: %w", err)
	}
	one := &lazyTx{conn: conn, begin: []string{qBeginRead}, oneStatement: true}
	err = fn(&txn{ctx: ctx, tx: one})
	one.end(ctx)
	if one.again {
		return s.Read(ctx, fn)
	}
	return err
}

// maxWriteAttempts bounds how often Write and WriteBatch run a transaction when the database aborts it
// to resolve a deadlock or a serialization failure.
const maxWriteAttempts = 5

// Write runs fn in a READ COMMITTED read-write transaction and commits it if fn returns nil (the commit
// is durable: synchronous_commit is on); otherwise it rolls back and returns fn's error unchanged. A
// failure to begin or to commit is an error wrapping store.ErrCommit.
//
// Writes run concurrently and wait only for the rows they lock. If the database aborts the transaction
// with deadlock_detected or serialization_failure (in fn, seen through fn's error, or at commit), Write
// rolls back and runs fn again in a new transaction, up to maxWriteAttempts times in all, then returns
// the last error. fn may therefore run more than once: it must have no effect outside the Tx other than
// setting results that each run sets afresh (no appending to outer slices, no sending, no other I/O).
func (s *Store) Write(ctx context.Context, fn func(store.Tx) error) error {
	for attempt := 1; ; attempt++ {
		err := s.writeOnce(ctx, fn)
		if err == nil || !retryable(err) || attempt == maxWriteAttempts || !backoff(ctx, attempt) {
			return err
		}
	}
}

func (s *Store) writeOnce(ctx context.Context, fn func(store.Tx) error) error {
	tx, err := beginWrite(ctx, s.pool, "")
	if err != nil {
		return err
	}
	defer tx.Rollback(ctx) // no-op after Commit; returns the connection if fn fails or panics
	if err := fn(&txn{ctx: ctx, tx: tx, write: true}); err != nil {
		return err
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("%w: postgres: commit: %w", store.ErrCommit, err)
	}
	return nil
}

// qBeginWrite begins a write transaction: READ COMMITTED whatever the server's default, since the row
// locking described in the package comment relies on its re-evaluation of a locked row.
const qBeginWrite = `BEGIN ISOLATION LEVEL READ COMMITTED READ WRITE`

// beginWrite begins a write transaction and runs then, statements without arguments (or ""), in the
// same round trip.
func beginWrite(ctx context.Context, pool *pgxpool.Pool, then string) (pgx.Tx, error) {
	begin := qBeginWrite
	if then != "" {
		begin += "; " + then // no arguments: pgx sends it as one simple-protocol query
	}
	tx, err := pool.BeginTx(ctx, pgx.TxOptions{BeginQuery: begin})
	if err != nil {
		return nil, fmt.Errorf("%w: postgres: begin write: %w", store.ErrCommit, err)
	}
	return tx, nil
}

// backoff waits a little before attempt+1, with jitter, so that the transactions that collided do not
// collide again. It reports false if ctx ended first.
func backoff(ctx context.Context, attempt int) bool {
	d := time.Duration(attempt) * (time.Millisecond + rand.N(4*time.Millisecond)) // #nosec G404 -- retry jitter, not a secret
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// retryable reports whether err says that the database aborted the transaction to resolve a conflict
// between concurrent transactions, so that running it again may succeed.
func retryable(err error) bool {
	var pe *pgconn.PgError
	if !errors.As(err, &pe) {
		return false
	}
	switch pe.Code {
	case "40001", "40P01": // serialization_failure, deadlock_detected
		return true
	}
	return false
}

// Ping checks that the database answers and holds the schema.
func (s *Store) Ping(ctx context.Context) error {
	var v int
	if err := s.pool.QueryRow(ctx, "SELECT coalesce(max(version), 0) FROM schema_migrations").Scan(&v); err != nil {
		return fmt.Errorf("postgres: ping: %w", err)
	}
	return nil
}

// Close closes the pools, waiting for connections in use to be released. Transactions in flight must
// have finished.
func (s *Store) Close() error {
	s.batches.Close()
	s.pool.Close()
	return nil
}
