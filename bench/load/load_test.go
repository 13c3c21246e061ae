package main

import (
	"slices"
	"strings"
	"testing"
	"time"
)

func TestPercentileIsNearestRank(t *testing.T) {
	sorted := []int64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}
	for _, tc := range []struct {
		q    float64
		want int64
	}{{0.50, 5}, {0.99, 10}, {0.10, 1}, {1, 10}} {
		if got := percentile(sorted, tc.q); got != tc.want {
			t.Errorf("percentile(1..10, %v) = %d, want %d", tc.q, got, tc.want)
		}
	}
	if got := percentile(nil, 0.5); got != 0 {
		t.Errorf("percentile(nil) = %d, want 0", got)
	}
}

func TestParseStatTicksCountsAfterCommandName(t *testing.T) {
	// The command name may contain spaces and parentheses; utime=1500 and stime=250 are fields 14 and 15.
	stat := []byte("4242 (clavis (x) y) S 1 4242 4242 0 -1 4194560 900 0 0 0 1500 250 0 0 20 0 9 0 100 0 0\n")
	got, err := parseStatTicks(stat)
	if err != nil || got != 1750 {
		t.Errorf("parseStatTicks = %d, %v; want 1750, nil", got, err)
	}
}

func TestParseStatusKiB(t *testing.T) {
	status := []byte("Name:\tclavis\nVmHWM:\t  123456 kB\nVmRSS:\t   65432 kB\n")
	for field, want := range map[string]int64{"VmHWM": 123456, "VmRSS": 65432} {
		if got, err := parseStatusKiB(status, field); err != nil || got != want {
			t.Errorf("parseStatusKiB(%s) = %d, %v; want %d", field, got, err, want)
		}
	}
	if _, err := parseStatusKiB(status, "VmSwap"); err == nil {
		t.Error("parseStatusKiB(VmSwap) succeeded on a status without it")
	}
}

func TestStatOfIsMedianWithSpreadIgnoringUnknown(t *testing.T) {
	for _, tc := range []struct {
		in   []float64
		want stat
	}{
		{[]float64{3, 1, 2}, stat{2, 1, 3}},
		{[]float64{4, 1, 3, 2}, stat{2.5, 1, 4}},
		{[]float64{-1, 5}, stat{5, 5, 5}},
		{[]float64{-1}, stat{-1, -1, -1}},
	} {
		if got := statOf(tc.in); got != tc.want {
			t.Errorf("statOf(%v) = %+v, want %+v", tc.in, got, tc.want)
		}
	}
}

func TestListPrefixMatchesExactlyOneGroup(t *testing.T) {
	var in0 []int
	for i := 0; i < 1000; i++ {
		p := secretPath(i)
		if len(p) >= len(listPrefix(0)) && p[:len(listPrefix(0))] == listPrefix(0) {
			in0 = append(in0, i)
		}
	}
	if len(in0) != groupSize || in0[0] != 0 || in0[len(in0)-1] != groupSize-1 {
		t.Errorf("prefix %q matches %d paths (%v…), want secrets 0..%d", listPrefix(0), len(in0), in0[:min(3, len(in0))], groupSize-1)
	}
}

func TestListenURL(t *testing.T) {
	for _, tc := range []struct{ line, want string }{
		{"Clavis 1.4.0 (dev mode) listening on http://127.0.0.1:40123 — open signup, data in /tmp/x", "http://127.0.0.1:40123"},
		{`{"time":"…","level":"INFO","msg":"clavis listening","addr":"127.0.0.1:5555"}`, "http://127.0.0.1:5555"},
		{"ceiling listening on http://127.0.0.1:9", "http://127.0.0.1:9"},
		{"Sign up:  curl -s -X POST http://127.0.0.1:1/v1/auth/signup", ""},
	} {
		if got := listenURL([]byte(tc.line)); got != tc.want {
			t.Errorf("listenURL(%q) = %q, want %q", tc.line, got, tc.want)
		}
	}
}

func TestParseFlagsLists(t *testing.T) {
	got, err := parseInts("1000, 100_000,1000")
	if err != nil || !slices.Equal(got, []int{1000, 100000}) {
		t.Errorf("parseInts = %v, %v; want [1000 100000]", got, err)
	}
	if _, err := parseInts("0"); err == nil {
		t.Error("parseInts(0) succeeded")
	}
	ops, err := parseOps("list,fetch")
	if err != nil || !slices.Equal(ops, []string{"fetch", "list"}) {
		t.Errorf("parseOps = %v, %v; want [fetch list]", ops, err)
	}
	if _, err := parseOps("delete"); err == nil {
		t.Error("parseOps(delete) succeeded")
	}
}

func TestParseProcStatBusyExcludesIdleAndIOWait(t *testing.T) {
	// user nice system idle iowait irq softirq steal guest guest_nice
	a, err := parseProcStat([]byte("cpu  100 0 50 800 50 0 0 0 0 0\ncpu0 1 2 3 4 5 6 7 8 9 10\n"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := parseProcStat([]byte("cpu  250 10 90 860 80 5 5 0 30 0\n"))
	if err != nil {
		t.Fatal(err)
	}
	// busy grew by 150+10+40+5+5 = 210, idle+iowait by 60+30 = 90: 70 %.
	if got := b.busyPctSince(a); got < 69.99 || got > 70.01 {
		t.Errorf("busy = %.2f %%, want 70 %%", got)
	}
	if got := a.busyPctSince(a); got != -1 {
		t.Errorf("busy over no time = %v, want -1", got)
	}
	if _, err := parseProcStat([]byte("intr 1 2 3\n")); err == nil {
		t.Error("parseProcStat accepted a file without a cpu line")
	}
}

func TestDBFileFor(t *testing.T) {
	for _, tc := range []struct{ database, want string }{
		{"", "/d/clavis.db"},
		{"sqlite:/x/y.db", "/x/y.db"},
		{"postgres://u@h/db", ""},
	} {
		if got := dbFileFor(tc.database, "/d"); got != tc.want {
			t.Errorf("dbFileFor(%q) = %q, want %q", tc.database, got, tc.want)
		}
	}
}

// targetResults evaluates the targets over one repetition of a 16-client grid at N=1000 and 100000,
// the ceiling at 10000 req/s, and returns each row's result by the start of its label.
func targetResults(t *testing.T, cfg config, fetch, fetch1k, token, write, list, p99, maxMs, busy, rss float64, grownMB map[int]float64) map[string]string {
	t.Helper()
	cfg.ns, cfg.clients, cfg.ops = []int{1000, 100000}, []int{16}, allOps
	r := &runResult{Grows: nil}
	for n, mb := range grownMB {
		r.Grows = append(r.Grows, growInfo{N: n, MB: mb})
	}
	add := func(target string, n int, op string, rps float64) {
		r.Cells = append(r.Cells, cell{Rep: 1, Target: target, N: n, Op: op, Clients: 16, RPS: rps,
			P99ms: p99, MaxMs: maxMs, BusyPct: busy, PeakRSSMiB: rss, CPUus: 100})
	}
	add("ceiling", 0, "json", 10000)
	add("clavis", 1000, "fetch", fetch1k*10000)
	add("clavis", 100000, "fetch", fetch*10000)
	add("clavis", 100000, "token", token*10000)
	add("clavis", 100000, "write", write*10000)
	add("clavis", 100000, "list", list*10000)
	r.summarize(cfg)
	out := map[string]string{}
	for _, row := range r.Targets {
		label, _, _ := strings.Cut(row.Target, " ≥")
		label, _, _ = strings.Cut(label, " ≤")
		out[label] = row.Result
	}
	return out
}

func TestTargetsRoundTwo(t *testing.T) {
	cfg := config{duration: 60 * time.Second}
	grown := map[int]float64{100000: 510}
	// Every figure just on the right side of its threshold.
	got := targetResults(t, cfg, 0.30, 0.33, 0.20, 0.08, 0.05, 5, 50, 95, 200, grown)
	for label, want := range map[string]string{
		"fetch": "PASS", "fetch p99": "PASS", "agent-token": "PASS", "write": "PASS", "list(100)": "PASS",
		"fetch at N=100000": "PASS", "server RSS": "PASS", "slowest fetch": "PASS", "box CPU busy": "PASS",
	} {
		if got[label] != want {
			t.Errorf("at the thresholds: %s = %q, want %q (all: %v)", label, got[label], want, got)
		}
	}
	// Every figure just on the wrong side.
	got = targetResults(t, cfg, 0.29, 0.33, 0.19, 0.079, 0.049, 5.1, 50.1, 94, 201, grown)
	for _, label := range []string{"fetch", "fetch p99", "agent-token", "write", "list(100)", "fetch at N=100000", "server RSS", "slowest fetch", "box CPU busy"} {
		if got[label] != "MISS" {
			t.Errorf("past the thresholds: %s = %q, want MISS (all: %v)", label, got[label], got)
		}
	}
	// The stall target needs a grown database and a 60 s window.
	if got := targetResults(t, config{duration: 5 * time.Second}, 0.3, 0.3, 0.2, 0.1, 0.1, 1, 10, 99, 50, grown)["slowest fetch"]; got != "n/a" {
		t.Errorf("slowest fetch over 5 s = %q, want n/a", got)
	}
	if got := targetResults(t, cfg, 0.3, 0.3, 0.2, 0.1, 0.1, 1, 10, 99, 50, nil)["slowest fetch"]; got != "n/a" {
		t.Errorf("slowest fetch without -grow-mb = %q, want n/a", got)
	}
	// Against PostgreSQL the one target is fetch ≥ 0.15; the others are for information.
	pg := config{duration: 5 * time.Second, database: "postgres://u@h/db"}
	got = targetResults(t, pg, 0.16, 0.16, 0.1, 0.1, 0.1, 9, 90, 90, 90, nil)
	if got["fetch (PostgreSQL)"] != "PASS" || got["fetch"] != "MISS (info)" || got["fetch p99"] != "MISS (info)" {
		t.Errorf("PostgreSQL targets: %v", got)
	}
	if got := targetResults(t, pg, 0.14, 0.14, 0.1, 0.1, 0.1, 9, 90, 90, 90, nil); got["fetch (PostgreSQL)"] != "MISS" {
		t.Errorf("PostgreSQL fetch at 0.14 = %q, want MISS", got["fetch (PostgreSQL)"])
	}
}
