package storetest

import (
	"testing"

	"clavis.dev/clavis"
	"clavis.dev/clavis/internal/store"
)

// testListOrgs: every org, in creation order.
func testListOrgs(t *testing.T, s store.Store) {
	if got := get(t, s, func(tx store.Tx) ([]*clavis.Org, error) { return tx.ListOrgs() }); len(got) != 0 {
		t.Fatalf("ListOrgs of an empty store = %v", got)
	}
	orgs := []*clavis.Org{newOrg(), newOrg(), newOrg()}
	for _, o := range orgs {
		create(t, s, o) // identical CreatedAt: creation order must still hold
	}
	got := get(t, s, func(tx store.Tx) ([]*clavis.Org, error) { return tx.ListOrgs() })
	check(t, "ListOrgs", got, orgs)
}

// testMFA: TOTP state round-trips, replaces, and is absent for users without it.
func testMFA(t *testing.T, s store.Store) {
	org := newOrg()
	u := newUser(org)
	create(t, s, org, u)
	_, err := getErr(t, s, func(tx store.Tx) (*store.MFA, error) { return tx.GetMFA(u.ID) })
	wantKind(t, "GetMFA before setup", err, clavis.KindNotFound)

	pending := &store.MFA{UserID: u.ID, Pending: []byte{1, 2, 0, 3}}
	write(t, s, func(tx store.Tx) error { return tx.PutMFA(pending) })
	got := get(t, s, func(tx store.Tx) (*store.MFA, error) { return tx.GetMFA(u.ID) })
	check(t, "GetMFA after setup", got, pending)

	enabled := &store.MFA{UserID: u.ID, Secret: []byte("wrapped"), LastStep: 59_000_000_123,
		RecoveryCodes: []string{"aa", "bb", "cc"}}
	write(t, s, func(tx store.Tx) error { return tx.PutMFA(enabled) })
	got = get(t, s, func(tx store.Tx) (*store.MFA, error) { return tx.GetMFA(u.ID) })
	check(t, "GetMFA after replace (pending cleared)", got, enabled)
}

// getErr runs fn in a Read transaction and returns its result and error.
func getErr[T any](t *testing.T, s store.Store, fn func(store.Tx) (T, error)) (T, error) {
	var v T
	err := s.Read(t.Context(), func(tx store.Tx) error {
		var err error
		v, err = fn(tx)
		return err
	})
	return v, err
}
