package storetest

import (
	"errors"
	"testing"

	"clavis.dev/clavis"
	"clavis.dev/clavis/internal/store"
)

// testWriteBatch: in a group commit each unit keeps or loses exactly its own changes.
func testWriteBatch(t *testing.T, s store.Store) {
	b, ok := s.(store.Batcher)
	if !ok {
		t.Skip("store does not implement store.Batcher")
	}
	boom := errors.New("unit failed")
	orgs := []*clavis.Org{newOrg(), newOrg(), newOrg()}
	errs := b.WriteBatch(t.Context(), []func(store.Tx) error{
		func(tx store.Tx) error { return tx.CreateOrg(orgs[0]) },
		func(tx store.Tx) error {
			if err := tx.CreateOrg(orgs[1]); err != nil {
				return err
			}
			return boom // its insert must be rolled back alone
		},
		func(tx store.Tx) error { return tx.CreateOrg(orgs[0]) }, // duplicate id: a failing statement
		func(tx store.Tx) error { return tx.CreateOrg(orgs[2]) },
	})
	if len(errs) != 4 {
		t.Fatalf("WriteBatch returned %d errors for 4 units", len(errs))
	}
	if errs[0] != nil || errs[3] != nil {
		t.Fatalf("successful units reported errors: %v", errs)
	}
	if !errors.Is(errs[1], boom) {
		t.Fatalf("unit 1 error = %v, want its own error", errs[1])
	}
	if errs[2] == nil {
		t.Fatalf("a unit inserting a duplicate org reported no error")
	}
	for i, want := range []bool{true, false, true} {
		o := orgs[i]
		err := s.Read(t.Context(), func(tx store.Tx) error { _, err := tx.GetOrg(o.ID); return err })
		if got := err == nil; got != want {
			t.Errorf("org %d present = %v, want %v (%v)", i, got, want, err)
		}
	}
	if errs := b.WriteBatch(t.Context(), nil); len(errs) != 0 {
		t.Fatalf("an empty batch returned %v", errs)
	}
}
