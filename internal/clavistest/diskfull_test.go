package clavistest_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"clavis.dev/clavis"
	"clavis.dev/clavis/internal/clavistest"
)

// smallFS mounts a size-limited tmpfs for the test, or skips when this process may not mount
// (CLAVIS_REQUIRE_TMPFS=1, set in CI, turns the skip into a failure).
func smallFS(t *testing.T, size string) string {
	t.Helper()
	dir := t.TempDir()
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, "size="+size); err != nil {
		if os.Getenv("CLAVIS_REQUIRE_TMPFS") != "" {
			t.Fatalf("mount tmpfs: %v", err)
		}
		t.Skipf("cannot mount a tmpfs here (%v); runs as root in CI", err)
	}
	t.Cleanup(func() { _ = syscall.Unmount(dir, syscall.MNT_DETACH) })
	return dir
}

// fill writes a file until the filesystem has no space left, and returns its path.
func fill(t *testing.T, dir string) string {
	t.Helper()
	p := filepath.Join(dir, "filler")
	f, err := os.Create(p) // #nosec G304 -- in the test's tmpfs
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	chunk := make([]byte, 64<<10)
	for {
		if _, err := f.Write(chunk); err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatalf("filling: %v", err)
			}
			break
		}
	}
	// the last partial chunks, so that not even one page is left
	for _, n := range []int{4096, 512, 1} {
		for {
			if _, err := f.Write(chunk[:n]); err != nil {
				break
			}
		}
	}
	return p
}

// A full disk: every write fails closed (503, no value), readiness goes red and health degraded while
// commits fail, and both recover once space returns, without a restart (issue 12 item 18).
func TestReadinessFollowsAFullDisk(t *testing.T) {
	dir := smallFS(t, "8m")
	env := clavistest.New(t, clavistest.Options{DataDir: dir})
	ctx := context.Background()
	u := env.Signup(t)
	v, err := u.C.CreateVault(ctx, clavis.VaultInput{Name: "disk"})
	if err != nil {
		t.Fatal(err)
	}
	value := "CANARY-" + clavistest.RandHex(16)
	if _, err := u.C.PutSecret(ctx, v.ID, "db/password", clavis.SecretInput{Value: clavis.Sensitive(value)}); err != nil {
		t.Fatal(err)
	}
	ready := func() int { return secDo(t, "GET", env.URL+"/readyz", "", "").Status }
	health := func() string { return string(secDo(t, "GET", env.URL+"/v1/health", "", "").Body) }
	if got := ready(); got != 200 {
		t.Fatalf("readyz before: %d", got)
	}

	filler := fill(t, dir)
	// Writes grow the WAL until it cannot: within a bounded number of writes every one is refused.
	refused := false
	big := strings.Repeat("x", 64<<10)
	for i := 0; i < 200 && !refused; i++ {
		_, err := u.C.PutSecret(ctx, v.ID, "fill/"+clavistest.RandHex(4), clavis.SecretInput{Value: clavis.Sensitive(big)})
		refused = clavis.IsKind(err, clavis.KindUnavailable)
		if err != nil && !refused {
			t.Fatalf("a write on a full disk: want 503, got %v", err)
		}
	}
	if !refused {
		t.Fatal("200 writes of 64 KiB succeeded on a full 8 MiB filesystem")
	}
	s, err := u.C.GetSecret(ctx, v.ID, "db/password")
	if !clavis.IsKind(err, clavis.KindUnavailable) {
		t.Errorf("a read on a full disk: want 503 (its audit event cannot commit), got %v", err)
	}
	if s != nil && strings.Contains(string(s.Value), value) {
		t.Error("a value left the server without its read event")
	}
	for i := range 3 { // asked repeatedly: the probe must not turn it green while nothing can commit
		if got := ready(); got != 503 {
			t.Fatalf("readyz on a full disk (probe %d): want 503, got %d", i, got)
		}
		if h := health(); !strings.Contains(h, `"degraded"`) {
			t.Fatalf("health on a full disk (probe %d): want degraded, got %s", i, h)
		}
	}

	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	if got := ready(); got != 200 {
		t.Fatalf("readyz after space returned: want 200, got %d", got)
	}
	if h := health(); !strings.Contains(h, `"healthy"`) {
		t.Fatalf("health after space returned: %s", h)
	}
	got, err := u.C.GetSecret(ctx, v.ID, "db/password")
	if err != nil || string(got.Value) != value {
		t.Fatalf("read after space returned: %v", err)
	}
}
