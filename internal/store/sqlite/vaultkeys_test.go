package sqlite

import (
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"

	"clavis.dev/clavis"
	"clavis.dev/clavis/internal/store"
)

// TestMigrateVaultKeys: migration 0003 gives every vault that exists version 1 of its key: the vault's
// wrapped key and creation time, with the vault's stored versions as its encryptions so far.
func TestMigrateVaultKeys(t *testing.T) {
	s, path := open(t)
	org := &clavis.Org{ID: uuid.NewString(), Name: "acme", CreatedAt: clavis.Now()}
	u := &clavis.User{ID: uuid.NewString(), OrgID: org.ID, Email: org.ID + "@example.com", CreatedAt: org.CreatedAt}
	vault := func(wrapped []byte, sec int) *clavis.Vault {
		return &clavis.Vault{ID: uuid.NewString(), OrgID: org.ID, Name: "v", CreatedBy: u.ID,
			CreatedByType: clavis.PrincipalUser, OwnerUserID: u.ID, WrappedKey: wrapped,
			CreatedAt: clavis.Truncate(org.CreatedAt.Add(-time.Duration(sec) * time.Second))}
	}
	busy, idle, keyless := vault([]byte{1, 0, 2, 0xff}, 3600), vault([]byte("idle key"), 60), vault(nil, 1)
	if err := s.Write(t.Context(), func(tx store.Tx) error {
		err := errors.Join(tx.CreateOrg(org), tx.CreateUser(u), tx.CreateVault(busy), tx.CreateVault(idle),
			tx.CreateVault(keyless))
		if err != nil {
			return err
		}
		for path, n := range map[string]int{"a": 2, "b": 1, "c": 0} { // 3 versions in all
			sec, err := tx.EnsureSecret(&clavis.Secret{ID: uuid.NewString(), VaultID: busy.ID, Path: path, CreatedAt: clavis.Now()})
			if err != nil {
				return err
			}
			for range n {
				num, err := tx.NextVersion(sec.ID)
				if err != nil {
					return err
				}
				if err := tx.CreateVersion(&clavis.Version{SecretID: sec.ID, Version: num, Type: "generic",
					Ciphertext: []byte("ct"), WrappedDEK: []byte("dek"), CreatedBy: "user:" + u.ID, CreatedAt: clavis.Now()}); err != nil {
					return err
				}
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	// Back to the schema before 0003 (CreateVault adds no key versions: vault_keys is empty), undoing the
	// later migrations too.
	if _, err := s.write.ExecContext(t.Context(), `DROP TABLE vault_keys;
		DROP INDEX audit_events_time;
		ALTER TABLE audit_heads DROP COLUMN event_count;
		DROP TABLE readiness_probe;
		DELETE FROM schema_migrations WHERE version >= 3`); err != nil {
		t.Fatal(err)
	}
	s.Close()

	s, err := Open(t.Context(), path)
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer s.Close()
	if err := s.Read(t.Context(), func(tx store.Tx) error {
		for _, want := range []*clavis.VaultKey{
			{VaultID: busy.ID, Version: 1, Wrapped: busy.WrappedKey, Encryptions: 3, CreatedAt: busy.CreatedAt},
			{VaultID: idle.ID, Version: 1, Wrapped: idle.WrappedKey, Encryptions: 0, CreatedAt: idle.CreatedAt},
		} {
			got, err := tx.CurrentVaultKey(want.VaultID)
			if err != nil {
				return err
			}
			if got.VaultID != want.VaultID || got.Version != 1 || string(got.Wrapped) != string(want.Wrapped) ||
				got.Encryptions != want.Encryptions || !got.CreatedAt.Equal(want.CreatedAt) {
				t.Errorf("seeded key: got %+v, want %+v", got, want)
			}
		}
		if _, err := tx.CurrentVaultKey(keyless.ID); clavis.KindOf(err) != clavis.KindNotFound {
			t.Errorf("CurrentVaultKey of a vault without a wrapped key: %v, want not found", err)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}
