// Package replicatest runs several `clavis server` processes on one PostgreSQL database, as a user who
// outgrew one machine would, and checks that they behave as one server.
package replicatest

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"clavis.dev/clavis"
	"clavis.dev/clavis/client"
)

var ctx = context.Background()

// adminDSN is the PostgreSQL server the test creates its database on.
func adminDSN() string {
	if v := os.Getenv("CLAVIS_TEST_POSTGRES"); v != "" {
		return v
	}
	return "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
}

// freshDatabase creates an empty database and drops it when the test ends.
func freshDatabase(t *testing.T) string {
	t.Helper()
	if _, err := exec.LookPath("psql"); err != nil {
		t.Skip("psql not installed: cannot create a test database")
	}
	admin := adminDSN()
	name := fmt.Sprintf("clavis_replicas_%d", time.Now().UnixNano())
	// #nosec G204 -- psql on the test server (CLAVIS_TEST_POSTGRES) with a generated database name.
	if out, err := exec.Command("psql", admin, "-qc", "CREATE DATABASE "+name).CombinedOutput(); err != nil {
		if os.Getenv("CLAVIS_TEST_POSTGRES") == "" {
			t.Skipf("PostgreSQL not reachable at %s: %s", admin, strings.TrimSpace(string(out)))
		}
		t.Fatalf("create database: %v: %s", err, out)
	}
	t.Cleanup(func() {
		// #nosec G204 -- as above; best effort: a leftover test database is harmless.
		_ = exec.Command("psql", admin, "-qc", "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)").Run()
	})
	u, err := url.Parse(admin)
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/" + name
	return u.String()
}

// startReplicas builds clavis and starts n servers on one database, with one root key and one public URL
// (the JWT issuer every replica must agree on). It returns each replica's own base URL.
func startReplicas(t *testing.T, n int, dsn string) []string {
	t.Helper()
	dir := t.TempDir()
	bin := filepath.Join(dir, "clavis")
	build := exec.Command("go", "build", "-o", bin, "clavis.dev/clavis/cmd/clavis") // #nosec G204 -- bin is in a test temp dir
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	rootKey := "file:" + filepath.Join(dir, "root.key")
	var urls []string
	for i := range n {
		// #nosec G204 -- the binary just built, with the test database and temp dirs.
		cmd := exec.Command(bin, "server", "--dev", "--listen", "127.0.0.1:0", "--data-dir", filepath.Join(dir, fmt.Sprint("r", i)),
			"--database", dsn, "--root-key", rootKey, "--public-url", "http://clavis.test", "--rate-limits", "off")
		logs, err := cmd.StderrPipe() // JSON logs: the "clavis listening" line names the real address
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			_ = cmd.Process.Signal(syscall.SIGTERM)
			_ = cmd.Wait()
		})
		found := make(chan string, 1)
		go func() {
			sc := bufio.NewScanner(logs)
			for sc.Scan() {
				if m := listenAddr.FindStringSubmatch(sc.Text()); m != nil {
					found <- "http://" + m[1]
				}
			}
		}()
		select {
		case u := <-found:
			urls = append(urls, u)
		case <-time.After(30 * time.Second):
			t.Fatalf("replica %d did not start", i)
		}
	}
	return urls
}

// listenAddr finds a replica's real address in its startup log line (the banner shows the public URL).
var listenAddr = regexp.MustCompile(`"addr":"([0-9.:]+)"`)

func kindOf(err error) clavis.Kind {
	var e *clavis.Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return -1
}

// kindName names an outcome: "ok" or the error's Kind.
func kindName(err error) string {
	if err == nil {
		return "ok"
	}
	return kindOf(err).String()
}

func TestThreeReplicas(t *testing.T) {
	if testing.Short() {
		t.Skip("starts three servers")
	}
	dsn := freshDatabase(t)
	bases := startReplicas(t, 3, dsn)
	t.Logf("replicas: %v", bases)

	// Round-robin clients: request i goes to replica i mod 3.
	var rr struct {
		sync.Mutex
		n int
	}
	next := func() string {
		rr.Lock()
		defer rr.Unlock()
		rr.n++
		return bases[rr.n%len(bases)]
	}

	email := fmt.Sprintf("ops-%d@example.com", time.Now().UnixNano())
	tok, err := client.New(bases[0]).Signup(ctx, email, "correct-horse-battery", "")
	if err != nil {
		t.Fatal(err)
	}
	user := func(base string) *client.Client { return client.New(base, client.WithToken(string(tok.AccessToken))) }
	v, err := user(bases[1]).CreateVault(ctx, clavis.VaultInput{Name: "replicated"})
	if err != nil {
		t.Fatal(err)
	}

	t.Run("50 concurrent writers across replicas get versions 1..50", func(t *testing.T) {
		seen := make(chan int, 50)
		var wg sync.WaitGroup
		for range 50 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				m, err := user(next()).PutSecret(ctx, v.ID, "shared/key", clavis.SecretInput{Value: "x"})
				if err != nil {
					t.Error(err)
					return
				}
				seen <- m.Version.Version
			}()
		}
		wg.Wait()
		close(seen)
		got := map[int]bool{}
		for n := range seen {
			if got[n] {
				t.Fatalf("version %d handed out twice", n)
			}
			got[n] = true
		}
		for n := 1; n <= 50; n++ {
			if !got[n] {
				t.Fatalf("version %d missing: got %v", n, got)
			}
		}
	})

	t.Run("a limit-1 secret read through all replicas succeeds exactly once", func(t *testing.T) {
		if _, err := user(bases[2]).PutSecret(ctx, v.ID, "once", clavis.SecretInput{Value: "burn", MaxAccessCount: new(1)}); err != nil {
			t.Fatal(err)
		}
		var mu sync.Mutex
		counts := map[string]int{}
		var wg sync.WaitGroup
		for range 60 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, err := user(next()).GetSecret(ctx, v.ID, "once")
				mu.Lock()
				defer mu.Unlock()
				if err == nil {
					counts["ok"]++
				} else {
					counts[kindOf(err).String()]++
				}
			}()
		}
		wg.Wait()
		if counts["ok"] != 1 || counts["gone"] != 59 {
			t.Fatalf("outcomes %v, want exactly 1 ok and 59 gone", counts)
		}
	})

	t.Run("100 concurrent opens of a 3-access share across replicas give exactly 3 values", func(t *testing.T) {
		m, err := user(bases[0]).PutSecret(ctx, v.ID, "shared/link", clavis.SecretInput{Value: "handed-out"})
		if err != nil {
			t.Fatal(err)
		}
		exp := time.Now().Add(time.Hour)
		sh, err := user(bases[1]).CreateShare(ctx, m.Secret.ID, clavis.ShareInput{RecipientType: clavis.ShareToAnyone,
			ExpiresAt: &exp, MaxAccessCount: new(3)})
		if err != nil {
			t.Fatal(err)
		}
		var mu sync.Mutex
		counts := map[string]int{}
		var seen []int
		var wg sync.WaitGroup
		for range 100 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				got, err := client.New(next()).OpenShare(ctx, sh.ID, "")
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err != nil:
					counts[kindOf(err).String()]++
				case string(got.Value) != "handed-out":
					t.Errorf("share value %q", string(got.Value))
				default:
					counts["ok"]++
					seen = append(seen, got.AccessCount)
				}
			}()
		}
		wg.Wait()
		if counts["ok"] != 3 || counts["gone"] != 97 {
			t.Fatalf("outcomes %v, want exactly 3 ok and 97 gone", counts)
		}
		slices.Sort(seen)
		if !slices.Equal(seen, []int{1, 2, 3}) {
			t.Fatalf("access counts of the successes %v, want 1, 2, 3", seen)
		}
	})

	// Each replica caches principal state (engine state cache): the replica that makes a change applies
	// it on the next request, the others within the staleness bound (2 s by default; a PostgreSQL
	// notification usually brings it within milliseconds).
	t.Run("an agent deactivated on replica 1 is refused there at once and by replicas 2 and 3 within the bound", func(t *testing.T) {
		const bound = 2 * time.Second
		ak, err := user(bases[0]).CreateAgent(ctx, clavis.AgentInput{Name: "bot"})
		if err != nil {
			t.Fatal(err)
		}
		a, key := ak.Agent, ak.Key
		at, err := client.New(bases[1]).AgentToken(ctx, string(key), a.ID)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := user(bases[0]).CreatePolicy(ctx, v.ID, clavis.PolicyInput{Pattern: "**", PrincipalType: clavis.PrincipalAgent,
			PrincipalID: a.ID, Permissions: []string{"read"}}); err != nil {
			t.Fatal(err)
		}
		agent := func(b string) *client.Client { return client.New(b, client.WithToken(string(at.AccessToken))) }
		for _, b := range bases {
			for range 2 { // twice: the second request is served from the replica's cache
				if _, err := agent(b).GetSecret(ctx, v.ID, "shared/key"); err != nil {
					t.Fatalf("agent before deactivation on %s: %v", b, err)
				}
			}
		}
		if _, err := user(bases[0]).UpdateAgent(ctx, a.ID, clavis.AgentPatch{Active: new(false)}); err != nil {
			t.Fatal(err)
		}
		changed := time.Now()
		if _, err := agent(bases[0]).GetSecret(ctx, v.ID, "shared/key"); kindOf(err) != clavis.KindUnauthorized {
			t.Fatalf("deactivated agent's token on the replica that deactivated it: %v, want 401", err)
		}
		for _, b := range bases[1:] {
			for {
				_, err := agent(b).GetSecret(ctx, v.ID, "shared/key")
				if kindOf(err) == clavis.KindUnauthorized {
					t.Logf("%s refused the deactivated agent %v after the change", b, time.Since(changed).Round(time.Millisecond))
					break
				}
				if err != nil {
					t.Fatalf("deactivated agent's token on %s: %v, want 401", b, err)
				}
				if time.Since(changed) > bound {
					t.Fatalf("%s still served the deactivated agent %v after the change (bound %v)", b, time.Since(changed), bound)
				}
				time.Sleep(5 * time.Millisecond)
			}
			_, err = client.New(b).AgentToken(ctx, string(key), a.ID)
			if kindOf(err) != clavis.KindUnauthorized {
				t.Fatalf("deactivated agent's key exchange on %s: %v, want 401", b, err)
			}
		}
	})

	t.Run("an approved one-time grant is used exactly once by 50 concurrent reads across replicas", func(t *testing.T) {
		if _, err := user(bases[0]).PutSecret(ctx, v.ID, "gated/key", clavis.SecretInput{Value: "guarded"}); err != nil {
			t.Fatal(err)
		}
		ak, err := user(bases[1]).CreateAgent(ctx, clavis.AgentInput{Name: "gated"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := user(bases[2]).CreatePolicy(ctx, v.ID, clavis.PolicyInput{Pattern: "gated/**", PrincipalType: clavis.PrincipalAgent,
			PrincipalID: ak.Agent.ID, Permissions: []string{"read"}, RequireApproval: true}); err != nil {
			t.Fatal(err)
		}
		at, err := client.New(bases[0]).AgentToken(ctx, string(ak.Key), ak.Agent.ID)
		if err != nil {
			t.Fatal(err)
		}
		agent := func(base string) *client.Client { return client.New(base, client.WithToken(string(at.AccessToken))) }
		_, err = agent(bases[0]).GetSecret(ctx, v.ID, "gated/key")
		var ce *clavis.Error
		if !errors.As(err, &ce) || ce.Kind != clavis.KindApprovalRequired || ce.ApprovalID == "" {
			t.Fatalf("first read: %v, want approval_required naming an approval", err)
		}
		if _, err := user(bases[1]).DecideApproval(ctx, ce.ApprovalID, true, ""); err != nil {
			t.Fatal(err)
		}
		var mu sync.Mutex
		counts := map[string]int{}
		var wg sync.WaitGroup
		for range 50 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, err := agent(next()).GetSecret(ctx, v.ID, "gated/key")
				mu.Lock()
				defer mu.Unlock()
				counts[kindName(err)]++
			}()
		}
		wg.Wait()
		if counts["ok"] != 1 || counts["approval_required"] != 49 {
			t.Fatalf("outcomes %v, want exactly 1 ok and 49 approval_required", counts)
		}
	})

	t.Run("the audit chain stays linear across replicas", func(t *testing.T) {
		res, err := user(bases[2]).VerifyAudit(ctx, nil, nil, 0)
		if err != nil || !res.Valid || res.Checked < 60 {
			t.Fatalf("verify: %+v, %v", res, err)
		}
	})
}
