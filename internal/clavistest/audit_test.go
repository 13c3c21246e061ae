package clavistest_test

import (
	"bufio"
	"bytes"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"clavis.dev/clavis"
	"clavis.dev/clavis/internal/audit"
	"clavis.dev/clavis/internal/clavistest"
	"clavis.dev/clavis/internal/store"
)

// The SQLite store keeps a UUID as its 16 bytes (internal/store/sqlite/audit.go): sqlUUID is the
// stored form of a UUID parameter, sqlUUIDText the text of the stored id of an audit event.
const (
	sqlUUID     = `unhex(replace(?, '-', ''))`
	sqlUUIDText = `lower(substr(hex(id), 1, 8) || '-' || substr(hex(id), 9, 4) || '-' || substr(hex(id), 13, 4) || '-' ||
		substr(hex(id), 17, 4) || '-' || substr(hex(id), 21))`
)

func status(t *testing.T, url string) (int, string) {
	t.Helper()
	res, err := http.Get(url) // #nosec G107 -- the test server's URL
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

// TestAuditFailsClosed: when audit events cannot be committed, reads answer 503 without the value within
// 2 s, readiness turns red, and both recover without a restart once the database does.
func TestAuditFailsClosed(t *testing.T) {
	var faulty *clavistest.FaultyStore
	env := clavistest.New(t, clavistest.Options{WrapStore: func(s store.Store) store.Store {
		faulty = &clavistest.FaultyStore{Store: s}
		return faulty
	}})
	u := env.Signup(t)
	v, _ := u.C.CreateVault(ctx, clavis.VaultInput{Name: "fail-closed"})
	canary := "CANARY-" + clavistest.RandHex(8)
	if _, err := u.C.PutSecret(ctx, v.ID, "k", clavis.SecretInput{Value: clavis.Sensitive(canary)}); err != nil {
		t.Fatal(err)
	}
	if code, _ := status(t, env.URL+"/readyz"); code != 200 {
		t.Fatalf("readyz before the fault = %d", code)
	}

	tok := bearer(t, env, u)
	faulty.Fail.Store(true)
	start := time.Now()
	req, _ := http.NewRequest("GET", env.URL+"/v1/vaults/"+v.ID+"/secrets/k", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	_ = res.Body.Close() // read already
	if res.StatusCode != 503 || strings.Contains(string(body), canary) {
		t.Fatalf("read while audit fails: %d %s, want 503 without the value", res.StatusCode, body)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("fail-closed answer took %v, want within 2 s", d)
	}
	if code, _ := status(t, env.URL+"/readyz"); code != 503 {
		t.Fatalf("readyz while audit fails = %d, want 503", code)
	}
	if _, body := status(t, env.URL+"/v1/health"); !strings.Contains(body, "degraded") {
		t.Fatalf("health while audit fails: %s, want degraded", body)
	}
	_, err = u.C.PutSecret(ctx, v.ID, "k2", clavis.SecretInput{Value: "v"})
	wantKind(t, err, clavis.KindUnavailable, "write while audit fails")

	faulty.Fail.Store(false)
	if code, _ := status(t, env.URL+"/readyz"); code != 200 {
		t.Fatalf("readyz after recovery = %d, want 200", code)
	}
	if s, err := u.C.GetSecret(ctx, v.ID, "k"); err != nil || string(s.Value) != canary {
		t.Fatalf("read after recovery: %v", err)
	}
	evs, _ := u.C.ListAudit(ctx, clavis.AuditQuery{Action: "secret.read"})
	if len(evs) != 1 {
		t.Fatalf("secret.read events = %d, want exactly the one read that returned a value", len(evs))
	}
}

// TestAuditChainConcurrentWriters: 20 concurrent writers leave one valid linear chain.
func TestAuditChainConcurrentWriters(t *testing.T) {
	env := clavistest.New(t)
	u := env.Signup(t)
	v, _ := u.C.CreateVault(ctx, clavis.VaultInput{Name: "chain"})
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range 5 {
				if _, err := u.C.PutSecret(ctx, v.ID, fmt.Sprintf("w%c/%c", 'a'+i, 'a'+j), clavis.SecretInput{Value: "x"}); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	res, err := u.C.VerifyAudit(ctx, nil, nil, 0)
	if err != nil || !res.Valid || res.Checked < 102 || res.Verified != res.Checked {
		t.Fatalf("verify after concurrent writers: %+v, %v", res, err)
	}
	evs, _ := u.C.ListAudit(ctx, clavis.AuditQuery{Limit: 1000})
	for i := 0; i+1 < len(evs); i++ {
		if evs[i].PrevEventID == "" || evs[i].PrevEventID != evs[i+1].ID {
			t.Fatalf("event %d does not link to the next older one", i)
		}
	}
}

// TestAuditVerifyDetectsTampering edits the stored log in every way an attacker with database access
// could and checks that verify names the first broken event each time.
func TestAuditVerifyDetectsTampering(t *testing.T) {
	type tamper struct {
		name string
		// do changes the database; events are the org's chain, oldest first. It returns the id that verify
		// must report as the first broken event.
		do func(t *testing.T, db *sql.DB, seqs []int64, ids []string) string
	}
	exec := func(t *testing.T, db *sql.DB, q string, args ...any) {
		t.Helper()
		if _, err := db.Exec(q, args...); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	cases := []tamper{
		{"edit a field", func(t *testing.T, db *sql.DB, seqs []int64, ids []string) string {
			exec(t, db, `INSERT OR IGNORE INTO audit_names (name) VALUES ('secret.delete')`)
			exec(t, db, `UPDATE audit_events SET action_ref = (SELECT id FROM audit_names WHERE name = 'secret.delete') WHERE seq = ?`, seqs[4])
			return ids[4]
		}},
		{"edit the actor", func(t *testing.T, db *sql.DB, seqs []int64, ids []string) string {
			exec(t, db, `INSERT OR IGNORE INTO audit_names (name) VALUES ('someone-else')`)
			exec(t, db, `UPDATE audit_events SET actor_ref = (SELECT id FROM audit_names WHERE name = 'someone-else') WHERE seq = ?`, seqs[2])
			return ids[2]
		}},
		{"edit the time", func(t *testing.T, db *sql.DB, seqs []int64, ids []string) string {
			exec(t, db, `UPDATE audit_events SET created_at = unixepoch('2001-01-01') * 1000000 WHERE seq = ?`, seqs[6])
			return ids[6]
		}},
		{"delete one", func(t *testing.T, db *sql.DB, seqs []int64, ids []string) string {
			exec(t, db, `DELETE FROM audit_events WHERE seq = ?`, seqs[3])
			return ids[4]
		}},
		{"delete the first", func(t *testing.T, db *sql.DB, seqs []int64, ids []string) string {
			exec(t, db, `DELETE FROM audit_events WHERE seq = ?`, seqs[0])
			return ids[1]
		}},
		{"truncate the middle", func(t *testing.T, db *sql.DB, seqs []int64, ids []string) string {
			exec(t, db, `DELETE FROM audit_events WHERE seq > ? AND seq < ?`, seqs[2], seqs[7])
			return ids[7]
		}},
		{"reorder two", func(t *testing.T, db *sql.DB, seqs []int64, ids []string) string {
			exec(t, db, `UPDATE audit_events SET seq = -1 WHERE seq = ?`, seqs[3])
			exec(t, db, `UPDATE audit_events SET seq = ? WHERE seq = ?`, seqs[3], seqs[4])
			exec(t, db, `UPDATE audit_events SET seq = ? WHERE seq = -1`, seqs[4])
			return ids[4] // now in position 3, linking to ids[3] instead of ids[2]
		}},
		{"insert a forged event", func(t *testing.T, db *sql.DB, seqs []int64, ids []string) string {
			exec(t, db, `UPDATE audit_events SET seq = seq + 1000000 WHERE seq > ?`, seqs[4])
			exec(t, db, `INSERT INTO audit_events (seq, id, org_ref, action_ref, actor_ref, actor_type_ref, resource_type_ref,
				resource_ref, vault_ref, details, ip_ref, created_at, prev, hash)
				SELECT ?, 'forged-0000', org_ref, action_ref, actor_ref, actor_type_ref, resource_type_ref, resource_ref,
				vault_ref, details, ip_ref, created_at, seq, hash FROM audit_events WHERE seq = ?`, seqs[4]+1, seqs[4])
			return "forged-0000"
		}},
		// Removing events from the end leaves an intact but shorter chain: verify compares its end with the
		// org's head and names the head's event, the newest one missing.
		{"delete the last", func(t *testing.T, db *sql.DB, seqs []int64, ids []string) string {
			exec(t, db, `DELETE FROM audit_events WHERE seq = ?`, seqs[len(seqs)-1])
			return ids[len(ids)-1]
		}},
		{"delete the last three", func(t *testing.T, db *sql.DB, seqs []int64, ids []string) string {
			exec(t, db, `DELETE FROM audit_events WHERE seq >= ?`, seqs[len(seqs)-3])
			return ids[len(ids)-1]
		}},
		{"delete everything", func(t *testing.T, db *sql.DB, seqs []int64, ids []string) string {
			exec(t, db, `DELETE FROM audit_events`)
			return ids[len(ids)-1]
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			env := clavistest.New(t)
			u := env.Signup(t)
			v, _ := u.C.CreateVault(ctx, clavis.VaultInput{Name: "tamper"})
			for i := range 10 {
				if _, err := u.C.PutSecret(ctx, v.ID, "k", clavis.SecretInput{Value: clavis.Sensitive(string(rune('a' + i)))}); err != nil {
					t.Fatal(err)
				}
			}
			if res, err := u.C.VerifyAudit(ctx, nil, nil, 0); err != nil || !res.Valid {
				t.Fatalf("verify before tampering: %+v %v", res, err)
			}
			db, err := sql.Open("sqlite", env.DBPath)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			rows, err := db.Query(`SELECT seq, `+sqlUUIDText+` FROM audit_events
				WHERE org_ref = (SELECT id FROM audit_names WHERE name = `+sqlUUID+`) ORDER BY seq`, u.OrgID)
			if err != nil {
				t.Fatal(err)
			}
			var seqs []int64
			var ids []string
			for rows.Next() {
				var s int64
				var id string
				if err := rows.Scan(&s, &id); err != nil {
					t.Fatal(err)
				}
				seqs, ids = append(seqs, s), append(ids, id)
			}
			if err := errors.Join(rows.Err(), rows.Close()); err != nil {
				t.Fatal(err)
			}
			want := c.do(t, db, seqs, ids)
			res, err := u.C.VerifyAudit(ctx, nil, nil, 0)
			if err != nil {
				t.Fatal(err)
			}
			if res.Valid || res.BrokenAt == "" || res.BrokenAt != want {
				t.Fatalf("verify after %s: %+v (broken at %q), want broken at %s", c.name, res, res.BrokenAt, want)
			}
			if res.Verified >= res.Checked {
				t.Fatalf("events_verified %d must stop before the break (checked %d)", res.Verified, res.Checked)
			}
		})
	}
}

// TestAuditVerifyLimitedWalk: verify compares the end of the chain with the org's head exactly when its
// walk reaches that end; a walk cut off by limit checks the events it covers.
func TestAuditVerifyLimitedWalk(t *testing.T) {
	env := clavistest.New(t)
	u := env.Signup(t)
	v, _ := u.C.CreateVault(ctx, clavis.VaultInput{Name: "limits"})
	for i := range 3 {
		if _, err := u.C.PutSecret(ctx, v.ID, "k", clavis.SecretInput{Value: clavis.Sensitive(string(rune('a' + i)))}); err != nil {
			t.Fatal(err)
		}
	}
	owner := &clavis.Caller{Principal: clavis.Principal{Type: clavis.PrincipalUser, ID: u.ID, OrgID: u.OrgID}, Role: clavis.RoleOwner}
	verify := func(from *time.Time, limit int) clavis.AuditVerification {
		t.Helper()
		r, err := env.Engine.VerifyAudit(ctx, owner, from, nil, limit)
		if err != nil {
			t.Fatal(err)
		}
		return *r
	}
	evs, err := u.C.ListAudit(ctx, clavis.AuditQuery{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	n := len(evs) // 5: signup, vault, 3 writes
	head := evs[0].ID
	intact := []struct {
		limit, checked int
	}{{n - 1, n - 1}, {n, n}, {n + 1, n}, {0, n}}
	for _, tc := range intact {
		if got := verify(nil, tc.limit); !got.Valid || got.Checked != tc.checked || got.Verified != tc.checked {
			t.Errorf("intact chain of %d, limit %d: %+v, want valid with %d checked", n, tc.limit, got, tc.checked)
		}
	}

	db, err := sql.Open("sqlite", env.DBPath)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`DELETE FROM audit_events WHERE id = `+sqlUUID, head); err != nil {
		t.Fatal(err)
	}
	// n-1 events left; the head still names the n-th.
	if got := verify(nil, n-2); !got.Valid || got.Checked != n-2 {
		t.Errorf("limit %d short of the end: %+v, want valid with %d checked", n-2, got, n-2)
	}
	for _, limit := range []int{n - 1, n, 0} {
		want := clavis.AuditVerification{Verified: n - 1, Checked: n, BrokenAt: head, Truncated: true, Last: evs[1].ID, HeadCount: int64(n)}
		if got := verify(nil, limit); got != want {
			t.Errorf("limit %d reaching the end of a truncated chain: %+v, want %+v", limit, got, want)
		}
	}
}

// TestAuditSinkStreamsCommittedEventsWithoutValues: every committed event reaches the sink in the API's
// shape; no secret value or key does.
func TestAuditSinkStreamsCommittedEventsWithoutValues(t *testing.T) {
	var buf syncBuf
	env := clavistest.New(t, clavistest.Options{Sink: audit.NewJSONLines(&buf)})
	u := env.Signup(t)
	v, _ := u.C.CreateVault(ctx, clavis.VaultInput{Name: "sink"})
	canary := "CANARY-" + clavistest.RandHex(8)
	if _, err := u.C.PutSecret(ctx, v.ID, "k", clavis.SecretInput{Value: clavis.Sensitive(canary)}); err != nil {
		t.Fatal(err)
	}
	if _, err := u.C.GetSecret(ctx, v.ID, "k"); err != nil {
		t.Fatal(err)
	}
	a := env.NewAgent(t, u, clavis.AgentInput{})
	_, _ = env.Client().Login(ctx, "nobody-"+clavistest.RandHex(4)+"@example.com", "Wrong-password-123")
	evs, _ := u.C.ListAudit(ctx, clavis.AuditQuery{Limit: 1000})
	sunk := map[string]bool{}
	anonymous := 0
	sc := bufio.NewScanner(bytes.NewReader(buf.bytes()))
	for sc.Scan() {
		var e map[string]any
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatalf("sink line is not JSON: %s", sc.Text())
		}
		sunk[e["id"].(string)] = true
		if e["actor_type"] == "anonymous" {
			anonymous++
		}
	}
	for _, e := range evs {
		if !sunk[e.ID] {
			t.Errorf("committed event %s (%s) missing from the sink", e.ID, e.Action)
		}
	}
	if anonymous == 0 {
		t.Errorf("a failed login for an unknown email must reach the sink")
	}
	for what, c := range map[string]string{"secret value": canary, "agent key": a.Key, "password": u.Password} {
		if bytes.Contains(buf.bytes(), []byte(c)) {
			t.Errorf("%s found in the sink", what)
		}
	}
}

type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) { s.mu.Lock(); defer s.mu.Unlock(); return s.b.Write(p) }
func (s *syncBuf) bytes() []byte               { s.mu.Lock(); defer s.mu.Unlock(); return bytes.Clone(s.b.Bytes()) }
