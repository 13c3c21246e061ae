package sqlite

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"

	"clavis.dev/clavis"
	"clavis.dev/clavis/internal/audit"
	"clavis.dev/clavis/internal/store"
)

var auditKey = []byte("audit key")

// chainOne returns a unit that chains e after the org's head and appends it, as engine.record does.
func chainOne(e *clavis.AuditEvent) func(store.Tx) error {
	return func(tx store.Tx) error {
		id, hash, err := tx.AuditHead(e.OrgID)
		if err != nil {
			return err
		}
		audit.Chain(auditKey, id, hash, e)
		return tx.AppendAudit(e)
	}
}

// readEvent is a secret.read event of org by actor on resource, not yet chained.
func readEvent(org, actor, resource string) *clavis.AuditEvent {
	id, _ := uuid.NewV7()
	return &clavis.AuditEvent{ID: id.String(), OrgID: org, Action: "secret.read", ActorID: actor,
		ActorType: clavis.PrincipalAgent, ResourceType: "secret", ResourceID: resource,
		Details:   map[string]any{"vault_id": uuid.NewString(), "path": "db/password", "version": 1},
		IPAddress: "127.0.0.1", CreatedAt: clavis.Now()}
}

// verifyChain walks the org's chain page by page and compares its end with the head, as the engine's
// VerifyAllChains and `clavis audit verify` do.
func verifyChain(t *testing.T, s store.Store, org string) audit.Result {
	t.Helper()
	var res audit.Result
	err := s.Read(t.Context(), func(tx store.Tx) error {
		w := audit.NewWalker(auditKey, "", "")
		after := ""
		for {
			evs, err := tx.AuditChainAfter(org, after, 7)
			if err != nil {
				return err
			}
			for _, e := range evs {
				w.Next(e)
			}
			if len(evs) < 7 {
				break
			}
			after = evs[len(evs)-1].ID
		}
		h, err := tx.AuditChainHead(org)
		res = w.End(h.EventID, h.Hash, h.Count)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// chain reads the org's whole chain.
func chain(t *testing.T, s store.Store, org string) []*clavis.AuditEvent {
	t.Helper()
	var evs []*clavis.AuditEvent
	if err := s.Read(t.Context(), func(tx store.Tx) (err error) {
		evs, err = tx.AuditChain(org, nil, nil, 0)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return evs
}

// sameEvents compares events field by field, details by their JSON.
func sameEvents(t *testing.T, what string, got, want []*clavis.AuditEvent) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d events, want %d", what, len(got), len(want))
	}
	for i := range got {
		g, w := *got[i], *want[i] // #nosec G602 -- lengths are equal (checked above)
		gd, wd := detailsJSON(t, g.Details), detailsJSON(t, w.Details)
		g.Details, w.Details = nil, nil
		if string(gd) != string(wd) || !reflect.DeepEqual(g, w) {
			t.Errorf("%s: event %d:\ngot  %+v %s\nwant %+v %s", what, i, g, gd, w, wd)
		}
	}
}

// detailsJSON is the JSON of details as the API shows them once stored: json.Marshal of what decoding
// the stored JSON gives.
func detailsJSON(t *testing.T, d map[string]any) string {
	t.Helper()
	b, err := json.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		t.Fatal(err)
	}
	if b, err = json.Marshal(v); err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func countRows(t *testing.T, s *Store, q string, args ...any) int {
	t.Helper()
	var n int
	if err := s.read.QueryRowContext(t.Context(), q, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestAuditStoredCompactly: an event as the engine writes it is stored in the compact form (UUIDs and
// the hash as bytes, the time as an integer, the previous event as its seq, the vault out of details),
// and reads back exactly; so do a vault id that is not valid UTF-8 and the extremes of TimeFormat.
func TestAuditStoredCompactly(t *testing.T) {
	s, _ := open(t)
	defer s.Close()
	org := uuid.NewString()
	first, second := readEvent(org, uuid.NewString(), uuid.NewString()), readEvent(org, uuid.NewString(), uuid.NewString())
	odd := readEvent(org, "actor", "resource")
	odd.Details["vault_id"] = "v\xff" // JSON cannot hold it exactly: details keep the key
	early, late := readEvent(org, "a", "r"), readEvent(org, "a", "r")
	early.CreatedAt = time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC)
	late.CreatedAt = time.Date(9999, 12, 31, 23, 59, 59, 999999000, time.UTC)
	want := []*clavis.AuditEvent{first, second, odd, early, late}
	for _, e := range want {
		if err := s.Write(t.Context(), chainOne(e)); err != nil {
			t.Fatal(err)
		}
	}
	var id, hash, at, prev, details string
	if err := s.read.QueryRowContext(t.Context(), `SELECT typeof(id), typeof(hash), typeof(created_at), typeof(prev), details
		FROM audit_events WHERE id = ?`, idArg(second.ID)).Scan(&id, &hash, &at, &prev, &details); err != nil {
		t.Fatal(err)
	}
	if id != "blob" || hash != "blob" || at != "integer" || prev != "integer" || details != `{"path":"db/password","version":1}` {
		t.Errorf("stored as id %s, hash %s, created_at %s, prev %s, details %s", id, hash, at, prev, details)
	}
	got := chain(t, s, org)
	sameEvents(t, "chain", got, want)
	if got[2].Details["vault_id"] != "v\ufffd" {
		t.Errorf("invalid UTF-8 vault id read back as %q, want it as JSON holds it", got[2].Details["vault_id"])
	}
	evs, err := listAudit(t, s, store.AuditFilter{OrgID: org, VaultID: "v\xff"})
	if err != nil || len(evs) != 1 || evs[0].ID != odd.ID {
		t.Errorf("ListAudit by the invalid UTF-8 vault id: %v, %v", eventIDs(evs), err)
	}
	if r := verifyChain(t, s, org); !r.Valid || r.Checked != len(want) {
		t.Errorf("verify: %+v", r)
	}
}

func listAudit(t *testing.T, s store.Store, f store.AuditFilter) (evs []*clavis.AuditEvent, err error) {
	t.Helper()
	err = s.Read(t.Context(), func(tx store.Tx) error { evs, err = tx.ListAudit(f); return err })
	return evs, err
}

func eventIDs(evs []*clavis.AuditEvent) []string {
	var ids []string
	for _, e := range evs {
		ids = append(ids, e.ID)
	}
	return ids
}

// TestAuditBatchRollbackLeavesNoTrace: in a group commit, a unit that fails after appending events
// leaves no event, no name and no head behind, also when it read the head back within its unit, and the
// units after it chain onto the events of the units that succeeded. A name a failed unit interned is
// interned again, not taken from a cache.
func TestAuditBatchRollbackLeavesNoTrace(t *testing.T) {
	s, _ := open(t)
	defer s.Close()
	org, agent := uuid.NewString(), uuid.NewString()
	boom := errors.New("unit failed")
	if err := s.Write(t.Context(), chainOne(readEvent(org, agent, "r0"))); err != nil {
		t.Fatal(err)
	}
	var kept [6]*clavis.AuditEvent // the events of the units that succeed, by unit
	unit := func(i int, actor, resource string, fail bool) func(store.Tx) error {
		return func(tx store.Tx) error {
			e := readEvent(org, actor, resource)
			if err := chainOne(e)(tx); err != nil {
				return err
			}
			if !fail {
				kept[i] = e
				return nil
			}
			if i == 3 { // the head written to audit_heads inside the unit, then rolled back
				h, err := tx.AuditChainHead(org)
				if err != nil || h.EventID != e.ID {
					t.Errorf("AuditChainHead within the unit: %+v, %v; want event %s", h, err, e.ID)
				}
			}
			return boom
		}
	}
	errs := s.WriteBatch(t.Context(), []func(store.Tx) error{
		unit(0, agent, "r0", false),
		unit(1, "gone-actor", "gone-1", true),
		unit(2, agent, "r2", false), // interns a new name: it takes the id that "gone-1" had
		unit(3, agent, "gone-3", true),
		unit(4, agent, "gone-1", false),
		unit(5, agent, "r0", false),
	})
	for i, err := range errs {
		if want := kept[i] == nil; (err != nil) != want || (err != nil && !errors.Is(err, boom)) {
			t.Errorf("unit %d: %v", i, err)
		}
	}
	got := chain(t, s, org)
	sameEvents(t, "chain after the batch", got[1:], []*clavis.AuditEvent{kept[0], kept[2], kept[4], kept[5]})
	if r := verifyChain(t, s, org); !r.Valid || r.Checked != 5 || r.HeadCount != 5 {
		t.Errorf("verify after the batch: %+v", r)
	}
	for _, name := range []string{"gone-actor", "gone-3"} {
		if n := countRows(t, s, `SELECT count(*) FROM audit_names WHERE name = ?`, name); n != 0 {
			t.Errorf("name %q of a failed unit is stored", name)
		}
	}
	// The names stay right in the next transactions (served from the cache).
	e := readEvent(org, "gone-actor", "gone-1")
	if err := s.Write(t.Context(), chainOne(e)); err != nil {
		t.Fatal(err)
	}
	got = chain(t, s, org)
	sameEvents(t, "last event", got[len(got)-1:], []*clavis.AuditEvent{e})
	if r := verifyChain(t, s, org); !r.Valid || r.Checked != 6 {
		t.Errorf("verify: %+v", r)
	}
}

// TestAuditMigrationKeepsChains: events written in the schema before migration 0012 read back exactly
// after it, their chains still verify (to the heads), the filters and cursors still find them, and new
// events chain onto them.
func TestAuditMigrationKeepsChains(t *testing.T) {
	path := filepath.Join(t.TempDir(), "clavis.db")
	ms, err := migrations()
	if err != nil {
		t.Fatal(err)
	}
	v := -1
	for i, m := range ms {
		if m.Name == "0012_audit_compact.sql" {
			v = i
		}
	}
	if v < 0 {
		t.Fatal("no migration 0012_audit_compact.sql")
	}
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	exec := func(q string, args ...any) {
		t.Helper()
		if _, err := db.Exec(q, args...); err != nil {
			t.Fatalf("%.60s: %v", q, err)
		}
	}
	exec(createSchemaMigrations)
	for _, m := range ms[:v] {
		exec(m.SQL)
		exec(`INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, '')`, m.Version, m.Name)
	}

	// Events as AppendAudit wrote them before 0012, in two interleaved chains.
	orgs := []string{uuid.NewString(), "org-not-a-uuid"}
	agent, vault := uuid.NewString(), uuid.NewString()
	type head struct{ id, hash string }
	heads := map[string]head{}
	want := map[string][]*clavis.AuditEvent{}
	for i := range 40 {
		org := orgs[i%3/2] // two events of the first org, then one of the second
		e := &clavis.AuditEvent{ID: uuid.NewString(), OrgID: org, Action: "secret.read", ActorID: agent,
			ActorType: clavis.PrincipalAgent, ResourceType: "secret", ResourceID: fmt.Sprintf("secret-%d", i%5),
			Details:   map[string]any{"vault_id": vault, "path": fmt.Sprintf("p/%d", i), "version": i, "n": 1.5},
			IPAddress: "192.0.2.1", CreatedAt: clavis.Truncate(time.Date(2026, 1, 1, 0, 0, i, i*1001000, time.UTC))}
		switch i {
		case 3:
			e.ID = "legacy-id"
		case 4:
			e.Details = nil
			e.ActorType, e.ActorID, e.IPAddress = clavis.PrincipalAnonymous, "anonymous", ""
		case 5:
			e.Details = map[string]any{"vault_id": 7, "nested": map[string]any{"vault_id": vault}}
		case 6:
			e.Details = map[string]any{"vault_id": vault}
		}
		h := heads[org]
		audit.Chain(auditKey, h.id, h.hash, e)
		details, err := json.Marshal(e.Details)
		if err != nil {
			t.Fatal(err)
		}
		var vaultID any
		if s, ok := e.Details["vault_id"].(string); ok {
			vaultID = s
		}
		at := clavis.FormatTime(e.CreatedAt)
		if i == 7 {
			at = "2026-01-01T00:00:07.007Z" // not TimeFormat: kept as text
			e.CreatedAt = time.Date(2026, 1, 1, 0, 0, 7, 7000000, time.UTC)
			audit.Chain(auditKey, h.id, h.hash, e)
		}
		exec(`INSERT INTO audit_events (id, org_id, action, actor_id, actor_type, resource_type, resource_id, details,
			ip_address, created_at, prev_event_id, integrity_hash, vault_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			e.ID, e.OrgID, e.Action, e.ActorID, string(e.ActorType), e.ResourceType, e.ResourceID, string(details),
			e.IPAddress, at, e.PrevEventID, e.IntegrityHash, vaultID)
		exec(`INSERT INTO audit_heads (org_id, event_id, hash, event_count) VALUES (?, ?, ?, 1)
			ON CONFLICT (org_id) DO UPDATE SET event_id = excluded.event_id, hash = excluded.hash,
				event_count = audit_heads.event_count + 1`, e.OrgID, e.ID, e.IntegrityHash)
		heads[org] = head{e.ID, e.IntegrityHash}
		want[org] = append(want[org], e)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	s, err := Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, org := range orgs {
		sameEvents(t, "chain of "+org, chain(t, s, org), want[org])
		if r := verifyChain(t, s, org); !r.Valid || r.Checked != len(want[org]) {
			t.Errorf("verify %s after the migration: %+v", org, r)
		}
	}
	count := func(org string, match func(e *clavis.AuditEvent) bool) (n int) {
		for _, e := range want[org] {
			if match(e) {
				n++
			}
		}
		return n
	}
	later := want[orgs[1]][5].CreatedAt
	for _, tc := range []struct {
		f     store.AuditFilter
		match func(e *clavis.AuditEvent) bool
	}{
		{store.AuditFilter{OrgID: orgs[0], VaultID: vault}, func(e *clavis.AuditEvent) bool { return e.Details["vault_id"] == vault }},
		{store.AuditFilter{OrgID: orgs[0], ActorID: agent}, func(e *clavis.AuditEvent) bool { return e.ActorID == agent }},
		{store.AuditFilter{OrgID: orgs[0], ResourceID: "secret-1"}, func(e *clavis.AuditEvent) bool { return e.ResourceID == "secret-1" }},
		{store.AuditFilter{OrgID: orgs[1], Action: "secret.read", From: &later}, func(e *clavis.AuditEvent) bool { return !e.CreatedAt.Before(later) }},
	} {
		want := count(tc.f.OrgID, tc.match)
		if evs, err := listAudit(t, s, tc.f); err != nil || len(evs) != want || want == 0 {
			t.Errorf("ListAudit %+v: %d events, %v; want %d", tc.f, len(evs), err, want)
		}
	}
	legacy := slices.IndexFunc(want[orgs[0]], func(e *clavis.AuditEvent) bool { return e.ID == "legacy-id" })
	var after []*clavis.AuditEvent
	if err := s.Read(t.Context(), func(tx store.Tx) (err error) {
		after, err = tx.AuditChainAfter(orgs[0], "legacy-id", 2)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	sameEvents(t, "AuditChainAfter the legacy id", after, want[orgs[0]][legacy+1:legacy+3])
	var types []string
	rows, err := s.read.QueryContext(t.Context(), `SELECT DISTINCT typeof(id) || ',' || typeof(created_at) || ',' || typeof(prev) || ',' || typeof(hash)
		FROM audit_events ORDER BY 1`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		types = append(types, s)
	}
	if err := errors.Join(rows.Err(), rows.Close()); err != nil {
		t.Fatal(err)
	}
	// The two firsts (prev NULL), the legacy id, the text time, and every other event.
	if w := []string{"blob,integer,integer,blob", "blob,integer,null,blob", "blob,text,integer,blob", "text,integer,integer,blob"}; !reflect.DeepEqual(types, w) {
		t.Errorf("stored types %v, want %v", types, w)
	}

	// New events chain onto the migrated ones.
	for _, org := range orgs {
		var units []func(store.Tx) error
		for range 3 {
			e := readEvent(org, agent, "secret-new")
			want[org] = append(want[org], e)
			units = append(units, chainOne(e))
		}
		for _, err := range s.WriteBatch(context.Background(), units) {
			if err != nil {
				t.Fatal(err)
			}
		}
		sameEvents(t, "chain of "+org+" with new events", chain(t, s, org), want[org])
		if r := verifyChain(t, s, org); !r.Valid || r.Checked != len(want[org]) || r.HeadCount != int64(len(want[org])) {
			t.Errorf("verify %s with new events: %+v", org, r)
		}
	}
}
