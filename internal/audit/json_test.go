package audit_test

import (
	"bytes"
	"testing"
	"time"

	"clavis.dev/clavis"
	"clavis.dev/clavis/internal/audit"
)

// TestJSONLinesWritesTheOneShape: a sink line is exactly the JSON form of the event (spec §5.1): every
// key present, details never null, prev_event_id null only for the first event of an org.
func TestJSONLinesWritesTheOneShape(t *testing.T) {
	at := time.Date(2026, 1, 2, 3, 4, 5, 600_000_000, time.UTC)
	first := &clavis.AuditEvent{ID: "e1", OrgID: "o", Action: "secret.read", ActorID: "a", ActorType: clavis.PrincipalAgent,
		ResourceType: "secret", ResourceID: "v/p", IPAddress: "192.0.2.1", CreatedAt: at, IntegrityHash: "h1"}
	second := &clavis.AuditEvent{ID: "e2", OrgID: "o", Action: "secret.write", ActorID: "u", ActorType: clavis.PrincipalUser,
		ResourceType: "secret", ResourceID: "v/q", Details: map[string]any{"version": 2}, CreatedAt: at,
		PrevEventID: "e1", IntegrityHash: "h2"}
	var buf bytes.Buffer
	if err := audit.NewJSONLines(&buf).Write([]*clavis.AuditEvent{first, second}); err != nil {
		t.Fatal(err)
	}
	ts := clavis.FormatTime(at)
	want := `{"id":"e1","action":"secret.read","actor_id":"a","actor_type":"agent","resource_type":"secret",` +
		`"resource_id":"v/p","org_id":"o","details":{},"ip_address":"192.0.2.1","created_at":"` + ts + `",` +
		`"prev_event_id":null,"integrity_hash":"h1"}` + "\n" +
		`{"id":"e2","action":"secret.write","actor_id":"u","actor_type":"user","resource_type":"secret",` +
		`"resource_id":"v/q","org_id":"o","details":{"version":2},"ip_address":"","created_at":"` + ts + `",` +
		`"prev_event_id":"e1","integrity_hash":"h2"}` + "\n"
	if got := buf.String(); got != want {
		t.Errorf("sink lines =\n%s\nwant\n%s", got, want)
	}
}
