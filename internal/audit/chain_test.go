package audit_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"regexp"
	"slices"
	"testing"
	"time"

	"clavis.dev/clavis"
	"clavis.dev/clavis/internal/audit"
)

var key = []byte("audit-key-0123456789abcdef0123456")

// hmacHex is the spec's formula computed by hand over a literal message.
func hmacHex(key []byte, msg string) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(msg))
	return hex.EncodeToString(m.Sum(nil))
}

func TestHashGolden(t *testing.T) {
	signup := &clavis.AuditEvent{
		ID: "d51b6c0f-4664-4b23-9d5c-11602777bb6a", OrgID: "ffe10341-3333-4000-8000-000000000004",
		Action: "auth.signup", ActorID: "0d2bbdcf-1111-4000-8000-000000000001", ActorType: clavis.PrincipalUser,
		ResourceType: "user", ResourceID: "0d2bbdcf-1111-4000-8000-000000000001",
		CreatedAt: time.Date(2026, 2, 27, 14, 0, 0, 123456789, time.UTC), // formats with microseconds: .123456Z
	}
	read := &clavis.AuditEvent{
		ID: "7f26e7ba-03ea-4a51-b2bb-85fa7fd56418", Action: "secret.read",
		ActorID: "0d2bbdcf-1111-4000-8000-000000000001", ResourceType: "secret",
		ResourceID: "22f3c628-2222-4000-8000-000000000003",
		// The same instant in another zone: created_at is always rendered in UTC.
		CreatedAt: time.Date(2026, 2, 27, 15, 0, 0, 0, time.FixedZone("CET", 3600)),
	}
	prev := "000000000000000000000000000000000000000000000000000000000000000f"
	tests := []struct {
		name       string
		prevHash   string
		e          *clavis.AuditEvent
		msg        string // the spec's message, written out by hand
		wantGolden string // computed outside Go (Python hmac)
	}{
		{"first event of an org", "", signup,
			"|d51b6c0f-4664-4b23-9d5c-11602777bb6a|0d2bbdcf-1111-4000-8000-000000000001|auth.signup|user|0d2bbdcf-1111-4000-8000-000000000001|2026-02-27T14:00:00.123456Z",
			"2b7156bbc87502032511a8640c45bffb1986d9f875dd8a80756d456d206263b8"},
		{"later event", prev, read,
			prev + "|7f26e7ba-03ea-4a51-b2bb-85fa7fd56418|0d2bbdcf-1111-4000-8000-000000000001|secret.read|secret|22f3c628-2222-4000-8000-000000000003|2026-02-27T14:00:00.000000Z",
			"e75d24f71edf08eae4f6f9a56603f71a49a14820e3d2099b76c123dece8af4ff"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := audit.Hash(key, tt.prevHash, tt.e)
			if want := hmacHex(key, tt.msg); got != want {
				t.Errorf("Hash = %s, want HMAC of %q = %s", got, tt.msg, want)
			}
			if got != tt.wantGolden {
				t.Errorf("Hash = %s, want golden %s", got, tt.wantGolden)
			}
		})
	}
}

// TestHashCoverage: every field the spec lists changes the hash; the others (spec §5.3) do not.
func TestHashCoverage(t *testing.T) {
	base := newEvent(0, time.Date(2026, 1, 2, 3, 4, 5, 6000, time.UTC))
	want := audit.Hash(key, "prev", base)
	tests := []struct {
		name     string
		edit     func(e *clavis.AuditEvent)
		prevHash string
		changes  bool
	}{
		{"prev hash", func(*clavis.AuditEvent) {}, "prev2", true},
		{"id", func(e *clavis.AuditEvent) { e.ID += "x" }, "prev", true},
		{"actor id", func(e *clavis.AuditEvent) { e.ActorID += "x" }, "prev", true},
		{"action", func(e *clavis.AuditEvent) { e.Action = "secret.write" }, "prev", true},
		{"resource type", func(e *clavis.AuditEvent) { e.ResourceType = "vault" }, "prev", true},
		{"resource id", func(e *clavis.AuditEvent) { e.ResourceID += "x" }, "prev", true},
		{"created at +1µs", func(e *clavis.AuditEvent) { e.CreatedAt = e.CreatedAt.Add(time.Microsecond) }, "prev", true},
		{"created at in another zone", func(e *clavis.AuditEvent) { e.CreatedAt = e.CreatedAt.In(time.FixedZone("X", -7200)) }, "prev", false},
		{"created at +1ns (below TimeFormat precision)", func(e *clavis.AuditEvent) { e.CreatedAt = e.CreatedAt.Add(time.Nanosecond) }, "prev", false},
		{"org id (not covered)", func(e *clavis.AuditEvent) { e.OrgID = "other" }, "prev", false},
		{"actor type (not covered)", func(e *clavis.AuditEvent) { e.ActorType = clavis.PrincipalAgent }, "prev", false},
		{"details (not covered)", func(e *clavis.AuditEvent) { e.Details = map[string]any{"path": "x"} }, "prev", false},
		{"ip address (not covered)", func(e *clavis.AuditEvent) { e.IPAddress = "10.0.0.1" }, "prev", false},
		{"prev event id (checked by Verify, not hashed)", func(e *clavis.AuditEvent) { e.PrevEventID = "x" }, "prev", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := *base
			tt.edit(&e)
			got := audit.Hash(key, tt.prevHash, &e)
			if changed := got != want; changed != tt.changes {
				t.Errorf("hash changed = %v, want %v", changed, tt.changes)
			}
		})
	}
	if got := audit.Hash([]byte("another key"), "prev", base); got == want {
		t.Error("Hash ignores the key")
	}
}

func newEvent(n int, at time.Time) *clavis.AuditEvent {
	return &clavis.AuditEvent{
		ID: fmt.Sprintf("00000000-0000-4000-8000-%012d", n), OrgID: "org-1", Action: "secret.read",
		ActorID: "actor-1", ActorType: clavis.PrincipalAgent, ResourceType: "secret",
		ResourceID: fmt.Sprintf("secret-%d", n), Details: map[string]any{"version": n}, IPAddress: "127.0.0.1",
		CreatedAt: at,
	}
}

// chain returns n freshly chained events, oldest first.
func chain(n int) []*clavis.AuditEvent {
	start := time.Date(2026, 2, 27, 14, 0, 0, 0, time.UTC)
	events := make([]*clavis.AuditEvent, n)
	headID, headHash := "", ""
	for i := range events {
		e := newEvent(i, start.Add(time.Duration(i)*time.Millisecond))
		audit.Chain(key, headID, headHash, e)
		events[i] = e
		headID, headHash = e.ID, e.IntegrityHash
	}
	return events
}

func TestChain(t *testing.T) {
	events := chain(4)
	lowerHex := regexp.MustCompile(`^[0-9a-f]{64}$`)
	for i, e := range events {
		wantPrevID, wantPrevHash := "", ""
		if i > 0 {
			wantPrevID, wantPrevHash = events[i-1].ID, events[i-1].IntegrityHash
		}
		if got := e.PrevEventID; got != wantPrevID {
			t.Errorf("event %d PrevEventID = %q, want %q", i, got, wantPrevID)
		}
		if got, want := e.IntegrityHash, audit.Hash(key, wantPrevHash, e); got != want {
			t.Errorf("event %d IntegrityHash = %s, want %s", i, got, want)
		}
		if !lowerHex.MatchString(e.IntegrityHash) {
			t.Errorf("event %d IntegrityHash %q is not 64 lowercase hex", i, e.IntegrityHash)
		}
	}
}

func TestVerifyValid(t *testing.T) {
	events := chain(6)
	tests := []struct {
		name             string
		key              []byte
		prevID, prevHash string
		events           []*clavis.AuditEvent
		want             audit.Result
	}{
		{"whole chain", key, "", "", events, audit.Result{Valid: true, Verified: 6, Checked: 6}},
		{"window after a known head", key, events[1].ID, events[1].IntegrityHash, events[2:5],
			audit.Result{Valid: true, Verified: 3, Checked: 3}},
		{"one event", key, "", "", events[:1], audit.Result{Valid: true, Verified: 1, Checked: 1}},
		{"no events", key, "", "", nil, audit.Result{Valid: true}},
		{"wrong key", []byte("not the audit key"), "", "", events,
			audit.Result{Verified: 0, Checked: 1, BrokenAt: events[0].ID}},
		{"window with the wrong head id", key, events[0].ID, events[1].IntegrityHash, events[2:],
			audit.Result{Verified: 0, Checked: 1, BrokenAt: events[2].ID}},
		{"window with the wrong head hash", key, events[1].ID, events[0].IntegrityHash, events[2:],
			audit.Result{Verified: 0, Checked: 1, BrokenAt: events[2].ID}},
		{"window given as an org's start", key, "", "", events[2:],
			audit.Result{Verified: 0, Checked: 1, BrokenAt: events[2].ID}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := audit.Verify(tt.key, tt.prevID, tt.prevHash, tt.events); got != tt.want {
				t.Errorf("Verify = %+v, want %+v", got, tt.want)
			}
		})
	}
}

// TestVerifyDetectsTampering breaks a chain of 6 events (ids e0…e5) in each way an attacker with write
// access to the store but without the audit key could, and checks where Verify reports the break.
func TestVerifyDetectsTampering(t *testing.T) {
	forged := func(prev *clavis.AuditEvent, k []byte) *clavis.AuditEvent {
		e := newEvent(99, prev.CreatedAt.Add(time.Microsecond))
		audit.Chain(k, prev.ID, prev.IntegrityHash, e)
		return e
	}
	tests := []struct {
		name string
		// tamper returns the listing to verify and the index (in it) of the first broken event.
		tamper func(ev []*clavis.AuditEvent) ([]*clavis.AuditEvent, int)
	}{
		{"edit id", func(ev []*clavis.AuditEvent) ([]*clavis.AuditEvent, int) { ev[2].ID += "x"; return ev, 2 }},
		{"edit actor id", func(ev []*clavis.AuditEvent) ([]*clavis.AuditEvent, int) { ev[2].ActorID = "intruder"; return ev, 2 }},
		{"edit action", func(ev []*clavis.AuditEvent) ([]*clavis.AuditEvent, int) { ev[2].Action = "secret.write"; return ev, 2 }},
		{"edit resource type", func(ev []*clavis.AuditEvent) ([]*clavis.AuditEvent, int) { ev[2].ResourceType = "vault"; return ev, 2 }},
		{"edit resource id", func(ev []*clavis.AuditEvent) ([]*clavis.AuditEvent, int) { ev[2].ResourceID = "other"; return ev, 2 }},
		{"edit created at", func(ev []*clavis.AuditEvent) ([]*clavis.AuditEvent, int) {
			ev[2].CreatedAt = ev[2].CreatedAt.Add(time.Microsecond)
			return ev, 2
		}},
		{"edit prev event id", func(ev []*clavis.AuditEvent) ([]*clavis.AuditEvent, int) { ev[2].PrevEventID = ev[0].ID; return ev, 2 }},
		{"edit integrity hash", func(ev []*clavis.AuditEvent) ([]*clavis.AuditEvent, int) {
			ev[2].IntegrityHash = audit.Hash(key, "", ev[2])
			return ev, 2
		}},
		{"upper-case integrity hash", func(ev []*clavis.AuditEvent) ([]*clavis.AuditEvent, int) {
			ev[2].IntegrityHash = fmt.Sprintf("%X", ev[2].IntegrityHash)
			return ev, 2
		}},
		{"edit first event", func(ev []*clavis.AuditEvent) ([]*clavis.AuditEvent, int) { ev[0].Action = "x"; return ev, 0 }},
		{"edit last event", func(ev []*clavis.AuditEvent) ([]*clavis.AuditEvent, int) { ev[5].ActorID = "x"; return ev, 5 }},
		{"edit re-chained with a guessed key", func(ev []*clavis.AuditEvent) ([]*clavis.AuditEvent, int) {
			ev[2].ActorID = "intruder"
			audit.Chain([]byte("guess"), ev[1].ID, ev[1].IntegrityHash, ev[2])
			return ev, 2
		}},
		{"delete an event", func(ev []*clavis.AuditEvent) ([]*clavis.AuditEvent, int) {
			return slices.Delete(ev, 2, 3), 2
		}},
		{"delete the first event", func(ev []*clavis.AuditEvent) ([]*clavis.AuditEvent, int) { return ev[1:], 0 }},
		{"truncate the middle (e2…e4)", func(ev []*clavis.AuditEvent) ([]*clavis.AuditEvent, int) {
			return slices.Delete(ev, 2, 5), 2
		}},
		{"insert a forged event", func(ev []*clavis.AuditEvent) ([]*clavis.AuditEvent, int) {
			return slices.Insert(ev, 2, forged(ev[1], []byte("guess"))), 2
		}},
		{"insert a correctly hashed event", func(ev []*clavis.AuditEvent) ([]*clavis.AuditEvent, int) {
			// Even with the key, an insertion breaks the link of the event after it.
			return slices.Insert(ev, 2, forged(ev[1], key)), 3
		}},
		{"swap two events", func(ev []*clavis.AuditEvent) ([]*clavis.AuditEvent, int) {
			ev[2], ev[3] = ev[3], ev[2]
			return ev, 2
		}},
		{"reverse (listing order instead of chain order)", func(ev []*clavis.AuditEvent) ([]*clavis.AuditEvent, int) {
			slices.Reverse(ev)
			return ev, 0
		}},
		{"duplicate an event", func(ev []*clavis.AuditEvent) ([]*clavis.AuditEvent, int) {
			return slices.Insert(ev, 3, ev[2]), 3
		}},
		{"nil event", func(ev []*clavis.AuditEvent) ([]*clavis.AuditEvent, int) { ev[4] = nil; return ev, 4 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			events, at := tt.tamper(chain(6))
			wantBrokenAt := ""
			if events[at] != nil {
				wantBrokenAt = events[at].ID
			}
			want := audit.Result{Valid: false, Verified: at, Checked: at + 1, BrokenAt: wantBrokenAt}
			if got := audit.Verify(key, "", "", events); got != want {
				t.Errorf("Verify = %+v, want %+v", got, want)
			}
		})
	}
}

func BenchmarkAuditHash(b *testing.B) {
	e := chain(1)[0]
	prev := e.IntegrityHash
	b.ReportAllocs()
	for b.Loop() {
		_ = audit.Hash(key, prev, e)
	}
}

// TestWalkerEnd: a walk that reaches the end of the chain must end at the org's head, with as many
// events as the head counts; events removed from the end break the chain at the head's event.
func TestWalkerEnd(t *testing.T) {
	events := chain(6)
	last := events[5]
	type head struct {
		id, hash string
		count    int64
	}
	full := head{last.ID, last.IntegrityHash, 6}
	tests := []struct {
		name   string
		events []*clavis.AuditEvent
		head   head
		want   audit.Result
	}{
		{"intact", events, full, audit.Result{Valid: true, Verified: 6, Checked: 6, Last: last.ID, HeadCount: 6}},
		{"no events, no head", nil, head{}, audit.Result{Valid: true}},
		{"the last removed", events[:5], full,
			audit.Result{Verified: 5, Checked: 6, BrokenAt: last.ID, Truncated: true, Last: events[4].ID, HeadCount: 6}},
		{"the last three removed", events[:3], full,
			audit.Result{Verified: 3, Checked: 4, BrokenAt: last.ID, Truncated: true, Last: events[2].ID, HeadCount: 6}},
		{"every event removed", nil, full,
			audit.Result{Verified: 0, Checked: 1, BrokenAt: last.ID, Truncated: true, HeadCount: 6}},
		{"the head's hash differs", events, head{last.ID, events[4].IntegrityHash, 6},
			audit.Result{Verified: 6, Checked: 7, BrokenAt: last.ID, Truncated: true, Last: last.ID, HeadCount: 6}},
		{"the head counts more events", events, head{last.ID, last.IntegrityHash, 7},
			audit.Result{Verified: 6, Checked: 7, BrokenAt: last.ID, Truncated: true, Last: last.ID, HeadCount: 7}},
		{"events but no head", events, head{},
			audit.Result{Verified: 6, Checked: 7, BrokenAt: last.ID, Truncated: true, Last: last.ID}},
		{"a break before the end is reported first", append(slices.Clone(events[:2]), events[3:5]...), full,
			audit.Result{Verified: 2, Checked: 3, BrokenAt: events[3].ID, Last: events[1].ID, HeadCount: 6}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := audit.NewWalker(key, "", "")
			for _, e := range tt.events {
				if !w.Next(e) {
					break
				}
			}
			if got := w.End(tt.head.id, tt.head.hash, tt.head.count); got != tt.want {
				t.Errorf("End = %+v, want %+v", got, tt.want)
			}
		})
	}
}
