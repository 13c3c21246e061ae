package postgres

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/google/uuid"

	"clavis.dev/clavis"
	"clavis.dev/clavis/internal/store"
)

// TestRotationListsInByteOrder: ServerKeyNames and AllVaultKeys list in byte order even in a database
// whose collation is not (ICU en-US: "a" < "B", "_" first, and so on), unlike the test server's.
func TestRotationListsInByteOrder(t *testing.T) {
	dsn := freshDBWith(t, server(t), "TEMPLATE template0 LOCALE_PROVIDER icu ICU_LOCALE 'en-US'")
	s, err := Open(t.Context(), dsn)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer s.Close()
	var notBytes bool
	if err := s.pool.QueryRow(t.Context(), `SELECT 'a' < 'B'`).Scan(&notBytes); err != nil {
		t.Fatal(err)
	}
	if !notBytes {
		t.Fatalf("fixture: 'a' < 'B' is false in the database, want true (a collation other than byte order)")
	}

	names := []string{"a", "B", "_x", "é", "Z", "e", "a-b", "ab"}
	org := &clavis.Org{ID: uuid.NewString(), Name: "acme", CreatedAt: clavis.Now()}
	u := &store.User{User: clavis.User{ID: uuid.NewString(), OrgID: org.ID, Email: org.ID + "@example.com",
		CreatedAt: org.CreatedAt}}
	var want []*store.VaultKey
	write(t, s, func(tx store.Tx) error {
		want = nil
		if err := errors.Join(tx.CreateOrg(org), tx.CreateUser(u)); err != nil {
			return err
		}
		for _, n := range names {
			if _, err := tx.PutServerKey(n, []byte(n)); err != nil {
				return err
			}
			v := &store.Vault{Vault: clavis.Vault{ID: n + uuid.NewString(), OrgID: org.ID, Name: n, CreatedBy: u.ID,
				CreatedByType: clavis.PrincipalUser, OwnerUserID: u.ID, CreatedAt: org.CreatedAt}}
			if err := tx.CreateVault(v); err != nil {
				return err
			}
			for _, version := range []int{2, 1} {
				k := &store.VaultKey{VaultID: v.ID, Version: version, Wrapped: []byte("k"), CreatedAt: org.CreatedAt}
				if err := tx.AddVaultKey(k); err != nil {
					return err
				}
				want = append(want, k)
			}
		}
		return nil
	})
	slices.SortFunc(want, func(a, b *store.VaultKey) int {
		if a.VaultID != b.VaultID {
			return strings.Compare(a.VaultID, b.VaultID)
		}
		return a.Version - b.Version
	})
	read(t, s, func(tx store.Tx) error {
		got, err := tx.ServerKeyNames()
		if err != nil {
			return err
		}
		if wantNames := slices.Sorted(slices.Values(names)); !slices.Equal(got, wantNames) {
			t.Errorf("ServerKeyNames = %q, want %q", got, wantNames)
		}
		keys, err := tx.AllVaultKeys()
		if err != nil {
			return err
		}
		if len(keys) != len(want) {
			t.Fatalf("AllVaultKeys returned %d keys, want %d", len(keys), len(want))
		}
		for i, k := range keys {
			if k.VaultID != want[i].VaultID || k.Version != want[i].Version {
				t.Errorf("AllVaultKeys[%d] = %s v%d, want %s v%d", i, k.VaultID, k.Version, want[i].VaultID, want[i].Version)
			}
		}
		return nil
	})
}
