package main

import (
	"context"
	"fmt"
	"io"

	"clavis.dev/clavis/internal/audit"
	"clavis.dev/clavis/internal/engine"
	"clavis.dev/clavis/internal/keyring"
)

const keysUsage = `Usage:
  clavis keys rotate-jwt [flags]              add a new JWT signing key; running servers switch to it within 30 s
  clavis keys rotate-vault --vault ID [flags] add a new key version to a vault; new writes use it at once
  clavis keys rewrap --vault ID [flags]       re-encrypt a vault's older versions under its current key
  clavis keys rotate-root --new-root-key SPEC rewrap every vault key and server key under a new root key
                                              (or another provider: file → pkcs11)

Tokens signed by previous JWT keys stay valid until they expire, and JWKS lists them. Values sealed under
older vault key versions keep opening until rewrapped. Every command takes --data-dir, --database and
--root-key like clavis server (and its --config file and CLAVIS_* variables), and works while servers
run. None migrates the schema or creates the server keys: an older schema asks for clavis migrate.

Root-key rotation without downtime: (1) restart the servers one by one with --root-key NEW
--previous-root-key OLD; (2) run clavis keys rotate-root --root-key OLD --new-root-key NEW (repeatable if
interrupted); (3) restart them with --root-key NEW only, and retire OLD.
`

// keysArgs is the parsed command line of `clavis keys`.
type keysArgs struct {
	cmd        string // rotate-jwt | rotate-vault | rewrap | rotate-root
	store      *storeSettings
	vault      string
	rewrap     bool
	sinkSpec   string
	newRootKey string
}

func keysCommand(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	a, err := parseKeysArgs(args, stderr)
	if err != nil {
		return err
	}
	var next keyring.RootKey
	if a.cmd == "rotate-root" {
		if next, err = openNewRootKey(ctx, a); err != nil {
			return err
		}
		if c, ok := next.(io.Closer); ok {
			defer c.Close()
		}
	}
	var sink audit.Sink
	if a.sinkSpec != "" {
		s, closer, err := audit.OpenSink(a.sinkSpec)
		if err != nil {
			return fmt.Errorf("--audit-sink: %w", err)
		}
		defer closer.Close()
		sink = s
	}
	eng, closeAll, err := openOperatorEngine(ctx, a.store, next, sink)
	if err != nil {
		return err
	}
	defer closeAll()
	switch a.cmd {
	case "rotate-root":
		return rotateRoot(ctx, eng, next, a.newRootKey, stdout, stderr)
	case "rotate-jwt":
		fmt.Fprintln(stderr, "rotating the JWT signing key…")
		kid, err := eng.RotateSigningKey(ctx)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "new signing key %s is current; servers pick it up within 30 s\n", kid)
		return nil
	case "rotate-vault":
		kv, err := eng.RotateVaultKey(ctx, a.vault)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "vault %s: key version %d is current\n", a.vault, kv)
		if !a.rewrap {
			return nil
		}
	}
	return rewrapVault(ctx, eng, a.vault, stdout, stderr)
}

// parseKeysArgs parses the subcommand and its settings; a missing or unknown subcommand or a missing
// required flag prints usage and returns errUsage.
func parseKeysArgs(args []string, stderr io.Writer) (*keysArgs, error) {
	if len(args) == 0 {
		fmt.Fprint(stderr, keysUsage)
		return nil, errUsage
	}
	a := &keysArgs{cmd: args[0]}
	switch a.cmd {
	case "rotate-jwt", "rotate-vault", "rewrap", "rotate-root":
	default:
		fmt.Fprint(stderr, keysUsage)
		return nil, errUsage
	}
	s, err := newSettings("clavis keys "+a.cmd, args[1:], stderr)
	if err != nil {
		return nil, err
	}
	a.store = declareStoreSettings(s, true)
	fs := s.fs
	fs.StringVar(&a.vault, "vault", "", "vault id (rotate-vault, rewrap)")
	fs.BoolVar(&a.rewrap, "rewrap", false, "rotate-vault: also re-encrypt the older versions at once")
	fs.StringVar(&a.sinkSpec, "audit-sink", s.env("audit-sink", ""), "also record the operator action as a JSON line: stdout | file:<path>")
	fs.StringVar(&a.newRootKey, "new-root-key", "", "rotate-root: the new root key provider, file:<path> (created if missing) or pkcs11:…")
	if err := s.parse(args[1:], serverSettingNames()); err != nil {
		return nil, err
	}
	if a.cmd == "rotate-root" && a.newRootKey == "" {
		fmt.Fprintln(stderr, "clavis keys rotate-root: --new-root-key SPEC is required")
		return nil, errUsage
	}
	if (a.cmd == "rotate-vault" || a.cmd == "rewrap") && a.vault == "" {
		fmt.Fprintf(stderr, "clavis keys %s: --vault ID is required\n", a.cmd)
		return nil, errUsage
	}
	return a, nil
}

// openNewRootKey checks that the database is current before opening (and, for a file, creating) the new
// root key of rotate-root. A provider that implements io.Closer is the caller's to close.
func openNewRootKey(ctx context.Context, a *keysArgs) (keyring.RootKey, error) {
	a.store.resolve()
	st, err := openCurrentStore(ctx, a.store.database)
	if err != nil {
		return nil, err
	}
	if err := st.Close(); err != nil {
		return nil, err
	}
	return openRootKey(a.newRootKey, true)
}

// rotateRoot rewraps every key under next, reporting progress on stderr.
func rotateRoot(ctx context.Context, eng *engine.Engine, next keyring.RootKey, spec string, stdout, stderr io.Writer) error {
	fmt.Fprintf(stderr, "rewrapping every key under root key %s…\n", next.ID())
	moved, err := eng.RotateRoot(ctx, keyring.New(next, keyring.Options{}), func(done, total int) {
		if done == total || done%100 == 0 {
			fmt.Fprintf(stderr, "checked %d/%d wrapped keys\n", done, total)
		}
	})
	if err != nil {
		return fmt.Errorf("rotate-root stopped after %d keys (run it again to resume): %w", moved, err)
	}
	fmt.Fprintf(stdout, "%d keys rewrapped under root key %s; restart the servers with --root-key %s only\n", moved, next.ID(), spec)
	return nil
}

// rewrapVault re-encrypts the older versions of vault under its current key, reporting progress on stderr.
func rewrapVault(ctx context.Context, eng *engine.Engine, vault string, stdout, stderr io.Writer) error {
	n, err := eng.RewrapVault(ctx, vault, func(done, total int) {
		if done == total || done%100 == 0 {
			fmt.Fprintf(stderr, "rewrapped %d/%d versions\n", done, total)
		}
	})
	if err != nil {
		return fmt.Errorf("rewrap stopped after %d versions: %w", n, err)
	}
	fmt.Fprintf(stdout, "vault %s: %d versions re-encrypted under the current key\n", vault, n)
	return nil
}
