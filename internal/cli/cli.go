// Package cli is the client command line of Clavis (docs/cli.md): cobra commands over package client.
// It is a transport: it speaks the root package's interfaces over HTTP and holds no rules of its own.
//
// # Exit codes
//
// Main returns 0 on success; 1 for a local error (bad flag, file, config); 2 when the server refused (a
// problem other than 401; its detail goes to stderr); 3 when not logged in or on a 401. `run` has its own
// codes (125/126/127 before the child starts, else the child's). Data goes to stdout, messages to stderr.
package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"clavis.dev/clavis"
)

// Exit codes of docs/cli.md §1.
const (
	ExitOK       = 0
	ExitLocal    = 1
	ExitServer   = 2
	ExitNotAuthn = 3
	// ExitInterrupted: the command was stopped by SIGINT or SIGTERM (128 + SIGINT, as shells report it).
	ExitInterrupted = 130
)

// Operator is a command of the operator tree (server, migrate, keys …) that keeps its own flag parsing:
// Run receives the arguments after the command name and returns the process exit code, having printed
// its own errors.
type Operator struct {
	Name, Short string
	Run         func(ctx context.Context, args []string, stdout, stderr io.Writer) int
}

// IO is the process's standard streams and environment; tests substitute them.
type IO struct {
	In          io.Reader
	Out, Err    io.Writer
	Getenv      func(string) string
	Environ     func() []string
	Interactive bool // stdin is a terminal: prompts may be shown
}

// exitError carries an exit code chosen by a command.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

// localErr marks err as a local failure (exit 1).
func localErr(format string, a ...any) error {
	return &exitError{code: ExitLocal, err: fmt.Errorf(format, a...)}
}

// errNotLoggedIn is returned when no credential is found (exit 3).
var errNotLoggedIn = &exitError{code: ExitNotAuthn, err: errors.New("not logged in: run `clavis login` or set CLAVIS_TOKEN / CLAVIS_API_KEY")}

// ExitCode maps an error of a command to its exit code (docs/cli.md §1).
func ExitCode(err error) int {
	if err == nil {
		return ExitOK
	}
	var ee *exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	var ce *clavis.Error
	if errors.As(err, &ce) {
		if ce.Kind == clavis.KindUnauthorized {
			return ExitNotAuthn
		}
		return ExitServer
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		return ExitLocal
	}
	return ExitLocal
}

// Main runs the command line args (without the program name) and returns the exit code.
func Main(ctx context.Context, args []string, stdio IO, ops []Operator) int {
	if stdio.Getenv == nil {
		stdio.Getenv = os.Getenv
	}
	if stdio.Environ == nil {
		stdio.Environ = os.Environ
	}
	a := &app{io: stdio}
	root := a.root(ops)
	root.SetArgs(args)
	root.SetIn(stdio.In)
	root.SetOut(stdio.Out)
	root.SetErr(stdio.Err)
	// Ctrl-C (or SIGTERM) ends a client command cleanly: its context is cancelled, requests in flight are
	// abandoned, nothing half-written is left (files are written by rename), and the exit code is 130.
	// `run` forwards signals to its child itself, and the operator commands handle their own.
	interrupted := func() bool { return false }
	if cmd, _, err := root.Find(args); err == nil && cmd.Name() != "run" && !cmd.DisableFlagParsing {
		sctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
		defer stop()
		parent := ctx
		interrupted = func() bool { return sctx.Err() != nil && parent.Err() == nil }
		ctx = sctx
	}
	err := root.ExecuteContext(ctx)
	if a.opCode >= 0 && a.opRan {
		return a.opCode
	}
	if err != nil && interrupted() {
		fmt.Fprintln(stdio.Err, "clavis: interrupted")
		return ExitInterrupted
	}
	if err != nil {
		msg := err.Error()
		if ce, ok := err.(*clavis.Error); ok && ce.Message != "" {
			msg = ce.Message // the problem's detail
			if ce.Kind == clavis.KindApprovalRequired && ce.ApprovalID != "" {
				msg += " (approval " + ce.ApprovalID + " is pending: `clavis approval approve " + ce.ApprovalID + "`)"
			}
		}
		var ee *exitError
		if !errors.As(err, &ee) || ee.err.Error() != "" {
			fmt.Fprintln(stdio.Err, "clavis:", msg)
		}
		return ExitCode(err)
	}
	return a.code
}

// app holds the state of one invocation: global flags and the resolved session.
type app struct {
	io     IO
	g      globals
	opRan  bool
	opCode int
	in     *bufio.Reader
	code   int // exit code of a command that succeeded with a code of its own (run)
}

// globals are the persistent flags of docs/cli.md §1.
type globals struct {
	url, vault, profile, output string
	json, quiet, noColor        bool
	noKeyring                   bool
}

func (a *app) root(ops []Operator) *cobra.Command {
	root := &cobra.Command{
		Use:   "clavis",
		Short: "Clavis — a self-hosted secrets vault for AI agents",
		Long: `Clavis — a self-hosted secrets vault for AI agents.

The client commands talk to a Clavis server over HTTP; the operator commands (server, migrate, audit verify,
keys, backup, restore) act on the server's own database. Exit codes: 0 ok, 1 local error, 2 the server
refused, 3 not logged in (or 401).`,
		Example:       "  clavis login --url https://vault.example.com --email me@example.com\n  clavis secret set api/openai < key.txt\n  clavis run -- ./app",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.CompletionOptions.HiddenDefaultCmd = false
	pf := root.PersistentFlags()
	pf.StringVar(&a.g.url, "url", "", "server URL (env CLAVIS_URL, ONECLAW_API_URL, ONECLAW_BASE_URL)")
	pf.StringVar(&a.g.vault, "vault", "", "vault id (env CLAVIS_VAULT_ID, ONECLAW_VAULT_ID, or .clavis.json)")
	pf.StringVar(&a.g.profile, "profile", "", "profile name (env CLAVIS_PROFILE, default \"default\")")
	pf.StringVarP(&a.g.output, "output", "o", "", "output format: table, json or yaml")
	pf.BoolVar(&a.g.json, "json", false, "same as -o json")
	pf.BoolVarP(&a.g.quiet, "quiet", "q", false, "print no messages on stderr")
	pf.BoolVar(&a.g.noColor, "no-color", false, "no colours (also NO_COLOR)")
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return &exitError{code: ExitLocal, err: err}
	})
	root.AddCommand(a.loginCmd(), a.logoutCmd(), a.whoamiCmd(), a.linkCmd(), a.unlinkCmd(),
		a.vaultCmd(), a.secretCmd(), a.runCmd(), a.exportCmd(), a.importCmd(), a.agentCmd(), a.policyCmd(), a.approvalCmd(),
		a.enrollmentCmd(), a.configCmd(), a.mfaCmd(), a.shareCmd(), a.orgCmd())
	for _, op := range ops {
		op := op
		root.AddCommand(&cobra.Command{
			Use:                op.Name + " [flags]",
			Short:              op.Short,
			Example:            "  clavis " + op.Name + " -h",
			DisableFlagParsing: true,
			GroupID:            "",
			RunE: func(c *cobra.Command, args []string) error {
				if op.Name == "audit" && len(args) > 0 && args[0] == "list" {
					l := a.auditListCmd()
					l.SetArgs(args[1:])
					l.SetOut(a.io.Out)
					l.SetErr(a.io.Err)
					return l.ExecuteContext(c.Context())
				}
				a.opRan = true
				a.opCode = op.Run(c.Context(), args, a.io.Out, a.io.Err)
				return nil
			},
		})
	}
	a.addHelpExamples(root)
	return root
}

// addHelpExamples gives cobra's generated commands (completion, help) an example.
func (a *app) addHelpExamples(root *cobra.Command) {
	root.InitDefaultCompletionCmd()
	root.InitDefaultHelpCmd()
	for _, c := range root.Commands() {
		switch c.Name() {
		case "completion":
			c.Example = "  source <(clavis completion bash)\n  clavis completion zsh > \"${fpath[1]}/_clavis\""
			for _, s := range c.Commands() {
				s.Example = "  clavis completion " + s.Name()
			}
		case "help":
			c.Example = "  clavis help secret set"
		}
	}
}
