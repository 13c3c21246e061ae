package postgres

import (
	"context"
	"embed"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"clavis.dev/clavis"
	"clavis.dev/clavis/internal/store/migration"
)

// migrationFiles holds the schema migrations, named NNNN_description.sql and numbered 1, 2, 3, … without
// gaps. A migration, once released, never changes; a schema change is a new file. Each runs inside the
// migration transaction, so it must not use statements that cannot (CREATE INDEX CONCURRENTLY).
//
//go:embed migrations/*.sql
var migrationFiles embed.FS

// createSchemaMigrations creates the table that records the applied migrations, if it is missing.
const createSchemaMigrations = `CREATE TABLE IF NOT EXISTS schema_migrations (
	version    INTEGER PRIMARY KEY,
	name       TEXT NOT NULL,
	applied_at TIMESTAMPTZ NOT NULL
)`

// migrations returns the embedded migrations in version order.
func migrations() ([]migration.Migration, error) {
	ms, err := migration.Load(migrationFiles, "migrations")
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	return ms, nil
}

// migrateLockKey is the pg_advisory_xact_lock key that serializes migrations of one database (advisory
// locks are per database). It is the first 8 bytes of "clavis.m", so it does not clash by accident with
// another application's small integer keys.
const migrateLockKey int64 = 0x636c617669732e6d

// migrate brings the schema up to the newest embedded migration in one transaction that first takes an
// advisory lock, so that replicas starting at once wait for each other and each migration is applied once;
// a failed migration leaves the schema untouched. It refuses a database whose schema is newer than the
// newest embedded migration (written by a newer binary). It returns the versions before and after.
func migrate(ctx context.Context, pool *pgxpool.Pool) (from, to int, err error) {
	ms, err := migrations()
	if err != nil {
		return 0, 0, err
	}
	tx, err := pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.ReadCommitted})
	if err != nil {
		return 0, 0, fmt.Errorf("postgres: migrate: %w", err)
	}
	defer tx.Rollback(ctx) // no-op after Commit
	if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", migrateLockKey); err != nil {
		return 0, 0, fmt.Errorf("postgres: migrate: lock: %w", err)
	}
	// Under the lock, each statement of this READ COMMITTED transaction sees every earlier migration.
	if _, err := tx.Exec(ctx, createSchemaMigrations); err != nil {
		return 0, 0, fmt.Errorf("postgres: migrate: %w", err)
	}
	var current int
	if err := tx.QueryRow(ctx, "SELECT coalesce(max(version), 0) FROM schema_migrations").Scan(&current); err != nil {
		return 0, 0, fmt.Errorf("postgres: migrate: %w", err)
	}
	if current > len(ms) {
		return current, 0, fmt.Errorf("postgres: database schema version %d is newer than this binary supports (%d); upgrade clavis", current, len(ms))
	}
	for _, m := range ms[current:] {
		if _, err := tx.Exec(ctx, m.SQL); err != nil { // no arguments: simple protocol, several statements
			return current, 0, fmt.Errorf("postgres: migration %s: %w", m.Name, err)
		}
		if _, err := tx.Exec(ctx, "INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)",
			m.Version, m.Name, clavis.Now()); err != nil {
			return current, 0, fmt.Errorf("postgres: migration %s: %w", m.Name, err)
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return current, 0, fmt.Errorf("postgres: migrate: %w", err)
	}
	return current, len(ms), nil
}

// schemaVersion returns the database's schema version, 0 when it has no schema_migrations table (in the
// schemas of its search_path). It creates and changes nothing.
func schemaVersion(ctx context.Context, pool *pgxpool.Pool) (int, error) {
	var exists bool
	if err := pool.QueryRow(ctx, "SELECT to_regclass('schema_migrations') IS NOT NULL").Scan(&exists); err != nil {
		return 0, fmt.Errorf("postgres: schema version: %w", err)
	}
	if !exists {
		return 0, nil
	}
	var v int
	if err := pool.QueryRow(ctx, "SELECT coalesce(max(version), 0) FROM schema_migrations").Scan(&v); err != nil {
		return 0, fmt.Errorf("postgres: schema version: %w", err)
	}
	return v, nil
}
