package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"
)

// freeLoopbackAddr returns a 127.0.0.1 address with a port that was free a moment ago, for a server's
// --pprof-listen.
func freeLoopbackAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	addr := ln.Addr().String()
	return addr, ln.Close()
}

// cpuProfile records the CPU profile of the clavis server whose --pprof-listen is pprofAddr during the
// measured part of a cell (after warmup, for duration, in whole seconds, at least one) into path. It
// returns at once; the returned function waits for the profile and reports how it went.
func cpuProfile(ctx context.Context, pprofAddr, path string, warmup, duration time.Duration) (wait func() error) {
	done := make(chan error, 1)
	go func() {
		sleep(ctx, warmup)
		secs := max(1, int(duration/time.Second))
		done <- fetchProfile(ctx, fmt.Sprintf("http://%s/debug/pprof/profile?seconds=%d", pprofAddr, secs), path)
	}()
	return func() error { return <-done }
}

func fetchProfile(ctx context.Context, url, path string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("cpu profile: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("cpu profile: %s", resp.Status)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return err
	}
	f, err := os.Create(path) // #nosec G304 -- under the operator's -cpuprofile directory
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		_ = f.Close() // the copy's error is the one to report
		return fmt.Errorf("cpu profile: %w", err)
	}
	return f.Close()
}
