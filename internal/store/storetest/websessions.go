package storetest

import (
	"testing"
	"time"

	"clavis.dev/clavis"
	"clavis.dev/clavis/internal/store"
)

// testWebSessions: sessions are found by id hash only, touched, listed per user oldest first, deleted
// idempotently, unique by id and by hash, and go with their user.
func testWebSessions(t *testing.T, s store.Store) {
	org := newOrg()
	u, other := newUser(org), newUser(org)
	create(t, s, org, u, other)
	mk := func(u *store.User, hash string) *store.WebSession {
		return &store.WebSession{ID: newID(), IDHash: []byte(hash), UserID: u.ID, OrgID: u.OrgID, TokenGen: 3,
			IP: "192.0.2.1", CreatedAt: t0, LastSeenAt: t0}
	}
	a, b, c := mk(u, "hash-a"), mk(u, "hash-b"), mk(other, "hash-c")
	for _, ws := range []*store.WebSession{a, b, c} {
		write(t, s, func(tx store.Tx) error { return tx.CreateWebSession(ws) })
	}
	got := get(t, s, func(tx store.Tx) (*store.WebSession, error) { return tx.WebSessionByHash([]byte("hash-a")) })
	check(t, "WebSessionByHash", got, a)
	_, err := getErr(t, s, func(tx store.Tx) (*store.WebSession, error) { return tx.WebSessionByHash([]byte("nope")) })
	wantKind(t, "WebSessionByHash of an unknown hash", err, clavis.KindNotFound)

	dup := mk(u, "hash-a")
	wantKind(t, "CreateWebSession with a used hash", s.Write(t.Context(), func(tx store.Tx) error { return tx.CreateWebSession(dup) }),
		clavis.KindConflict)

	later := t0.Add(17 * time.Minute)
	write(t, s, func(tx store.Tx) error { return tx.TouchWebSession(a.ID, later) })
	a.LastSeenAt = later
	check(t, "ListWebSessions", get(t, s, func(tx store.Tx) ([]*store.WebSession, error) { return tx.ListWebSessions(u.ID) }),
		[]*store.WebSession{a, b})
	wantKind(t, "TouchWebSession of a missing session", s.Write(t.Context(), func(tx store.Tx) error { return tx.TouchWebSession(newID(), later) }),
		clavis.KindNotFound)

	for range 2 {
		write(t, s, func(tx store.Tx) error { return tx.DeleteWebSession(a.ID) })
	}
	check(t, "ListWebSessions after delete", get(t, s, func(tx store.Tx) ([]*store.WebSession, error) { return tx.ListWebSessions(u.ID) }),
		[]*store.WebSession{b})
	check(t, "ListWebSessions of the other user", get(t, s, func(tx store.Tx) ([]*store.WebSession, error) { return tx.ListWebSessions(other.ID) }),
		[]*store.WebSession{c})
}
