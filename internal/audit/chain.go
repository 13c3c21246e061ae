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

// Result is the outcome of a walk. GET /v1/audit/verify reports its first four fields (spec §5.3); the
// others are for operators (offline verify).
type Result struct {
	Valid    bool   // chain_valid
	Verified int    // events_verified: events that verified before the first break
	Checked  int    // events_checked: events examined, including the broken one
	BrokenAt string // broken_at_event_id: ID of the first broken event, "" when Valid

	// Set by Walker.End, which compares the end of the chain with the org's head:
	Truncated bool   // the chain does not end at the head: events were removed from its end
	Last      string // ID of the chain's last event ("" for an empty chain)
	HeadCount int64  // events the head says the chain holds
}

// Walker verifies a chain one event at a time, oldest first, so that a chain of any length is verified
// in constant memory. An event is broken when its PrevEventID is not the previous event's ID or its
// IntegrityHash does not recompute (a nil event is broken too). The walk stops at the first broken event.
type Walker struct {
	key              []byte
	prevID, prevHash string
	res              Result
}

// NewWalker starts a walk after the event prevID whose integrity hash is prevHash; "" and "" start it
// at the org's first event.
func NewWalker(key []byte, prevID, prevHash string) *Walker {
	return &Walker{key: key, prevID: prevID, prevHash: prevHash, res: Result{Valid: true}}
}

// Next checks e, the event after the previous one, and reports whether the walk is still intact. Once it
// is not, Next ignores further events.
func (w *Walker) Next(e *clavis.AuditEvent) bool {
	if !w.res.Valid {
		return false
	}
	w.res.Checked++
	if e == nil || e.PrevEventID != w.prevID ||
		!hmac.Equal([]byte(e.IntegrityHash), []byte(Hash(w.key, w.prevHash, e))) {
		w.res.Valid = false
		if e != nil {
			w.res.BrokenAt = e.ID
		}
		return false
	}
	w.res.Verified++
	w.prevID, w.prevHash = e.ID, e.IntegrityHash
	return true
}

// Result returns the outcome of the walk so far, for a walk that did not reach the end of the chain.
func (w *Walker) Result() Result { return w.res }

// End returns the outcome of a walk that began at the org's first event and reached the end of the
// chain, given the org's head as the store records it with each append ("", "" and 0 when it has none).
// Removing events from the end of a chain leaves an intact, shorter chain; End catches it: an intact
// walk must end at the head's event with the head's hash, having checked as many events as the head
// counts. Otherwise the chain is broken at the head's event, the newest of those missing (at the last
// event walked if there is no head): Checked counts it, Verified does not, and Truncated is set.
func (w *Walker) End(headID, headHash string, headCount int64) Result {
	r := w.res
	r.Last, r.HeadCount = w.prevID, headCount
	if !r.Valid || (w.prevID == headID && w.prevHash == headHash && int64(r.Checked) == headCount) {
		return r
	}
	r.Valid, r.Truncated, r.BrokenAt = false, true, headID
	if headID == "" {
		r.BrokenAt = w.prevID
	}
	r.Checked++
	return r
}

// Verify walks events, oldest first, with a Walker started after (prevID, prevHash), and returns its
// Result. An empty events is a valid chain of 0 events. Removing events from the end of a chain cannot
// be detected from the events alone: callers that reach the end of the chain use Walker.End.
func Verify(key []byte, prevID, prevHash string, events []*clavis.AuditEvent) Result {
	w := NewWalker(key, prevID, prevHash)
	for _, e := range events {
		if !w.Next(e) {
			break
		}
	}
	return w.Result()
}
