package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"clavis.dev/clavis"
	"clavis.dev/clavis/internal/engine"
	"clavis.dev/clavis/internal/keyring"
)

const auditUsage = `Usage:
  clavis audit verify [flags]   verify every org's audit hash chain offline, from its first event

Reads the database directly (the server may keep running) with the root key, which unwraps the audit
key. Exit status 0: every chain intact; 1: a chain is broken (the first broken event is named); 2: error.
`

var errChainBroken = errors.New("audit chain broken")

func auditCommand(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "verify" {
		fmt.Fprint(stderr, auditUsage)
		return errUsage
	}
	fs := flag.NewFlagSet("clavis audit verify", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dataDir := fs.String("data-dir", envOr("CLAVIS_DATA_DIR", "./clavis-data"), "data directory of the server")
	database := fs.String("database", envOr("CLAVIS_DATABASE", ""), "database (default sqlite:<data-dir>/clavis.db)")
	rootKey := fs.String("root-key", envOr("CLAVIS_ROOT_KEY", ""), "root key provider (default file:<data-dir>/root.key)")
	if err := fs.Parse(args[1:]); err != nil {
		return errUsage
	}
	if *database == "" {
		*database = "sqlite:" + filepath.Join(*dataDir, "clavis.db")
	}
	if *rootKey == "" {
		*rootKey = "file:" + filepath.Join(*dataDir, "root.key")
	}
	if p, ok := strings.CutPrefix(*database, "sqlite:"); ok {
		if _, err := os.Stat(p); err != nil {
			return fmt.Errorf("no database at %s: %w", p, err)
		}
	}
	st, err := openStore(ctx, *database)
	if err != nil {
		return err
	}
	defer st.Close()
	root, err := openRootKey(*rootKey, false)
	if err != nil {
		return err
	}
	if c, ok := root.(io.Closer); ok {
		defer c.Close()
	}
	eng, err := engine.New(ctx, st, keyring.New(root, keyring.Options{}), engine.Config{
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		return fmt.Errorf("opening the audit key: %w", err)
	}
	defer eng.Close()
	events := 0
	ok, err := eng.VerifyAllChains(ctx, func(i, n int, org string, r clavis.AuditVerification) {
		events += r.Checked
		status := "ok"
		if !r.Valid {
			status = "BROKEN at event " + r.BrokenAt
		}
		fmt.Fprintf(stderr, "[%d/%d] org %s: %d events checked, %d verified: %s\n", i, n, org, r.Checked, r.Verified, status)
	})
	if err != nil {
		return err
	}
	if !ok {
		fmt.Fprintln(stdout, "audit verify: a chain is BROKEN")
		return errChainBroken
	}
	fmt.Fprintf(stdout, "audit verify: every chain intact (%d events)\n", events)
	return nil
}

func envOr(name, def string) string {
	if v, ok := os.LookupEnv(name); ok {
		return v
	}
	return def
}
