package main

import (
	"context"
	"fmt"
	"io"

	"clavis.dev/clavis/internal/audit"
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

func keysCommand(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, keysUsage)
		return errUsage
	}
	cmd := args[0]
	switch cmd {
	case "rotate-jwt", "rotate-vault", "rewrap", "rotate-root":
	default:
		fmt.Fprint(stderr, keysUsage)
		return errUsage
	}
	s, err := newSettings("clavis keys "+cmd, args[1:], stderr)
	if err != nil {
		return err
	}
	sc := declareStoreSettings(s, true)
	fs := s.fs
	vault := fs.String("vault", "", "vault id (rotate-vault, rewrap)")
	rewrap := fs.Bool("rewrap", false, "rotate-vault: also re-encrypt the older versions at once")
	sinkSpec := fs.String("audit-sink", s.env("audit-sink", ""), "also record the operator action as a JSON line: stdout | file:<path>")
	newRootKey := fs.String("new-root-key", "", "rotate-root: the new root key provider, file:<path> (created if missing) or pkcs11:…")
	if err := s.parse(args[1:], serverSettingNames()); err != nil {
		return err
	}
	if cmd == "rotate-root" && *newRootKey == "" {
		fmt.Fprintln(stderr, "clavis keys rotate-root: --new-root-key SPEC is required")
		return errUsage
	}
	if (cmd == "rotate-vault" || cmd == "rewrap") && *vault == "" {
		fmt.Fprintf(stderr, "clavis keys %s: --vault ID is required\n", cmd)
		return errUsage
	}
	var next keyring.RootKey
	if cmd == "rotate-root" {
		// Check the database before creating a new root key file for it.
		sc.resolve()
		st, err := openCurrentStore(ctx, sc.database)
		if err != nil {
			return err
		}
		st.Close()
		if next, err = openRootKey(*newRootKey, true); err != nil {
			return err
		}
		if c, ok := next.(io.Closer); ok {
			defer c.Close()
		}
	}
	var sink audit.Sink
	if *sinkSpec != "" {
		s, closer, err := audit.OpenSink(*sinkSpec)
		if err != nil {
			return fmt.Errorf("--audit-sink: %w", err)
		}
		defer closer.Close()
		sink = s
	}
	eng, closeAll, err := openOperatorEngine(ctx, sc, next, sink)
	if err != nil {
		return err
	}
	defer closeAll()
	switch cmd {
	case "rotate-root":
		fmt.Fprintf(stderr, "rewrapping every key under root key %s…\n", next.ID())
		moved, err := eng.RotateRoot(ctx, keyring.New(next, keyring.Options{}), func(done, total int) {
			if done == total || done%100 == 0 {
				fmt.Fprintf(stderr, "checked %d/%d wrapped keys\n", done, total)
			}
		})
		if err != nil {
			return fmt.Errorf("rotate-root stopped after %d keys (run it again to resume): %w", moved, err)
		}
		fmt.Fprintf(stdout, "%d keys rewrapped under root key %s; restart the servers with --root-key %s only\n", moved, next.ID(), *newRootKey)
		return nil
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
