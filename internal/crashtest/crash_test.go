package crashtest

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"clavis.dev/clavis"
	"clavis.dev/clavis/client"
)

const (
	writers       = 16 // concurrent writing clients
	readers       = 16 // concurrent clients reading back after a restart
	keysPerWriter = 50 // writer w writes w<w>/k<n mod 50>, so versions accumulate
	// killJitter is the most the kill waits after its write threshold: the threshold makes the
	// writes add up to the target over the cycles, the jitter puts the SIGKILL at a random point of
	// the requests in flight.
	killJitter = 50 * time.Millisecond
	// writePhaseTimeout bounds a write phase that never reaches its threshold.
	writePhaseTimeout = 5 * time.Minute
)

// config is read from the environment; CI sets the large values.
type config struct {
	cycles   int    // CLAVIS_CRASH_CYCLES, default 3 (CI: 20)
	writes   int    // CLAVIS_CRASH_WRITES, acknowledged writes to reach over all cycles, default 1500 (CI: 10000)
	database string // CLAVIS_CRASH_DATABASE, the server's --database; default the SQLite file in the data dir
}

func loadConfig(t *testing.T) config {
	t.Helper()
	num := func(name string, def int) int {
		s := os.Getenv(name)
		if s == "" {
			return def
		}
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			t.Fatalf("%s=%q: want a positive integer", name, s)
		}
		return n
	}
	return config{cycles: num("CLAVIS_CRASH_CYCLES", 3), writes: num("CLAVIS_CRASH_WRITES", 1500),
		database: os.Getenv("CLAVIS_CRASH_DATABASE")}
}

// TestCrashDurability starts the server, has concurrent clients write while recording every
// acknowledged (201) write, kills the server with SIGKILL at a random instant, restarts it on the same
// data and checks that no acknowledged write is lost or altered, that version lists have no gaps or
// duplicates, and that the audit chain verifies — cycle after cycle on one data directory. Writes in
// flight at the kill have an unknown outcome: after the restart each is either absent or present with
// exactly the value sent.
func TestCrashDurability(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("crash test: runs on Linux only")
	}
	if testing.Short() {
		t.Skip("crash test: skipped in -short mode")
	}
	cfg := loadConfig(t)
	ctx := t.Context()
	if dl, ok := t.Deadline(); ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, dl.Add(-10*time.Second))
		defer cancel()
	}
	started := time.Now()
	bin := buildBinary(t)
	dir := t.TempDir()
	dataDir := filepath.Join(dir, "data")
	logPath := func(i int) string { return filepath.Join(dir, fmt.Sprintf("server-%02d.log", i)) }
	db := "embedded SQLite"
	if cfg.database != "" {
		db = "--database " + redactDSN(cfg.database)
	}
	t.Logf("crash test: %d cycles, %d acknowledged writes wanted, %d writers, %s", cfg.cycles, cfg.writes, writers, db)

	// #nosec G404 -- a throwaway account and the writers' choices on a test server: nothing to guess.
	rng := rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64()))
	email := fmt.Sprintf("crash-%016x@example.com", rng.Uint64())
	password := fmt.Sprintf("crash-test-%016x", rng.Uint64())
	led := newLedger()
	cp := &checkpoints{}
	var ops atomic.Int64 // requests sent, for audit checkpoints
	ws := make([]*writer, writers)
	for i := range ws {
		ws[i] = &writer{id: i, rng: rand.New(rand.NewPCG(rng.Uint64(), rng.Uint64()))} // #nosec G404 -- which secret to write next
	}

	srv := startServer(t, bin, dataDir, cfg.database, logPath(0))
	s, err := openSession(ctx, srv.url, email, password, true)
	if err != nil {
		t.Fatalf("signup: %v\n%s", err, logTail(srv.logPath, 20))
	}
	v, err := s.cl.CreateVault(ctx, clavis.VaultInput{Name: "crash-test", Description: "crash-durability test"})
	if err != nil {
		t.Fatalf("create vault: %v", err)
	}
	s.vault = v.ID

	chainsValid := true
	var problems []string
	for cycle := 1; cycle <= cfg.cycles; cycle++ {
		acked, _, _ := led.totals()
		target := killThreshold(rng, cfg.writes-acked, cfg.cycles-cycle+1)
		wr := writePhase(ctx, srv, s, led, cp, &ops, ws, cycle, target, rng)
		problems = append(problems, wr.problems...)
		if len(wr.problems) > 0 {
			t.Errorf("cycle %d: %d unexpected write errors, first: %s", cycle, len(wr.problems), wr.problems[0])
		}
		s.hc.CloseIdleConnections()

		srv = startServer(t, bin, dataDir, cfg.database, logPath(cycle))
		vault := s.vault
		if s, err = openSession(ctx, srv.url, email, password, false); err != nil {
			t.Fatalf("cycle %d: login after restart: %v\n%s", cycle, err, logTail(srv.logPath, 20))
		}
		s.vault = vault
		stopCP := cp.every(ctx, s, &ops, false)
		cs, err := checkStore(ctx, s, led, &ops)
		if cpErr := stopCP(); err == nil {
			err = cpErr
		}
		if err == nil {
			err = cp.take(ctx, s) // the chain head, with the server idle
		}
		if err != nil {
			t.Fatalf("cycle %d: check after restart: %v\n%s", cycle, err, logTail(srv.logPath, 20))
		}
		auditStart := time.Now()
		walk, err := verifyChain(ctx, s, cp)
		if err != nil {
			t.Fatalf("cycle %d: audit verify after restart: %v\n%s", cycle, err, logTail(srv.logPath, 20))
		}
		writeEvents, err := checkWriteEvents(ctx, s, led)
		if err != nil {
			t.Fatalf("cycle %d: audit write events after restart: %v\n%s", cycle, err, logTail(srv.logPath, 20))
		}
		auditTook := time.Since(auditStart)
		chainAt := "valid"
		if !walk.valid {
			chainsValid = false
			chainAt = "BROKEN at event " + walk.brokenAt
			t.Errorf("cycle %d: audit chain broken after restart at event %s", cycle, walk.brokenAt)
		}
		total, lost, corrupt := led.totals()
		t.Logf("cycle %d/%d: SIGKILL %v after start, %d writes acknowledged (total %d), %d in flight; "+
			"restart: %d versions of %d paths read back in %v, in-flight writes %d committed / %d absent; "+
			"lost %d, corrupt %d; audit chain %s (%d events, %d windows), %d secret.write events, audit checks %v",
			cycle, cfg.cycles, wr.killedAfter.Round(time.Millisecond), wr.acked, total, wr.inFlight,
			cs.read, cs.paths, cs.took.Round(time.Millisecond), cs.found, cs.dropped, lost, corrupt,
			chainAt, walk.events, walk.windows, writeEvents, auditTook.Round(time.Millisecond))
	}

	acked, lost, corrupt := led.totals()
	t.Logf("crash test: %d cycles, %d acknowledged writes, %d lost, %d corrupt, audit chain valid after every restart: %v",
		cfg.cycles, acked, lost, corrupt, chainsValid)
	t.Logf("crash test: %d unexpected write errors; wall time %v", len(problems), time.Since(started).Round(time.Second))
	lostList, corruptList := led.report(20)
	if lost > 0 {
		t.Errorf("%d acknowledged writes lost:\n  %s", lost, strings.Join(lostList, "\n  "))
	}
	if corrupt > 0 {
		t.Errorf("%d corrupt records:\n  %s", corrupt, strings.Join(corruptList, "\n  "))
	}
	if acked < cfg.writes {
		t.Errorf("only %d acknowledged writes, want at least %d", acked, cfg.writes)
	}
}

// killThreshold is how many acknowledged writes a cycle waits for before its kill: on average an even
// share of what remains, uniformly between half and one and a half of it, and all of it in the last
// cycle, so that the cycles together reach the target.
func killThreshold(rng *rand.Rand, remaining, cyclesLeft int) int {
	if remaining < writers {
		return writers
	}
	if cyclesLeft <= 1 {
		return remaining
	}
	share := float64(remaining) / float64(cyclesLeft)
	return max(writers, int(share*(0.5+rng.Float64())))
}

// writer is one writing client; n carries over the cycles so that its paths keep accumulating versions.
type writer struct {
	id  int
	n   int
	rng *rand.Rand
}

// next returns the path and a fresh value for the writer's next PUT. Values are unique (they name the
// cycle, writer and sequence number) and of random length, up to a few KiB.
func (w *writer) next(cycle int) (path, value string) {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	path = fmt.Sprintf("w%02d/k%02d", w.id, w.n%keysPerWriter)
	b := []byte(fmt.Sprintf("c%02d-w%02d-n%06d-", cycle, w.id, w.n))
	for range 16 + w.rng.IntN(4096) {
		b = append(b, alphabet[w.rng.IntN(len(alphabet))])
	}
	w.n++
	return path, string(b)
}

// writeResult describes one write phase.
type writeResult struct {
	acked       int           // 201 answers in this phase
	inFlight    int           // writes without an answer (cut off by the kill)
	killedAfter time.Duration // from the start of the phase to the SIGKILL
	problems    []string      // unexpected errors: error answers, or failures before the kill
}

// writePhase runs the writers against srv until target writes are acknowledged, waits a random
// jitter, kills srv with SIGKILL while writes are in flight and waits for the process and the writers.
// Only a 201 answer makes a write acknowledged; every other outcome is unknown.
func writePhase(ctx context.Context, srv *serverProc, s *session, led *ledger, cp *checkpoints,
	ops *atomic.Int64, ws []*writer, cycle, target int, rng *rand.Rand) writeResult {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		acked, inFlight atomic.Int64
		killed          atomic.Bool
		reached         = make(chan struct{})
		reachedOnce     sync.Once
		mu              sync.Mutex
		res             writeResult
	)
	problem := func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		res.problems = append(res.problems, fmt.Sprintf("cycle %d: ", cycle)+fmt.Sprintf(format, args...))
	}
	stopCP := cp.every(ctx, s, ops, true)
	start := time.Now()
	var wg sync.WaitGroup
	for _, w := range ws {
		wg.Go(func() {
			errorsLeft := 5
			for ctx.Err() == nil {
				path, value := w.next(cycle)
				ops.Add(1)
				md, err := s.cl.PutSecret(ctx, s.vault, path, clavis.SecretInput{Value: clavis.Sensitive(value)})
				if err == nil {
					led.ack(path, md.Version.Version, md.Secret.Path, md.Secret.ID, value)
					if acked.Add(1) >= int64(target) {
						reachedOnce.Do(func() { close(reached) })
					}
					continue
				}
				led.addUnknown(path, value)
				var ce *clavis.Error
				if errors.As(err, &ce) {
					// The server answered with an error: unexpected under this load. The write may still
					// commit (a 503 audit timeout does not cancel it), so its outcome stays unknown.
					problem("PUT %s answered %v", path, err)
					if errorsLeft--; errorsLeft == 0 {
						return
					}
					continue
				}
				inFlight.Add(1)
				if !killed.Load() && ctx.Err() == nil {
					problem("PUT %s failed before the kill: %v", path, err)
				}
				return
			}
		})
	}
	writersDone := make(chan struct{})
	go func() {
		wg.Wait()
		close(writersDone)
	}()

	timeout := time.NewTimer(writePhaseTimeout)
	defer timeout.Stop()
	select {
	case <-reached:
		time.Sleep(time.Duration(rng.Int64N(int64(killJitter))))
	case <-writersDone:
		problem("every writer stopped before %d writes were acknowledged", target)
	case <-srv.exited:
		problem("server exited on its own: %v\n%s", srv.waitErr, logTail(srv.logPath, 20))
	case <-timeout.C:
		problem("%d writes not acknowledged within %v", target, writePhaseTimeout)
	case <-ctx.Done():
		problem("test deadline: %v", ctx.Err())
	}
	killed.Store(true)
	srv.kill()
	res.killedAfter = time.Since(start)
	cancel()
	<-writersDone
	_ = stopCP()
	res.acked = int(acked.Load())
	res.inFlight = int(inFlight.Load())
	return res
}

// session is an authenticated client of one server process.
type session struct {
	base  string
	hc    *http.Client
	cl    *client.Client // authenticated as the test user
	token string
	vault string
}

// openSession signs the test user up (first cycle) or logs it in, on a fresh connection pool.
func openSession(ctx context.Context, base, email, password string, signup bool) (*session, error) {
	hc := &http.Client{
		Transport: &http.Transport{MaxIdleConns: 4 * readers, MaxIdleConnsPerHost: 4 * readers, IdleConnTimeout: 30 * time.Second},
		Timeout:   60 * time.Second,
	}
	anon := client.New(base, client.WithHTTPClient(hc))
	var tok *clavis.Token
	var err error
	if signup {
		tok, err = anon.Signup(ctx, email, password, "crash test")
	} else {
		tok, err = anon.Login(ctx, email, password)
	}
	if err != nil {
		return nil, err
	}
	token := string(tok.AccessToken)
	return &session{base: base, hc: hc, cl: anon.WithToken(token), token: token}, nil
}

// redactDSN hides a password in a database URL for the log.
func redactDSN(dsn string) string {
	if i := strings.LastIndex(dsn, "@"); i >= 0 {
		if j := strings.Index(dsn, "://"); j >= 0 && j < i {
			return dsn[:j+3] + "…" + dsn[i:]
		}
	}
	return dsn
}
