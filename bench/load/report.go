package main

import (
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"
)

// runResult is everything one run measured; it is the JSON written by -out FILE.json.
type runResult struct {
	Started  time.Time    `json:"started"`
	Finished time.Time    `json:"finished"`
	Config   jsonCfg      `json:"config"`
	Machine  machine      `json:"machine"`
	Database string       `json:"database"`
	Setups   []setupInfo  `json:"setups"`
	Grows    []growInfo   `json:"grows,omitempty"`
	Servers  []serverInfo `json:"servers"`
	Cells    []cell       `json:"cells"`
	Summary  []summaryRow `json:"summary"`
	Targets  []targetRow  `json:"targets"`
	Notes    []string     `json:"notes,omitempty"`

	repTables []string
}

type jsonCfg struct {
	Clavis   string   `json:"clavis"`
	N        []int    `json:"n"`
	Clients  []int    `json:"clients"`
	Duration string   `json:"duration"`
	Warmup   string   `json:"warmup"`
	Reps     int      `json:"reps"`
	Ops      []string `json:"ops"`
	Quick    bool     `json:"quick"`
	Workers  int      `json:"setup_workers"`
	GrowMB   int      `json:"grow_mb,omitempty"`
}

func jsonConfig(c config) jsonCfg {
	bin := c.clavis
	if bin == "" {
		bin = "go build ./cmd/clavis"
	}
	return jsonCfg{Clavis: bin, N: c.ns, Clients: c.clients, Duration: c.duration.String(), Warmup: c.warmup.String(),
		Reps: c.reps, Ops: c.ops, Quick: c.quick, Workers: c.setupWorkers, GrowMB: c.growMB}
}

type machine struct {
	CPUModel  string `json:"cpu_model"`
	CPUs      int    `json:"cpus"`
	OS        string `json:"os"`
	Arch      string `json:"arch"`
	GoVersion string `json:"go_version"`
	LoadStart string `json:"loadavg_start,omitempty"` // /proc/loadavg: other work on the machine
	LoadEnd   string `json:"loadavg_end,omitempty"`
}

type setupInfo struct {
	N         int     `json:"n"`
	Seconds   float64 `json:"seconds"`
	PerSecond float64 `json:"puts_per_second"`
	HWMMiB    float64 `json:"peak_rss_after_setup_mib"`
}

// growInfo is what the -grow-mb phase did to one server before its cells.
type growInfo struct {
	N           int     `json:"n"`
	MB          float64 `json:"mb"`      // database size reached (see growSize)
	Measure     string  `json:"measure"` // how MB was measured
	Seconds     float64 `json:"seconds"`
	BigWrites   int64   `json:"big_writes"`
	SmallWrites int64   `json:"small_writes"`
}

type serverInfo struct {
	N              int     `json:"n"` // 0 = ceiling
	LifetimeHWMMiB float64 `json:"lifetime_peak_rss_mib"`
}

// stat is a median with its min–max spread over repetitions; all -1 when nothing was measured.
type stat struct {
	Median float64 `json:"median"`
	Min    float64 `json:"min"`
	Max    float64 `json:"max"`
}

func statOf(vs []float64) stat {
	var ok []float64
	for _, v := range vs {
		if v >= 0 {
			ok = append(ok, v)
		}
	}
	if len(ok) == 0 {
		return stat{-1, -1, -1}
	}
	slices.Sort(ok)
	m := ok[len(ok)/2]
	if len(ok)%2 == 0 {
		m = (ok[len(ok)/2-1] + ok[len(ok)/2]) / 2
	}
	return stat{Median: m, Min: ok[0], Max: ok[len(ok)-1]}
}

// summaryRow aggregates one (target, N, op, clients) over the repetitions. Ratio is the median figure
// divided by the ceiling's median figure at the same client count; RatioRPS.Min/Max are the lowest and
// highest per-repetition ratios (each repetition against its own ceiling measurement).
type summaryRow struct {
	Target     string  `json:"target"`
	N          int     `json:"n"`
	Op         string  `json:"op"`
	Clients    int     `json:"clients"`
	Reps       int     `json:"reps"`
	RPS        stat    `json:"rps"`
	P50ms      stat    `json:"p50_ms"`
	P99ms      stat    `json:"p99_ms"`
	CPUus      stat    `json:"cpu_us_per_req"`
	PeakRSSMiB stat    `json:"peak_rss_mib"`
	MaxMs      stat    `json:"max_ms"`
	BusyPct    stat    `json:"box_busy_pct"`
	Errors     int     `json:"errors"`
	RatioRPS   stat    `json:"rps_ratio"`
	RatioP50   float64 `json:"p50_ratio"`
	RatioP99   float64 `json:"p99_ratio"`
	RatioCPU   float64 `json:"cpu_ratio"`
}

type targetRow struct {
	Target   string `json:"target"`
	Where    string `json:"where"`
	Measured string `json:"measured"`
	Result   string `json:"result"` // PASS | MISS | n/a
}

type key struct {
	target  string
	n       int
	op      string
	clients int
}

func keyOf(c cell) key { return key{c.Target, c.N, c.Op, c.Clients} }

// summarize fills Summary and Targets from Cells.
func (r *runResult) summarize(cfg config) {
	groups := map[key][]cell{}
	var order []key
	for _, c := range r.Cells {
		k := keyOf(c)
		if _, seen := groups[k]; !seen {
			order = append(order, k)
		}
		groups[k] = append(groups[k], c)
	}
	ceilingRep := map[[2]int]cell{} // (rep, clients) → ceiling cell
	for _, c := range r.Cells {
		if c.Target == "ceiling" {
			ceilingRep[[2]int{c.Rep, c.Clients}] = c
		}
	}
	rows := map[key]*summaryRow{}
	for _, k := range order {
		cs := groups[k]
		pick := func(f func(cell) float64) stat {
			vs := make([]float64, len(cs))
			for i, c := range cs {
				vs[i] = f(c)
			}
			return statOf(vs)
		}
		row := &summaryRow{Target: k.target, N: k.n, Op: k.op, Clients: k.clients, Reps: len(cs),
			RPS:        pick(func(c cell) float64 { return c.RPS }),
			P50ms:      pick(func(c cell) float64 { return c.P50ms }),
			P99ms:      pick(func(c cell) float64 { return c.P99ms }),
			CPUus:      pick(func(c cell) float64 { return c.CPUus }),
			PeakRSSMiB: pick(func(c cell) float64 { return c.PeakRSSMiB }),
			MaxMs:      pick(func(c cell) float64 { return c.MaxMs }),
			BusyPct:    pick(func(c cell) float64 { return c.BusyPct }),
		}
		for _, c := range cs {
			row.Errors += c.Errors
		}
		row.RatioRPS = pick(func(c cell) float64 {
			if ce, ok := ceilingRep[[2]int{c.Rep, c.Clients}]; ok && ce.RPS > 0 {
				return c.RPS / ce.RPS
			}
			return -1
		})
		rows[k] = row
	}
	for _, k := range order {
		row := rows[k]
		ce, ok := rows[key{"ceiling", 0, "json", k.clients}]
		if !ok {
			continue
		}
		row.RatioRPS.Median = ratio(row.RPS.Median, ce.RPS.Median)
		row.RatioP50 = ratio(row.P50ms.Median, ce.P50ms.Median)
		row.RatioP99 = ratio(row.P99ms.Median, ce.P99ms.Median)
		row.RatioCPU = ratio(row.CPUus.Median, ce.CPUus.Median)
		r.Summary = append(r.Summary, *row)
	}
	grown := map[int]float64{}
	for _, g := range r.Grows {
		grown[g.N] = g.MB
	}
	r.Targets = targets(cfg, rows, grown)
	switch {
	case isPostgres(cfg.database):
		r.Notes = append(r.Notes, "Against PostgreSQL the one target is fetch ≥ 0.15 × ceiling; the rows marked (info) are the SQLite targets, shown for information.")
	case cfg.database != "" && !strings.HasPrefix(cfg.database, "sqlite:"):
		r.Notes = append(r.Notes, "The targets are defined for the embedded SQLite store; against "+r.Database+" they are shown for information.")
	}
}

func ratio(a, b float64) float64 {
	if a < 0 || b <= 0 {
		return -1
	}
	return a / b
}

// Thresholds of the targets (issue 21, round two), for the embedded SQLite store unless named otherwise.
const (
	minFetchRatio       = 0.30 // fetch req/s ÷ ceiling req/s
	minFetchRatioPG     = 0.15 // the same against PostgreSQL
	maxFetchP99ms       = 5.0
	minTokenRatio       = 0.20
	minWriteRatio       = 0.08
	minListRatio        = 0.05
	minFetchScale       = 0.9 // fetch req/s at N=100 000 ÷ at N=1 000
	maxRSSMiB           = 200.0
	maxStallMs          = 50.0 // slowest single fetch …
	stallWindow         = 60 * time.Second
	stallGrowMB         = 500 // … over a 60 s window on a database grown past 500 MB
	minFetchBusyPercent = 95.0
)

// targets evaluates the targets at 16 clients and N = 100 000 (or, when the grid lacks them, at
// the client count nearest 16 and the largest N, saying so in Where). grownMB is the database size the
// -grow-mb phase reached per N (absent when it did not run). Against PostgreSQL only the fetch ratio is
// a target (≥ 0.15); the other rows are evaluated for information and say so.
func targets(cfg config, rows map[key]*summaryRow, grownMB map[int]float64) []targetRow {
	clients := cfg.clients[0]
	for _, c := range cfg.clients {
		if abs(c-16) < abs(clients-16) || (abs(c-16) == abs(clients-16) && c > clients) {
			clients = c
		}
	}
	big, small := slices.Max(cfg.ns), slices.Min(cfg.ns)
	if slices.Contains(cfg.ns, 100000) {
		big = 100000
	}
	if slices.Contains(cfg.ns, 1000) && big != 1000 {
		small = 1000
	}
	pg := isPostgres(cfg.database)
	where := fmt.Sprintf("%d clients, N=%d", clients, big)
	get := func(n int, op string) *summaryRow { return rows[key{"clavis", n, op, clients}] }
	var out []targetRow
	add := func(t targetRow, defined bool) {
		if !defined && t.Result != "n/a" {
			t.Result += " (info)"
		}
		out = append(out, t)
	}
	ratioTarget := func(op, label string, min float64, defined bool) {
		t := targetRow{Target: fmt.Sprintf("%s ≥ %.2f × ceiling req/s", label, min), Where: where, Result: "n/a", Measured: "not run"}
		if row := get(big, op); row != nil && row.RatioRPS.Median >= 0 {
			t.Measured = fmt.Sprintf("%s × (%.0f req/s)", fmtRatio(row.RatioRPS.Median), row.RPS.Median)
			if row.RatioRPS.Min != row.RatioRPS.Max {
				t.Measured = fmt.Sprintf("%s × (%.0f req/s; per rep %s–%s)", fmtRatio(row.RatioRPS.Median), row.RPS.Median,
					fmtRatio(row.RatioRPS.Min), fmtRatio(row.RatioRPS.Max))
			}
			t.Result = passMiss(row.RatioRPS.Median >= min)
		}
		add(t, defined)
	}
	if pg {
		ratioTarget("fetch", "fetch (PostgreSQL)", minFetchRatioPG, true)
	}
	ratioTarget("fetch", "fetch", minFetchRatio, !pg)
	{
		t := targetRow{Target: fmt.Sprintf("fetch p99 ≤ %.0f ms", maxFetchP99ms), Where: where, Result: "n/a", Measured: "not run"}
		if row := get(big, "fetch"); row != nil && row.P99ms.Median >= 0 {
			t.Measured = fmtStat(row.P99ms, 2) + " ms"
			t.Result = passMiss(row.P99ms.Median <= maxFetchP99ms)
		}
		add(t, !pg)
	}
	ratioTarget("token", "agent-token", minTokenRatio, !pg)
	ratioTarget("write", "write", minWriteRatio, !pg)
	ratioTarget("list", "list(100)", minListRatio, !pg)
	{
		label := fmt.Sprintf("fetch at N=%d ≥ %.1f × fetch at N=%d", big, minFetchScale, small)
		if big == small {
			label = fmt.Sprintf("fetch at the largest N ≥ %.1f × fetch at the smallest N", minFetchScale)
		}
		t := targetRow{Target: label,
			Where: fmt.Sprintf("%d clients", clients), Result: "n/a", Measured: "needs two vault sizes"}
		if big != small {
			t.Measured = "not run"
			b, s := get(big, "fetch"), get(small, "fetch")
			if b != nil && s != nil && s.RPS.Median > 0 {
				f := b.RPS.Median / s.RPS.Median
				t.Measured = fmt.Sprintf("%.2f × (%.0f vs %.0f req/s)", f, b.RPS.Median, s.RPS.Median)
				t.Result = passMiss(f >= minFetchScale)
			}
		}
		add(t, !pg)
	}
	{
		t := targetRow{Target: fmt.Sprintf("server RSS ≤ %.0f MiB", maxRSSMiB), Where: where + ", highest peak over ops and reps", Result: "n/a", Measured: "not run"}
		peak := -1.0
		for _, op := range cfg.ops {
			if row := get(big, op); row != nil {
				peak = max(peak, row.PeakRSSMiB.Max)
			}
		}
		if peak >= 0 {
			t.Measured = fmt.Sprintf("%.0f MiB", peak)
			t.Result = passMiss(peak <= maxRSSMiB)
		}
		add(t, !pg)
	}
	{
		// The slowest fetch of any repetition; a verdict only on a grown database over a long enough window.
		t := targetRow{Target: fmt.Sprintf("slowest fetch ≤ %.0f ms over %v, database ≥ %d MB", maxStallMs, stallWindow, stallGrowMB),
			Where: where, Result: "n/a", Measured: "not run"}
		if row := get(big, "fetch"); row != nil && row.MaxMs.Median >= 0 {
			t.Measured = fmt.Sprintf("%.1f ms over %v", row.MaxMs.Max, cfg.duration)
			if mb, ok := grownMB[big]; ok {
				t.Measured += fmt.Sprintf(", database %.0f MB", mb)
			}
			if grownMB[big] >= stallGrowMB && cfg.duration >= stallWindow {
				t.Result = passMiss(row.MaxMs.Max <= maxStallMs)
			} else {
				t.Measured += fmt.Sprintf(" (a verdict needs -grow-mb %d -duration %v)", stallGrowMB, stallWindow)
			}
		}
		add(t, !pg)
	}
	{
		t := targetRow{Target: fmt.Sprintf("box CPU busy ≥ %.0f %% during fetch", minFetchBusyPercent), Where: where + ", whole machine", Result: "n/a", Measured: "not run"}
		if row := get(big, "fetch"); row != nil && row.BusyPct.Median >= 0 {
			t.Measured = fmtStat(row.BusyPct, 0) + " %"
			t.Result = passMiss(row.BusyPct.Median >= minFetchBusyPercent)
		}
		add(t, !pg)
	}
	return out
}

// isPostgres tells whether the -database DSN names a PostgreSQL server.
func isPostgres(dsn string) bool {
	return strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://")
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

func passMiss(ok bool) string {
	if ok {
		return "PASS"
	}
	return "MISS"
}

func fmtRatio(v float64) string {
	switch {
	case v < 0:
		return "n/a"
	case v < 0.1:
		return strconv.FormatFloat(v, 'f', 3, 64)
	}
	return strconv.FormatFloat(v, 'f', 2, 64)
}

func fmtNum(v float64, prec int) string {
	if v < 0 {
		return "n/a"
	}
	return strconv.FormatFloat(v, 'f', prec, 64)
}

func fmtStat(s stat, prec int) string {
	if s.Median < 0 {
		return "n/a"
	}
	if s.Min == s.Max {
		return fmtNum(s.Median, prec)
	}
	return fmtNum(s.Median, prec) + " (" + fmtNum(s.Min, prec) + "–" + fmtNum(s.Max, prec) + ")"
}

func fmtRatioStat(s stat) string {
	if s.Median < 0 {
		return "n/a"
	}
	if s.Min == s.Max || s.Min < 0 {
		return fmtRatio(s.Median)
	}
	return fmtRatio(s.Median) + " (" + fmtRatio(s.Min) + "–" + fmtRatio(s.Max) + ")"
}

func opLabel(target, op string) string {
	if target == "ceiling" {
		return "ceiling"
	}
	return op
}

// tableHeader heads the per-repetition and the final tables.
const tableHeader = "| N | op | clients | req/s | × ceiling | p50 ms | p99 ms | max ms | server CPU µs/req | box CPU busy % | peak RSS MiB | errors |\n" +
	"|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n"

// repTable renders one repetition's cells; the ratio is against this repetition's ceiling.
func repTable(cells []cell) string {
	ce := map[int]float64{}
	for _, c := range cells {
		if c.Target == "ceiling" {
			ce[c.Clients] = c.RPS
		}
	}
	var b strings.Builder
	b.WriteString(tableHeader)
	for _, c := range cells {
		fmt.Fprintf(&b, "| %s | %s | %d | %.0f | %s | %.2f | %.2f | %.1f | %s | %s | %s | %d |\n",
			nLabel(c.N), opLabel(c.Target, c.Op), c.Clients, c.RPS, fmtRatio(ratio(c.RPS, ce[c.Clients])),
			c.P50ms, c.P99ms, c.MaxMs, fmtNum(c.CPUus, 0), fmtNum(c.BusyPct, 0), fmtNum(c.PeakRSSMiB, 0), c.Errors)
	}
	return b.String()
}

// markdown renders the header, the final table of medians, the ratio table and the targets.
func (r *runResult) markdown() string {
	var b strings.Builder
	c := r.Config
	fmt.Fprintf(&b, "## Clavis load benchmark — final results (%s)\n\n", r.Started.Format("2006-01-02 15:04 UTC"))
	fmt.Fprintf(&b, "- machine: %s, %d CPUs, %s/%s, %s\n", r.Machine.CPUModel, r.Machine.CPUs, r.Machine.OS, r.Machine.Arch, r.Machine.GoVersion)
	if r.Machine.LoadStart != "" {
		fmt.Fprintf(&b, "- load average (1/5/15 min) at start: %s; at end: %s\n", r.Machine.LoadStart, r.Machine.LoadEnd)
	}
	fmt.Fprintf(&b, "- clavis: `%s`; database: %s; `--rate-limits off`; audit on (fail-closed, durable)\n", c.Clavis, r.Database)
	fmt.Fprintf(&b, "- grid: N = %s; clients = %s; ops = %s; %s per cell after %s warm-up; %d repetition(s); run took %v\n",
		joinInts(c.N), joinInts(c.Clients), strings.Join(c.Ops, ", "), c.Duration, c.Warmup, c.Reps, r.Finished.Sub(r.Started).Round(time.Second))
	for _, s := range r.Setups {
		fmt.Fprintf(&b, "- setup N=%d: %.1f s (%.0f PUT/s, %d concurrent), server peak RSS after setup %.0f MiB\n", s.N, s.Seconds, s.PerSecond, c.Workers, s.HWMMiB)
	}
	for _, g := range r.Grows {
		fmt.Fprintf(&b, "- grown N=%d: database %.0f MB (%s) after %d writes of %d KiB values and %d small writes in %.0f s\n",
			g.N, g.MB, g.Measure, g.BigWrites, growBigBytes>>10, g.SmallWrites, g.Seconds)
	}
	var hwm []string
	for _, s := range r.Servers {
		name := "ceiling"
		if s.N > 0 {
			name = fmt.Sprintf("clavis N=%d", s.N)
		}
		hwm = append(hwm, fmt.Sprintf("%s %.0f MiB", name, s.LifetimeHWMMiB))
	}
	if len(hwm) > 0 {
		fmt.Fprintf(&b, "- lifetime peak RSS (VmHWM, includes setup): %s\n", strings.Join(hwm, "; "))
	}
	for _, n := range r.Notes {
		fmt.Fprintf(&b, "- note: %s\n", n)
	}

	spread := "median (min–max) over the repetitions"
	if c.Reps == 1 {
		spread = "one repetition"
	}
	fmt.Fprintf(&b, "\n### Medians: %s; × ceiling = median req/s ÷ ceiling median req/s at the same client count\n\n", spread)
	b.WriteString("max ms: the slowest request of the cell's window; box CPU busy %: all cores of the machine, load generator included.\n\n")
	b.WriteString(tableHeader)
	for _, s := range r.Summary {
		fmt.Fprintf(&b, "| %s | %s | %d | %s | %s | %s | %s | %s | %s | %s | %s | %d |\n",
			nLabel(s.N), opLabel(s.Target, s.Op), s.Clients, fmtStat(s.RPS, 0), fmtRatioStat(s.RatioRPS),
			fmtStat(s.P50ms, 2), fmtStat(s.P99ms, 2), fmtStat(s.MaxMs, 1), fmtStat(s.CPUus, 0), fmtStat(s.BusyPct, 0),
			fmtStat(s.PeakRSSMiB, 0), s.Errors)
	}

	b.WriteString("\n### Clavis ÷ ceiling (medians; throughput higher is better, latency and CPU lower is better)\n\n")
	b.WriteString("| N | op | clients | req/s | p50 | p99 | CPU µs/req |\n|---:|---|---:|---:|---:|---:|---:|\n")
	for _, s := range r.Summary {
		if s.Target == "ceiling" {
			continue
		}
		fmt.Fprintf(&b, "| %d | %s | %d | %s | %s | %s | %s |\n", s.N, s.Op, s.Clients,
			fmtRatio(s.RatioRPS.Median), fmtTimes(s.RatioP50), fmtTimes(s.RatioP99), fmtTimes(s.RatioCPU))
	}

	b.WriteString("\n### Targets\n\n| target | where | measured (median) | result |\n|---|---|---|---|\n")
	for _, t := range r.Targets {
		fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", t.Target, t.Where, t.Measured, t.Result)
	}
	return b.String()
}

func fmtTimes(v float64) string {
	if v < 0 {
		return "n/a"
	}
	if v >= 10 {
		return strconv.FormatFloat(v, 'f', 0, 64) + "×"
	}
	return strconv.FormatFloat(v, 'f', 1, 64) + "×"
}

func joinInts(vs []int) string {
	s := make([]string, len(vs))
	for i, v := range vs {
		s[i] = strconv.Itoa(v)
	}
	return strings.Join(s, ", ")
}

// write saves the run to path: JSON when path ends in .json, else markdown (every repetition's table,
// then the final report).
func (r *runResult) write(path, report string) error {
	if strings.HasSuffix(path, ".json") {
		b, err := json.MarshalIndent(r, "", "  ")
		if err != nil {
			return err
		}
		return os.WriteFile(path, append(b, '\n'), 0o644) // #nosec G306 -- a benchmark report for people to read, nothing secret
	}
	var b strings.Builder
	for i, t := range r.repTables {
		fmt.Fprintf(&b, "### Repetition %d of %d\n\n%s\n", i+1, len(r.repTables), t)
	}
	b.WriteString(report)
	return os.WriteFile(path, []byte(b.String()), 0o644) // #nosec G306 -- a benchmark report for people to read, nothing secret
}
