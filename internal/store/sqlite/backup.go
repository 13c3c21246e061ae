package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"os"
)

// Backup writes a consistent snapshot of the database to path (which must not exist) while the store
// stays in use: VACUUM INTO reads one transaction's snapshot, so concurrent writers neither block nor tear
// it. The file is created 0600 and synced. It holds ciphertext only; restoring it needs the root key.
func (s *Store) Backup(ctx context.Context, path string) error {
	if _, err := os.Stat(path); err == nil {
		return fmt.Errorf("sqlite backup: %s already exists", path)
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600) // #nosec G304 -- the operator-given backup path; created first to fix its mode before SQLite writes
	if err != nil {
		return fmt.Errorf("sqlite backup: %w", err)
	}
	_ = f.Close()                           // empty; only its mode mattered, and it is removed next
	if err := os.Remove(path); err != nil { // VACUUM INTO wants to create the file itself
		return fmt.Errorf("sqlite backup: %w", err)
	}
	// A connection of its own: the read pool is query-only, and the write connection must stay free.
	db, err := sql.Open("sqlite", s.path+"?_pragma=busy_timeout(10000)")
	if err != nil {
		return fmt.Errorf("sqlite backup: %w", err)
	}
	defer db.Close()
	old := umask(0o077)
	_, err = db.ExecContext(ctx, "VACUUM INTO ?", path)
	umask(old)
	if err != nil {
		_ = os.Remove(path) // best effort: the VACUUM error is the one to report
		return fmt.Errorf("sqlite backup: %w", err)
	}
	out, err := os.OpenFile(path, os.O_RDWR, 0) // #nosec G304 -- the operator-given backup path
	if err != nil {
		return fmt.Errorf("sqlite backup: %w", err)
	}
	defer out.Close()
	if err := out.Chmod(0o600); err != nil {
		return fmt.Errorf("sqlite backup: %w", err)
	}
	return out.Sync()
}

// Checkpoint folds the write-ahead log of the existing database file at path into the file itself
// (wal_checkpoint(TRUNCATE), after SQLite's recovery has read a log left by a crash), so that the file
// alone is a complete copy of every committed write. It fails, changing nothing, when a connection of
// another process keeps the log from being folded in completely (a server still running).
func Checkpoint(ctx context.Context, path string) error {
	abs, err := absPath(path)
	if err != nil {
		return err
	}
	if _, err := os.Stat(abs); err != nil {
		return fmt.Errorf("sqlite checkpoint: %w", err)
	}
	db, err := sql.Open("sqlite", abs+fmt.Sprintf("?_pragma=busy_timeout(%d)", busyTimeoutMS))
	if err != nil {
		return fmt.Errorf("sqlite checkpoint: %w", err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	var busy, frames, done int
	if err := db.QueryRowContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)").Scan(&busy, &frames, &done); err != nil {
		return fmt.Errorf("sqlite checkpoint %s: %w", path, err)
	}
	if busy != 0 || frames != done {
		return fmt.Errorf("sqlite checkpoint %s: the write-ahead log could not be folded in completely (%d of %d frames); "+
			"is a server still using the database?", path, done, frames)
	}
	if err := db.Close(); err != nil {
		return fmt.Errorf("sqlite checkpoint: %w", err)
	}
	return nil
}
