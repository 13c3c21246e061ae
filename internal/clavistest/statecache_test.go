package clavistest_test

import (
	"testing"
	"time"

	"clavis.dev/clavis"
	"clavis.dev/clavis/client"
	"clavis.dev/clavis/internal/clavistest"
)

// cacheFixture is an agent allowed to read one secret, with its token, vault and policy.
type cacheFixture struct {
	u      *clavistest.User
	vault  string
	agent  *clavistest.Agent
	policy string
}

func newCacheFixture(t *testing.T, env *clavistest.Env) *cacheFixture {
	t.Helper()
	u := env.Signup(t)
	v, err := u.C.CreateVault(ctx, clavis.VaultInput{Name: "cached"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := u.C.PutSecret(ctx, v.ID, "k", clavis.SecretInput{Value: "value"}); err != nil {
		t.Fatal(err)
	}
	ag := env.NewAgent(t, u, clavis.AgentInput{Name: "cached"})
	p, err := u.C.CreatePolicy(ctx, v.ID, clavis.PolicyInput{Pattern: "**", PrincipalType: clavis.PrincipalAgent,
		PrincipalID: ag.ID, Permissions: []string{"read"}})
	if err != nil {
		t.Fatal(err)
	}
	return &cacheFixture{u: u, vault: v.ID, agent: ag, policy: p.ID}
}

// warm reads the secret as the agent on c twice, so that everything the request needs is cached.
func (f *cacheFixture) warm(t *testing.T, c *client.Client) {
	t.Helper()
	for range 2 {
		if _, err := c.GetSecret(ctx, f.vault, "k"); err != nil {
			t.Fatalf("read before the change: %v", err)
		}
	}
}

// TestCachedStateChangesApplyOnTheNextRequest: with the principal, its token, the org's IP rules, the
// vault and the policies cached by earlier requests, each change of spec §2.7 and each change of the
// authorization inputs applies on the very next request (the state cache is invalidated before the
// changing request is answered).
func TestCachedStateChangesApplyOnTheNextRequest(t *testing.T) {
	env := clavistest.New(t)
	tests := []struct {
		name   string
		change func(t *testing.T, f *cacheFixture) error
		want   clavis.Kind
	}{
		// the agent's only policy: the vault is no longer visible to it
		{"policy deleted", func(t *testing.T, f *cacheFixture) error { return f.u.C.DeletePolicy(ctx, f.vault, f.policy) }, clavis.KindNotFound},
		{"policy narrowed", func(t *testing.T, f *cacheFixture) error {
			_, err := f.u.C.UpdatePolicy(ctx, f.vault, f.policy, clavis.PolicyPatch{Permissions: &[]string{"write"}})
			return err
		}, clavis.KindForbidden},
		{"policy expired", func(t *testing.T, f *cacheFixture) error {
			_, err := f.u.C.UpdatePolicy(ctx, f.vault, f.policy, clavis.PolicyPatch{ExpiresAt: new(time.Now().Add(time.Second))})
			time.Sleep(1100 * time.Millisecond) // past it, by the engine's clock
			return err
		}, clavis.KindNotFound},
		{"deny policy added", func(t *testing.T, f *cacheFixture) error {
			_, err := f.u.C.CreatePolicy(ctx, f.vault, clavis.PolicyInput{Pattern: "k", PrincipalType: clavis.PrincipalAgent,
				PrincipalID: f.agent.ID, Permissions: []string{"read"}, Effect: new(clavis.EffectDeny), Priority: 10})
			return err
		}, clavis.KindForbidden},
		{"agent deactivated", func(t *testing.T, f *cacheFixture) error {
			_, err := f.u.C.UpdateAgent(ctx, f.agent.ID, clavis.AgentPatch{Active: new(false)})
			return err
		}, clavis.KindUnauthorized},
		{"agent bound to another vault", func(t *testing.T, f *cacheFixture) error {
			other, err := f.u.C.CreateVault(ctx, clavis.VaultInput{Name: "other"})
			if err != nil {
				return err
			}
			_, err = f.u.C.UpdateAgent(ctx, f.agent.ID, clavis.AgentPatch{VaultIDs: &[]string{other.ID}})
			return err
		}, clavis.KindNotFound},
		{"agent key rotated", func(t *testing.T, f *cacheFixture) error {
			_, err := f.u.C.RotateAgentKey(ctx, f.agent.ID)
			return err
		}, clavis.KindUnauthorized},
		{"agent deleted", func(t *testing.T, f *cacheFixture) error { return f.u.C.DeleteAgent(ctx, f.agent.ID) }, clavis.KindUnauthorized},
		{"token revoked", func(t *testing.T, f *cacheFixture) error { return f.agent.C.RevokeToken(ctx) }, clavis.KindUnauthorized},
		{"IP rule blocks the caller", func(t *testing.T, f *cacheFixture) error {
			_, err := f.u.C.CreateIPRule(ctx, clavis.IPRuleInput{RuleType: clavis.IPRuleDeny, CIDR: "127.0.0.0/8",
				AppliesTo: clavis.IPRulesForAgents})
			return err
		}, clavis.KindForbidden},
		{"vault deleted", func(t *testing.T, f *cacheFixture) error { return f.u.C.DeleteVault(ctx, f.vault) }, clavis.KindNotFound},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newCacheFixture(t, env)
			f.warm(t, f.agent.C)
			if err := tc.change(t, f); err != nil {
				t.Fatalf("change: %v", err)
			}
			_, err := f.agent.C.GetSecret(ctx, f.vault, "k")
			if clavis.KindOf(err) != tc.want {
				t.Fatalf("read right after the change: %v, want %v", err, tc.want)
			}
		})
	}

	t.Run("write after the policy lost write", func(t *testing.T) {
		f := newCacheFixture(t, env)
		if _, err := f.u.C.UpdatePolicy(ctx, f.vault, f.policy, clavis.PolicyPatch{Permissions: &[]string{"read", "write"}}); err != nil {
			t.Fatal(err)
		}
		f.warm(t, f.agent.C) // a read fills the cache; writes then use it while the state epoch stands still
		for range 2 {
			if _, err := f.agent.C.PutSecret(ctx, f.vault, "k", clavis.SecretInput{Value: "v2"}); err != nil {
				t.Fatalf("write before the change: %v", err)
			}
		}
		if _, err := f.u.C.UpdatePolicy(ctx, f.vault, f.policy, clavis.PolicyPatch{Permissions: &[]string{"read"}}); err != nil {
			t.Fatal(err)
		}
		if _, err := f.agent.C.PutSecret(ctx, f.vault, "k", clavis.SecretInput{Value: "v3"}); clavis.KindOf(err) != clavis.KindForbidden {
			t.Fatalf("write right after the change: %v, want 403", err)
		}
	})

	t.Run("user token revoked", func(t *testing.T) {
		u := env.Signup(t)
		c := client.New(env.URL, client.WithToken(bearer(t, env, u)))
		for range 2 {
			if _, err := c.ListVaults(ctx); err != nil {
				t.Fatal(err)
			}
		}
		if err := c.RevokeToken(ctx); err != nil {
			t.Fatal(err)
		}
		if _, err := c.ListVaults(ctx); clavis.KindOf(err) != clavis.KindUnauthorized {
			t.Fatalf("the user's next request: %v, want 401", err)
		}
	})
}

// TestStateChangedElsewhereAppliesWithinTheBound: two engines (two processes, in effect) on one SQLite
// database; a change made through one reaches the other's cache within its staleness bound, however
// warm that cache was, and the changing engine itself applies it at once.
func TestStateChangedElsewhereAppliesWithinTheBound(t *testing.T) {
	const bound = 300 * time.Millisecond
	a := clavistest.New(t, clavistest.Options{StateStaleness: bound})
	b := clavistest.New(t, clavistest.Options{DataDir: a.DataDir, StateStaleness: bound})
	f := newCacheFixture(t, a)
	onA := f.agent.C
	tok, err := b.Client().AgentToken(ctx, f.agent.Key, f.agent.ID) // each engine is its own issuer
	if err != nil {
		t.Fatal(err)
	}
	onB := client.New(b.URL, client.WithToken(string(tok.AccessToken)))
	f.warm(t, onA)
	f.warm(t, onB)

	if _, err := client.New(b.URL, client.WithToken(bearer(t, b, f.u))).UpdateAgent(ctx, f.agent.ID, clavis.AgentPatch{Active: new(false)}); err != nil {
		t.Fatal(err)
	}
	changed := time.Now()
	if _, err := onB.GetSecret(ctx, f.vault, "k"); clavis.KindOf(err) != clavis.KindUnauthorized {
		t.Fatalf("on the engine that made the change, the next read: %v, want 401", err)
	}
	for { // informational: how soon the other engine noticed
		_, err := onA.GetSecret(ctx, f.vault, "k")
		if clavis.KindOf(err) == clavis.KindUnauthorized {
			t.Logf("the other engine refused %v after the change (bound %v)", time.Since(changed).Round(time.Millisecond), bound)
			break
		}
		if err != nil {
			t.Fatalf("on the other engine: %v", err)
		}
		if time.Since(changed) > bound {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	time.Sleep(time.Until(changed.Add(bound)))
	if _, err := onA.GetSecret(ctx, f.vault, "k"); clavis.KindOf(err) != clavis.KindUnauthorized {
		t.Fatalf("on the other engine, a read begun %v after the change: %v, want 401", bound, err)
	}
}

// TestWritesCheckCachedStateAgainstTheDatabase: a write transaction uses cached policies only while the
// database's state epoch is the one they were loaded at, so a policy changed by another process binds
// writes here at once, even while this engine's cache has not heard of the change yet.
func TestWritesCheckCachedStateAgainstTheDatabase(t *testing.T) {
	a := clavistest.New(t, clavistest.Options{StateStaleness: time.Minute}) // no poll during the test
	b := clavistest.New(t, clavistest.Options{DataDir: a.DataDir, StateStaleness: time.Minute})
	f := newCacheFixture(t, a)
	if _, err := f.u.C.UpdatePolicy(ctx, f.vault, f.policy, clavis.PolicyPatch{Permissions: &[]string{"read", "write"}}); err != nil {
		t.Fatal(err)
	}
	f.warm(t, f.agent.C)
	if _, err := f.agent.C.PutSecret(ctx, f.vault, "k", clavis.SecretInput{Value: "v2"}); err != nil {
		t.Fatalf("write before the change: %v", err)
	}
	onB := client.New(b.URL, client.WithToken(bearer(t, b, f.u)))
	if _, err := onB.UpdatePolicy(ctx, f.vault, f.policy, clavis.PolicyPatch{Permissions: &[]string{"read"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.agent.C.PutSecret(ctx, f.vault, "k", clavis.SecretInput{Value: "v3"}); clavis.KindOf(err) != clavis.KindForbidden {
		t.Fatalf("write on the other engine right after the change: %v, want 403", err)
	}
}
