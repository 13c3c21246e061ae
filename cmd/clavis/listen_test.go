package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"clavis.dev/clavis/internal/httpapi"
)

// startServerAt runs `clavis server` with args on fresh loopback ports and returns the addresses it logged
// for each message in msgs ("clavis listening", "metrics listening").
func startServerAt(t *testing.T, args []string, msgs ...string) map[string]string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var stderr lockedBuffer
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, append([]string{"server", "--listen", "127.0.0.1:0", "--data-dir", t.TempDir()}, args...), io.Discard, &stderr)
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("server: %v\n%s", err, stderr.String())
		}
	})
	addrs := map[string]string{}
	stderr.await(t, 30*time.Second, done, fmt.Sprintf("the log lines %q", msgs), func(log string) bool {
		for _, m := range msgs {
			re := regexp.MustCompile(`"msg":"` + m + `","addr":"([^"]+)"`)
			if x := re.FindStringSubmatch(log); x != nil {
				addrs[m] = x[1]
			}
		}
		return len(addrs) == len(msgs)
	})
	return addrs
}

func statusOf(t *testing.T, url string) (int, string) {
	t.Helper()
	res, err := http.Get(url) // #nosec G107 -- the test server's URL
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

// TestMetricsListen: by default /metrics is on the API listener (for loopback clients); with
// --metrics-listen (or CLAVIS_METRICS_LISTEN) it is served only on that listener and the API answers 404.
func TestMetricsListen(t *testing.T) {
	t.Run("default", func(t *testing.T) {
		a := startServerAt(t, nil, "clavis listening")
		statusOf(t, "http://"+a["clavis listening"]+"/healthz")
		if code, body := statusOf(t, "http://"+a["clavis listening"]+"/metrics"); code != 200 || !strings.Contains(body, "clavis_http_requests_total") {
			t.Fatalf("GET /metrics on the API from loopback = %d, want 200 with clavis_http_requests_total", code)
		}
	})
	for _, how := range []string{"flag", "environment"} {
		t.Run(how, func(t *testing.T) {
			var args []string
			if how == "flag" {
				args = []string{"--metrics-listen", "127.0.0.1:0"}
			} else {
				t.Setenv("CLAVIS_METRICS_LISTEN", "127.0.0.1:0")
			}
			a := startServerAt(t, args, "clavis listening", "metrics listening")
			api, met := "http://"+a["clavis listening"], "http://"+a["metrics listening"]
			if code, _ := statusOf(t, api+"/healthz"); code != 200 {
				t.Fatalf("GET /healthz on the API = %d", code)
			}
			if code, _ := statusOf(t, api+"/metrics"); code != 404 {
				t.Fatalf("GET /metrics on the API = %d, want 404", code)
			}
			code, body := statusOf(t, met+"/metrics")
			if code != 200 || !strings.Contains(body, `clavis_http_requests_total{code="200",method="GET",route="/healthz"}`) {
				t.Fatalf("GET /metrics on the metrics listener = %d, want 200 counting the API's requests:\n%.300s", code, body)
			}
			if code, _ := statusOf(t, met+"/healthz"); code != 404 {
				t.Fatalf("GET /healthz on the metrics listener = %d, want 404 (metrics only)", code)
			}
		})
	}
}

// TestHeaderLimit: a request head (request line and header fields) of exactly 64 KiB is served; one byte
// more is 431 (spec §6.1), as the server command configures it.
func TestHeaderLimit(t *testing.T) {
	srv := newHTTPServer(httpapi.New(nil, httpapi.Options{}), slog.New(slog.DiscardHandler))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() }) // nothing to report: the test is over
	head := func(size int) string {
		const start = "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Padding: "
		return start + strings.Repeat("p", size-len(start)-len("\r\n\r\n")) + "\r\n\r\n"
	}
	for _, c := range []struct {
		size, want int
		pipelined  bool // behind a small request in the same write, so that part of it is already buffered
	}{
		{16 << 10, 200, false},
		{64<<10 - 1, 200, false},
		{64 << 10, 200, false},
		{64<<10 + 1, 431, false},
		{65<<10 + 512, 431, false},
		{80 << 10, 431, false},
		{64 << 10, 200, true},
		{64<<10 + 1, 431, true},
		{67 << 10, 431, true},
	} {
		t.Run(fmt.Sprint(c.size, map[bool]string{true: " pipelined"}[c.pipelined]), func(t *testing.T) {
			conn, err := net.Dial("tcp", ln.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
			h := head(c.size)
			if len(h) != c.size {
				t.Fatalf("head is %d bytes, want %d", len(h), c.size)
			}
			if c.pipelined {
				h = head(100) + h
			}
			if _, err := io.WriteString(conn, h); err != nil {
				t.Fatal(err)
			}
			br := bufio.NewReader(conn)
			if c.pipelined {
				res, err := http.ReadResponse(br, nil)
				if err != nil || res.StatusCode != 200 {
					t.Fatalf("first request: %v %v", res, err)
				}
				_, _ = io.Copy(io.Discard, res.Body)
			}
			res, err := http.ReadResponse(br, nil)
			if err != nil {
				t.Fatal(err)
			}
			_ = res.Body.Close() // only the status matters
			if res.StatusCode != c.want {
				t.Fatalf("request head of %d bytes = %d, want %d", c.size, res.StatusCode, c.want)
			}
		})
	}
}
