package postgres

import (
	"context"
	"testing"

	"github.com/google/uuid"

	"clavis.dev/clavis"
	"clavis.dev/clavis/internal/store"
)

// benchSecret creates an org, user, vault and a secret with one 1 KiB version, and returns the secret.
func benchSecret(b *testing.B, s *Store) *clavis.Secret {
	b.Helper()
	_, sec := seedSecret(b, s, "db/password")
	write(b, s, func(tx store.Tx) error { return writeVersion(tx, sec.ID) })
	return sec
}

// writeVersion does what the engine does to store a new value: NextVersion, then CreateVersion.
func writeVersion(tx store.Tx, secretID string) error {
	n, err := tx.NextVersion(secretID)
	if err != nil {
		return err
	}
	return tx.CreateVersion(newVersion(secretID, n, 0))
}

// BenchmarkGetVersion measures a point read of a version with its ciphertext in a Read transaction.
func BenchmarkGetVersion(b *testing.B) {
	s, _ := open(b)
	sec := benchSecret(b, s)
	get := func() error {
		return s.Read(context.Background(), func(tx store.Tx) error {
			_, err := tx.GetVersion(sec.ID, 1)
			return err
		})
	}
	b.Run("serial", func(b *testing.B) {
		for b.Loop() {
			if err := get(); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("parallel", func(b *testing.B) {
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if err := get(); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
}

// BenchmarkWriteVersion measures a durable Write transaction that adds a version (NextVersion and
// CreateVersion), against the baseline of a minimal durable Write (a one-row insert) in the same run.
// The parallel writers all add versions to one secret, so they queue on its row lock.
func BenchmarkWriteVersion(b *testing.B) {
	s, _ := open(b)
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
	b.Run("serial", func(b *testing.B) {
		for b.Loop() {
			if err := s.Write(context.Background(), func(tx store.Tx) error { return writeVersion(tx, sec.ID) }); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("parallel", func(b *testing.B) {
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if err := s.Write(context.Background(), func(tx store.Tx) error { return writeVersion(tx, sec.ID) }); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
}
