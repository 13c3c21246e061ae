package main

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	_ "modernc.org/sqlite"

	"clavis.dev/clavis"
	"clavis.dev/clavis/internal/clavistest"
)

// TestAuditVerifyCommand runs `clavis audit verify` against the database of a live test server.
func TestAuditVerifyCommand(t *testing.T) {
	env := clavistest.New(t)
	env.Signup(t)
	env.Signup(t)
	var out, errOut bytes.Buffer
	dir := filepath.Dir(env.DBPath)
	err := run(context.Background(), []string{"audit", "verify", "--data-dir", dir}, &out, &errOut)
	if err != nil || !strings.Contains(out.String(), "every chain intact") || strings.Count(errOut.String(), ": ok") != 2 {
		t.Fatalf("audit verify: %v\nstdout: %s\nstderr: %s", err, out.String(), errOut.String())
	}
	err = run(context.Background(), []string{"audit", "verify", "--data-dir", t.TempDir()}, &out, &errOut)
	if err == nil || errors.Is(err, errChainBroken) {
		t.Fatalf("audit verify of a missing database = %v, want an error", err)
	}
}

// The SQLite store keeps a UUID as its 16 bytes (internal/store/sqlite/audit.go): sqlUUID is the
// stored form of a UUID parameter, sqlUUIDText the text of the stored id of an audit event, sqlOrg
// selects the events of the org given as a parameter.
const (
	sqlUUID     = `unhex(replace(?, '-', ''))`
	sqlUUIDText = `lower(substr(hex(id), 1, 8) || '-' || substr(hex(id), 9, 4) || '-' || substr(hex(id), 13, 4) || '-' ||
		substr(hex(id), 17, 4) || '-' || substr(hex(id), 21))`
	sqlOrg = `org_ref = (SELECT id FROM audit_names WHERE name = ` + sqlUUID + `)`
)

// orgChain returns the ids of an org's audit events in chain order, read from the database directly.
func orgChain(t *testing.T, db *sql.DB, orgID string) []string {
	t.Helper()
	rows, err := db.Query(`SELECT `+sqlUUIDText+` FROM audit_events WHERE `+sqlOrg+` ORDER BY seq`, orgID)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return ids
}

// TestAuditVerifyCommandDetectsTailTruncation: `clavis audit verify` compares the end of each chain with
// the org's head, so events removed from the end are reported with the head's event and event count.
func TestAuditVerifyCommandDetectsTailTruncation(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name  string
		where string // deletes the org's events matching it; ? is the org, then the seq of the nth-last event
		nth   int
	}{
		{"delete the last", sqlOrg + " AND seq >= ?", 1},
		{"delete the last three", sqlOrg + " AND seq >= ?", 3},
		{"delete everything", sqlOrg + " AND seq >= ?", 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			env := clavistest.New(t)
			u := env.Signup(t)
			env.Signup(t) // an intact org beside the broken one
			v, err := u.C.CreateVault(ctx, clavis.VaultInput{Name: "tail"})
			if err != nil {
				t.Fatal(err)
			}
			for i := range 5 {
				if _, err := u.C.PutSecret(ctx, v.ID, "k", clavis.SecretInput{Value: clavis.Sensitive(strings.Repeat("v", i+1))}); err != nil {
					t.Fatal(err)
				}
			}
			db, err := sql.Open("sqlite", env.DBPath)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			ids := orgChain(t, db, u.OrgID)
			var seq int64 // 0: every event of the org
			if tc.nth > 0 {
				if err := db.QueryRow(`SELECT seq FROM audit_events WHERE id = `+sqlUUID, ids[len(ids)-tc.nth]).Scan(&seq); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := db.Exec(`DELETE FROM audit_events WHERE `+tc.where, u.OrgID, seq); err != nil { // #nosec G202 -- a fixed clause from the table
				t.Fatal(err)
			}

			var out, errOut bytes.Buffer
			err = run(ctx, []string{"audit", "verify", "--data-dir", filepath.Dir(env.DBPath)}, &out, &errOut)
			if !errors.Is(err, errChainBroken) {
				t.Fatalf("audit verify after %s = %v, want %v\nstdout: %s\nstderr: %s", tc.name, err, errChainBroken, out.String(), errOut.String())
			}
			head := ids[len(ids)-1]
			for _, want := range []string{
				"org " + u.OrgID + ": ",
				"BROKEN at event " + head,
				fmt.Sprintf("the head expects %d events", len(ids)),
			} {
				if !strings.Contains(errOut.String(), want) {
					t.Errorf("stderr lacks %q:\n%s", want, errOut.String())
				}
			}
			if got := strings.Count(errOut.String(), ": ok"); got != 1 {
				t.Errorf("%d intact orgs reported, want 1:\n%s", got, errOut.String())
			}
		})
	}
}

// TestAuditVerifyCommandPages: offline verify reads a chain page by page; a chain several pages long
// verifies, and both a truncated end and a break on a later page are found.
func TestAuditVerifyCommandPages(t *testing.T) {
	ctx := context.Background()
	env := clavistest.New(t)
	u := env.Signup(t)
	v, err := u.C.CreateVault(ctx, clavis.VaultInput{Name: "pages"})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 10 {
		if _, err := u.C.PutSecret(ctx, v.ID, "k", clavis.SecretInput{Value: clavis.Sensitive(strings.Repeat("v", i+1))}); err != nil {
			t.Fatal(err)
		}
	}
	db, err := sql.Open("sqlite", env.DBPath)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ids := orgChain(t, db, u.OrgID) // 12 events: 4 pages of 3
	args := []string{"audit", "verify", "--data-dir", filepath.Dir(env.DBPath), "--page-size", "3"}

	var out, errOut bytes.Buffer
	if err := run(ctx, args, &out, &errOut); err != nil || !strings.Contains(errOut.String(),
		fmt.Sprintf("%d events checked, %d verified: ok", len(ids), len(ids))) {
		t.Fatalf("audit verify of an intact chain of %d events: %v\nstdout: %s\nstderr: %s", len(ids), err, out.String(), errOut.String())
	}

	if _, err := db.Exec(`DELETE FROM audit_events WHERE id = `+sqlUUID, ids[len(ids)-1]); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	errOut.Reset()
	err = run(ctx, args, &out, &errOut)
	if want := fmt.Sprintf("BROKEN at event %s: the chain ends after %d events at event %s, but the head expects %d events",
		ids[len(ids)-1], len(ids)-1, ids[len(ids)-2], len(ids)); !errors.Is(err, errChainBroken) || !strings.Contains(errOut.String(), want) {
		t.Fatalf("audit verify after deleting the last event = %v, want %q\nstderr: %s", err, want, errOut.String())
	}

	if _, err := db.Exec(`INSERT OR IGNORE INTO audit_names (name) VALUES ('secret.delete')`); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`UPDATE audit_events SET action_ref = (SELECT id FROM audit_names WHERE name = 'secret.delete')
		WHERE id = `+sqlUUID, ids[len(ids)-2]); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	errOut.Reset()
	err = run(ctx, args, &out, &errOut)
	if want := fmt.Sprintf("%d events checked, %d verified: BROKEN at event %s", len(ids)-1, len(ids)-2, ids[len(ids)-2]); !errors.Is(err, errChainBroken) || !strings.Contains(errOut.String(), want) {
		t.Fatalf("audit verify after editing event %d = %v, want %q\nstderr: %s", len(ids)-1, err, want, errOut.String())
	}
}
