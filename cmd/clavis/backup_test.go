package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"clavis.dev/clavis"
	"clavis.dev/clavis/internal/clavistest"
)

// TestBackupWhileWritingAndRestore takes a backup of a live server under concurrent writes, restores it
// into a new data directory with the same root key, and checks that every secret acknowledged before the
// backup opens and that the audit chain verifies.
func TestBackupWhileWritingAndRestore(t *testing.T) {
	ctx := context.Background()
	src := clavistest.New(t)
	u := src.Signup(t)
	v, err := u.C.CreateVault(ctx, clavis.VaultInput{Name: "backed-up"})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{}
	for i := range 20 {
		p, val := fmt.Sprintf("k/%d", i), "value-"+clavistest.RandHex(6)
		if _, err := u.C.PutSecret(ctx, v.ID, p, clavis.SecretInput{Value: clavis.Sensitive(val)}); err != nil {
			t.Fatal(err)
		}
		want[p] = val
	}
	// writers keep going during the backup
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			_, _ = u.C.PutSecret(ctx, v.ID, fmt.Sprintf("busy/%d", i%10), clavis.SecretInput{Value: "x"})
		}
	}()
	backup := filepath.Join(t.TempDir(), "clavis.backup")
	var out, errOut bytes.Buffer
	err = run(ctx, []string{"backup", "--data-dir", src.DataDir, "--out", backup}, &out, &errOut)
	close(stop)
	wg.Wait()
	if err != nil {
		t.Fatalf("backup: %v\n%s", err, errOut.String())
	}
	if fi, err := os.Stat(backup); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("backup file: %v, mode %v; want 0600", err, fi.Mode())
	}
	if err := run(ctx, []string{"backup", "--data-dir", src.DataDir, "--out", backup}, &out, &errOut); err == nil {
		t.Fatalf("backup over an existing file must fail")
	}

	dst := t.TempDir()
	if err := run(ctx, []string{"restore", "--in", backup, "--data-dir", dst}, &out, &errOut); err != nil {
		t.Fatalf("restore: %v\n%s", err, errOut.String())
	}
	if err := run(ctx, []string{"restore", "--in", backup, "--data-dir", dst}, &out, &errOut); err == nil {
		t.Fatalf("restore over an existing database without --force must fail")
	}
	key, err := os.ReadFile(filepath.Join(src.DataDir, "root.key"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dst, "root.key"), key, 0o600); err != nil { // #nosec G703 -- a test temp dir
		t.Fatal(err)
	}
	restored := clavistest.New(t, clavistest.Options{DataDir: dst})
	tok, err := restored.Client().Login(ctx, u.Email, u.Password)
	if err != nil {
		t.Fatalf("login on the restored server: %v", err)
	}
	c := restored.Client().WithToken(string(tok.AccessToken))
	for p, val := range want {
		s, err := c.GetSecret(ctx, v.ID, p)
		if err != nil || string(s.Value) != val {
			t.Fatalf("restored %s: %v", p, err)
		}
	}
	res, err := c.VerifyAudit(ctx, nil, nil, 0)
	if err != nil || !res.Valid {
		t.Fatalf("audit chain after restore: %+v, %v", res, err)
	}
}
