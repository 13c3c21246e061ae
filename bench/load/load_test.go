package main

import (
	"slices"
	"testing"
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
