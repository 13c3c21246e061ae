package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"clavis.dev/clavis/internal/store/sqlite"
)

// sqlitePath resolves --data-dir/--database to the embedded database file, or explains how to back up
// PostgreSQL with its own tools.
func sqlitePath(dataDir, database string) (string, error) {
	if database == "" {
		return filepath.Join(dataDir, "clavis.db"), nil
	}
	if p, ok := strings.CutPrefix(database, "sqlite:"); ok {
		return p, nil
	}
	return "", fmt.Errorf("backup and restore cover the embedded SQLite database; for PostgreSQL use " +
		"pg_dump -Fc / pg_restore (or base backups with WAL archiving), and keep the root key backed up separately")
}

// backupCommand writes a consistent online snapshot of the embedded database. It neither creates nor
// migrates the database.
func backupCommand(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	s, err := newSettings("clavis backup", args, stderr)
	if err != nil {
		return err
	}
	sc := declareStoreSettings(s, false)
	out := s.fs.String("out", "", "backup file to create (must not exist)")
	if err := s.parse(args, serverSettingNames()); err != nil {
		return err
	}
	if *out == "" {
		fmt.Fprintln(stderr, "clavis backup: --out FILE is required")
		return errUsage
	}
	path, err := sqlitePath(sc.dataDir, sc.database)
	if err != nil {
		return err
	}
	st, err := openCurrentStore(ctx, "sqlite:"+path)
	if err != nil {
		return err
	}
	defer st.Close()
	fmt.Fprintf(stderr, "backing up %s (the server may keep running)…\n", path)
	start := time.Now()
	if err := st.(*sqlite.Store).Backup(ctx, *out); err != nil {
		return err
	}
	fi, err := os.Stat(*out)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "backup written to %s: %d bytes in %v. It holds ciphertext only: keep the root key "+
		"(%s) backed up separately.\n", *out, fi.Size(), time.Since(start).Round(time.Millisecond), filepath.Join(sc.dataDir, "root.key"))
	return nil
}

// restoreCommand installs a backup as the embedded database of a (stopped) server. With --force it
// replaces an existing database, keeping a complete copy of it: its write-ahead log is folded into the
// file first (after a crash the log may hold acknowledged writes), and a log that still holds anything
// is kept beside the copy, never deleted.
func restoreCommand(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	s, err := newSettings("clavis restore", args, stderr)
	if err != nil {
		return err
	}
	sc := declareStoreSettings(s, false)
	in := s.fs.String("in", "", "backup file written by clavis backup")
	force := s.fs.Bool("force", false, "replace an existing database (it is kept, complete, as clavis.db.before-restore-<time>)")
	if err := s.parse(args, serverSettingNames()); err != nil {
		return err
	}
	if *in == "" {
		fmt.Fprintln(stderr, "clavis restore: --in FILE is required")
		return errUsage
	}
	target, err := sqlitePath(sc.dataDir, sc.database)
	if err != nil {
		return err
	}
	if _, err := os.Stat(target); err == nil && !*force {
		return fmt.Errorf("%s exists; stop the server and pass --force to replace it (the old database is kept)", target)
	}
	if err := os.MkdirAll(filepath.Dir(target), 0o700); err != nil {
		return err
	}
	// Copy next to the target, check that it is a Clavis database this binary can run (an older schema is
	// migrated by the server when it starts), then move it into place.
	staging := target + ".restoring"
	if err := os.Remove(staging); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	fmt.Fprintf(stderr, "restoring %s into %s…\n", *in, target)
	if err := copyFile(*in, staging); err != nil {
		return err
	}
	have, want, err := sqlite.SchemaVersion(ctx, staging)
	if err == nil && have == 0 {
		err = errors.New("it holds no Clavis schema")
	} else if err == nil && have > want {
		err = fmt.Errorf("its schema version %d is newer than this binary's %d; upgrade clavis", have, want)
	}
	removeEmptyLog(staging)
	if err != nil {
		return errors.Join(fmt.Errorf("%s is not a usable Clavis backup: %w", *in, err), os.Remove(staging))
	}
	if _, err := os.Stat(target); err == nil {
		if err := keepReplaced(ctx, target, stderr); err != nil {
			return errors.Join(err, os.Remove(staging))
		}
	}
	if err := os.Rename(staging, target); err != nil {
		return err
	}
	if err := syncDir(filepath.Dir(target)); err != nil {
		return err
	}
	if have < want {
		fmt.Fprintf(stderr, "the backup's schema version %d is older than this binary's %d: the server migrates it when it "+
			"starts (or run clavis migrate)\n", have, want)
	}
	fmt.Fprintf(stdout, "restored %s. Start the server with the root key that was in use when the backup was taken.\n", target)
	return nil
}

// keepReplaced moves the database at target aside as a complete copy: the write-ahead log is folded in
// first, and a log that still holds anything moves with the copy instead of being deleted.
func keepReplaced(ctx context.Context, target string, stderr io.Writer) error {
	if err := sqlite.Checkpoint(ctx, target); err != nil {
		return fmt.Errorf("keeping a complete copy of %s: %w; nothing was replaced", target, err)
	}
	kept := target + ".before-restore-" + time.Now().UTC().Format("20060102T150405Z")
	if err := os.Rename(target, kept); err != nil {
		return err
	}
	if fi, err := os.Stat(target + "-wal"); err == nil && fi.Size() > 0 {
		if err := os.Rename(target+"-wal", kept+"-wal"); err != nil {
			return err
		}
		fmt.Fprintf(stderr, "the replaced database's write-ahead log still held data: kept as %s-wal\n", kept)
	}
	removeEmptyLog(target)
	if err := syncDir(filepath.Dir(target)); err != nil {
		return err
	}
	fmt.Fprintf(stderr, "kept the replaced database as %s\n", kept)
	return nil
}

// removeEmptyLog removes the shared-memory index of the database at path and its write-ahead log if
// that is empty; a log that holds anything stays. Best effort: SQLite rebuilds the index and ignores an
// empty log when it opens the database, so one left behind is harmless.
func removeEmptyLog(path string) {
	_ = os.Remove(path + "-shm")
	if fi, err := os.Stat(path + "-wal"); err == nil && fi.Size() == 0 {
		_ = os.Remove(path + "-wal")
	}
}

// syncDir makes the renames in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir) // #nosec G304 G703 -- the directory of the operator's --database
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// copyFile copies src to a new 0600 file dst and syncs it.
func copyFile(src, dst string) error {
	in, err := os.Open(src) // #nosec G304 -- the operator's --in
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600) // #nosec G304 -- beside the operator's --database
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		return errors.Join(err, out.Close())
	}
	if err := out.Sync(); err != nil {
		return errors.Join(err, out.Close())
	}
	return out.Close()
}
