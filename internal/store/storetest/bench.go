package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"testing"

	"github.com/google/uuid"

	"clavis.dev/clavis"
	"clavis.dev/clavis/internal/store"
)

// The benchmarks of this file run on a store the backend opened (and closes); each backend calls them
// from Benchmark functions of its own, so that `go test -bench` names them per backend.

// benchSecret creates an org, user, vault and a secret with one 1 KiB version, and returns the secret.
func benchSecret(b *testing.B, s store.Store) *clavis.Secret {
	b.Helper()
	now := clavis.Now()
	org := &clavis.Org{ID: uuid.NewString(), Name: "bench", CreatedAt: now}
	u := &store.User{User: clavis.User{ID: uuid.NewString(), OrgID: org.ID, Email: org.ID + "@example.com",
		CreatedAt: now}}
	v := &store.Vault{Vault: clavis.Vault{ID: uuid.NewString(), OrgID: org.ID, Name: "v", CreatedBy: u.ID,
		CreatedByType: clavis.PrincipalUser, OwnerUserID: u.ID, CreatedAt: now}, WrappedKey: make([]byte, 60)}
	var sec *clavis.Secret
	err := s.Write(context.Background(), func(tx store.Tx) error {
		if err := errors.Join(tx.CreateOrg(org), tx.CreateUser(u), tx.CreateVault(v)); err != nil {
			return err
		}
		var err error
		sec, err = tx.EnsureSecret(&clavis.Secret{ID: uuid.NewString(), VaultID: v.ID, Path: "db/password", CreatedAt: now})
		if err != nil {
			return err
		}
		return writeVersion(tx, sec.ID)
	})
	if err != nil {
		b.Fatal(err)
	}
	return sec
}

// writeVersion does what the engine does to store a new value: NextVersion, then CreateVersion.
func writeVersion(tx store.Tx, secretID string) error {
	n, err := tx.NextVersion(secretID)
	if err != nil {
		return err
	}
	return tx.CreateVersion(&store.Version{Version: clavis.Version{SecretID: secretID, Version: n, Type: "generic",
		Metadata: json.RawMessage(`{"env":"prod"}`), CreatedBy: "user:" + secretID, CreatedAt: clavis.Now()}, Ciphertext: make([]byte, 1024), WrappedDEK: make([]byte, 60)})
}

// serialAndParallel runs op as sub-benchmarks "serial" (one goroutine) and "parallel" (b.RunParallel).
func serialAndParallel(b *testing.B, op func() error) {
	b.Run("serial", func(b *testing.B) {
		for b.Loop() {
			if err := op(); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("parallel", func(b *testing.B) {
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if err := op(); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
}

// BenchGetVersion measures a point read of a version with its ciphertext in a Read transaction.
func BenchGetVersion(b *testing.B, s store.Store) {
	sec := benchSecret(b, s)
	get := func() error {
		return s.Read(context.Background(), func(tx store.Tx) error {
			_, err := tx.GetVersion(sec.ID, 1)
			return err
		})
	}
	serialAndParallel(b, get)
}

// BenchWriteVersion measures a durable Write transaction that adds a version (NextVersion and
// CreateVersion), against the baseline of a minimal durable Write (a one-row insert) in the same run.
// The parallel writers all add versions to one secret, so they queue on it.
func BenchWriteVersion(b *testing.B, s store.Store) {
	sec := benchSecret(b, s)
	b.Run("baseline-one-row-insert", func(b *testing.B) {
		for b.Loop() {
			if err := s.Write(context.Background(), func(tx store.Tx) error {
				return tx.RevokeToken(uuid.NewString(), clavis.Now())
			}); err != nil {
				b.Fatal(err)
			}
		}
	})
	write := func() error {
		return s.Write(context.Background(), func(tx store.Tx) error { return writeVersion(tx, sec.ID) })
	}
	serialAndParallel(b, write)
}

// BenchAppendAudit measures appending one chained audit event: alone in its own durable commit, and as
// one unit of 32 in a group commit (what the engine's committer does under load), when s is a
// store.Batcher.
func BenchAppendAudit(b *testing.B, s store.Store) {
	org := uuid.NewString()
	appendOne := func(tx store.Tx) error {
		id, _, err := tx.AuditHead(org)
		if err != nil {
			return err
		}
		return tx.AppendAudit(&clavis.AuditEvent{ID: uuid.NewString(), OrgID: org, Action: "secret.read",
			ActorID: org, ActorType: clavis.PrincipalAgent, ResourceType: "secret", ResourceID: org,
			Details: map[string]any{"vault_id": org, "path": "db/password", "version": 1}, IPAddress: "127.0.0.1",
			CreatedAt: clavis.Now(), PrevEventID: id, IntegrityHash: "0123456789abcdef"})
	}
	b.Run("own-commit", func(b *testing.B) {
		for b.Loop() {
			if err := s.Write(context.Background(), appendOne); err != nil {
				b.Fatal(err)
			}
		}
	})
	batcher, ok := s.(store.Batcher)
	if !ok {
		return
	}
	b.Run("group-of-32", func(b *testing.B) {
		units := make([]func(store.Tx) error, 32)
		for i := range units {
			units[i] = appendOne
		}
		for b.Loop() {
			for _, err := range batcher.WriteBatch(context.Background(), units) {
				if err != nil {
					b.Fatal(err)
				}
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*32), "ns/event")
	})
}
