// Package audit chains an org's audit events into a tamper-evident list and verifies such chains
// (spec §5.3). It is pure: storing events and streaming them to sinks are the callers'.
package audit

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"

	"clavis.dev/clavis"
)

// Hash returns the event's integrity hash: lowercase hex of HMAC-SHA256(key,
// prevHash|id|actor_id|action|resource_type|resource_id|created_at), where prevHash is the previous
// event's integrity hash ("" for an org's first event) and created_at is clavis.FormatTime(e.CreatedAt),
// the exact string the API returns. The other fields of e (org, actor type, details, IP) are not covered.
func Hash(key []byte, prevHash string, e *clavis.AuditEvent) string {
	msg := make([]byte, 0, 256)
	for _, f := range [...]string{prevHash, e.ID, e.ActorID, e.Action, e.ResourceType, e.ResourceID} {
		msg = append(append(msg, f...), '|')
	}
	msg = append(msg, clavis.FormatTime(e.CreatedAt)...)
	m := hmac.New(sha256.New, key)
	m.Write(msg)
	var sum [sha256.Size]byte
	return hex.EncodeToString(m.Sum(sum[:0]))
}

// Chain links e after the org's current head: it sets e.PrevEventID to headID and e.IntegrityHash to
// Hash(key, headHash, e). headID and headHash are both "" when e is the org's first event. Every field
// that Hash covers must be final before Chain is called.
func Chain(key []byte, headID, headHash string, e *clavis.AuditEvent) {
	e.PrevEventID = headID
	e.IntegrityHash = Hash(key, headHash, e)
}

// Result is the outcome of Verify, as reported by GET /v1/audit/verify (spec §5.3).
type Result struct {
	Valid    bool   // chain_valid
	Verified int    // events_verified: events that verified before the first break
	Checked  int    // events_checked: events examined, including the broken one
	BrokenAt string // broken_at_event_id: ID of the first broken event, "" when Valid
}

// Verify walks events, oldest first. prevID and prevHash are the ID and integrity hash of the event just
// before events[0] ("" and "" when events[0] is the org's first event). An event is broken when its
// PrevEventID is not the previous event's ID or its IntegrityHash does not recompute (a nil event is
// broken too). Verify stops at the first broken event. An empty events is a valid chain of 0 events.
//
// Removing events from the end of a chain cannot be detected here: callers compare with the org's head.
func Verify(key []byte, prevID, prevHash string, events []*clavis.AuditEvent) Result {
	for n, e := range events {
		if e == nil || e.PrevEventID != prevID ||
			!hmac.Equal([]byte(e.IntegrityHash), []byte(Hash(key, prevHash, e))) {
			r := Result{Verified: n, Checked: n + 1}
			if e != nil {
				r.BrokenAt = e.ID
			}
			return r
		}
		prevID, prevHash = e.ID, e.IntegrityHash
	}
	return Result{Valid: true, Verified: len(events), Checked: len(events)}
}
