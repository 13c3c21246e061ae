package sqlite

import (
	"context"
	"database/sql"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"clavis.dev/clavis"
	"clavis.dev/clavis/internal/store"
	"clavis.dev/clavis/internal/store/storetest"
)

// open opens a Store on a new file in a temporary directory and closes it when the test ends.
func open(t testing.TB) (*Store, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "clavis.db")
	s, err := Open(context.Background(), path)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return s, path
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		path := filepath.Join(t.TempDir(), "clavis.db")
		s, err := Open(t.Context(), path)
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		return s // Run closes it
	})
}

func TestFileMode(t *testing.T) {
	s, path := open(t)
	defer s.Close()
	if err := s.Write(t.Context(), func(tx store.Tx) error {
		return tx.CreateOrg(&clavis.Org{ID: "o", Name: "n", CreatedAt: clavis.Now()})
	}); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{path, path + "-wal", path + "-shm"} {
		fi, err := os.Stat(name)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := fi.Mode().Perm(), os.FileMode(0o600); got != want {
			t.Errorf("mode of %s = %v, want %v", filepath.Base(name), got, want)
		}
	}
}

func TestPragmas(t *testing.T) {
	s, _ := open(t)
	defer s.Close()
	tests := []struct {
		pragma string
		want   string
	}{
		{"journal_mode", "wal"},
		{"synchronous", "2"}, // FULL
		{"foreign_keys", "1"},
		{"busy_timeout", "10000"},
	}
	for _, pool := range []struct {
		name string
		db   *sql.DB
	}{{"write", s.write}, {"read", s.read}} {
		for _, tc := range tests {
			var got string
			if err := pool.db.QueryRowContext(t.Context(), "PRAGMA "+tc.pragma).Scan(&got); err != nil {
				t.Fatalf("%s pool: PRAGMA %s: %v", pool.name, tc.pragma, err)
			}
			if got != tc.want {
				t.Errorf("%s pool: PRAGMA %s = %s, want %s", pool.name, tc.pragma, got, tc.want)
			}
		}
	}
	var got string
	if err := s.read.QueryRowContext(t.Context(), "PRAGMA query_only").Scan(&got); err != nil || got != "1" {
		t.Errorf("read pool: PRAGMA query_only = %q, %v; want 1", got, err)
	}
	if got := s.write.Stats().MaxOpenConnections; got != 1 {
		t.Errorf("write pool: MaxOpenConnections = %d, want 1", got)
	}
}

func TestReopen(t *testing.T) {
	s, path := open(t)
	org := &clavis.Org{ID: "org-1", Name: "Acme", CreatedAt: clavis.Now()}
	if err := s.Write(t.Context(), func(tx store.Tx) error {
		if err := tx.CreateOrg(org); err != nil {
			return err
		}
		_, err := tx.PutServerKey("jwt", []byte("key"))
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}

	s, err := Open(t.Context(), path)
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer s.Close()
	var got *clavis.Org
	var key []byte
	if err := s.Read(t.Context(), func(tx store.Tx) error {
		var err error
		if got, err = tx.GetOrg(org.ID); err != nil {
			return err
		}
		key, err = tx.ServerKey("jwt")
		return err
	}); err != nil {
		t.Fatalf("after reopen: %v", err)
	}
	if *got != *org || string(key) != "key" {
		t.Errorf("after reopen: org %+v, key %q; want %+v, %q", got, key, org, "key")
	}
	var versions int
	if err := s.write.QueryRowContext(t.Context(), "SELECT count(*) FROM schema_migrations").Scan(&versions); err != nil {
		t.Fatal(err)
	}
	ms, _ := migrations()
	if versions != len(ms) {
		t.Errorf("schema_migrations has %d rows after reopen, want %d (each migration once)", versions, len(ms))
	}
}

func TestOpenErrors(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name string
		path string
	}{
		{"empty path", ""},
		{"question mark", filepath.Join(dir, "a?b.db")},
		{"missing directory", filepath.Join(dir, "missing", "clavis.db")},
		{"directory", dir},
	}
	for _, tc := range tests {
		s, err := Open(t.Context(), tc.path)
		if err == nil {
			_ = s.Close()
			t.Errorf("Open(%s) succeeded, want an error", tc.name)
		}
	}
}

// TestQueriesPrepared: every q* constant of the package is listed in queries, so Open prepares it.
func TestQueriesPrepared(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	consts := map[string]bool{} // name -> listed in queries
	var listed []string
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(token.NewFileSet(), name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			gd, ok := n.(*ast.GenDecl)
			if !ok {
				return true
			}
			for _, spec := range gd.Specs {
				vs, ok := spec.(*ast.ValueSpec)
				if !ok {
					continue
				}
				for _, id := range vs.Names {
					switch {
					case gd.Tok == token.CONST && len(id.Name) > 1 && id.Name[0] == 'q' && 'A' <= id.Name[1] && id.Name[1] <= 'Z':
						consts[id.Name] = consts[id.Name] || false
					case gd.Tok == token.VAR && id.Name == "queries":
						ast.Inspect(vs, func(n ast.Node) bool {
							if e, ok := n.(*ast.Ident); ok && e != id {
								listed = append(listed, e.Name)
							}
							return true
						})
					}
				}
			}
			return false
		})
	}
	for _, name := range listed {
		if _, ok := consts[name]; ok {
			consts[name] = true
		}
	}
	var missing []string
	for name, ok := range consts {
		if !ok {
			missing = append(missing, name)
		}
	}
	slices.Sort(missing)
	if len(consts) == 0 || len(missing) > 0 {
		t.Errorf("%d query constants, missing from queries: %v", len(consts), missing)
	}
}

// backend gives the shared migration tests of storetest fresh database files and raw SQL on them.
func backend(t *testing.T) storetest.Backend {
	ms, err := migrations()
	if err != nil {
		t.Fatal(err)
	}
	return storetest.Backend{
		Fresh:                  func(tb testing.TB) string { return filepath.Join(tb.TempDir(), "clavis.db") },
		Open:                   storetest.Opener(Open),
		Migrations:             ms,
		CreateSchemaMigrations: createSchemaMigrations,
		UndoLater:              undo0013 + undo0012,
		Exec: func(tb testing.TB, path, query string, args ...any) {
			tb.Helper()
			db, err := sql.Open("sqlite", path)
			if err != nil {
				tb.Fatal(err)
			}
			defer db.Close()
			// $1, $2, … are ?1, ?2, … in SQLite.
			if _, err := db.ExecContext(context.Background(), dollarParam.ReplaceAllString(query, "?$1"), args...); err != nil {
				tb.Fatalf("%.60s: %v", query, err)
			}
		},
	}
}

// undo0013 undoes migration 0013: the secret_heads table and its triggers.
const undo0013 = `DROP TRIGGER secret_heads_version_insert;
	DROP TRIGGER secret_heads_secret_update;
	DROP TRIGGER secret_heads_secret_delete;
	DROP TRIGGER secret_heads_version_update;
	DROP TRIGGER secret_heads_version_delete;
	DROP TABLE secret_heads;
`

// undo0012 undoes migration 0012 on a database without audit events: audit_events as 0011 left it.
const undo0012 = `DROP TABLE audit_events;
	DROP TABLE audit_names;
	CREATE TABLE audit_events (
		seq            INTEGER PRIMARY KEY,
		id             TEXT NOT NULL UNIQUE,
		org_id         TEXT NOT NULL,
		action         TEXT NOT NULL,
		actor_id       TEXT NOT NULL,
		actor_type     TEXT NOT NULL,
		resource_type  TEXT NOT NULL,
		resource_id    TEXT NOT NULL,
		vault_id       TEXT,
		details        TEXT NOT NULL,
		ip_address     TEXT NOT NULL,
		created_at     TEXT NOT NULL,
		prev_event_id  TEXT NOT NULL,
		integrity_hash TEXT NOT NULL
	);
	CREATE INDEX audit_events_org ON audit_events (org_id, seq);
	CREATE INDEX audit_events_actor ON audit_events (org_id, actor_id, seq);
	CREATE INDEX audit_events_resource ON audit_events (org_id, resource_id, seq);
	CREATE INDEX audit_events_action ON audit_events (org_id, action, seq);
	CREATE INDEX audit_events_vault ON audit_events (org_id, vault_id, seq);
	CREATE INDEX audit_events_time ON audit_events (org_id, created_at);`

var dollarParam = regexp.MustCompile(`\$(\d+)`)

func TestNewerSchemaRefused(t *testing.T)        { storetest.NewerSchemaRefused(t, backend(t)) }
func TestMigrateVaultKeys(t *testing.T)          { storetest.MigrateVaultKeys(t, backend(t)) }
func TestMigrationCountsAuditHeads(t *testing.T) { storetest.MigrationCountsAuditHeads(t, backend(t)) }

func BenchmarkGetVersion(b *testing.B)   { storetest.BenchGetVersion(b, openBench(b)) }
func BenchmarkWriteVersion(b *testing.B) { storetest.BenchWriteVersion(b, openBench(b)) }
func BenchmarkAppendAudit(b *testing.B)  { storetest.BenchAppendAudit(b, openBench(b)) }

// openBench opens a Store on a new file and closes it when the benchmark ends.
func openBench(b *testing.B) *Store {
	s, _ := open(b)
	b.Cleanup(func() { _ = s.Close() })
	return s
}
