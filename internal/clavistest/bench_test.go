package clavistest_test

import (
	"context"
	"net/http"
	"runtime"
	"testing"

	"clavis.dev/clavis"
	"clavis.dev/clavis/client"
	"clavis.dev/clavis/internal/clavistest"
	"clavis.dev/clavis/internal/store"
)

// BenchmarkSecretRead measures agent value reads over real HTTP at 16 concurrent readers, with the read
// audited and durably committed (the product) and with read auditing skipped (the baseline that shows
// what auditing costs). Compare the two in one run: ratio = audited ns/op ÷ skipped ns/op, inverted.
// "audited-read-tx" is the audited read on the general path (a read transaction, then the commit unit),
// as on a store that is not a store.WarmWriter: compare it with "audited".
func BenchmarkSecretRead(b *testing.B) {
	for _, bc := range []struct {
		name string
		skip bool
		wrap func(store.Store) store.Store
	}{{"audited", false, nil}, {"audited-read-tx", false, coldWriter}, {"audit-skipped", true, nil}} {
		b.Run(bc.name, func(b *testing.B) {
			env := clavistest.New(b, clavistest.Options{SkipReadAudit: bc.skip, WrapStore: bc.wrap})
			u := env.Signup(b)
			v, _ := u.C.CreateVault(ctx, clavis.VaultInput{Name: "bench"})
			if _, err := u.C.PutSecret(ctx, v.ID, "api-keys/openai", clavis.SecretInput{Value: "sk-bench"}); err != nil {
				b.Fatal(err)
			}
			a := env.NewAgent(b, u, clavis.AgentInput{})
			if _, err := u.C.CreatePolicy(ctx, v.ID, clavis.PolicyInput{Pattern: "api-keys/*",
				PrincipalType: "agent", PrincipalID: a.ID, Permissions: []string{"read"}}); err != nil {
				b.Fatal(err)
			}
			hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
			tok, err := env.Client().AgentToken(ctx, a.Key, a.ID)
			if err != nil {
				b.Fatal(err)
			}
			c := client.New(env.URL, client.WithHTTPClient(hc), client.WithToken(string(tok.AccessToken)))
			b.SetParallelism((16 + runtime.GOMAXPROCS(0) - 1) / runtime.GOMAXPROCS(0))
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					s, err := c.GetSecret(ctx, v.ID, "api-keys/openai")
					if err != nil || s.Value != clavis.Sensitive("sk-bench") {
						b.Errorf("read: %v", err)
						return
					}
				}
			})
		})
	}
}

// batchOnly is a store that group-commits but is not a store.WarmWriter.
type batchOnly struct{ store.Store }

func (s batchOnly) WriteBatch(ctx context.Context, fns []func(store.Tx) error) []error {
	return s.Store.(store.Batcher).WriteBatch(ctx, fns)
}

func coldWriter(s store.Store) store.Store { return batchOnly{s} }
