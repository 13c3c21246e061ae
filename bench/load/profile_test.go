package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// A server's profile of the measured window is asked for after the warm-up, for the window's whole
// seconds (at least one), and written as served; a refusal is an error and writes nothing.
func TestCPUProfileAsksForTheMeasuredWindow(t *testing.T) {
	type ask struct {
		seconds string
		at      time.Time
	}
	asks := make(chan ask, 4)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/debug/pprof/profile" {
			http.NotFound(w, r)
			return
		}
		asks <- ask{r.URL.Query().Get("seconds"), time.Now()}
		if r.URL.Query().Get("seconds") == "7" {
			http.Error(w, "profiling already in use", http.StatusInternalServerError)
			return
		}
		_, _ = w.Write([]byte("profile bytes"))
	}))
	defer srv.Close()
	addr := strings.TrimPrefix(srv.URL, "http://")
	dir := t.TempDir()
	ctx := context.Background()

	for _, tc := range []struct {
		duration time.Duration
		seconds  string
	}{{2500 * time.Millisecond, "2"}, {300 * time.Millisecond, "1"}} {
		path := filepath.Join(dir, "sub", tc.seconds+".pprof")
		start := time.Now()
		if err := cpuProfile(ctx, addr, path, 200*time.Millisecond, tc.duration)(); err != nil {
			t.Fatalf("duration %v: %v", tc.duration, err)
		}
		a := <-asks
		if a.seconds != tc.seconds {
			t.Errorf("duration %v: asked for seconds=%q, want %q", tc.duration, a.seconds, tc.seconds)
		}
		if waited := a.at.Sub(start); waited < 200*time.Millisecond {
			t.Errorf("duration %v: asked %v after the cell started, before the warm-up ended", tc.duration, waited)
		}
		if b, err := os.ReadFile(path); err != nil || string(b) != "profile bytes" { // #nosec G304 -- a file of t.TempDir()
			t.Errorf("duration %v: file holds %q (%v)", tc.duration, b, err)
		}
	}

	refused := filepath.Join(dir, "refused.pprof")
	if err := cpuProfile(ctx, addr, refused, 0, 7*time.Second)(); err == nil || !strings.Contains(err.Error(), "500") {
		t.Errorf("a refused profile: err = %v, want the status", err)
	}
	<-asks
	if _, err := os.Stat(refused); !os.IsNotExist(err) {
		t.Errorf("a refused profile left a file (%v)", err)
	}
}
