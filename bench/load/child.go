package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"time"
)

// child is a server process under test: the ceiling server or one clavis server.
type child struct {
	name    string
	cmd     *exec.Cmd
	base    string // http://127.0.0.1:PORT
	logPath string // stdout and stderr of the process, line by line
	walFile string // the SQLite write-ahead log of a clavis server, sampled during cells; "" if none
	exited  chan struct{}
	waitErr error
	once    sync.Once
}

func (c *child) pid() int { return c.cmd.Process.Pid }

// listeningRE finds the address in the dev banner ("… listening on http://127.0.0.1:PORT …") and in the
// ceiling server's line.
var listeningRE = regexp.MustCompile(`listening on (http://[0-9A-Za-z.:\[\]-]+)`)

// startChild starts path with args, logging both output streams to dir/server.log, and waits until the
// process has printed its address and answers /readyz (clavis) or / (ceiling). The process gets SIGKILL
// if this tool dies (Linux), and is stopped by stop.
// It is long on purpose: start, log, wait and clean-up on failure belong to one process's life.
func startChild(ctx context.Context, name, path string, args []string, dir string) (*child, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	logPath := filepath.Join(dir, "server.log")
	logFile, err := os.Create(logPath) // #nosec G304 -- under the operator's -dir
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(path, args...) // #nosec G204 -- the server under test: built here, or the operator's -clavis
	setParentDeathSignal(cmd)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, errors.Join(err, logFile.Close())
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return nil, errors.Join(err, logFile.Close())
	}
	if err := cmd.Start(); err != nil {
		return nil, errors.Join(fmt.Errorf("%s: %w", path, err), logFile.Close())
	}
	c := &child{name: name, cmd: cmd, logPath: logPath, exited: make(chan struct{})}

	found := make(chan string, 2)
	var logMu sync.Mutex
	var pumps sync.WaitGroup
	pump := func(r io.Reader) {
		defer pumps.Done()
		sc := bufio.NewScanner(r)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			line := sc.Bytes()
			logMu.Lock()
			// A lost log line must not stop the pump: the child blocks when its pipe is not drained.
			_, _ = logFile.Write(line)
			_, _ = logFile.Write([]byte{'\n'})
			logMu.Unlock()
			if u := listenURL(line); u != "" {
				select {
				case found <- u:
				default:
				}
			}
		}
		_, _ = io.Copy(io.Discard, r) // drain after a too-long line; a read error means the pipe is gone
	}
	pumps.Add(2)
	go pump(stdout)
	go pump(stderr)
	go func() {
		pumps.Wait() // Wait must follow the reads of the pipes
		c.waitErr = cmd.Wait()
		_ = logFile.Close() // diagnostics only: every line was written (or dropped) above
		close(c.exited)
	}()

	select {
	case c.base = <-found:
	case <-c.exited:
		return nil, fmt.Errorf("%s exited before listening (%v); log: %s%s", name, c.waitErr, logPath, logTail(logPath))
	case <-time.After(60 * time.Second):
		c.stop()
		return nil, fmt.Errorf("%s printed no listening address within 60s; log: %s%s", name, logPath, logTail(logPath))
	case <-ctx.Done():
		c.stop()
		return nil, ctx.Err()
	}
	probe := "/readyz"
	if name == "ceiling" {
		probe = "/"
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := http.Get(c.base + probe)
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body) // only the status is probed
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return c, nil
			}
		}
		select {
		case <-c.exited:
			return nil, fmt.Errorf("%s exited while starting (%v); log: %s%s", name, c.waitErr, logPath, logTail(logPath))
		case <-ctx.Done():
			c.stop()
			return nil, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			c.stop()
			return nil, fmt.Errorf("%s not ready within 60s (last: %v); log: %s", name, err, logPath)
		}
	}
}

// listenURL returns the base URL announced on line, from the dev banner or from the JSON log line
// "clavis listening" (field addr), else "".
func listenURL(line []byte) string {
	if m := listeningRE.FindSubmatch(line); m != nil {
		return strings.TrimRight(string(m[1]), ".,;")
	}
	if bytes.HasPrefix(line, []byte("{")) && bytes.Contains(line, []byte("listening")) {
		var rec struct {
			Msg  string `json:"msg"`
			Addr string `json:"addr"`
		}
		if json.Unmarshal(line, &rec) == nil && rec.Addr != "" && strings.Contains(rec.Msg, "listening") {
			return "http://" + rec.Addr
		}
	}
	return ""
}

// stop sends SIGTERM, waits up to 15 s for a graceful exit, then kills. Safe to call more than once.
func (c *child) stop() {
	c.once.Do(func() {
		_ = c.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-c.exited:
		case <-time.After(15 * time.Second):
			_ = c.cmd.Process.Kill()
			<-c.exited
		}
	})
}

// logTail returns the last lines of a log file, indented, for error messages.
func logTail(path string) string {
	b, err := os.ReadFile(path) // #nosec G304 -- the child's own log file, under the operator's -dir
	if err != nil || len(b) == 0 {
		return ""
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > 15 {
		lines = lines[len(lines)-15:]
	}
	return "\n    " + strings.Join(lines, "\n    ")
}

// buildClavis builds ./cmd/clavis of the enclosing clavis.dev/clavis module into dir.
func buildClavis(ctx context.Context, dir string, stderr io.Writer) (string, error) {
	if _, err := exec.LookPath("go"); err != nil {
		return "", errors.New("no go command in PATH: put it there or pass -clavis PATH")
	}
	out, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		return "", errors.New("not inside a Go module: run from the clavis repository or pass -clavis PATH")
	}
	mod, err := os.ReadFile(gomod) // #nosec G304 -- the go.mod that `go env GOMOD` names
	if err != nil {
		return "", err
	}
	if !bytes.Contains(mod, []byte("module clavis.dev/clavis\n")) {
		return "", fmt.Errorf("%s is not the clavis.dev/clavis module: run from the clavis repository or pass -clavis PATH", gomod)
	}
	bin := filepath.Join(dir, "clavis")
	fmt.Fprintf(stderr, "load: building %s/cmd/clavis …\n", filepath.Dir(gomod))
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/clavis") // #nosec G204 -- bin is in our own temp dir
	cmd.Dir = filepath.Dir(gomod)
	cmd.Stdout, cmd.Stderr = stderr, stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("go build ./cmd/clavis: %w", err)
	}
	return bin, nil
}
