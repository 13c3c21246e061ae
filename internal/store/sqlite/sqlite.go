// Package sqlite implements store.Store on one SQLite database file with the pure-Go modernc.org/sqlite
// driver. It is the embedded default store of Clavis.
//
// The database runs in WAL mode with synchronous=FULL, so a Write that returned nil survives a crash or
// power loss. Writes go through one connection whose transactions begin IMMEDIATE (take the write lock
// up front), so writers in this process are serialized in Go and writers in other processes wait on
// busy_timeout instead of failing mid-transaction. Reads run on a separate pool of query-only
// connections, each transaction on one WAL snapshot, and never wait for writers.
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	_ "modernc.org/sqlite" // registers the "sqlite" driver

	"clavis.dev/clavis/internal/store"
)

var _ store.Store = (*Store)(nil)

// Store is a store.Store backed by one SQLite database file. It is safe for concurrent use; Close it
// when done. Several processes may open the same file (writes are then serialized across processes by
// SQLite's lock, waiting up to the busy timeout).
type Store struct {
	path  string
	write *sql.DB // exactly one connection; transactions BEGIN IMMEDIATE
	read  *sql.DB // several query-only connections
	ws    stmts   // statements prepared on write
	rs    stmts   // statements prepared on read
}

// busyTimeoutMS is how long a statement waits for a lock held by another connection or process.
const busyTimeoutMS = 10000

// Open opens the database file at path, creating it with mode 0600 if it does not exist, applies the
// embedded migrations and returns the Store. It refuses a database whose schema version is newer than
// this binary knows. The caller must Close the Store.
func Open(ctx context.Context, path string) (*Store, error) {
	if path == "" {
		return nil, errors.New("sqlite: empty database path")
	}
	if strings.ContainsRune(path, '?') {
		// The driver takes everything after '?' as DSN parameters.
		return nil, fmt.Errorf("sqlite: database path %q must not contain '?'", path)
	}
	abs, err := filepath.Abs(path) // also keeps a relative "file:..." name from being read as a URI
	if err != nil {
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	// SQLite would create a missing file with mode 0644; create it first so it is private. SQLite gives
	// the -wal and -shm files the mode of the database file.
	f, err := os.OpenFile(abs, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	if err := f.Close(); err != nil {
		return nil, fmt.Errorf("sqlite: %w", err)
	}

	s := &Store{path: path}
	ok := false
	defer func() {
		if !ok {
			s.Close()
		}
	}()

	s.write, err = sql.Open("sqlite", dsn(abs, false))
	if err != nil {
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	s.write.SetMaxOpenConns(1)
	s.write.SetMaxIdleConns(1)
	s.write.SetConnMaxLifetime(0)
	s.write.SetConnMaxIdleTime(0)
	// The first connection switches the file to WAL before any reader opens it.
	if err := s.write.PingContext(ctx); err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", abs, err)
	}
	if err := migrate(ctx, s.write); err != nil {
		return nil, err
	}

	s.read, err = sql.Open("sqlite", dsn(abs, true))
	if err != nil {
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	n := max(4, runtime.GOMAXPROCS(0))
	s.read.SetMaxOpenConns(n)
	s.read.SetMaxIdleConns(n)
	s.read.SetConnMaxLifetime(0)
	s.read.SetConnMaxIdleTime(0)

	if s.ws, err = prepare(ctx, s.write); err != nil {
		return nil, err
	}
	if s.rs, err = prepare(ctx, s.read); err != nil {
		return nil, err
	}
	ok = true
	return s, nil
}

// dsn builds the driver's data source name for the file at path.
func dsn(path string, readOnly bool) string {
	q := url.Values{}
	pragmas := []string{
		fmt.Sprintf("busy_timeout(%d)", busyTimeoutMS),
		"foreign_keys(1)",
		"synchronous(FULL)",
	}
	if readOnly {
		pragmas = append(pragmas, "query_only(1)")
	} else {
		pragmas = append(pragmas, "journal_mode(WAL)")
		q.Set("_txlock", "immediate")
	}
	q["_pragma"] = pragmas
	return path + "?" + q.Encode()
}

// Read runs fn in a deferred transaction on the read pool: it sees the snapshot of the first statement
// it runs, and any write through the Tx fails.
func (s *Store) Read(ctx context.Context, fn func(store.Tx) error) error {
	tx, err := s.read.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return fmt.Errorf("sqlite: begin read: %w", err)
	}
	defer tx.Rollback() // a read transaction has nothing to commit
	return fn(&txn{ctx: ctx, tx: tx, st: s.rs})
}

// Write runs fn in a BEGIN IMMEDIATE transaction on the write connection and commits it if fn returns
// nil; otherwise it rolls back and returns fn's error unchanged. Concurrent Writes run one at a time, in
// this process by waiting for the one write connection (until ctx is done), across processes by waiting
// for SQLite's write lock (up to the busy timeout). fn must not call Write: it would wait for itself.
func (s *Store) Write(ctx context.Context, fn func(store.Tx) error) error {
	tx, err := s.write.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("%w: sqlite: begin write: %v", store.ErrCommit, err)
	}
	defer tx.Rollback() // no-op after Commit; releases the write connection if fn fails or panics
	if err := fn(&txn{ctx: ctx, tx: tx, st: s.ws}); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("%w: sqlite: commit: %v", store.ErrCommit, err)
	}
	return nil
}

// Ping checks that both pools can reach the database.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.write.PingContext(ctx); err != nil {
		return fmt.Errorf("sqlite: ping: %w", err)
	}
	var v int
	if err := s.read.QueryRowContext(ctx, "SELECT count(*) FROM schema_migrations").Scan(&v); err != nil {
		return fmt.Errorf("sqlite: ping: %w", err)
	}
	return nil
}

// Close closes both pools. Transactions in flight must have finished.
func (s *Store) Close() error {
	var errs []error
	for _, st := range []stmts{s.rs, s.ws} {
		for _, p := range st {
			errs = append(errs, p.Close())
		}
	}
	// Readers first: the writer's connection is then the last one and checkpoints the WAL on close.
	if s.read != nil {
		errs = append(errs, s.read.Close())
	}
	if s.write != nil {
		errs = append(errs, s.write.Close())
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("sqlite: close: %w", err)
	}
	return nil
}
