package storetest

import (
	"testing"

	"clavis.dev/clavis"
	"clavis.dev/clavis/internal/store"
)

// testUseConfigs: a destination config round-trips; a second put replaces the rules and UpdatedAt but
// keeps who created it and when; it belongs to the path (another path or vault has none); delete removes
// it (twice is ErrNotFound); deleting the vault deletes its configs.
func testUseConfigs(t *testing.T, s store.Store) {
	_, u, v := seed(t, s)
	other := newVault(u)
	create(t, s, other)
	want := &clavis.UseConfig{VaultID: v.ID, Path: "api/openai", AllowedHosts: []string{"api.openai.com", "*.example.com:8443"},
		AllowedMethods: []string{"GET", "POST"}, AllowedPathPrefixes: []string{"/v1"},
		Inject:    clavis.UseInject{As: clavis.InjectBasic, Username: ptr("")},
		AllowHTTP: true, CreatedBy: u.ID, CreatedByType: clavis.PrincipalUser, CreatedAt: at(1), UpdatedAt: at(1)}
	write(t, s, func(tx store.Tx) error { return tx.PutUseConfig(want) })
	got := get(t, s, func(tx store.Tx) (*clavis.UseConfig, error) { return tx.GetUseConfig(v.ID, "api/openai") })
	check(t, "GetUseConfig", got, want)

	next := *want
	next.AllowedHosts, next.AllowHTTP = []string{"api.openai.com"}, false
	next.Inject = clavis.UseInject{As: clavis.InjectHeader, Name: "X-Api-Key", Prefix: "Key "}
	next.CreatedBy, next.CreatedAt, next.UpdatedAt = newID(), at(5), at(5)
	write(t, s, func(tx store.Tx) error { return tx.PutUseConfig(&next) })
	got = get(t, s, func(tx store.Tx) (*clavis.UseConfig, error) { return tx.GetUseConfig(v.ID, "api/openai") })
	wantNext := next
	wantNext.CreatedBy, wantNext.CreatedAt = want.CreatedBy, want.CreatedAt
	check(t, "GetUseConfig after a second put", got, &wantNext)

	for _, miss := range [][2]string{{v.ID, "api/other"}, {v.ID, "api"}, {other.ID, "api/openai"}} {
		err := s.Read(t.Context(), func(tx store.Tx) error { _, err := tx.GetUseConfig(miss[0], miss[1]); return err })
		wantKind(t, "GetUseConfig of "+miss[1], err, clavis.KindNotFound)
	}

	write(t, s, func(tx store.Tx) error { return tx.DeleteUseConfig(v.ID, "api/openai") })
	err := s.Write(t.Context(), func(tx store.Tx) error { return tx.DeleteUseConfig(v.ID, "api/openai") })
	wantKind(t, "DeleteUseConfig twice", err, clavis.KindNotFound)

	kept := *want
	kept.VaultID = other.ID
	write(t, s, func(tx store.Tx) error { return tx.PutUseConfig(&kept) })
	write(t, s, func(tx store.Tx) error { return tx.DeleteVault(other.ID) })
	err = s.Read(t.Context(), func(tx store.Tx) error { _, err := tx.GetUseConfig(other.ID, "api/openai"); return err })
	wantKind(t, "GetUseConfig after the vault is deleted", err, clavis.KindNotFound)
}
