package crashtest

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// buildBinary builds cmd/clavis once into a temporary directory and returns its path.
func buildBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "clavis")
	// go from PATH, as the go command that runs the tests has it.
	out, err := exec.Command("go", "build", "-o", bin, "clavis.dev/clavis/cmd/clavis").CombinedOutput() // #nosec G204 -- bin is in a test temp dir
	if err != nil {
		t.Fatalf("go build clavis.dev/clavis/cmd/clavis: %v\n%s", err, out)
	}
	return bin
}

// serverProc is one running `clavis server` process. Its stderr (JSON logs) goes to logPath.
type serverProc struct {
	cmd     *exec.Cmd
	url     string // http://127.0.0.1:PORT
	logPath string
	exited  chan struct{} // closed once the process has been waited for
	waitErr error         // valid after exited is closed
}

var bannerRE = regexp.MustCompile(`listening on (http://127\.0\.0\.1:[0-9]+)`)

const (
	startTimeout = 60 * time.Second // from exec to a ready server (SQLite WAL recovery included)
	stopTimeout  = 35 * time.Second // SIGTERM to exit; the server drains for at most 30 s
)

// startServer starts the binary on dataDir (and database, when not empty), waits until it serves
// /readyz and returns it. A t.Cleanup stops the process with SIGTERM if it is still running when the
// test ends (and kills it if it does not exit in time), so no process outlives the test.
func startServer(t *testing.T, bin, dataDir, database, logPath string) *serverProc {
	t.Helper()
	args := []string{"server", "--listen", "127.0.0.1:0", "--data-dir", dataDir, "--dev", "--rate-limits", "off"}
	if database != "" {
		args = append(args, "--database", database)
	}
	cmd := exec.Command(bin, args...) // #nosec G204 -- the binary built by this test
	cmd.Env = serverEnv()
	setParentDeathSignal(cmd)
	logf, err := os.Create(logPath) // #nosec G304 -- a test temp file
	if err != nil {
		t.Fatalf("server log: %v", err)
	}
	defer logf.Close() // the child holds its own descriptor
	cmd.Stderr = logf
	// An os.Pipe rather than cmd.StdoutPipe, so that Wait can run concurrently with the reader.
	outR, outW, err := os.Pipe()
	if err != nil {
		t.Fatalf("stdout pipe: %v", err)
	}
	cmd.Stdout = outW
	if err := cmd.Start(); err != nil {
		_ = outR.Close() // cleanup only: the start error is the finding
		_ = outW.Close()
		t.Fatalf("start %s: %v", bin, err)
	}
	_ = outW.Close() // the parent's copy of the write end; it can only fail if closed already
	p := &serverProc{cmd: cmd, logPath: logPath, exited: make(chan struct{})}
	go func() {
		p.waitErr = cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() { p.stop(t) })

	urlc := make(chan string, 1)
	go func() {
		defer outR.Close()
		sc := bufio.NewScanner(outR)
		for sc.Scan() {
			if m := bannerRE.FindStringSubmatch(sc.Text()); m != nil {
				urlc <- m[1]
				break
			}
		}
		_, _ = io.Copy(io.Discard, outR) // keep the pipe drained until the process exits
	}()
	deadline := time.NewTimer(startTimeout)
	defer deadline.Stop()
	select {
	case p.url = <-urlc:
	case <-p.exited:
		t.Fatalf("server exited before listening: %v\n%s", p.waitErr, logTail(logPath, 30))
	case <-deadline.C:
		p.kill()
		t.Fatalf("server printed no banner within %v\n%s", startTimeout, logTail(logPath, 30))
	}
	if err := p.waitReady(deadline.C); err != nil {
		p.kill()
		t.Fatalf("server at %s not ready: %v\n%s", p.url, err, logTail(logPath, 30))
	}
	return p
}

// serverEnv is the test's environment without CLAVIS_* variables, which the server would read as
// defaults for its flags (the test's own CLAVIS_CRASH_* included).
func serverEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "CLAVIS_") {
			env = append(env, kv)
		}
	}
	return env
}

// waitReady polls GET /readyz until it answers 200.
func (p *serverProc) waitReady(deadline <-chan time.Time) error {
	hc := &http.Client{Timeout: 5 * time.Second}
	defer hc.CloseIdleConnections()
	var last error
	for {
		req, _ := http.NewRequestWithContext(context.Background(), http.MethodGet, p.url+"/readyz", nil)
		resp, err := hc.Do(req)
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			_ = resp.Body.Close() // read already
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			err = fmt.Errorf("GET /readyz: %s", resp.Status)
		}
		last = err
		select {
		case <-p.exited:
			return fmt.Errorf("server exited: %v (last: %v)", p.waitErr, last)
		case <-deadline:
			return fmt.Errorf("timed out (last: %v)", last)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// kill sends SIGKILL and waits for the process to be gone.
func (p *serverProc) kill() {
	_ = p.cmd.Process.Kill()
	<-p.exited
}

// running reports whether the process has not exited yet.
func (p *serverProc) running() bool {
	select {
	case <-p.exited:
		return false
	default:
		return true
	}
}

// stop ends a still-running server gracefully: SIGTERM, then SIGKILL if it has not exited in time. A
// server that does not exit cleanly on SIGTERM is a test error (DESIGN §6: graceful shutdown).
func (p *serverProc) stop(t *testing.T) {
	if !p.running() {
		return
	}
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
		t.Errorf("SIGTERM server: %v", err)
	}
	select {
	case <-p.exited:
		if p.waitErr != nil {
			t.Errorf("server did not exit cleanly on SIGTERM: %v\n%s", p.waitErr, logTail(p.logPath, 20))
		}
	case <-time.After(stopTimeout):
		p.kill()
		t.Errorf("server did not exit within %v of SIGTERM; killed\n%s", stopTimeout, logTail(p.logPath, 20))
	}
}

// logTail returns the last n lines of a server log, for failure messages.
func logTail(path string, n int) string {
	b, err := os.ReadFile(path) // #nosec G304 -- the test server's log
	if err != nil {
		return fmt.Sprintf("(server log %s: %v)", path, err)
	}
	lines := bytes.Split(bytes.TrimRight(b, "\n"), []byte("\n"))
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return fmt.Sprintf("--- last lines of %s ---\n%s", path, bytes.Join(lines, []byte("\n")))
}
