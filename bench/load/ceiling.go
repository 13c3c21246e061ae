package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os/signal"
	"syscall"
	"time"
)

// ceilingSecret has the shape and size of a Clavis Secret response, so that the ceiling pays the same
// JSON encoding and bytes on the wire as a secret fetch, and nothing else.
type ceilingSecret struct {
	ID        string         `json:"id"`
	Path      string         `json:"path"`
	Type      string         `json:"type"`
	Value     string         `json:"value"`
	Version   int            `json:"version"`
	Metadata  map[string]any `json:"metadata"`
	CreatedBy string         `json:"created_by"`
	CreatedAt time.Time      `json:"created_at"`
}

// ceilingHandler is the trivial net/http JSON handler: drain the request, encode one small object.
func ceilingHandler(w http.ResponseWriter, r *http.Request) {
	_, _ = io.Copy(io.Discard, r.Body)
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(ceilingSecret{
		ID:        "0b6f1c52-7f43-4b7e-9a55-3f2d4b1c9e10",
		Path:      "bench/g0/s0",
		Type:      "generic",
		Value:     "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
		Version:   1,
		Metadata:  map[string]any{},
		CreatedBy: "user:5f8597f4-3e1a-4c55-8f7e-2b9c1d0a6e21",
		CreatedAt: time.Now().UTC(),
	})
}

// ceilingMain serves ceilingHandler on 127.0.0.1:0 until SIGTERM or SIGINT; it runs in a child process
// (load -serve-ceiling) so that its CPU and memory are measured exactly like the clavis server's.
func ceilingMain(stdout, stderr io.Writer) int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintf(stderr, "ceiling: %v\n", err)
		return 1
	}
	srv := &http.Server{
		Handler:           http.HandlerFunc(ceilingHandler),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
	}
	fmt.Fprintf(stdout, "ceiling listening on http://%s\n", ln.Addr())
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		fmt.Fprintf(stderr, "ceiling: %v\n", err)
		return 1
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = srv.Shutdown(shutdown)
	return 0
}
