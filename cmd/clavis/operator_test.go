package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"clavis.dev/clavis"
	"clavis.dev/clavis/client"
	"clavis.dev/clavis/internal/clavistest"
	"clavis.dev/clavis/internal/store"
	"clavis.dev/clavis/internal/store/sqlite"
)

// dirState is a digest of the names and contents of every file in dir.
func dirState(t *testing.T, dir string) string {
	t.Helper()
	h := sha256.New()
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p) // #nosec G122 G304 -- a test temp dir that nothing else changes meanwhile
		fmt.Fprintf(h, "%s %d\n", p, len(b))
		h.Write(b)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("%x", h.Sum(nil))
}

// olderDatabase writes dir/clavis.db with the schema of the migrations before the newest one, as the
// previous release left it, and a root key beside it.
func olderDatabase(t *testing.T, dir string) {
	t.Helper()
	files, err := filepath.Glob("../../internal/store/sqlite/migrations/*.sql")
	if err != nil || len(files) < 2 {
		t.Fatalf("migrations: %v %v", files, err)
	}
	sort.Strings(files)
	db, err := sql.Open("sqlite", filepath.Join(dir, "clavis.db")+"?_pragma=journal_mode(WAL)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec("CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)"); err != nil {
		t.Fatal(err)
	}
	for i, f := range files[:len(files)-1] {
		b, err := os.ReadFile(f) // #nosec G304 -- a test temp file
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.Exec(string(b)); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if _, err := db.Exec("INSERT INTO schema_migrations VALUES (?, ?, '')", i+1, filepath.Base(f)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := openRootKey("file:"+filepath.Join(dir, "root.key"), true); err != nil {
		t.Fatal(err)
	}
}

// TestOperatorCommandsRefuseOlderSchema: against a database with an older schema (or an empty one, or
// none), audit verify, keys and backup stop with an error naming clavis migrate and change nothing;
// clavis migrate brings the schema up; they then refuse to create the server keys no server has made.
func TestOperatorCommandsRefuseOlderSchema(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	olderDatabase(t, dir)
	backupFile := filepath.Join(t.TempDir(), "b.backup")
	newKey := filepath.Join(t.TempDir(), "new.key")
	commands := [][]string{
		{"audit", "verify"},
		{"keys", "rotate-jwt"},
		{"keys", "rotate-vault", "--vault", "00000000-0000-4000-8000-000000000000"},
		{"keys", "rewrap", "--vault", "00000000-0000-4000-8000-000000000000"},
		{"keys", "rotate-root", "--new-root-key", "file:" + newKey},
		{"backup", "--out", backupFile},
	}
	before := dirState(t, dir)
	for _, cmd := range commands {
		var out, errOut bytes.Buffer
		err := run(ctx, append(cmd, "--data-dir", dir), &out, &errOut)
		if err == nil || !strings.Contains(err.Error(), "clavis migrate") || !strings.Contains(err.Error(), "older") {
			t.Errorf("clavis %s on an older schema: err = %v, want one that says it is older and names clavis migrate", strings.Join(cmd, " "), err)
		}
		if got := dirState(t, dir); got != before {
			t.Fatalf("clavis %s changed the data directory", strings.Join(cmd, " "))
		}
	}
	if _, err := os.Stat(backupFile); err == nil {
		t.Errorf("backup wrote a file from a database it refused")
	}
	if _, err := os.Stat(newKey); err == nil {
		t.Errorf("keys rotate-root created a new root key for a database it refused")
	}

	// An empty database file, and no database at all.
	empty := t.TempDir()
	if err := os.WriteFile(filepath.Join(empty, "clavis.db"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	none := t.TempDir()
	for _, d := range []string{empty, none} {
		before := dirState(t, d)
		for _, cmd := range commands {
			err := run(ctx, append(cmd, "--data-dir", d), io.Discard, io.Discard)
			if err == nil || !strings.Contains(err.Error(), "clavis migrate") {
				t.Errorf("clavis %s on %s: err = %v, want one naming clavis migrate", strings.Join(cmd, " "), d, err)
			}
		}
		if got := dirState(t, d); got != before {
			t.Errorf("operator commands changed %s", d)
		}
	}

	var out bytes.Buffer
	if err := run(ctx, []string{"migrate", "--data-dir", dir}, &out, io.Discard); err != nil {
		t.Fatalf("clavis migrate: %v", err)
	}
	have, want, err := sqlite.SchemaVersion(ctx, filepath.Join(dir, "clavis.db"))
	if err != nil || have != want || !strings.Contains(out.String(), fmt.Sprintf("from version %d to %d", want-1, want)) {
		t.Fatalf("after clavis migrate: version %d of %d, %v; output %q", have, want, err, out.String())
	}
	out.Reset()
	if err := run(ctx, []string{"migrate", "--data-dir", dir}, &out, io.Discard); err != nil || !strings.Contains(out.String(), "nothing to do") {
		t.Fatalf("second clavis migrate: %v, %q", err, out.String())
	}

	// A current schema on which no server has started: no keys are created for it.
	for _, cmd := range [][]string{{"audit", "verify"}, {"keys", "rotate-jwt"}} {
		err := run(ctx, append(cmd, "--data-dir", dir), io.Discard, io.Discard)
		if err == nil || !strings.Contains(err.Error(), "no server has started") {
			t.Errorf("clavis %s before any server start: err = %v, want one saying no server has started", strings.Join(cmd, " "), err)
		}
	}
	st, err := sqlite.OpenCurrent(ctx, filepath.Join(dir, "clavis.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if names := serverKeyNames(t, st); len(names) != 0 {
		t.Errorf("operator commands created server keys %v", names)
	}
}

func serverKeyNames(t *testing.T, st store.Store) []string {
	t.Helper()
	var names []string
	if err := st.Read(context.Background(), func(tx store.Tx) error {
		var err error
		names, err = tx.ServerKeyNames()
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return names
}

// TestMain lets a test run this binary's main in a child process (CLAVIS_TEST_MAIN=1), to kill it, and
// the CLI scripts (cli_test.go) run it as the command clavis.
func TestMain(m *testing.M) {
	if os.Getenv("CLAVIS_TEST_MAIN") == "1" {
		main()
		os.Exit(0)
	}
	testscript.Main(m, map[string]func(){"clavis": main})
}

// startChild runs `clavis server --dev` (with more flags, if given) on dir in a child process and returns its URL
// and the process.
func startChild(t *testing.T, dir string, flags ...string) (string, *exec.Cmd) {
	t.Helper()
	args := append([]string{"server", "--dev", "--listen", "127.0.0.1:0", "--data-dir", dir, "--rate-limits", "off"}, flags...)
	// #nosec G204 G702 -- this test binary again, as the server (CLAVIS_TEST_MAIN), on a test temp dir.
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), "CLAVIS_TEST_MAIN=1")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	cmd.Stderr = &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }) // it may have exited already; Wait reaps it
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if m := regexp.MustCompile(`listening on (http://[0-9.:]+)`).FindStringSubmatch(sc.Text()); m != nil {
				found <- m[1]
			}
		}
		_, _ = io.Copy(io.Discard, stdout) // keep the child's stdout drained until it exits
	}()
	select {
	case url := <-found:
		return url, cmd
	case <-time.After(60 * time.Second):
		t.Fatalf("child server did not start; log:\n%s", logs.String())
	}
	return "", nil
}

// TestRestoreForceAfterCrashKeepsAcknowledgedWrites: a server is killed (kill -9) while writing, so its
// write-ahead log holds acknowledged writes; restore --force then replaces the database, and the copy it
// keeps of the replaced database still holds every acknowledged write.
func TestRestoreForceAfterCrashKeepsAcknowledgedWrites(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	url, child := startChild(t, dir)
	anon := client.New(url)
	email, password := "crash-"+clavistest.RandHex(6)+"@example.com", "Pw-"+clavistest.RandHex(10)
	tok, err := anon.Signup(ctx, email, password, "")
	if err != nil {
		t.Fatal(err)
	}
	c := anon.WithToken(string(tok.AccessToken))
	v, err := c.CreateVault(ctx, clavis.VaultInput{Name: "crash"})
	if err != nil {
		t.Fatal(err)
	}
	backup := filepath.Join(t.TempDir(), "before.backup")
	if err := run(ctx, []string{"backup", "--data-dir", dir, "--out", backup}, io.Discard, io.Discard); err != nil {
		t.Fatalf("backup of the live server: %v", err)
	}

	acked := writeUntilKilled(t, c, v.ID, child)
	if fi, err := os.Stat(filepath.Join(dir, "clavis.db-wal")); err != nil || fi.Size() == 0 {
		t.Fatalf("the crashed server's write-ahead log is empty (%v): the test would prove nothing", err)
	}

	var errOut bytes.Buffer
	if err := run(ctx, []string{"restore", "--force", "--in", backup, "--data-dir", dir}, io.Discard, &errOut); err != nil {
		t.Fatalf("restore --force: %v\n%s", err, errOut.String())
	}
	kept, _ := filepath.Glob(filepath.Join(dir, "clavis.db.before-restore-*"))
	if len(kept) != 1 {
		t.Fatalf("kept copies: %v; want one\n%s", kept, errOut.String())
	}
	// The kept copy, alone in a data directory with the root key, holds every acknowledged write.
	check := t.TempDir()
	if err := os.Rename(kept[0], filepath.Join(check, "clavis.db")); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"clavis.db-wal"} {
		if _, err := os.Stat(kept[0] + "-wal"); err == nil {
			if err := os.Rename(kept[0]+"-wal", filepath.Join(check, f)); err != nil {
				t.Fatal(err)
			}
		}
	}
	key, err := os.ReadFile(filepath.Join(dir, "root.key")) // #nosec G304 -- a test temp dir
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(check, "root.key"), key, 0o600); err != nil { // #nosec G703 -- a test temp dir
		t.Fatal(err)
	}
	env := clavistest.New(t, clavistest.Options{DataDir: check})
	tok, err = env.Client().Login(ctx, email, password)
	if err != nil {
		t.Fatalf("login on the kept copy: %v", err)
	}
	kc := env.Client().WithToken(string(tok.AccessToken))
	for p, val := range acked {
		s, err := kc.GetSecret(ctx, v.ID, p)
		if err != nil || string(s.Value) != val {
			t.Fatalf("acknowledged write %s missing from the kept copy (%d acknowledged): %v", p, len(acked), err)
		}
	}
	t.Logf("%d acknowledged writes, all in the kept copy", len(acked))

	// The restored database is the backup: none of the later writes.
	restored := clavistest.New(t, clavistest.Options{DataDir: dir})
	tok, err = restored.Client().Login(ctx, email, password)
	if err != nil {
		t.Fatalf("login on the restored database: %v", err)
	}
	if _, err := restored.Client().WithToken(string(tok.AccessToken)).GetSecret(ctx, v.ID, "w0/0"); err == nil {
		t.Errorf("the restored database has a write made after the backup")
	}
}

// writeUntilKilled has writers put secrets into vault until 200 writes are acknowledged, then kills the
// server (SIGKILL: no shutdown, no checkpoint) and returns the acknowledged writes (path to value): only
// the writes answered 2xx count.
func writeUntilKilled(t *testing.T, c *client.Client, vault string, child *exec.Cmd) map[string]string {
	t.Helper()
	ctx := context.Background()
	var mu sync.Mutex
	acked := map[string]string{}
	enough := make(chan struct{}) // closed at the 200th acknowledged write
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := 0; ; i++ {
				p, val := fmt.Sprintf("w%d/%d", w, i), "v-"+clavistest.RandHex(8)
				if _, err := c.PutSecret(ctx, vault, p, clavis.SecretInput{Value: clavis.Sensitive(val)}); err != nil {
					return // the server is gone
				}
				mu.Lock()
				if acked[p] = val; len(acked) == 200 {
					close(enough)
				}
				mu.Unlock()
			}
		})
	}
	select {
	case <-enough:
	case <-time.After(2 * time.Minute):
		t.Fatal("the writers did not get 200 writes acknowledged within 2 minutes")
	}
	if err := child.Process.Kill(); err != nil { // SIGKILL: no shutdown, no checkpoint
		t.Fatal(err)
	}
	_ = child.Wait() // "signal: killed", as intended
	wg.Wait()
	return acked
}
