package clavistest_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"

	"clavis.dev/clavis"
	"clavis.dev/clavis/internal/clavistest"
	"clavis.dev/clavis/internal/store"
)

// lookupFaults is a real store in which one lookup (GetAPIKey, GetSecret or GetVault, named by fail)
// fails with a database error, not a missing row.
type lookupFaults struct {
	store.Store
	fail *atomic.Value // string
}

var errDiskIO = errors.New("disk I/O error")

type lookupFaultsTx struct {
	store.Tx
	fail *atomic.Value
}

func (t lookupFaultsTx) GetAPIKey(id string) (*store.APIKey, error) {
	if t.fail.Load() == "GetAPIKey" {
		return nil, errDiskIO
	}
	return t.Tx.GetAPIKey(id)
}

func (t lookupFaultsTx) GetSecret(vaultID, path string) (*clavis.Secret, error) {
	if t.fail.Load() == "GetSecret" {
		return nil, errDiskIO
	}
	return t.Tx.GetSecret(vaultID, path)
}

func (t lookupFaultsTx) GetVault(id string) (*store.Vault, error) {
	if t.fail.Load() == "GetVault" {
		return nil, errDiskIO
	}
	return t.Tx.GetVault(id)
}

func (s lookupFaults) wrap(fn func(store.Tx) error) func(store.Tx) error {
	return func(tx store.Tx) error { return fn(lookupFaultsTx{tx, s.fail}) }
}

func (s lookupFaults) Read(ctx context.Context, fn func(store.Tx) error) error {
	return s.Store.Read(ctx, s.wrap(fn))
}

func (s lookupFaults) Write(ctx context.Context, fn func(store.Tx) error) error {
	return s.Store.Write(ctx, s.wrap(fn))
}

func (s lookupFaults) WriteBatch(ctx context.Context, fns []func(store.Tx) error) []error {
	wrapped := make([]func(store.Tx) error, len(fns))
	for i, fn := range fns {
		wrapped[i] = s.wrap(fn)
	}
	return s.Store.(store.Batcher).WriteBatch(ctx, wrapped)
}

// A database failure is an internal error (500), never "not found" or a validation error: only a
// missing row may answer 404, and a caller's input is not to blame for a broken database.
func TestDatabaseErrorsAreNotMisclassified(t *testing.T) {
	fail := new(atomic.Value)
	fail.Store("")
	env := clavistest.New(t, clavistest.Options{WrapStore: func(s store.Store) store.Store { return lookupFaults{s, fail} }})
	ctx := context.Background()
	u := env.Signup(t)
	key, _, err := u.C.CreateAPIKey(ctx, clavis.APIKeyInput{Name: "ci"})
	if err != nil {
		t.Fatalf("create api key: %v", err)
	}
	v, err := u.C.CreateVault(ctx, clavis.VaultInput{Name: "v"})
	if err != nil {
		t.Fatalf("create vault: %v", err)
	}
	if _, err := u.C.PutSecret(ctx, v.ID, "a/b", clavis.SecretInput{Value: "s3cret"}); err != nil {
		t.Fatalf("put secret: %v", err)
	}
	tests := []struct {
		name, fail string
		call       func() error
	}{
		{"RevokeAPIKey", "GetAPIKey", func() error { return u.C.RevokeAPIKey(ctx, key.ID) }},
		{"RestoreVersion", "GetSecret", func() error { _, err := u.C.RestoreVersion(ctx, v.ID, "a/b", 1); return err }},
		{"CreateAgent with vault_ids", "GetVault", func() error {
			_, err := u.C.CreateAgent(ctx, clavis.AgentInput{Name: "bot", VaultIDs: []string{v.ID}})
			return err
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fail.Store(tc.fail)
			err := tc.call()
			fail.Store("")
			if got, want := clavis.KindOf(err), clavis.KindInternal; got != want {
				t.Errorf("kind = %v (%v), want %v", got, err, want)
			}
		})
	}
}
