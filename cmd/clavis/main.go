// Command clavis is the Clavis secrets vault: `clavis server` runs the HTTP API. It is the only place
// that knows the concrete store and root-key implementations; it wires them by hand.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/debug"

	"golang.org/x/term"

	"clavis.dev/clavis/internal/cli"
)

// version and commit are stamped at build time (make release: -ldflags "-X main.version=… -X
// main.commit=…"); an unstamped build reports the VCS revision Go recorded, if any.
var (
	version = "0.1.0"
	commit  = ""
)

const usage = `Clavis — a self-hosted secrets vault for AI agents.

Usage:
  clavis server [flags]                 run the HTTP API server (migrates the schema on start)
  clavis migrate [flags]                bring the database schema to this binary's version
  clavis audit verify [flags]           verify the audit hash chains offline
  clavis keys rotate-jwt [flags]        add a new JWT signing key (old tokens stay valid until they expire)
  clavis keys rotate-vault --vault ID   add a new key version to a vault (--rewrap: re-encrypt older versions)
  clavis keys rewrap --vault ID         re-encrypt a vault's older versions under its current key
  clavis keys rotate-root --new-root-key SPEC   rewrap every key under a new root key
  clavis backup --out FILE              write a consistent online snapshot of the embedded database
  clavis restore --in FILE [--force]    install a backup as the database of a stopped server
  clavis version                        print the version and the commit it was built from
  clavis help                           show this help

Each command's flags: clavis COMMAND -h. Every command reads its settings the same way: a flag beats the
environment variable CLAVIS_<FLAG> (--data-dir is CLAVIS_DATA_DIR), which beats the JSON config file
named by --config or CLAVIS_CONFIG, which beats the default; boolean values are 1/0, true/false or
yes/no. Operator commands (migrate, audit, keys, backup, restore) take the server's config file and ignore
the server settings they do not use. Their one-off arguments (--vault, --out, --in, --force, --rewrap,
--new-root-key) come from the command line only. Only server and migrate change the schema; the other
commands stop and name clavis migrate when the database's schema is older than this binary's.
`

// main runs the client command tree of internal/cli, with the operator commands mounted in it: they keep
// their own flag parsing and the one settings loader (config.go) through run.
func main() {
	ctx := context.Background()
	if len(os.Args) > 1 && os.Args[1] == "--version" {
		os.Exit(operatorExit(run(ctx, os.Args[1:], os.Stdout, os.Stderr), os.Stderr))
	}
	stdio := cli.IO{In: os.Stdin, Out: os.Stdout, Err: os.Stderr, Interactive: term.IsTerminal(int(os.Stdin.Fd()))}
	os.Exit(cli.Main(ctx, os.Args[1:], stdio, operators()))
}

// operators mounts each operator command of run in the cobra tree.
func operators() []cli.Operator {
	short := []struct{ name, short string }{
		{"server", "run the HTTP API server (migrates the schema on start)"},
		{"migrate", "bring the database schema to this binary's version"},
		{"audit", "verify the audit hash chains offline (audit verify)"},
		{"keys", "rotate-jwt, rotate-vault, rewrap, rotate-root: key management on the database"},
		{"backup", "write a consistent online snapshot of the embedded database"},
		{"restore", "install a backup as the database of a stopped server"},
		{"mcp", "serve the MCP tools over stdio through the client (see docs/mcp.md)"},
		{"version", "print the version and the commit it was built from"},
	}
	ops := make([]cli.Operator, len(short))
	for i, s := range short {
		name := s.name
		ops[i] = cli.Operator{Name: name, Short: s.short, Run: func(ctx context.Context, args []string, stdout, stderr io.Writer) int {
			return operatorExit(run(ctx, append([]string{name}, args...), stdout, stderr), stderr)
		}}
	}
	return ops
}

// operatorExit prints an operator command's error and returns its exit code: 0, 1 for a broken audit
// chain, else 2.
func operatorExit(err error, stderr io.Writer) int {
	if err == nil {
		return 0
	}
	if errors.Is(err, errChainBroken) {
		return 1
	}
	if !errors.Is(err, errUsage) {
		fmt.Fprintln(stderr, "clavis:", err)
	}
	return 2
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
	case "migrate":
		return migrateCommand(ctx, args[1:], stdout, stderr)
	case "audit":
		return auditCommand(ctx, args[1:], stdout, stderr)
	case "keys":
		return keysCommand(ctx, args[1:], stdout, stderr)
	case "backup":
		return backupCommand(ctx, args[1:], stdout, stderr)
	case "restore":
		return restoreCommand(ctx, args[1:], stdout, stderr)
	case "mcp":
		return mcpCommand(ctx, args[1:], stderr)
	case "version", "--version":
		fmt.Fprintf(stdout, "clavis %s (commit %s, %s)\n", version, buildCommit(), runtime.Version())
		return nil
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprintf(stderr, "clavis: unknown command %q\n\n%s", args[0], usage)
	return errUsage
}

// buildCommit is the stamped commit, else the VCS revision recorded by go build, else "unknown".
func buildCommit() string {
	if commit != "" {
		return commit
	}
	if info, ok := debug.ReadBuildInfo(); ok {
		rev, dirty := "", false
		for _, kv := range info.Settings {
			switch kv.Key {
			case "vcs.revision":
				rev = kv.Value
			case "vcs.modified":
				dirty = kv.Value == "true"
			}
		}
		if rev != "" {
			if dirty {
				rev += "-dirty"
			}
			return rev
		}
	}
	return "unknown"
}
