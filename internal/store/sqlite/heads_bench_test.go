package sqlite

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/google/uuid"

	"clavis.dev/clavis"
	"clavis.dev/clavis/internal/store"
)

// BenchmarkGetLatestVersion compares reading a secret's latest version from its head (version 0) with the
// join of secrets and versions (the same version asked for by number), over 20 000 secrets, each read
// after a commit, as under load: a commit makes every reader start over with an empty page cache. The
// baseline is the commit alone; subtract it from the others.
func BenchmarkGetLatestVersion(b *testing.B) {
	s, _ := open(b)
	defer s.Close()
	const n = 20000
	now := clavis.Now()
	if err := s.Write(b.Context(), func(tx store.Tx) error {
		if err := tx.CreateOrg(&clavis.Org{ID: "org", Name: "acme", CreatedAt: now}); err != nil {
			return err
		}
		if err := tx.CreateVault(&store.Vault{Vault: clavis.Vault{ID: "v", OrgID: "org", Name: "v", CreatedAt: now}}); err != nil {
			return err
		}
		for i := range n {
			sec, err := tx.EnsureSecret(&clavis.Secret{ID: uuid.NewString(), VaultID: "v", Path: fmt.Sprintf("app/key-%05d", i), CreatedAt: now})
			if err != nil {
				return err
			}
			v, err := tx.NextVersion(sec.ID)
			if err != nil {
				return err
			}
			if err := tx.CreateVersion(&store.Version{Version: clavis.Version{SecretID: sec.ID, Version: v, Type: "generic",
				Metadata: []byte(`{}`), CreatedBy: "user:u", CreatedAt: now}, Ciphertext: make([]byte, 120), WrappedDEK: make([]byte, 60)}); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		b.Fatal(err)
	}
	commit := func() {
		if err := s.Write(b.Context(), func(tx store.Tx) error { return tx.RevokeToken(uuid.NewString(), now) }); err != nil {
			b.Fatal(err)
		}
	}
	for _, c := range []struct {
		name    string
		version int
	}{{"baseline-commit-only", -1}, {"join", 1}, {"head", 0}} {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				commit()
				if c.version < 0 {
					continue
				}
				path := fmt.Sprintf("app/key-%05d", rand.IntN(n)) // #nosec G404 -- benchmark input
				if err := s.Read(b.Context(), func(tx store.Tx) error {
					_, v, err := tx.GetSecretVersion("v", path, c.version)
					if err == nil && v == nil {
						err = fmt.Errorf("no version for %s", path)
					}
					return err
				}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
