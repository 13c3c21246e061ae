package file_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"

	"clavis.dev/clavis/internal/keyring"
	"clavis.dev/clavis/internal/keyring/file"
	"clavis.dev/clavis/internal/keyring/keyringtest"
)

func TestConformance(t *testing.T) {
	keyringtest.Run(t, func(t *testing.T) keyring.RootKey {
		p, err := file.Open(filepath.Join(t.TempDir(), "root.key"), true)
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		return p
	})
}

var _ keyring.RootKey = (*file.Provider)(nil)

func TestOpenCreatesPrivateKeyFile(t *testing.T) {
	skipOnWindows(t)
	dir := filepath.Join(t.TempDir(), "new", "keys")
	path := filepath.Join(dir, "root.key")
	if _, err := file.Open(path, true); err != nil {
		t.Fatalf("Open(create): %v", err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := fi.Mode().Perm(), os.FileMode(0o600); got != want {
		t.Errorf("key file mode = %04o, want %04o", got, want)
	}
	if got, want := fi.Size(), int64(file.KeySize); got != want {
		t.Errorf("key file size = %d, want %d", got, want)
	}
	di, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := di.Mode().Perm(), os.FileMode(0o700); got != want {
		t.Errorf("created parent dir mode = %04o, want %04o", got, want)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 {
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Errorf("dir holds %v, want only root.key (no temp files left)", names)
	}
}

func TestOpenReopenSameKey(t *testing.T) {
	path := filepath.Join(t.TempDir(), "root.key")
	p1, err := file.Open(path, true)
	if err != nil {
		t.Fatalf("Open(create): %v", err)
	}
	before, err := os.ReadFile(path) // #nosec G304 -- a test temp file
	if err != nil {
		t.Fatal(err)
	}
	p2, err := file.Open(path, true)
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	p3, err := file.Open(path, false)
	if err != nil {
		t.Fatalf("reopen without create: %v", err)
	}
	after, err := os.ReadFile(path) // #nosec G304 -- a test temp file
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(after, before) {
		t.Error("reopening with create=true rewrote the key file")
	}
	if p1.ID() != p2.ID() || p1.ID() != p3.ID() {
		t.Errorf("IDs = %q, %q, %q; want one ID", p1.ID(), p2.ID(), p3.ID())
	}
	ctx := context.Background()
	wrapped, err := p1.Wrap(ctx, []byte("secret"), []byte("aad"))
	if err != nil {
		t.Fatal(err)
	}
	for i, p := range []*file.Provider{p2, p3} {
		got, err := p.Unwrap(ctx, wrapped, []byte("aad"))
		if err != nil || string(got) != "secret" {
			t.Errorf("reopened provider %d: Unwrap = %q, %v; want %q", i+2, got, err, "secret")
		}
	}
}

func TestOpenConcurrentCreateAgrees(t *testing.T) {
	path := filepath.Join(t.TempDir(), "root.key")
	const n = 8
	ids := make([]string, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			p, err := file.Open(path, true)
			if err != nil {
				t.Errorf("Open %d: %v", i, err)
				return
			}
			ids[i] = p.ID()
		})
	}
	wg.Wait()
	p, err := file.Open(path, false)
	if err != nil {
		t.Fatal(err)
	}
	for i, id := range ids {
		if id != p.ID() {
			t.Errorf("concurrent Open %d got key %q, file holds %q", i, id, p.ID())
		}
	}
}

func TestOpenRefuses(t *testing.T) {
	tests := []struct {
		name     string
		setup    func(t *testing.T, path string)
		create   bool
		unixOnly bool
		wantErr  string
	}{
		{
			name:    "missing without create",
			setup:   func(t *testing.T, path string) {},
			wantErr: "no such file",
		},
		{
			name:     "mode 0644",
			setup:    func(t *testing.T, path string) { writeFile(t, path, make([]byte, 32), 0o644) },
			create:   true,
			unixOnly: true,
			wantErr:  "group or others",
		},
		{
			name:     "mode 0640",
			setup:    func(t *testing.T, path string) { writeFile(t, path, make([]byte, 32), 0o640) },
			unixOnly: true,
			wantErr:  "group or others",
		},
		{
			name:     "mode 0602",
			setup:    func(t *testing.T, path string) { writeFile(t, path, make([]byte, 32), 0o602) },
			unixOnly: true,
			wantErr:  "group or others",
		},
		{
			name:    "31 bytes",
			setup:   func(t *testing.T, path string) { writeFile(t, path, make([]byte, 31), 0o600) },
			create:  true,
			wantErr: "31 bytes, want 32",
		},
		{
			name:    "33 bytes",
			setup:   func(t *testing.T, path string) { writeFile(t, path, make([]byte, 33), 0o600) },
			wantErr: "33 bytes, want 32",
		},
		{
			name:    "empty",
			setup:   func(t *testing.T, path string) { writeFile(t, path, nil, 0o600) },
			create:  true,
			wantErr: "0 bytes, want 32",
		},
		{
			name: "directory",
			setup: func(t *testing.T, path string) {
				if err := os.Mkdir(path, 0o700); err != nil {
					t.Fatal(err)
				}
			},
			create:  true,
			wantErr: "not a regular file",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.unixOnly {
				skipOnWindows(t)
			}
			path := filepath.Join(t.TempDir(), "root.key")
			tt.setup(t, path)
			before, _ := os.ReadFile(path) // #nosec G304 -- a test temp file
			p, err := file.Open(path, tt.create)
			if err == nil {
				t.Fatalf("Open = %v, nil error; want error containing %q", p, tt.wantErr)
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("Open error = %q, want it to contain %q", err, tt.wantErr)
			}
			if after, _ := os.ReadFile(path); !bytes.Equal(after, before) { // #nosec G304 -- a test temp file
				t.Error("a refused key file was modified")
			}
		})
	}
}

func TestProviderRedactsKey(t *testing.T) {
	path := filepath.Join(t.TempDir(), "root.key")
	p, err := file.Open(path, true)
	if err != nil {
		t.Fatal(err)
	}
	key, err := os.ReadFile(path) // #nosec G304 -- a test temp file
	if err != nil {
		t.Fatal(err)
	}
	var logged bytes.Buffer
	slog.New(slog.NewJSONHandler(&logged, nil)).Info("root", "key", p)
	want := "file root key " + p.ID()
	tests := []struct {
		name string
		got  string
	}{
		{"String", p.String()},
		{"%v", fmt.Sprintf("%v", p)},
		{"%+v", fmt.Sprintf("%+v", p)},
		{"%#v", fmt.Sprintf("%#v", p)},
		{"%s", fmt.Sprintf("%s", p)}, //lint:ignore S1025 the test checks the %s verb itself
		{"slog", logged.String()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !strings.Contains(tt.got, want) {
				t.Errorf("got %q, want it to contain %q", tt.got, want)
			}
			for _, enc := range []string{string(key), fmt.Sprintf("%x", key), fmt.Sprintf("%X", key), fmt.Sprint(key)} {
				if strings.Contains(tt.got, enc) {
					t.Errorf("got %q, which reveals the key", tt.got)
				}
			}
		})
	}
	if len(p.ID()) != 16 || strings.Contains(fmt.Sprintf("%x", key), p.ID()) {
		t.Errorf("ID() = %q, want 16 hex digits that are not part of the key", p.ID())
	}
}

func writeFile(t *testing.T, path string, data []byte, mode os.FileMode) {
	t.Helper()
	if err := os.WriteFile(path, data, mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, mode); err != nil { // WriteFile's mode is subject to umask
		t.Fatal(err)
	}
}

func skipOnWindows(t *testing.T) {
	t.Helper()
	if runtime.GOOS == "windows" {
		t.Skip("file modes are not enforced on Windows")
	}
}
