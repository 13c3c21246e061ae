package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"clavis.dev/clavis/internal/audit"
	"clavis.dev/clavis/internal/engine"
	"clavis.dev/clavis/internal/keyring"
	"clavis.dev/clavis/internal/store"
	"clavis.dev/clavis/internal/store/migration"
	"clavis.dev/clavis/internal/store/postgres"
	"clavis.dev/clavis/internal/store/sqlite"
)

// openCurrentStore opens the existing database named by dsn for an operator command: it neither creates
// nor migrates it, and says to run clavis migrate when its schema is older than this binary's (or absent).
func openCurrentStore(ctx context.Context, dsn string) (store.Store, error) {
	var st store.Store
	var err error
	switch {
	case strings.HasPrefix(dsn, "sqlite:"):
		path := strings.TrimPrefix(dsn, "sqlite:")
		st, err = sqlite.OpenCurrent(ctx, path)
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("no database at %s (check --data-dir or --database); a new database is created by "+
				"`clavis migrate` or by starting `clavis server`", path)
		}
	case strings.HasPrefix(dsn, "postgres://"), strings.HasPrefix(dsn, "postgresql://"):
		st, err = postgres.OpenCurrent(ctx, dsn)
	default:
		return nil, fmt.Errorf("--database: want sqlite:<file> or postgres://…")
	}
	if ve := (*migration.VersionError)(nil); errors.As(err, &ve) && ve.Outdated() {
		return nil, fmt.Errorf("%w; nothing was changed: run `clavis migrate` with the same --data-dir/--database "+
			"(or start the new server, which migrates on start), then run this command again", err)
	}
	return st, err
}

// openOperatorEngine opens an existing database with its root key for an operator command, without
// migrating it or creating server keys. previous, if not nil, is also accepted for unwrapping (a root
// rotation under way).
func openOperatorEngine(ctx context.Context, sc *storeSettings, previous keyring.RootKey, sink audit.Sink) (*engine.Engine, func(), error) {
	sc.resolve()
	st, err := openCurrentStore(ctx, sc.database)
	if err != nil {
		return nil, nil, err
	}
	root, err := openRootKey(sc.rootKey, false)
	if err != nil {
		return nil, nil, errors.Join(err, st.Close())
	}
	closeRoot := func() error {
		if c, ok := root.(io.Closer); ok {
			return c.Close()
		}
		return nil
	}
	var opt keyring.Options
	if previous != nil {
		opt.Previous = []keyring.RootKey{previous}
	}
	eng, err := engine.New(ctx, st, keyring.New(root, opt), engine.Config{
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Sink: sink, ExistingKeysOnly: true})
	if err != nil {
		err = errors.Join(err, closeRoot(), st.Close())
		if errors.Is(err, engine.ErrNoServerKeys) {
			return nil, nil, fmt.Errorf("%w: no server has started on this database; start `clavis server` on it once, then run this command again", err)
		}
		return nil, nil, fmt.Errorf("opening the server keys (right root key?): %w", err)
	}
	// The command's work is committed when it closes: a close error changes nothing the operator can act on.
	return eng, func() { eng.Close(); _ = closeRoot(); _ = st.Close() }, nil
}

// migrateCommand brings the database's schema to this binary's version.
func migrateCommand(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	s, err := newSettings("clavis migrate", args, stderr)
	if err != nil {
		return err
	}
	sc := declareStoreSettings(s, false)
	if err := s.parse(args, serverSettingNames()); err != nil {
		return err
	}
	sc.resolve()
	var from, to int
	switch dsn := sc.database; {
	case strings.HasPrefix(dsn, "sqlite:"):
		path := strings.TrimPrefix(dsn, "sqlite:")
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return fmt.Errorf("data dir: %w", err)
		}
		from, to, err = sqlite.Migrate(ctx, path)
	case strings.HasPrefix(dsn, "postgres://"), strings.HasPrefix(dsn, "postgresql://"):
		from, to, err = postgres.Migrate(ctx, dsn)
	default:
		return fmt.Errorf("--database: want sqlite:<file> or postgres://…")
	}
	if err != nil {
		return err
	}
	if from == to {
		fmt.Fprintf(stdout, "schema already at version %d: nothing to do\n", to)
		return nil
	}
	fmt.Fprintf(stdout, "schema migrated from version %d to %d (%s)\n", from, to, redactDSN(sc.database))
	return nil
}
