package postgres

import (
	"errors"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"clavis.dev/clavis/internal/store/migration"
)

// tables lists the tables of the database's public schema, sorted.
func tables(t *testing.T, dsn string) string {
	t.Helper()
	conn, err := connect(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	rows, err := conn.Query(t.Context(), "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1")
	if err != nil {
		t.Fatal(err)
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	return strings.Join(names, ",")
}

// TestOpenCurrent: an operator's open refuses a new database and an older schema without creating or
// changing anything; after Migrate it opens.
func TestOpenCurrent(t *testing.T) {
	srv := server(t)
	ms, err := migrations()
	if err != nil {
		t.Fatal(err)
	}
	n := len(ms)
	older := func(t *testing.T, dsn string) {
		conn, err := connect(t.Context(), dsn)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		if _, err := conn.Exec(t.Context(), "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TIMESTAMPTZ NOT NULL)"); err != nil {
			t.Fatal(err)
		}
		for _, m := range ms[:n-1] {
			if _, err := conn.Exec(t.Context(), m.SQL); err != nil {
				t.Fatalf("%s: %v", m.Name, err)
			}
			if _, err := conn.Exec(t.Context(), "INSERT INTO schema_migrations VALUES ($1, $2, now())", m.Version, m.Name); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, tc := range []struct {
		name     string
		make     func(t *testing.T, dsn string)
		wantHave int
	}{
		{"new database", func(*testing.T, string) {}, 0},
		{"older schema", older, n - 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dsn := freshDB(t, srv)
			tc.make(t, dsn)
			before := tables(t, dsn)
			s, err := OpenCurrent(t.Context(), dsn)
			if err == nil {
				_ = s.Close()
				t.Fatal("OpenCurrent succeeded")
			}
			var ve *migration.VersionError
			if !errors.As(err, &ve) || ve.Have != tc.wantHave || ve.Want != n || !ve.Outdated() {
				t.Fatalf("OpenCurrent error = %v, want a *migration.VersionError from %d to %d", err, tc.wantHave, n)
			}
			if got := tables(t, dsn); got != before {
				t.Errorf("tables after OpenCurrent = %q, want %q (unchanged)", got, before)
			}
			from, to, err := Migrate(t.Context(), dsn)
			if err != nil || from != tc.wantHave || to != n {
				t.Fatalf("Migrate = %d, %d, %v; want %d, %d, nil", from, to, err, tc.wantHave, n)
			}
			s, err = OpenCurrent(t.Context(), dsn)
			if err != nil {
				t.Fatalf("OpenCurrent after Migrate: %v", err)
			}
			_ = s.Close()
		})
	}
}
