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
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600) // fix the mode before SQLite writes
	if err != nil {
		return fmt.Errorf("sqlite backup: %w", err)
	}
	f.Close()
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
		os.Remove(path)
		return fmt.Errorf("sqlite backup: %w", err)
	}
	out, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return fmt.Errorf("sqlite backup: %w", err)
	}
	defer out.Close()
	if err := out.Chmod(0o600); err != nil {
		return fmt.Errorf("sqlite backup: %w", err)
	}
	return out.Sync()
}
