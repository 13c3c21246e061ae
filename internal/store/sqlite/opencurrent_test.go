package sqlite

import (
	"crypto/sha256"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"clavis.dev/clavis"
	"clavis.dev/clavis/internal/store"
	"clavis.dev/clavis/internal/store/migration"
)

// olderSchema writes a database file at path whose schema is the one before the newest migration, as an
// older binary left it (WAL mode, its log folded in).
func olderSchema(t *testing.T, path string) {
	t.Helper()
	ms, err := migrations()
	if err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite", path+"?_pragma=journal_mode(WAL)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec("CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)"); err != nil {
		t.Fatal(err)
	}
	for _, m := range ms[:len(ms)-1] {
		if _, err := db.Exec(m.SQL); err != nil {
			t.Fatalf("%s: %v", m.Name, err)
		}
		if _, err := db.Exec("INSERT INTO schema_migrations VALUES (?, ?, '')", m.Version, m.Name); err != nil {
			t.Fatal(err)
		}
	}
}

// fileState is a digest of every file in dir (names, sizes, contents).
func fileState(t *testing.T, dir string) string {
	t.Helper()
	h := sha256.New()
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		f, err := os.Open(p) // #nosec G122 G304 -- the test's own temp dir
		if err != nil {
			return err
		}
		defer f.Close()
		fmt.Fprintf(h, "%s\n", p)
		_, err = io.Copy(h, f)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("%x", h.Sum(nil))
}

// TestOpenCurrent: an operator's open refuses every database whose schema is not the binary's, without
// changing a byte or creating a file, and opens a current one.
func TestOpenCurrent(t *testing.T) {
	ms, err := migrations()
	if err != nil {
		t.Fatal(err)
	}
	n := len(ms)
	tests := []struct {
		name     string
		make     func(t *testing.T, path string)
		wantHave int // -1: no file
	}{
		{"missing file", func(*testing.T, string) {}, -1},
		{"empty file", func(t *testing.T, path string) {
			if err := os.WriteFile(path, nil, 0o600); err != nil {
				t.Fatal(err)
			}
		}, 0},
		{"older schema", olderSchema, n - 1},
		{"newer schema", func(t *testing.T, path string) {
			s, err := Open(t.Context(), path)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			if _, err := s.write.Exec("INSERT INTO schema_migrations VALUES (?, 'from the future', '')", n+1); err != nil {
				t.Fatal(err)
			}
		}, n + 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "clavis.db")
			tc.make(t, path)
			before := fileState(t, dir)
			s, err := OpenCurrent(t.Context(), path)
			if err == nil {
				_ = s.Close()
				t.Fatal("OpenCurrent succeeded")
			}
			if got := fileState(t, dir); got != before {
				t.Errorf("OpenCurrent changed the files of the data directory")
			}
			if tc.wantHave < 0 {
				if !errors.Is(err, fs.ErrNotExist) {
					t.Errorf("OpenCurrent error = %v, want one wrapping fs.ErrNotExist", err)
				}
				return
			}
			var ve *migration.VersionError
			if !errors.As(err, &ve) {
				t.Fatalf("OpenCurrent error = %v, want a *migration.VersionError", err)
			}
			if ve.Have != tc.wantHave || ve.Want != n || ve.Outdated() != (tc.wantHave < n) {
				t.Errorf("VersionError = %+v (outdated %v), want have %d, want %d", ve, ve.Outdated(), tc.wantHave, n)
			}
		})
	}

	t.Run("current schema", func(t *testing.T) {
		s, path := open(t)
		if err := s.Write(t.Context(), func(tx store.Tx) error {
			return tx.CreateOrg(&clavis.Org{ID: "o", Name: "n", CreatedAt: clavis.Now()})
		}); err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		c, err := OpenCurrent(t.Context(), path) // beside the running store, as an operator command
		if err != nil {
			t.Fatalf("OpenCurrent of a current database: %v", err)
		}
		defer c.Close()
		var orgs int
		if err := c.Read(t.Context(), func(tx store.Tx) error { orgs, err = tx.CountOrgs(); return err }); err != nil || orgs != 1 {
			t.Errorf("CountOrgs = %d, %v; want 1", orgs, err)
		}
	})
}

// TestMigrate: Migrate brings an older schema, a missing file or an empty one to the current version and
// reports where it started; a second run has nothing to do.
func TestMigrate(t *testing.T) {
	ms, _ := migrations()
	n := len(ms)
	for _, tc := range []struct {
		name     string
		make     func(t *testing.T, path string)
		wantFrom int
	}{
		{"older schema", olderSchema, n - 1},
		{"missing file", func(*testing.T, string) {}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "clavis.db")
			tc.make(t, path)
			from, to, err := Migrate(t.Context(), path)
			if err != nil || from != tc.wantFrom || to != n {
				t.Fatalf("Migrate = %d, %d, %v; want %d, %d, nil", from, to, err, tc.wantFrom, n)
			}
			if from, to, err = Migrate(t.Context(), path); err != nil || from != n || to != n {
				t.Fatalf("second Migrate = %d, %d, %v; want %d, %d, nil", from, to, err, n, n)
			}
			s, err := OpenCurrent(t.Context(), path)
			if err != nil {
				t.Fatalf("OpenCurrent after Migrate: %v", err)
			}
			_ = s.Close()
		})
	}
}

// TestCheckpointAfterCrash: the files of a database as a crash leaves them (commits still in the
// write-ahead log) become, after Checkpoint, one file that holds every committed write by itself.
func TestCheckpointAfterCrash(t *testing.T) {
	s, path := open(t)
	defer s.Close()
	const orgs = 50
	for i := range orgs {
		if err := s.Write(t.Context(), func(tx store.Tx) error {
			return tx.CreateOrg(&clavis.Org{ID: fmt.Sprintf("org-%d", i), Name: "n", CreatedAt: clavis.Now()})
		}); err != nil {
			t.Fatal(err)
		}
	}
	// The store is still open (nothing checkpointed at close): copying its files now is what a kill -9
	// would leave on disk, since every commit was synced to the log.
	crashed := filepath.Join(t.TempDir(), "clavis.db")
	for _, suffix := range []string{"", "-wal"} {
		b, err := os.ReadFile(path + suffix) // #nosec G304 -- a file of the test's temp dir
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(crashed+suffix, b, 0o600); err != nil { // #nosec G703 -- a file of the test's temp dir
			t.Fatal(err)
		}
	}
	if fi, err := os.Stat(crashed + "-wal"); err != nil || fi.Size() == 0 {
		t.Fatalf("the crashed copy's log holds no commits (%v); the test would prove nothing", err)
	}
	if err := Checkpoint(t.Context(), crashed); err != nil {
		t.Fatalf("Checkpoint: %v", err)
	}
	if fi, err := os.Stat(crashed + "-wal"); err == nil && fi.Size() != 0 {
		t.Fatalf("log still holds %d bytes after Checkpoint", fi.Size())
	}
	// The main file alone, moved elsewhere, has every write.
	alone := filepath.Join(t.TempDir(), "clavis.db")
	if err := os.Rename(crashed, alone); err != nil {
		t.Fatal(err)
	}
	c, err := OpenCurrent(t.Context(), alone)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var got int
	if err := c.Read(t.Context(), func(tx store.Tx) error { got, err = tx.CountOrgs(); return err }); err != nil || got != orgs {
		t.Errorf("orgs in the checkpointed file alone = %d, %v; want %d", got, err, orgs)
	}
}
