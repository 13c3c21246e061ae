package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"clavis.dev/clavis"
	"clavis.dev/clavis/internal/clavistest"
)

// rotateRootAndReopen fills a server with secrets, rotates its root key to newSpec with the CLI while it
// runs, then reopens the data directory with the new root key only, and checks that every secret opens
// and the audit chain is intact.
func rotateRootAndReopen(t *testing.T, newSpec string) {
	t.Helper()
	ctx := context.Background()
	env := clavistest.New(t)
	u := env.Signup(t)
	want := map[string]string{}
	var vaults []string
	for i := range 3 {
		v, err := u.C.CreateVault(ctx, clavis.VaultInput{Name: fmt.Sprint("v", i)})
		if err != nil {
			t.Fatal(err)
		}
		vaults = append(vaults, v.ID)
		for j := range 3 {
			p, val := fmt.Sprintf("%s|k%d", v.ID, j), "value-"+clavistest.RandHex(4)
			if _, err := u.C.PutSecret(ctx, v.ID, fmt.Sprint("k", j), clavis.SecretInput{Value: clavis.Sensitive(val)}); err != nil {
				t.Fatal(err)
			}
			want[p] = val
		}
	}
	env.NewAgent(t, u, clavis.AgentInput{}) // the __agent-keys vault too
	dir := filepath.Dir(env.DBPath)
	var out, errOut bytes.Buffer
	if err := run(ctx, []string{"keys", "rotate-root", "--data-dir", dir, "--new-root-key", newSpec}, &out, &errOut); err != nil {
		t.Fatalf("rotate-root: %v\n%s", err, errOut.String())
	}
	t.Logf("%s", out.String())
	// running it again finds nothing left to do
	out.Reset()
	if err := run(ctx, []string{"keys", "rotate-root", "--data-dir", dir, "--new-root-key", newSpec,
		"--root-key", newSpec}, &out, &errOut); err != nil || !bytes.HasPrefix(out.Bytes(), []byte("0 keys rewrapped")) {
		t.Fatalf("second rotate-root: %v: %s", err, out.String())
	}
	root, err := openRootKey(newSpec, false)
	if err != nil {
		t.Fatal(err)
	}
	if c, ok := root.(io.Closer); ok {
		t.Cleanup(func() {
			if err := c.Close(); err != nil {
				t.Error(err)
			}
		})
	}
	if err := os.Remove(filepath.Join(dir, "root.key")); err != nil { // nothing may fall back to the old key
		t.Fatal(err)
	}
	reopened := clavistest.New(t, clavistest.Options{DataDir: dir, RootKey: root})
	c := reopened.Client().WithToken(bearerOf(t, reopened, u))
	for _, vid := range vaults {
		for j := range 3 {
			s, err := c.GetSecret(ctx, vid, fmt.Sprint("k", j))
			if err != nil || string(s.Value) != want[fmt.Sprintf("%s|k%d", vid, j)] {
				t.Fatalf("after root rotation %s/k%d: %v", vid, j, err)
			}
		}
	}
	if res, err := c.VerifyAudit(ctx, nil, nil, 0); err != nil || !res.Valid {
		t.Fatalf("audit chain after root rotation: %+v %v", res, err)
	}
	// new writes work under the new root alone
	nv, err := c.CreateVault(ctx, clavis.VaultInput{Name: "after"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.PutSecret(ctx, nv.ID, "k", clavis.SecretInput{Value: "new"}); err != nil {
		t.Fatal(err)
	}
	if s, err := c.GetSecret(ctx, nv.ID, "k"); err != nil || string(s.Value) != "new" {
		t.Fatalf("write after root rotation: %v", err)
	}
}

func bearerOf(t *testing.T, env *clavistest.Env, u *clavistest.User) string {
	t.Helper()
	tok, err := env.Client().Login(context.Background(), u.Email, u.Password)
	if err != nil {
		t.Fatal(err)
	}
	return string(tok.AccessToken)
}

func TestRotateRootFileToFile(t *testing.T) {
	rotateRootAndReopen(t, "file:"+filepath.Join(t.TempDir(), "new-root.key"))
}

// TestMigrateRootFileToPKCS11 moves the root key from a file into an HSM (SoftHSM2).
func TestMigrateRootFileToPKCS11(t *testing.T) {
	module := "/usr/lib/softhsm/libsofthsm2.so"
	if _, err := os.Stat(module); err != nil {
		if os.Getenv("CLAVIS_REQUIRE_SOFTHSM") != "" {
			t.Fatalf("SoftHSM2 module missing: %v", err)
		}
		t.Skip("SoftHSM2 not installed: apt-get install softhsm2")
	}
	dir := t.TempDir()
	conf := filepath.Join(dir, "softhsm2.conf")
	if err := os.MkdirAll(filepath.Join(dir, "tokens"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(conf, []byte("directories.tokendir = "+filepath.Join(dir, "tokens")+"\nobjectstore.backend = file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("SOFTHSM2_CONF", conf)
	init := exec.Command("softhsm2-util", "--init-token", "--free", "--label", "clavis-migrate", "--pin", "4321", "--so-pin", "8765")
	if out, err := init.CombinedOutput(); err != nil {
		t.Fatalf("softhsm2-util: %v: %s", err, out)
	}
	pin := filepath.Join(dir, "pin")
	if err := os.WriteFile(pin, []byte("4321"), 0o600); err != nil {
		t.Fatal(err)
	}
	spec := "pkcs11:token=clavis-migrate;object=clavis-root?module-path=" + module + "&pin-source=file:" + pin
	rotateRootAndReopen(t, spec)
}
