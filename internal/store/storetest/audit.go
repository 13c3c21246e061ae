package storetest

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"clavis.dev/clavis"
	"clavis.dev/clavis/internal/store"
)

// chainHash stands in for the audit package's HMAC: any function of the previous hash and the event.
func chainHash(prevHash, id string) string {
	h := sha256.Sum256([]byte(prevHash + "|" + id))
	return hex.EncodeToString(h[:])
}

// newEvent returns an event of org chained after the event (prevID, prevHash).
func newEvent(orgID, prevID, prevHash string, createdAt time.Time) *clavis.AuditEvent {
	id := newID()
	return &clavis.AuditEvent{ID: id, OrgID: orgID, Action: "secret.read", ActorID: newID(),
		ActorType: clavis.PrincipalAgent, ResourceType: "secret", ResourceID: newID(),
		Details: map[string]any{"path": "db/password"}, IPAddress: "192.0.2.1", CreatedAt: createdAt,
		PrevEventID: prevID, IntegrityHash: chainHash(prevHash, id)}
}

// appendEvents appends n chained events to org's chain, the i-th created at at(i), and returns them.
func appendEvents(t *testing.T, s store.Store, orgID string, n int) []*clavis.AuditEvent {
	t.Helper()
	var out []*clavis.AuditEvent
	for i := range n {
		write(t, s, func(tx store.Tx) error {
			id, hash, err := tx.AuditHead(orgID)
			if err != nil {
				return err
			}
			e := newEvent(orgID, id, hash, at(i))
			out = append(out, e)
			return tx.AppendAudit(e)
		})
	}
	return out
}

type head struct{ ID, Hash string }

func auditHead(t *testing.T, s store.Store, orgID string) head {
	t.Helper()
	var h head
	read(t, s, func(tx store.Tx) error {
		var err error
		h.ID, h.Hash, err = tx.AuditHead(orgID)
		return err
	})
	return h
}

// testAuditAppend: AppendAudit stores every field and moves the org's chain head.
func testAuditAppend(t *testing.T, s store.Store) {
	org, other := newID(), newID()
	check(t, "AuditHead of an org without events", auditHead(t, s, org), head{})

	first := newEvent(org, "", "", at(0))
	first.ActorType = clavis.PrincipalUser
	first.IPAddress = "2001:db8::1"
	first.Details = map[string]any{"vault_id": newID(), "path": "db/pw", "version": 3, "allowed": true,
		"nested": map[string]any{"k": []any{"a", 1.5, nil}}, "big": int64(1) << 53}
	second := newEvent(org, first.ID, first.IntegrityHash, at(0)) // same instant
	second.Details = nil
	second.IPAddress = ""
	third := newEvent(org, second.ID, second.IntegrityHash, at(1))
	third.Details = map[string]any{"vault_id": 42} // not a string: no vault filter column
	third.ActorType = clavis.PrincipalAnonymous
	third.ActorID = ""
	for _, e := range []*clavis.AuditEvent{first, second, third} {
		create(t, s, e)
		check(t, "AuditHead after AppendAudit", auditHead(t, s, org), head{e.ID, e.IntegrityHash})
	}
	check(t, "AuditHead of another org", auditHead(t, s, other), head{})

	got := get(t, s, func(tx store.Tx) ([]*clavis.AuditEvent, error) { return tx.AuditChain(org, nil, nil, 10) })
	checkEvents(t, "AuditChain", got, []*clavis.AuditEvent{first, second, third})

	// In one Write transaction the head follows the transaction's own appends.
	write(t, s, func(tx store.Tx) error {
		e := newEvent(org, third.ID, third.IntegrityHash, at(2))
		if err := tx.AppendAudit(e); err != nil {
			return err
		}
		id, hash, err := tx.AuditHead(org)
		if err != nil {
			return err
		}
		check(t, "AuditHead after AppendAudit in the same transaction", head{id, hash}, head{e.ID, e.IntegrityHash})
		return nil
	})

	dup := newEvent(org, "", "", at(3))
	dup.ID = first.ID
	err := s.Write(t.Context(), func(tx store.Tx) error { return tx.AppendAudit(dup) })
	wantKind(t, "AppendAudit with a duplicate id", err, clavis.KindConflict)
}

// testAuditRoundTrip: every field of an event reads back as appended, whatever its form: ids and
// names that are or are not UUIDs, hashes that are or are not hex, times before 1970, prev ids that are
// empty or not the head, and details with vault_id a string, absent, alone or of another type, with
// numbers, nested objects and characters JSON escapes. Reads within the appending transaction see it.
func testAuditRoundTrip(t *testing.T, s store.Store) {
	org, vault := newID(), newID()
	var events []*clavis.AuditEvent
	add := func(e *clavis.AuditEvent) { events = append(events, e) }
	e := newEvent(org, "", "", at(0))
	e.Details = map[string]any{"vault_id": vault, "path": "a<b>&c\u2028\"q\"", "version": 3, "big": int64(1)<<53 + 1,
		"float": 1.25, "neg": -7, "flag": false, "nothing": nil, "empty": map[string]any{},
		"nested": map[string]any{"vault_id": "inner", "list": []any{1, "x", nil, true, map[string]any{"k": 2.5}}}}
	add(e)
	e = newEvent(org, e.ID, e.IntegrityHash, time.Date(1969, 12, 31, 23, 59, 59, 999999000, time.UTC))
	e.Details = map[string]any{"vault_id": vault} // only the vault
	e.ID = "event-not-a-uuid"
	e.IntegrityHash = "NOT-HEX"
	add(e)
	e = newEvent(org, e.ID, e.IntegrityHash, at(1))
	e.Details = map[string]any{} // empty, no vault
	e.ID = strings.ToUpper(newID())
	e.ActorID, e.ActorType, e.ResourceID, e.IPAddress = "", clavis.PrincipalAnonymous, "RESOURCE", ""
	e.IntegrityHash = strings.ToUpper(e.IntegrityHash) // hex, but not lowercase
	add(e)
	for _, v := range []any{"", 42, nil, []any{vault}, map[string]any{"id": vault}} { // vault_id not a usable string
		e = newEvent(org, e.ID, e.IntegrityHash, at(2))
		e.Details = map[string]any{"vault_id": v, "path": "p"}
		add(e)
	}
	e = newEvent(org, "", "", at(3)) // prev "" in the middle of the chain
	e.Details = nil
	add(e)
	e = newEvent(org, "some-other-event", chainHash("", "x"), at(4)) // prev not the head
	add(e)
	e = newEvent(org, newID(), e.IntegrityHash, at(5)) // prev a UUID that is no event
	add(e)

	write(t, s, func(tx store.Tx) error {
		for _, e := range events[:4] {
			if err := tx.AppendAudit(e); err != nil {
				return err
			}
		}
		got, err := tx.AuditChain(org, nil, nil, 0)
		checkEvents(t, "AuditChain in the appending transaction", got, events[:4])
		return err
	})
	for _, e := range events[4:] {
		create(t, s, e)
	}
	got := get(t, s, func(tx store.Tx) ([]*clavis.AuditEvent, error) { return tx.AuditChain(org, nil, nil, 0) })
	checkEvents(t, "AuditChain", got, events)
	newest := slices.Clone(events)
	slices.Reverse(newest)
	got = get(t, s, func(tx store.Tx) ([]*clavis.AuditEvent, error) { return tx.ListAudit(store.AuditFilter{OrgID: org}) })
	checkEvents(t, "ListAudit", got, newest)
	got = get(t, s, func(tx store.Tx) ([]*clavis.AuditEvent, error) {
		return tx.ListAudit(store.AuditFilter{OrgID: org, VaultID: vault})
	})
	checkEvents(t, "ListAudit of the vault", got, []*clavis.AuditEvent{events[1], events[0]})
	got = get(t, s, func(tx store.Tx) ([]*clavis.AuditEvent, error) {
		return tx.ListAudit(store.AuditFilter{OrgID: org, ResourceID: "RESOURCE", ActorID: ""})
	})
	checkEvents(t, "ListAudit of the resource", got, []*clavis.AuditEvent{events[2]})
	got = get(t, s, func(tx store.Tx) ([]*clavis.AuditEvent, error) {
		return tx.ListAudit(store.AuditFilter{OrgID: org, To: ptr(time.Unix(0, 0))})
	})
	checkEvents(t, "ListAudit before 1970", got, []*clavis.AuditEvent{events[1]})
	got = get(t, s, func(tx store.Tx) ([]*clavis.AuditEvent, error) { return tx.AuditChainAfter(org, events[1].ID, 2) })
	checkEvents(t, "AuditChainAfter an id that is not a UUID", got, events[2:4])
	got = get(t, s, func(tx store.Tx) ([]*clavis.AuditEvent, error) { return tx.AuditChainAfter(org, events[2].ID, 1) })
	checkEvents(t, "AuditChainAfter an uppercase UUID", got, events[3:4])
	last := events[len(events)-1]
	check(t, "AuditChainHead", chainHead(t, s, org), store.ChainHead{EventID: last.ID, Hash: last.IntegrityHash, Count: int64(len(events))})
}

// testListAudit: each filter, from inclusive, to exclusive, limit and offset, newest first.
// Long on purpose: one table of filters over one seeded log.
func testListAudit(t *testing.T, s store.Store) {
	org, otherOrg := newID(), newID()
	u1, u2 := newID(), newID()
	r1, r2, r3 := newID(), newID(), newID()
	v1, v2 := newID(), newID()
	specs := []struct {
		actor, resource, action, vault string
		sec                            int
	}{
		0: {u1, r1, "secret.read", v1, 0},
		1: {u2, r1, "secret.write", v1, 0},
		2: {u1, r2, "secret.read", v2, 1},
		3: {u1, r2, "secret.read", "", 1},
		4: {u2, r3, "policy.create", v2, 2},
		5: {u1, r3, "secret.read", v1, 2},
		6: {u2, r1, "secret.read", v1, 3},
		7: {u1, r1, "secret.write", v2, 3},
	}
	var events []*clavis.AuditEvent
	var prev head
	for i, sp := range specs {
		e := newEvent(org, prev.ID, prev.Hash, at(sp.sec))
		e.ActorID, e.ResourceID, e.Action = sp.actor, sp.resource, sp.action
		e.Details = map[string]any{"n": i}
		if sp.vault != "" {
			e.Details["vault_id"] = sp.vault
		}
		events = append(events, e)
		prev = head{e.ID, e.IntegrityHash}
		create(t, s, e)
		// Another org with the same actors, resources and vaults.
		o := newEvent(otherOrg, "", "", at(sp.sec))
		o.ActorID, o.ResourceID, o.Action, o.Details = sp.actor, sp.resource, sp.action, e.Details
		create(t, s, o)
	}

	tests := []struct {
		name string
		f    store.AuditFilter
		want []int // indexes into specs, newest first
	}{
		{"org", store.AuditFilter{}, []int{7, 6, 5, 4, 3, 2, 1, 0}},
		{"actor", store.AuditFilter{ActorID: u1}, []int{7, 5, 3, 2, 0}},
		{"resource", store.AuditFilter{ResourceID: r1}, []int{7, 6, 1, 0}},
		{"action", store.AuditFilter{Action: "secret.read"}, []int{6, 5, 3, 2, 0}},
		{"vault v1", store.AuditFilter{VaultID: v1}, []int{6, 5, 1, 0}},
		{"vault v2", store.AuditFilter{VaultID: v2}, []int{7, 4, 2}},
		{"actor and action", store.AuditFilter{ActorID: u1, Action: "secret.read"}, []int{5, 3, 2, 0}},
		{"actor, resource, action, vault", store.AuditFilter{ActorID: u1, ResourceID: r3, Action: "secret.read", VaultID: v1}, []int{5}},
		{"from inclusive", store.AuditFilter{From: ptr(at(1))}, []int{7, 6, 5, 4, 3, 2}},
		{"to exclusive", store.AuditFilter{To: ptr(at(2))}, []int{3, 2, 1, 0}},
		{"from and to", store.AuditFilter{From: ptr(at(1)), To: ptr(at(3))}, []int{5, 4, 3, 2}},
		{"from one microsecond later", store.AuditFilter{From: ptr(at(1).Add(time.Microsecond))}, []int{7, 6, 5, 4}},
		{"to one microsecond later", store.AuditFilter{To: ptr(at(1).Add(time.Microsecond))}, []int{3, 2, 1, 0}},
		{"empty range", store.AuditFilter{From: ptr(at(2)), To: ptr(at(2))}, nil},
		{"limit", store.AuditFilter{Limit: 3}, []int{7, 6, 5}},
		{"limit and offset", store.AuditFilter{Limit: 3, Offset: 2}, []int{5, 4, 3}},
		{"offset to the end", store.AuditFilter{Limit: 10, Offset: 7}, []int{0}},
		{"offset past the end", store.AuditFilter{Limit: 10, Offset: 8}, nil},
		{"filter, limit and offset", store.AuditFilter{ActorID: u2, Limit: 1, Offset: 1}, []int{4}},
		{"no match", store.AuditFilter{ActorID: newID()}, nil},
	}
	for _, tc := range tests {
		f := tc.f
		f.OrgID = org
		if f.Limit == 0 {
			f.Limit = 100
		}
		got := get(t, s, func(tx store.Tx) ([]*clavis.AuditEvent, error) { return tx.ListAudit(f) })
		var want []*clavis.AuditEvent
		for _, i := range tc.want {
			want = append(want, events[i])
		}
		checkEvents(t, "ListAudit "+tc.name, got, want)
	}

	got := get(t, s, func(tx store.Tx) ([]*clavis.AuditEvent, error) {
		return tx.ListAudit(store.AuditFilter{OrgID: newID(), Limit: 100})
	})
	checkEvents(t, "ListAudit of an unknown org", got, nil)
	got = get(t, s, func(tx store.Tx) ([]*clavis.AuditEvent, error) {
		return tx.ListAudit(store.AuditFilter{OrgID: otherOrg, VaultID: v1, Limit: 100})
	})
	for _, e := range got {
		if e.OrgID != otherOrg {
			t.Errorf("ListAudit of one org returned an event of org %s", e.OrgID)
		}
	}
	if len(got) != 4 {
		t.Errorf("ListAudit of the other org, vault v1: %d events, want 4", len(got))
	}
}

// testAuditChain: events in chain order (oldest first) within from <= created_at < to, up to limit.
func testAuditChain(t *testing.T, s store.Store) {
	org, otherOrg := newID(), newID()
	events := appendEvents(t, s, org, 6) // created at at(0) … at(5)
	appendEvents(t, s, otherOrg, 3)
	events = append(events, appendEvents(t, s, org, 1)...) // at(0) again: chain order is not time order

	tests := []struct {
		name     string
		from, to *time.Time
		limit    int
		want     []int
	}{
		{"all", nil, nil, 100, []int{0, 1, 2, 3, 4, 5, 6}},
		{"limit", nil, nil, 2, []int{0, 1}},
		{"from inclusive", ptr(at(2)), nil, 100, []int{2, 3, 4, 5}},
		{"to exclusive", nil, ptr(at(2)), 100, []int{0, 1, 6}},
		{"from, to and limit", ptr(at(1)), ptr(at(4)), 2, []int{1, 2}},
		{"empty range", ptr(at(3)), ptr(at(3)), 100, nil},
	}
	for _, tc := range tests {
		got := get(t, s, func(tx store.Tx) ([]*clavis.AuditEvent, error) {
			return tx.AuditChain(org, tc.from, tc.to, tc.limit)
		})
		var want []*clavis.AuditEvent
		for _, i := range tc.want {
			want = append(want, events[i])
		}
		checkEvents(t, "AuditChain "+tc.name, got, want)
	}
}

// testAuditChainConcurrent: writers that each read the head and append stay on one linear chain.
func testAuditChainConcurrent(t *testing.T, s store.Store) {
	const writers, perWriter = 20, 5
	org := newID()
	errs := parallel(writers, func(int) error {
		for range perWriter {
			err := s.Write(t.Context(), func(tx store.Tx) error {
				id, hash, err := tx.AuditHead(org)
				if err != nil {
					return err
				}
				return tx.AppendAudit(newEvent(org, id, hash, clavis.Now()))
			})
			if err != nil {
				return err
			}
		}
		return nil
	})
	for i, err := range errs {
		if err != nil {
			t.Fatalf("writer %d: %v", i, err)
		}
	}
	chain := get(t, s, func(tx store.Tx) ([]*clavis.AuditEvent, error) { return tx.AuditChain(org, nil, nil, 1000) })
	if len(chain) != writers*perWriter {
		t.Fatalf("AuditChain returned %d events, want %d", len(chain), writers*perWriter)
	}
	var prev head
	for i, e := range chain {
		if e.PrevEventID != prev.ID || e.IntegrityHash != chainHash(prev.Hash, e.ID) {
			t.Fatalf("event %d: PrevEventID %q, want %q: the chain forked", i, e.PrevEventID, prev.ID)
		}
		prev = head{e.ID, e.IntegrityHash}
	}
	check(t, "AuditHead", auditHead(t, s, org), prev)
}

// chainHead reads the org's head with AuditChainHead.
func chainHead(t *testing.T, s store.Store, orgID string) store.ChainHead {
	t.Helper()
	return get(t, s, func(tx store.Tx) (store.ChainHead, error) { return tx.AuditChainHead(orgID) })
}

// testAuditChainHead: the head names the newest event and counts every event of its org's chain, in
// the transaction that appends; a failed append counts nothing.
func testAuditChainHead(t *testing.T, s store.Store) {
	org, other := newID(), newID()
	check(t, "AuditChainHead of an org without events", chainHead(t, s, org), store.ChainHead{})
	events := appendEvents(t, s, org, 3)
	appendEvents(t, s, other, 2)
	last := events[len(events)-1]
	check(t, "AuditChainHead after 3 appends", chainHead(t, s, org), store.ChainHead{EventID: last.ID, Hash: last.IntegrityHash, Count: 3})
	o := chainHead(t, s, other)
	check(t, "AuditChainHead of another org", o.Count, int64(2))

	write(t, s, func(tx store.Tx) error {
		e := newEvent(org, last.ID, last.IntegrityHash, at(3))
		if err := tx.AppendAudit(e); err != nil {
			return err
		}
		h, err := tx.AuditChainHead(org)
		if err != nil {
			return err
		}
		check(t, "AuditChainHead after AppendAudit in the same transaction", h, store.ChainHead{EventID: e.ID, Hash: e.IntegrityHash, Count: 4})
		last = e
		return nil
	})
	dup := newEvent(org, last.ID, last.IntegrityHash, at(4))
	dup.ID = events[0].ID
	err := s.Write(t.Context(), func(tx store.Tx) error { return tx.AppendAudit(dup) })
	wantKind(t, "AppendAudit with a duplicate id", err, clavis.KindConflict)
	check(t, "AuditChainHead after a failed append", chainHead(t, s, org), store.ChainHead{EventID: last.ID, Hash: last.IntegrityHash, Count: 4})
}

// testAuditChainAfter: a chain read page by page, each page after the last event of the one before, is
// the whole chain in chain order; a cursor that is not an event of the org gives nothing.
func testAuditChainAfter(t *testing.T, s store.Store) {
	org, other := newID(), newID()
	var events []*clavis.AuditEvent
	for i := range 7 { // interleaved with another org's events
		events = append(events, appendEvents(t, s, org, 1)...)
		if i%2 == 0 {
			appendEvents(t, s, other, 1)
		}
	}
	after := func(afterID string, limit int) []*clavis.AuditEvent {
		t.Helper()
		return get(t, s, func(tx store.Tx) ([]*clavis.AuditEvent, error) { return tx.AuditChainAfter(org, afterID, limit) })
	}
	var walked []*clavis.AuditEvent
	cursor, pages := "", 0
	for {
		page := after(cursor, 3)
		walked = append(walked, page...)
		pages++
		if len(page) < 3 || pages > 10 {
			break
		}
		cursor = page[len(page)-1].ID
	}
	checkEvents(t, "AuditChainAfter page by page", walked, events)
	check(t, "pages of 3 for 7 events", pages, 3)
	checkEvents(t, "AuditChainAfter from the start, no limit", after("", 0), events)
	checkEvents(t, "AuditChainAfter the 5th event, no limit", after(events[4].ID, -1), events[5:])
	checkEvents(t, "AuditChainAfter the last event", after(events[6].ID, 3), nil)
	checkEvents(t, "AuditChainAfter an unknown event", after(newID(), 3), nil)
	otherFirst := get(t, s, func(tx store.Tx) ([]*clavis.AuditEvent, error) { return tx.AuditChainAfter(other, "", 1) })
	checkEvents(t, "AuditChainAfter an event of another org", after(otherFirst[0].ID, 3), nil)
	checkEvents(t, "AuditChainAfter of an org without events", get(t, s, func(tx store.Tx) ([]*clavis.AuditEvent, error) {
		return tx.AuditChainAfter(newID(), "", 3)
	}), nil)
}

// testRevokedTokens: revocations are kept until pruned after their tokens' expiry.
func testRevokedTokens(t *testing.T, s store.Store) {
	revoked := func(jti string) bool {
		t.Helper()
		return get(t, s, func(tx store.Tx) (bool, error) { return tx.TokenRevoked(jti) })
	}
	if revoked("unknown") {
		t.Errorf("TokenRevoked of an unknown id = true")
	}
	tokens := map[string]time.Time{"early": at(10), "boundary": at(20), "late": at(30)}
	for jti, exp := range tokens {
		for range 2 { // idempotent
			write(t, s, func(tx store.Tx) error { return tx.RevokeToken(jti, exp) })
		}
	}
	steps := []struct {
		now  time.Time
		want map[string]bool
	}{
		{at(0), map[string]bool{"early": true, "boundary": true, "late": true}},
		{at(20), map[string]bool{"early": false, "boundary": true, "late": true}}, // expired before now only
		{at(31), map[string]bool{"early": false, "boundary": false, "late": false}},
	}
	for _, st := range steps {
		write(t, s, func(tx store.Tx) error { return tx.PruneRevokedTokens(st.now) })
		got := map[string]bool{}
		for jti := range tokens {
			got[jti] = revoked(jti)
		}
		check(t, fmt.Sprintf("TokenRevoked after PruneRevokedTokens(%s)", clavis.FormatTime(st.now)), got, st.want)
	}
}
