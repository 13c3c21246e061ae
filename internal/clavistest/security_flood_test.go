package clavistest_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"clavis.dev/clavis/internal/clavistest"
)

// TestLoginFloodMemory runs the real binary with its default argon2id parameters (m = 19 MiB, t = 2)
// and floods it with 200 concurrent wrong-password logins for one account, then 200 for unknown
// emails, sampling the server's resident memory every 50 ms. Password hashing is bounded (spec §2.5),
// so the flood must not grow the server past 256 MiB; every answer is the wrong-password 401 (the
// account locks after 5, which answers the same).
func TestLoginFloodMemory(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("reads /proc/<pid>/status: Linux only")
	}
	if testing.Short() {
		t.Skip("builds the binary and hashes 400 passwords with the default argon2id cost; skipped in -short")
	}
	const (
		concurrent = 200
		limitMiB   = 256
	)
	dir := t.TempDir()
	bin := filepath.Join(dir, "clavis")
	build := exec.Command("go", "build", "-o", bin, "clavis.dev/clavis/cmd/clavis") // #nosec G204 -- bin is in a test temp dir
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}

	dataDir := filepath.Join(dir, "data")
	// #nosec G204 -- the binary just built, on a test temp dir.
	srv := exec.Command(bin, "server", "--listen", "127.0.0.1:0", "--data-dir", dataDir, "--signup", "open",
		"--rate-limits", "off", "--dev")
	srv.Env = floodEnv()
	var stdout, stderr floodBuffer
	srv.Stdout, srv.Stderr = &stdout, &stderr
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { _ = srv.Wait(); close(exited) }()
	t.Cleanup(func() {
		_ = srv.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(15 * time.Second):
			t.Errorf("server did not stop within 15 s of SIGTERM; killing it")
			_ = srv.Process.Kill()
			<-exited
		}
	})
	base := floodBaseURL(t, &stdout, exited, &stderr)
	pid := srv.Process.Pid

	email := "flood-" + clavistest.RandHex(4) + "@example.com"
	password := "Flood-password-" + clavistest.RandHex(6)
	body, _ := json.Marshal(map[string]string{"email": email, "password": password})
	if ans := secDo(t, "POST", base+"/v1/auth/signup", "", string(body)); ans.Status != http.StatusOK {
		t.Fatalf("signup: %d %s", ans.Status, ans.Body)
	}
	startRSS, _ := floodMemory(pid)

	// Sample VmRSS and VmHWM every 50 ms while the flood runs.
	var peakKiB int64
	stop := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for {
			if rss, hwm := floodMemory(pid); max(rss, hwm) > peakKiB {
				peakKiB = max(rss, hwm)
			}
			select {
			case <-stop:
				return
			case <-tick.C:
			}
		}
	}()

	var mu sync.Mutex
	counts := map[int]int{}
	flood := func(emailOf func(i int) string) {
		var wg sync.WaitGroup
		for i := range concurrent {
			wg.Add(1)
			go func() {
				defer wg.Done()
				ans := secLogin(t, base, emailOf(i), "Wrong-password-"+strconv.Itoa(i))
				mu.Lock()
				counts[ans.Status]++
				mu.Unlock()
			}()
		}
		wg.Wait()
	}
	start := time.Now()
	flood(func(int) string { return email })
	flood(func(i int) string { return fmt.Sprintf("nobody-%d-%s@example.com", i, clavistest.RandHex(3)) })
	elapsed := time.Since(start)
	close(stop)
	<-sampled
	if _, hwm := floodMemory(pid); hwm > peakKiB {
		peakKiB = hwm
	}

	peakMiB := peakKiB / 1024
	t.Logf("login flood: %d concurrent, peak RSS %d MiB", concurrent, peakMiB)
	t.Logf("login flood detail: 2 waves of %d in %v, RSS before %d MiB, answers %v", concurrent, elapsed.Round(time.Millisecond),
		startRSS/1024, counts)
	if counts[http.StatusUnauthorized] != 2*concurrent {
		t.Errorf("answers %v, want all %d to be 401", counts, 2*concurrent)
	}
	if peakMiB >= limitMiB {
		t.Errorf("peak RSS %d MiB during the flood, want < %d MiB", peakMiB, limitMiB)
	}
	if ans := secLogin(t, base, email, password); ans.Status != http.StatusUnauthorized {
		t.Errorf("right password after the flood = %d, want 401 (locked)", ans.Status)
	}
}

// floodEnv is the test's environment without CLAVIS_ settings, so that only the flags configure the server.
func floodEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "CLAVIS_") {
			env = append(env, kv)
		}
	}
	return env
}

// floodBaseURL waits for the dev banner ("… listening on http://127.0.0.1:PORT …") on the server's stdout.
func floodBaseURL(t *testing.T, stdout *floodBuffer, exited <-chan struct{}, stderr *floodBuffer) string {
	t.Helper()
	re := regexp.MustCompile(`listening on (http://127\.0\.0\.1:\d+)`)
	deadline := time.After(30 * time.Second)
	for {
		if m := re.FindStringSubmatch(stdout.String()); m != nil {
			return m[1]
		}
		select {
		case <-exited:
			t.Fatalf("server exited before listening:\n%s%s", stdout.String(), stderr.String())
		case <-deadline:
			t.Fatalf("no listening banner within 30 s:\n%s%s", stdout.String(), stderr.String())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// floodMemory returns VmRSS and VmHWM of pid in KiB (0 when unreadable).
func floodMemory(pid int) (rss, hwm int64) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0, 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		f := strings.Fields(v)
		if len(f) == 0 {
			continue
		}
		n, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			continue
		}
		switch k {
		case "VmRSS":
			rss = n
		case "VmHWM":
			hwm = n
		}
	}
	return rss, hwm
}

// floodBuffer collects the server's stderr for failure messages.
type floodBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (f *floodBuffer) Write(p []byte) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.b.Write(p)
}

func (f *floodBuffer) String() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.b.String()
}
