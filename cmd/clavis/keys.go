package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"clavis.dev/clavis/internal/engine"
	"clavis.dev/clavis/internal/keyring"
)

const keysUsage = `Usage:
  clavis keys rotate-jwt [flags]   add a new JWT signing key; running servers switch to it within 30 s

Tokens signed by the previous keys stay valid until they expire, and JWKS lists them.
`

func keysCommand(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "rotate-jwt" {
		fmt.Fprint(stderr, keysUsage)
		return errUsage
	}
	fs := flag.NewFlagSet("clavis keys rotate-jwt", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dataDir := fs.String("data-dir", envOr("CLAVIS_DATA_DIR", "./clavis-data"), "data directory of the server")
	database := fs.String("database", envOr("CLAVIS_DATABASE", ""), "database (default sqlite:<data-dir>/clavis.db)")
	rootKey := fs.String("root-key", envOr("CLAVIS_ROOT_KEY", ""), "root key provider (default file:<data-dir>/root.key)")
	if err := fs.Parse(args[1:]); err != nil {
		return errUsage
	}
	eng, closeAll, err := openOperatorEngine(ctx, *dataDir, *database, *rootKey)
	if err != nil {
		return err
	}
	defer closeAll()
	fmt.Fprintln(stderr, "rotating the JWT signing key…")
	kid, err := eng.RotateSigningKey(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "new signing key %s is current; servers pick it up within 30 s\n", kid)
	return nil
}

// openOperatorEngine opens an existing database with its root key for an operator command.
func openOperatorEngine(ctx context.Context, dataDir, database, rootKey string) (*engine.Engine, func(), error) {
	if database == "" {
		database = "sqlite:" + filepath.Join(dataDir, "clavis.db")
	}
	if rootKey == "" {
		rootKey = "file:" + filepath.Join(dataDir, "root.key")
	}
	if p, ok := strings.CutPrefix(database, "sqlite:"); ok {
		if _, err := os.Stat(p); err != nil {
			return nil, nil, fmt.Errorf("no database at %s: %w", p, err)
		}
	}
	st, err := openStore(ctx, database)
	if err != nil {
		return nil, nil, err
	}
	root, err := openRootKey(rootKey, false)
	if err != nil {
		st.Close()
		return nil, nil, err
	}
	closeRoot := func() {
		if c, ok := root.(io.Closer); ok {
			c.Close()
		}
	}
	eng, err := engine.New(ctx, st, keyring.New(root, keyring.Options{}), engine.Config{
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		closeRoot()
		st.Close()
		return nil, nil, fmt.Errorf("opening the server keys (right root key?): %w", err)
	}
	return eng, func() { eng.Close(); closeRoot(); st.Close() }, nil
}
