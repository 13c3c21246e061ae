// Command clavis is the Clavis secrets vault: `clavis server` runs the HTTP API. It is the only place
// that knows the concrete store and root-key implementations; it wires them by hand.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
)

// version is the server version reported by /v1/health (overridden at build time with -ldflags -X).
var version = "0.1.0"

const usage = `Clavis — a self-hosted secrets vault for AI agents.

Usage:
  clavis server [flags]   run the HTTP API server (clavis server -h lists the flags)
  clavis audit verify     verify the audit hash chains offline (clavis audit verify -h)
  clavis keys rotate-jwt  add a new JWT signing key (old tokens stay valid until they expire)
  clavis backup --out F   write a consistent online snapshot of the embedded database
  clavis restore --in F   install a backup as the database of a stopped server
  clavis version          print the version
  clavis help             show this help

Every server flag can also be set with an environment variable: --data-dir is CLAVIS_DATA_DIR, and so on.
Flags take precedence over the environment.
`

func main() {
	if err := run(context.Background(), os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if errors.Is(err, errChainBroken) {
			os.Exit(1)
		}
		if !errors.Is(err, errUsage) {
			fmt.Fprintln(os.Stderr, "clavis:", err)
		}
		os.Exit(2)
	}
}

var errUsage = errors.New("usage")

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return errUsage
	}
	switch args[0] {
	case "server":
		return serverCommand(ctx, args[1:], stdout, stderr)
	case "audit":
		return auditCommand(ctx, args[1:], stdout, stderr)
	case "keys":
		return keysCommand(ctx, args[1:], stdout, stderr)
	case "backup":
		return backupCommand(ctx, args[1:], stdout, stderr)
	case "restore":
		return restoreCommand(ctx, args[1:], stdout, stderr)
	case "version", "--version":
		fmt.Fprintln(stdout, "clavis", version)
		return nil
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprintf(stderr, "clavis: unknown command %q\n\n%s", args[0], usage)
	return errUsage
}
