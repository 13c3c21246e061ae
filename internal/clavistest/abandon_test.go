package clavistest_test

import (
	"context"
	"testing"
	"time"

	"clavis.dev/clavis"
	"clavis.dev/clavis/internal/clavistest"
	"clavis.dev/clavis/internal/store"
)

// A request that stops waiting for its commit (503) returns while its unit of work may still run in the
// committer: it must read nothing the unit writes. Under -race (as CI runs it) a request that returned a
// result written by its late-running unit is a reported data race, which fails this test.
func TestAbandonedUnitsRaceWithNothing(t *testing.T) {
	var slow *clavistest.SlowStore
	// The timeout is short for a test, so on a loaded machine a setup step may also give up (503) before
	// the stall is switched on: setup steps are retried (what they wrote late is harmless).
	env := clavistest.New(t, clavistest.Options{AuditTimeout: 250 * time.Millisecond,
		WrapStore: func(s store.Store) store.Store { slow = &clavistest.SlowStore{Store: s}; return slow }})
	ctx := context.Background()
	u := env.Signup(t)
	retry := func(f func() error) {
		t.Helper()
		err := f()
		for i := 0; i < 20 && clavis.IsKind(err, clavis.KindUnavailable); i++ {
			err = f()
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	var v *clavis.Vault
	retry(func() (err error) { v, err = u.C.CreateVault(ctx, clavis.VaultInput{Name: "slow"}); return err })
	retry(func() error { _, err := u.C.PutSecret(ctx, v.ID, "k", clavis.SecretInput{Value: "v1"}); return err })
	a := env.NewAgent(t, u, clavis.AgentInput{})
	var pol *clavis.Policy
	retry(func() (err error) {
		pol, err = u.C.CreatePolicy(ctx, v.ID, clavis.PolicyInput{Pattern: "k", PrincipalType: clavis.PrincipalAgent,
			PrincipalID: a.ID, Permissions: []string{"read"}})
		return err
	})
	name := "late"
	prio := 5
	steps := map[string]func() error{
		"PutSecret":      func() error { _, err := u.C.PutSecret(ctx, v.ID, "k", clavis.SecretInput{Value: "v2"}); return err },
		"RotateSecret":   func() error { _, err := u.C.RotateSecret(ctx, v.ID, "k", clavis.RotateInput{}); return err },
		"RestoreVersion": func() error { _, err := u.C.RestoreVersion(ctx, v.ID, "k", 1); return err },
		"UpdatePolicy": func() error {
			_, err := u.C.UpdatePolicy(ctx, v.ID, pol.ID, clavis.PolicyPatch{Priority: &prio})
			return err
		},
		"UpdateAgent": func() error { _, err := u.C.UpdateAgent(ctx, a.ID, clavis.AgentPatch{Name: &name}); return err },
		"UpdateMe":    func() error { _, err := u.C.UpdateMe(ctx, clavis.ProfilePatch{DisplayName: &name}); return err },
	}
	slow.Delay.Store(int64(1500 * time.Millisecond))
	for step, call := range steps {
		if err := call(); !clavis.IsKind(err, clavis.KindUnavailable) {
			t.Errorf("%s while commits stall: want 503, got %v", step, err)
		}
		// Its unit started before the caller gave up, so it runs late; let it finish (and the race
		// detector see it) before the next step, whose unit would otherwise wait and be skipped.
		time.Sleep(1700 * time.Millisecond)
	}
	slow.Delay.Store(0)
}
