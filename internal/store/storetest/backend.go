package storetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"clavis.dev/clavis"
	"clavis.dev/clavis/internal/store"
	"clavis.dev/clavis/internal/store/migration"
)

// Backend is what the migration tests of this file need of a store implementation beyond the store
// contract: new databases by name, its migrations, and raw SQL outside any Store.
type Backend struct {
	// Fresh returns the name (file path or DSN) of a new, empty database, removed when tb ends.
	Fresh func(tb testing.TB) string
	// Open opens a Store on the named database, migrating it to the newest schema.
	Open func(ctx context.Context, name string) (store.Store, error)
	// Migrations are the backend's embedded migrations, in version order.
	Migrations []migration.Migration
	// CreateSchemaMigrations is the backend's statement that creates its schema_migrations table.
	CreateSchemaMigrations string
	// UndoLater undoes, on a database at the newest schema, the backend's migrations after 0011 (those
	// MigrateVaultKeys does not undo itself; 0011, the state epoch, is idempotent and stays), leaving the
	// schema that migration 0011 left. Empty if none.
	UndoLater string
	// Exec runs query on the named database on a connection of its own, failing tb on error. Placeholders
	// are written $1, $2, …; without args, query may hold several statements.
	Exec func(tb testing.TB, name, query string, args ...any)
}

// Opener adapts a backend's Open, which returns its concrete type, to Backend.Open: an error gives a
// nil store.Store, not a typed nil.
func Opener[S store.Store](open func(ctx context.Context, name string) (S, error)) func(context.Context, string) (store.Store, error) {
	return func(ctx context.Context, name string) (store.Store, error) {
		s, err := open(ctx, name)
		if err != nil {
			return nil, err
		}
		return s, nil
	}
}

// open opens a Store on the named database, failing t on error; the store is closed when t ends.
func (b Backend) open(t *testing.T, name string) store.Store {
	t.Helper()
	s, err := b.Open(t.Context(), name)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// NewerSchemaRefused: Open fails, saying so, on a database whose schema is newer than the newest
// migration of the binary.
func NewerSchemaRefused(t *testing.T, b Backend) {
	name := b.Fresh(t)
	s, err := b.Open(t.Context(), name)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	_ = s.Close()
	b.Exec(t, name, "INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, 'from the future', CURRENT_TIMESTAMP)",
		len(b.Migrations)+1)

	s, err = b.Open(t.Context(), name)
	if err == nil {
		_ = s.Close()
		t.Fatal("Open of a database with a newer schema succeeded")
	}
	if !strings.Contains(err.Error(), "newer") {
		t.Errorf("Open error = %v, want one that says the schema is newer", err)
	}
}

// MigrateVaultKeys: migration 0003 gives every vault that exists version 1 of its key: the vault's
// wrapped key and creation time, with the vault's stored versions as its encryptions so far.
func MigrateVaultKeys(t *testing.T, b Backend) {
	name := b.Fresh(t)
	s, err := b.Open(t.Context(), name)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	org := &clavis.Org{ID: uuid.NewString(), Name: "acme", CreatedAt: clavis.Now()}
	u := &store.User{User: clavis.User{ID: uuid.NewString(), OrgID: org.ID, Email: org.ID + "@example.com",
		CreatedAt: org.CreatedAt}}
	vault := func(wrapped []byte, sec int) *store.Vault {
		return &store.Vault{Vault: clavis.Vault{ID: uuid.NewString(), OrgID: org.ID, Name: "v", CreatedBy: u.ID,
			CreatedByType: clavis.PrincipalUser, OwnerUserID: u.ID, CreatedAt: clavis.Truncate(org.CreatedAt.Add(-time.Duration(sec) * time.Second))}, WrappedKey: wrapped}
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
				if err := tx.CreateVersion(&store.Version{Version: clavis.Version{SecretID: sec.ID, Version: num,
					Type: "generic", CreatedBy: "user:" + u.ID, CreatedAt: clavis.Now()}, Ciphertext: []byte("ct"), WrappedDEK: []byte("dek")}); err != nil {
					return err
				}
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	_ = s.Close()
	// Back to the schema before 0003 (CreateVault adds no key versions: vault_keys is empty), undoing the
	// later migrations too.
	if b.UndoLater != "" {
		b.Exec(t, name, b.UndoLater)
	}
	b.Exec(t, name, `DROP TABLE vault_keys;
		DROP INDEX audit_events_time;
		ALTER TABLE audit_heads DROP COLUMN event_count;
		DROP TABLE readiness_probe;
		DROP TABLE approvals;
		DROP TABLE enrollments;
		DROP TABLE enrollment_claims;
		DROP TABLE notification_deliveries;
		DROP TABLE shares;
		DROP TABLE invites;
		DROP TABLE ip_rules;
		DROP TABLE use_configs;
		DROP TABLE web_sessions;
		DELETE FROM schema_migrations WHERE version >= 3`)

	s = b.open(t, name)
	if err := s.Read(t.Context(), func(tx store.Tx) error {
		for _, want := range []*store.VaultKey{
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

// MigrationCountsAuditHeads: the migration that adds audit_heads.event_count counts the events of each
// existing chain, so that verify can compare old chains with their heads.
func MigrationCountsAuditHeads(t *testing.T, b Backend) {
	ms := b.Migrations
	v := slices.IndexFunc(ms, func(m migration.Migration) bool { return strings.HasSuffix(m.Name, "_audit_head_count.sql") })
	if v < 0 {
		t.Fatal("no audit_head_count migration")
	}
	// A database as the migrations before it left it, with two chains.
	name := b.Fresh(t)
	b.Exec(t, name, b.CreateSchemaMigrations)
	for _, m := range ms[:v] {
		b.Exec(t, name, m.SQL)
		b.Exec(t, name, `INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, CURRENT_TIMESTAMP)`, m.Version, m.Name)
	}
	chains := map[string]int{"org-a": 3, "org-b": 1}
	for org, n := range chains {
		prev := ""
		for i := range n {
			id := fmt.Sprintf("%s-%d", org, i)
			b.Exec(t, name, `INSERT INTO audit_events (id, org_id, action, actor_id, actor_type, resource_type, resource_id,
				details, ip_address, created_at, prev_event_id, integrity_hash)
				VALUES ($1, $2, 'secret.read', 'u', 'user', 'secret', 's', '{}', '', '2026-01-01T00:00:00.000Z', $3, $4)`,
				id, org, prev, "hash-"+id)
			prev = id
		}
		b.Exec(t, name, `INSERT INTO audit_heads (org_id, event_id, hash) VALUES ($1, $2, $3)`, org, prev, "hash-"+prev)
	}

	s := b.open(t, name)
	for org, n := range chains {
		var h store.ChainHead
		if err := s.Read(t.Context(), func(tx store.Tx) (err error) { h, err = tx.AuditChainHead(org); return err }); err != nil {
			t.Fatal(err)
		}
		last := fmt.Sprintf("%s-%d", org, n-1)
		if want := (store.ChainHead{EventID: last, Hash: "hash-" + last, Count: int64(n)}); h != want {
			t.Errorf("AuditChainHead(%s) after migrating = %+v, want %+v", org, h, want)
		}
	}
}
