package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"clavis.dev/clavis"
	"clavis.dev/clavis/internal/store"
	"clavis.dev/clavis/internal/store/migration"
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

// TestReadIsReadOnly: a Write method called in a Read transaction fails and changes nothing.
func TestReadIsReadOnly(t *testing.T) {
	s, _ := open(t)
	defer s.Close()
	err := s.Read(t.Context(), func(tx store.Tx) error {
		return tx.CreateOrg(&clavis.Org{ID: "o", CreatedAt: clavis.Now()})
	})
	if err == nil {
		t.Errorf("CreateOrg in a Read transaction succeeded")
	}
	var n int
	s.Read(t.Context(), func(tx store.Tx) error { n, err = tx.CountOrgs(); return err })
	if n != 0 {
		t.Errorf("CountOrgs = %d, want 0", n)
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

func TestNewerSchemaRefused(t *testing.T) {
	s, path := open(t)
	ms, err := migrations()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.write.ExecContext(t.Context(),
		"INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, 'from the future', '')", len(ms)+1); err != nil {
		t.Fatal(err)
	}
	s.Close()

	s, err = Open(t.Context(), path)
	if err == nil {
		s.Close()
		t.Fatal("Open of a database with a newer schema succeeded")
	}
	if !strings.Contains(err.Error(), "newer") {
		t.Errorf("Open error = %v, want one that says the schema is newer", err)
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
			s.Close()
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

// TestMigrationCountsAuditHeads: the migration that adds audit_heads.event_count counts the events of
// each existing chain, so that verify can compare old chains with their heads.
func TestMigrationCountsAuditHeads(t *testing.T) {
	ms, err := migrations()
	if err != nil {
		t.Fatal(err)
	}
	v := slices.IndexFunc(ms, func(m migration.Migration) bool { return strings.HasSuffix(m.Name, "_audit_head_count.sql") })
	if v < 0 {
		t.Fatal("no audit_head_count migration")
	}
	// A database as the migrations before it left it, with two chains.
	path := filepath.Join(t.TempDir(), "clavis.db")
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	exec := func(q string, args ...any) {
		t.Helper()
		if _, err := db.ExecContext(t.Context(), q, args...); err != nil {
			t.Fatalf("%.60s: %v", q, err)
		}
	}
	exec(`CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)`)
	for _, m := range ms[:v] {
		exec(m.SQL)
		exec(`INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, '')`, m.Version, m.Name)
	}
	chains := map[string]int{"org-a": 3, "org-b": 1}
	for org, n := range chains {
		prev := ""
		for i := range n {
			id := fmt.Sprintf("%s-%d", org, i)
			exec(`INSERT INTO audit_events (id, org_id, action, actor_id, actor_type, resource_type, resource_id,
				details, ip_address, created_at, prev_event_id, integrity_hash)
				VALUES (?, ?, 'secret.read', 'u', 'user', 'secret', 's', '{}', '', '2026-01-01T00:00:00.000Z', ?, ?)`,
				id, org, prev, "hash-"+id)
			prev = id
		}
		exec(`INSERT INTO audit_heads (org_id, event_id, hash) VALUES (?, ?, ?)`, org, prev, "hash-"+prev)
	}
	db.Close()

	s, err := Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for org, n := range chains {
		var h store.ChainHead
		if err := s.Read(t.Context(), func(tx store.Tx) (err error) { h, err = tx.AuditChainHead(org); return err }); err != nil {
			t.Fatal(err)
		}
		last := fmt.Sprintf("%s-%d", org, n-1)
		if want := (store.ChainHead{EventID: last, Hash: "hash-" + last, Count: int64(n)}); h != want {
			t.Errorf("AuditChainHead(%s) after migrating = %+v, want %+v", org, h, want)
		}
	}
}
