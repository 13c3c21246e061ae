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
  clavis keys rotate-jwt [flags]              add a new JWT signing key; running servers switch to it within 30 s
  clavis keys rotate-vault --vault ID [flags] add a new key version to a vault; new writes use it at once
  clavis keys rewrap --vault ID [flags]       re-encrypt a vault's older versions under its current key

Tokens signed by previous JWT keys stay valid until they expire, and JWKS lists them. Values sealed under
older vault key versions keep opening until rewrapped. Every command takes --data-dir, --database and
--root-key like clavis server, and works while servers run.
`

func keysCommand(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, keysUsage)
		return errUsage
	}
	cmd := args[0]
	switch cmd {
	case "rotate-jwt", "rotate-vault", "rewrap":
	default:
		fmt.Fprint(stderr, keysUsage)
		return errUsage
	}
	fs := flag.NewFlagSet("clavis keys "+cmd, flag.ContinueOnError)
	fs.SetOutput(stderr)
	dataDir := fs.String("data-dir", envOr("CLAVIS_DATA_DIR", "./clavis-data"), "data directory of the server")
	database := fs.String("database", envOr("CLAVIS_DATABASE", ""), "database (default sqlite:<data-dir>/clavis.db)")
	rootKey := fs.String("root-key", envOr("CLAVIS_ROOT_KEY", ""), "root key provider (default file:<data-dir>/root.key)")
	vault := fs.String("vault", "", "vault id (rotate-vault, rewrap)")
	rewrap := fs.Bool("rewrap", false, "rotate-vault: also re-encrypt the older versions at once")
	if err := fs.Parse(args[1:]); err != nil {
		return errUsage
	}
	if cmd != "rotate-jwt" && *vault == "" {
		fmt.Fprintf(stderr, "clavis keys %s: --vault ID is required\n", cmd)
		return errUsage
	}
	eng, closeAll, err := openOperatorEngine(ctx, *dataDir, *database, *rootKey)
	if err != nil {
		return err
	}
	defer closeAll()
	switch cmd {
	case "rotate-jwt":
		fmt.Fprintln(stderr, "rotating the JWT signing key…")
		kid, err := eng.RotateSigningKey(ctx)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "new signing key %s is current; servers pick it up within 30 s\n", kid)
		return nil
	case "rotate-vault":
		kv, err := eng.RotateVaultKey(ctx, *vault)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "vault %s: key version %d is current\n", *vault, kv)
		if !*rewrap {
			return nil
		}
	}
	n, err := eng.RewrapVault(ctx, *vault, func(done, total int) {
		if done == total || done%100 == 0 {
			fmt.Fprintf(stderr, "rewrapped %d/%d versions\n", done, total)
		}
	})
	if err != nil {
		return fmt.Errorf("rewrap stopped after %d versions: %w", n, err)
	}
	fmt.Fprintf(stdout, "vault %s: %d versions re-encrypted under the current key\n", *vault, n)
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
