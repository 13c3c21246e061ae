package main

import (
	"context"
	"flag"
	"fmt"
	"io"
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

// backupCommand writes a consistent online snapshot of the embedded database.
func backupCommand(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("clavis backup", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dataDir := fs.String("data-dir", envOr("CLAVIS_DATA_DIR", "./clavis-data"), "data directory of the server")
	database := fs.String("database", envOr("CLAVIS_DATABASE", ""), "database (default sqlite:<data-dir>/clavis.db)")
	out := fs.String("out", "", "backup file to create (must not exist)")
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	if *out == "" {
		fmt.Fprintln(stderr, "clavis backup: --out FILE is required")
		return errUsage
	}
	path, err := sqlitePath(*dataDir, *database)
	if err != nil {
		return err
	}
	if _, err := os.Stat(path); err != nil {
		return fmt.Errorf("no database at %s: %w", path, err)
	}
	st, err := sqlite.Open(ctx, path)
	if err != nil {
		return err
	}
	defer st.Close()
	fmt.Fprintf(stderr, "backing up %s (the server may keep running)…\n", path)
	start := time.Now()
	if err := st.Backup(ctx, *out); err != nil {
		return err
	}
	fi, err := os.Stat(*out)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "backup written to %s: %d bytes in %v. It holds ciphertext only: keep the root key "+
		"(%s) backed up separately.\n", *out, fi.Size(), time.Since(start).Round(time.Millisecond), filepath.Join(*dataDir, "root.key"))
	return nil
}

// restoreCommand installs a backup as the embedded database of a (stopped) server.
func restoreCommand(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("clavis restore", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dataDir := fs.String("data-dir", envOr("CLAVIS_DATA_DIR", "./clavis-data"), "data directory to restore into (the server must be stopped)")
	in := fs.String("in", "", "backup file written by clavis backup")
	force := fs.Bool("force", false, "replace an existing database (it is kept as clavis.db.before-restore-<time>)")
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	if *in == "" {
		fmt.Fprintln(stderr, "clavis restore: --in FILE is required")
		return errUsage
	}
	target := filepath.Join(*dataDir, "clavis.db")
	if _, err := os.Stat(target); err == nil && !*force {
		return fmt.Errorf("%s exists; stop the server and pass --force to replace it", target)
	}
	if err := os.MkdirAll(*dataDir, 0o700); err != nil {
		return err
	}
	// Copy next to the target, check that it opens as a Clavis database (this also refuses a schema newer
	// than this binary), then move it into place.
	staging := target + ".restoring"
	os.Remove(staging)
	fmt.Fprintf(stderr, "restoring %s into %s…\n", *in, *dataDir)
	if err := copyFile(*in, staging); err != nil {
		return err
	}
	st, err := sqlite.Open(ctx, staging)
	if err != nil {
		os.Remove(staging)
		return fmt.Errorf("%s is not a usable Clavis backup: %w", *in, err)
	}
	if err := st.Close(); err != nil {
		return err
	}
	for _, suffix := range []string{"-wal", "-shm"} {
		os.Remove(staging + suffix)
	}
	if _, err := os.Stat(target); err == nil {
		kept := target + ".before-restore-" + time.Now().UTC().Format("20060102T150405Z")
		if err := os.Rename(target, kept); err != nil {
			return err
		}
		fmt.Fprintf(stderr, "kept the replaced database as %s\n", kept)
	}
	for _, suffix := range []string{"-wal", "-shm"} {
		os.Remove(target + suffix)
	}
	if err := os.Rename(staging, target); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "restored %s. Start the server with the root key that was in use when the backup was taken.\n", target)
	return nil
}

// copyFile copies src to a new 0600 file dst and syncs it.
func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	if err := out.Sync(); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
