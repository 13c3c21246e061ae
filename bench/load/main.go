// Command load is Clavis's whole-server load benchmark (see bench/README.md).
//
// In one run on one machine it starts a trivial net/http JSON server (the ceiling: what any Go HTTP server
// on this machine can do at best) and the built `clavis server` (one fresh server and data directory per
// vault size N), sets up an org, a vault with N secrets, an agent and a policy, then measures each
// operation at each client count for a fixed duration after a warm-up, with the same load generator and
// client settings for both servers. It prints a markdown table per repetition, then medians with their
// min–max spread, every Clavis figure as a ratio of the ceiling measured in the same run, and PASS/MISS
// for the targets of the load issue. Missed targets do not change the exit status: it is 0 whenever the
// benchmark ran, 1 when it could not (build, start or setup failed), 2 on bad flags.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// config is the resolved command line.
type config struct {
	clavis       string
	ns           []int
	clients      []int
	duration     time.Duration
	warmup       time.Duration
	reps         int
	database     string
	ops          []string
	out          string
	quick        bool
	setupWorkers int
	keep         bool
	growMB       int
	traceSlow    time.Duration
	cpuProfile   string
}

// settle is the pause between the setup of a server and its first cell.
const settle = 2 * time.Second

// allOps lists the measured Clavis operations in the order they run.
var allOps = []string{"fetch", "token", "write", "list"}

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("load", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		cfg              config
		ns, clients, ops string
		serveCeiling     bool
	)
	fs.StringVar(&cfg.clavis, "clavis", "", "path of the clavis binary (default: go build ./cmd/clavis from the module root into a temp dir)")
	fs.StringVar(&ns, "n", "1000,100000", "comma-separated vault sizes N (secrets per vault); one fresh server per N")
	fs.StringVar(&clients, "clients", "1,16,64", "comma-separated numbers of concurrent clients")
	fs.DurationVar(&cfg.duration, "duration", 5*time.Second, "measured duration of each cell")
	fs.DurationVar(&cfg.warmup, "warmup", time.Second, "warm-up before each cell (not measured)")
	fs.IntVar(&cfg.reps, "reps", 3, "repetitions of the whole grid; the final table shows medians and min–max")
	fs.StringVar(&cfg.database, "database", "", "passed to clavis server --database when set (e.g. postgres://user:pass@host/db)")
	fs.StringVar(&ops, "ops", strings.Join(allOps, ","), "comma-separated operations: fetch, token, write, list")
	fs.StringVar(&cfg.out, "out", "", "also write the results to this file: JSON if it ends in .json, else markdown")
	fs.BoolVar(&cfg.quick, "quick", false, "smoke test: -n 200 -clients 1,4 -duration 1s -warmup 300ms -reps 1 (explicit flags win)")
	fs.IntVar(&cfg.setupWorkers, "setup-workers", 32, "concurrent PUTs used to create the N secrets")
	fs.BoolVar(&cfg.keep, "keep", false, "keep the temp dir (data dirs, server logs) after the run")
	fs.IntVar(&cfg.growMB, "grow-mb", 0, "before the cells, grow each server's database past this many MB with large and small writes (0: off)")
	fs.DurationVar(&cfg.traceSlow, "trace-slow", 0, "list on stderr every request of a window slower than this, with its start time (0: off)")
	fs.StringVar(&cfg.cpuProfile, "cpuprofile", "", "write the clavis server's CPU profile of each cell's measured window into this directory (N<n>-<op>-c<clients>-r<rep>.pprof)")
	fs.BoolVar(&serveCeiling, "serve-ceiling", false, "internal: run the ceiling server (used by the tool itself)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if serveCeiling {
		return ceilingMain(stdout, stderr)
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "load: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	if cfg.quick {
		set := map[string]bool{}
		fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
		if !set["n"] {
			ns = "200"
		}
		if !set["clients"] {
			clients = "1,4"
		}
		if !set["duration"] {
			cfg.duration = time.Second
		}
		if !set["warmup"] {
			cfg.warmup = 300 * time.Millisecond
		}
		if !set["reps"] {
			cfg.reps = 1
		}
	}
	var err error
	if cfg.ns, err = parseInts(ns); err != nil {
		fmt.Fprintf(stderr, "load: -n: %v\n", err)
		return 2
	}
	if cfg.clients, err = parseInts(clients); err != nil {
		fmt.Fprintf(stderr, "load: -clients: %v\n", err)
		return 2
	}
	if cfg.ops, err = parseOps(ops); err != nil {
		fmt.Fprintf(stderr, "load: -ops: %v\n", err)
		return 2
	}
	if cfg.reps < 1 || cfg.duration <= 0 || cfg.warmup < 0 || cfg.setupWorkers < 1 || cfg.growMB < 0 {
		fmt.Fprintln(stderr, "load: -reps and -setup-workers must be ≥ 1, -duration > 0, -warmup and -grow-mb ≥ 0")
		return 2
	}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if err := bench(ctx, cfg, stdout, stderr); err != nil {
		fmt.Fprintf(stderr, "load: %v\n", err)
		return 1
	}
	return 0
}

// bench runs the whole benchmark; an error means it could not run, never that a target was missed.
// It is long on purpose: the benchmark's script read top to bottom (baseline, setup, every cell, report).
func bench(ctx context.Context, cfg config, stdout, stderr io.Writer) (err error) {
	tmp, err := os.MkdirTemp("", "clavis-bench-")
	if err != nil {
		return err
	}
	defer func() {
		if cfg.keep || err != nil {
			fmt.Fprintf(stderr, "load: temp dir kept: %s (server logs: */server.log)\n", tmp)
			return
		}
		if err := os.RemoveAll(tmp); err != nil {
			fmt.Fprintf(stderr, "load: removing temp dir: %v\n", err)
		}
	}()

	if cfg.clavis == "" {
		if cfg.clavis, err = buildClavis(ctx, tmp, stderr); err != nil {
			return err
		}
	}
	self, err := os.Executable()
	if err != nil {
		return fmt.Errorf("locating own executable for the ceiling server: %w", err)
	}

	run := &runResult{
		Started:  time.Now().UTC(),
		Config:   jsonConfig(cfg),
		Machine:  machineInfo(),
		Database: databaseLabel(cfg.database),
	}
	cells := len(cfg.clients) * (1 + len(cfg.ns)*len(cfg.ops)) * cfg.reps
	fmt.Fprintf(stderr, "load: %d cells × (%v warm-up + %v) ≈ %v of measurement, plus setup\n",
		cells, cfg.warmup, cfg.duration, (time.Duration(cells) * (cfg.warmup + cfg.duration)).Round(time.Second))

	ceiling, err := startChild(ctx, "ceiling", self, []string{"-serve-ceiling"}, filepath.Join(tmp, "ceiling"))
	if err != nil {
		return fmt.Errorf("starting the ceiling server: %w", err)
	}
	defer ceiling.stop()

	type target struct {
		n     int
		srv   *child
		fx    *fixture
		pprof string // the server's --pprof-listen address; "" without -cpuprofile
	}
	var targets []target
	defer func() {
		for _, t := range targets {
			t.srv.stop()
		}
	}()
	for _, n := range cfg.ns {
		dir := filepath.Join(tmp, fmt.Sprintf("n%d", n))
		args := []string{"server", "--dev", "--listen", "127.0.0.1:0", "--data-dir", dir, "--signup", "open", "--rate-limits", "off"}
		if cfg.database != "" {
			args = append(args, "--database", cfg.database)
		}
		pprofAddr := ""
		if cfg.cpuProfile != "" {
			if pprofAddr, err = freeLoopbackAddr(); err != nil {
				return fmt.Errorf("-cpuprofile: %w", err)
			}
			args = append(args, "--pprof-listen", pprofAddr)
		}
		srv, err := startChild(ctx, fmt.Sprintf("clavis N=%d", n), cfg.clavis, args, dir)
		if err != nil {
			return fmt.Errorf("starting clavis for N=%d: %w", n, err)
		}
		if f := dbFileFor(cfg.database, dir); f != "" {
			srv.walFile = f + "-wal"
		}
		targets = append(targets, target{n: n, srv: srv, pprof: pprofAddr})
		t0 := time.Now()
		fx, err := setupFixture(ctx, srv.base, n, cfg.setupWorkers, stderr)
		if err != nil {
			return fmt.Errorf("setup N=%d: %w (server log: %s)", n, err, srv.logPath)
		}
		targets[len(targets)-1].fx = fx
		setup := time.Since(t0)
		if cfg.growMB > 0 {
			g, err := grow(ctx, fx, dbFileFor(cfg.database, dir), cfg.growMB, cfg.setupWorkers, stderr)
			if err != nil {
				return fmt.Errorf("server with N=%d: %w (server log: %s)", n, err, srv.logPath)
			}
			run.Grows = append(run.Grows, g)
		}
		sleep(ctx, settle) // let the server finish what seeding left behind (GC, WAL checkpoint) before cells
		hwm, _ := procKiB(srv.pid(), "VmHWM")
		run.Setups = append(run.Setups, setupInfo{N: n, Seconds: setup.Seconds(), PerSecond: float64(n) / setup.Seconds(), HWMMiB: kibToMiB(hwm)})
		fmt.Fprintf(stderr, "load: N=%d ready in %v (%.0f PUT/s, server peak RSS so far %.0f MiB)\n",
			n, setup.Round(100*time.Millisecond), float64(n)/setup.Seconds(), kibToMiB(hwm))
	}

	for rep := 1; rep <= cfg.reps; rep++ {
		var repCells []cell
		measureOne := func(c *child, n int, op opSpec, clients int) error {
			if err := ctx.Err(); err != nil {
				return err
			}
			r := measure(ctx, c, op, clients, cfg.warmup, cfg.duration, cfg.traceSlow, stderr)
			r.Rep, r.N = rep, n
			repCells = append(repCells, r)
			fmt.Fprintf(stderr, "load: rep %d %-7s N=%-6s %-5s c=%-3d %9.0f req/s  p50 %6.2f ms  p99 %7.2f ms  max %7.1f ms (%d > 50 ms)  %6.0f µs CPU/req  box %3.0f%% busy  %4.0f MiB%s  errors %d%s\n",
				rep, r.Target, nLabel(n), r.Op, clients, r.RPS, r.P50ms, r.P99ms, r.MaxMs, r.Over50ms, r.CPUus, r.BusyPct, r.PeakRSSMiB, walSuffix(r), r.Errors, errSuffix(r))
			return nil
		}
		for _, c := range cfg.clients {
			if err := measureOne(ceiling, 0, ceilingOp(ceiling.base), c); err != nil {
				return err
			}
		}
		for _, t := range targets {
			for _, op := range cfg.ops {
				for _, c := range cfg.clients {
					wait := func() error { return nil }
					if t.pprof != "" {
						name := fmt.Sprintf("N%d-%s-c%d-r%d.pprof", t.n, op, c, rep)
						wait = cpuProfile(ctx, t.pprof, filepath.Join(cfg.cpuProfile, name), cfg.warmup, cfg.duration)
					}
					err := measureOne(t.srv, t.n, t.fx.op(op), c)
					if err = errors.Join(err, wait()); err != nil {
						return err
					}
				}
			}
		}
		run.Cells = append(run.Cells, repCells...)
		table := repTable(repCells)
		run.repTables = append(run.repTables, table)
		fmt.Fprintf(stdout, "### Repetition %d of %d\n\n%s\n", rep, cfg.reps, table)
	}
	for _, t := range targets {
		hwm, _ := procKiB(t.srv.pid(), "VmHWM")
		run.Servers = append(run.Servers, serverInfo{N: t.n, LifetimeHWMMiB: kibToMiB(hwm)})
	}
	hwm, _ := procKiB(ceiling.pid(), "VmHWM")
	run.Servers = append(run.Servers, serverInfo{N: 0, LifetimeHWMMiB: kibToMiB(hwm)})

	run.Finished = time.Now().UTC()
	run.Machine.LoadEnd = loadAvg()
	run.summarize(cfg)
	report := run.markdown()
	fmt.Fprint(stdout, report)
	if cfg.out != "" {
		if err := run.write(cfg.out, report); err != nil {
			return fmt.Errorf("-out: %w", err)
		}
		fmt.Fprintf(stderr, "load: results written to %s\n", cfg.out)
	}
	return nil
}

func errSuffix(r cell) string {
	if r.FirstError == "" {
		return ""
	}
	return " (first: " + r.FirstError + ")"
}

func walSuffix(r cell) string {
	s := ""
	if r.WriteKiB >= 0 {
		s += fmt.Sprintf(" %.1f KiB written/req", r.WriteKiB)
	}
	if r.PeakWALMiB >= 0 {
		s += fmt.Sprintf(" (WAL ≤ %.0f MiB)", r.PeakWALMiB)
	}
	return s
}

func nLabel(n int) string {
	if n == 0 {
		return "—"
	}
	return strconv.Itoa(n)
}

// parseInts parses "1000,100000" (underscores allowed, each value ≥ 1, no duplicates).
func parseInts(s string) ([]int, error) {
	var out []int
	seen := map[int]bool{}
	for _, f := range strings.Split(s, ",") {
		f = strings.ReplaceAll(strings.TrimSpace(f), "_", "")
		if f == "" {
			continue
		}
		v, err := strconv.Atoi(f)
		if err != nil || v < 1 {
			return nil, fmt.Errorf("%q is not a positive integer", f)
		}
		if !seen[v] {
			seen[v] = true
			out = append(out, v)
		}
	}
	if len(out) == 0 {
		return nil, errors.New("empty list")
	}
	return out, nil
}

// parseOps parses the -ops list, keeping the canonical order.
func parseOps(s string) ([]string, error) {
	want := map[string]bool{}
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		known := false
		for _, o := range allOps {
			known = known || o == f
		}
		if !known {
			return nil, fmt.Errorf("unknown operation %q (want %s)", f, strings.Join(allOps, ", "))
		}
		want[f] = true
	}
	var out []string
	for _, o := range allOps {
		if want[o] {
			out = append(out, o)
		}
	}
	if len(out) == 0 {
		return nil, errors.New("empty list")
	}
	return out, nil
}

// databaseLabel names the store in tables without revealing a password in a URL.
func databaseLabel(dsn string) string {
	switch {
	case dsn == "":
		return "sqlite (embedded default)"
	case strings.HasPrefix(dsn, "postgres://"), strings.HasPrefix(dsn, "postgresql://"):
		return "postgres"
	case strings.HasPrefix(dsn, "sqlite:"):
		return "sqlite (" + strings.TrimPrefix(dsn, "sqlite:") + ")"
	}
	return "other"
}

func machineInfo() machine {
	m := machine{GoVersion: runtime.Version(), OS: runtime.GOOS, Arch: runtime.GOARCH, CPUs: runtime.NumCPU(), LoadStart: loadAvg()}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPUModel = strings.TrimSpace(v)
				break
			}
		}
	}
	return m
}

// loadAvg returns the 1, 5 and 15 minute load averages from /proc/loadavg, or "".
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return ""
	}
	return strings.Join(f[:3], " ")
}
