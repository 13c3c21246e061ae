package cli

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"os/exec"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"
)

// Exit codes of `run` for its own failures before the child starts (docs/cli.md §3).
const (
	exitRunClavis        = 125
	exitRunNotExecutable = 126
	exitRunNotFound      = 127
)

type runOptions struct {
	loadOptions
	watch      bool
	interval   time.Duration
	grace      time.Duration
	noOverride bool
	command    string
}

// runCmd runs a command with the secrets in its environment (docs/cli.md §3): executed directly (no
// shell unless --command), in its own process group to which SIGINT, SIGTERM and SIGHUP are forwarded
// (on a terminal, in clavis's foreground group, signals forwarded to the child alone); clavis exits with
// the child's code (128+signal when it was killed by a signal).
func (a *app) runCmd() *cobra.Command {
	var o runOptions
	c := &cobra.Command{
		Use:   "run [flags] -- CMD [ARGS…]",
		Short: "run a command with secrets in its environment",
		Long: `Run CMD with one environment variable per secret you may read under --prefix (or each --path): the path
relative to the prefix, upper-cased, other characters as _ (api-keys/openai → API_KEYS_OPENAI); an
env_bundle secret gives each of its KEY=VALUE lines. Credential variables (CLAVIS_TOKEN, CLAVIS_API_KEY,
ONECLAW_*TOKEN, ONECLAW_*API_KEY) are removed. CMD is executed directly; --command runs a shell line.
Exit code: the child's (128+signal if killed); 125 clavis failed, 126 not executable, 127 not found.
With --watch, the child is restarted (SIGTERM, then SIGKILL after --grace) when a secret's version changes.`,
		Example: "  clavis run --prefix app/ -- ./server --port 8080\n  clavis run --command 'env | grep API_' \n  clavis run --watch --interval 30s -- node app.js",
		RunE: func(c *cobra.Command, args []string) error {
			if len(args) == 0 && o.command == "" {
				return &exitError{code: exitRunClavis, err: errors.New("run: no command: clavis run -- CMD [ARGS…]")}
			}
			if len(args) > 0 && o.command != "" {
				return &exitError{code: exitRunClavis, err: errors.New("run: give either --command or -- CMD, not both")}
			}
			if o.command != "" {
				args = []string{"/bin/sh", "-c", o.command}
			}
			code, err := a.run(c.Context(), c, o, args)
			if err != nil {
				return err
			}
			a.code = code
			return nil
		},
	}
	f := c.Flags()
	f.SetInterspersed(false)
	f.StringVar(&o.Prefix, "prefix", "", "secrets under this path prefix (default: the link file's prefix, else all)")
	f.StringArrayVar(&o.Paths, "path", nil, "only this secret (repeatable)")
	f.StringArrayVar(&o.AllowEnv, "allow-env", nil, "accept this otherwise refused variable name (repeatable)")
	f.BoolVar(&o.watch, "watch", false, "restart the command when a secret changes")
	f.DurationVar(&o.interval, "interval", 10*time.Second, "--watch polling interval")
	f.DurationVar(&o.grace, "grace", 10*time.Second, "--watch: time between SIGTERM and SIGKILL")
	f.BoolVar(&o.noOverride, "no-override", false, "keep an inherited variable over a secret of the same name")
	f.StringVar(&o.command, "command", "", "run this shell command line (sh -c) instead of CMD")
	return c
}

// runFail wraps an error of run before the child starts as exit 125.
func runFail(err error) error {
	return &exitError{code: exitRunClavis, err: err}
}

func (a *app) run(ctx context.Context, c *cobra.Command, o runOptions, args []string) (int, error) {
	s, err := a.resolve(true)
	if err != nil {
		return 0, runFail(err)
	}
	vault, err := s.vaultID()
	if err != nil {
		return 0, runFail(err)
	}
	if !c.Flags().Changed("prefix") {
		o.Prefix = s.Prefix
	}
	o.Note = a.msg
	bin, err := exec.LookPath(args[0])
	if err != nil {
		if errors.Is(err, fs.ErrPermission) {
			return 0, &exitError{code: exitRunNotExecutable, err: fmt.Errorf("run: %s: not executable", args[0])}
		}
		return 0, &exitError{code: exitRunNotFound, err: fmt.Errorf("run: %s: command not found", args[0])}
	}
	set, err := loadSecrets(ctx, s.C, vault, o.loadOptions)
	if err != nil {
		return 0, runFail(err)
	}
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	defer signal.Stop(sigs)
	var tick <-chan time.Time
	if o.watch {
		t := time.NewTicker(o.interval)
		defer t.Stop()
		tick = t.C
	}
	for {
		cmd := exec.Command(bin, args[1:]...) // #nosec G204 -- the user's own command line (clavis run -- cmd); no shell
		cmd.Args[0] = args[0]
		cmd.Env = childEnv(a.io.Environ(), set.Vars, o.noOverride)
		cmd.Stdin, cmd.Stdout, cmd.Stderr = a.io.In, a.io.Out, a.io.Err
		// Off a terminal the child gets its own process group, to which signals are forwarded. On a
		// terminal it stays in ours, the foreground group, so that it may read the terminal (a child in
		// another group would be stopped by SIGTTIN); signals then go to it alone.
		if !a.io.Interactive {
			cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		}
		if err := cmd.Start(); err != nil {
			if errors.Is(err, fs.ErrPermission) {
				return 0, &exitError{code: exitRunNotExecutable, err: fmt.Errorf("run: %v", err)}
			}
			return 0, runFail(fmt.Errorf("run: %v", err))
		}
		target := -cmd.Process.Pid
		if a.io.Interactive {
			target = cmd.Process.Pid
		}
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		restart := false
		for !restart {
			select {
			case err := <-done:
				return childCode(cmd, err), nil
			case sig := <-sigs:
				_ = syscall.Kill(target, sig.(syscall.Signal))
			case <-tick:
				now, err := versions(ctx, s.C, vault, o.loadOptions)
				if err != nil {
					a.msg("clavis run: checking for changes: %v", err)
					continue
				}
				if maps.Equal(now, set.Versions) {
					continue
				}
				next, err := loadSecrets(ctx, s.C, vault, o.loadOptions)
				if err != nil {
					a.msg("clavis run: reloading secrets: %v (keeping the running command)", err)
					continue
				}
				set = next
				restart = true
			}
		}
		a.msg("clavis run: secrets changed; restarting %s", args[0])
		_ = syscall.Kill(target, syscall.SIGTERM)
		timer := time.NewTimer(o.grace)
	wait:
		for {
			select {
			case <-done:
				break wait
			case sig := <-sigs:
				// A signal during a restart ends the run.
				_ = syscall.Kill(target, syscall.SIGKILL)
				<-done
				timer.Stop()
				return 128 + int(sig.(syscall.Signal)), nil
			case <-timer.C:
				_ = syscall.Kill(target, syscall.SIGKILL)
			}
		}
		timer.Stop()
	}
}

// childCode is the exit code of a finished child: its own, or 128+signal when a signal killed it.
func childCode(cmd *exec.Cmd, err error) int {
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	if err != nil && cmd.ProcessState == nil {
		return exitRunClavis
	}
	return cmd.ProcessState.ExitCode()
}
