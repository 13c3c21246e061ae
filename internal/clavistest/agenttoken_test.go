package clavistest_test

import (
	"encoding/base64"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"clavis.dev/clavis"
	"clavis.dev/clavis/internal/clavistest"
)

// exchangedScopes exchanges the agent's key and returns the scopes claim of the new token.
func exchangedScopes(t *testing.T, env *clavistest.Env, ag *clavistest.Agent) []string {
	t.Helper()
	tok, err := env.Client().AgentToken(ctx, ag.Key, ag.ID)
	if err != nil {
		t.Fatalf("agent token: %v", err)
	}
	parts := strings.Split(string(tok.AccessToken), ".")
	if len(parts) != 3 {
		t.Fatalf("token has %d parts", len(parts))
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var claims struct {
		Scopes []string `json:"scopes"`
	}
	if err := json.Unmarshal(payload, &claims); err != nil {
		t.Fatal(err)
	}
	return claims.Scopes
}

// TestAgentTokenScopesFollowPolicies: the scopes claim of an agent without scopes lists the patterns of
// its unexpired allow policies, and with those policies cached by earlier exchanges, each change of them
// shows in the very next exchange.
func TestAgentTokenScopesFollowPolicies(t *testing.T) {
	env := clavistest.New(t)
	f := newCacheFixture(t, env) // one allow policy "**" on f.vault
	other, err := f.u.C.CreateVault(ctx, clavis.VaultInput{Name: "other"})
	if err != nil {
		t.Fatal(err)
	}
	want := func(step string, patterns ...string) {
		t.Helper()
		for range 2 { // the second exchange is served from the cache
			if got := exchangedScopes(t, env, f.agent); !slices.Equal(got, patterns) {
				t.Fatalf("%s: scopes %q, want %q", step, got, patterns)
			}
		}
	}
	want("start", "**")
	p, err := f.u.C.CreatePolicy(ctx, other.ID, clavis.PolicyInput{Pattern: "x/**", PrincipalType: clavis.PrincipalAgent,
		PrincipalID: f.agent.ID, Permissions: []string{"read"}})
	if err != nil {
		t.Fatal(err)
	}
	want("policy added on another vault", "**", "x/**")
	if _, err := f.u.C.CreatePolicy(ctx, other.ID, clavis.PolicyInput{Pattern: "y", PrincipalType: clavis.PrincipalAgent,
		PrincipalID: f.agent.ID, Permissions: []string{"read"}, Effect: new(clavis.EffectDeny)}); err != nil {
		t.Fatal(err)
	}
	want("deny policy added", "**", "x/**")
	if _, err := f.u.C.UpdatePolicy(ctx, other.ID, p.ID, clavis.PolicyPatch{ExpiresAt: new(time.Now().Add(time.Second))}); err != nil {
		t.Fatal(err)
	}
	want("policy set to expire", "**", "x/**")
	time.Sleep(1100 * time.Millisecond) // past it, by the engine's clock
	want("policy expired", "**")
	if err := f.u.C.DeletePolicy(ctx, f.vault, f.policy); err != nil {
		t.Fatal(err)
	}
	want("policy deleted")
}

// TestAgentKeyExchangeFollowsAgentChanges: with the agent cached by earlier exchanges of its key, each
// change of the agent applies to the very next exchange.
func TestAgentKeyExchangeFollowsAgentChanges(t *testing.T) {
	env := clavistest.New(t)
	exchange := func(f *cacheFixture, key string) error {
		for range 2 {
			if _, err := env.Client().AgentToken(ctx, key, f.agent.ID); err != nil {
				return err
			}
		}
		return nil
	}
	tests := []struct {
		name   string
		change func(t *testing.T, f *cacheFixture) (key string, err error) // the key to exchange next
		want   clavis.Kind                                                 // -1: success
	}{
		{"agent deactivated", func(t *testing.T, f *cacheFixture) (string, error) {
			_, err := f.u.C.UpdateAgent(ctx, f.agent.ID, clavis.AgentPatch{Active: new(false)})
			return f.agent.Key, err
		}, clavis.KindUnauthorized},
		{"agent key rotated: the old key", func(t *testing.T, f *cacheFixture) (string, error) {
			_, err := f.u.C.RotateAgentKey(ctx, f.agent.ID)
			return f.agent.Key, err
		}, clavis.KindUnauthorized},
		{"agent key rotated: the new key", func(t *testing.T, f *cacheFixture) (string, error) {
			k, err := f.u.C.RotateAgentKey(ctx, f.agent.ID)
			if err != nil {
				return "", err
			}
			return string(k.Key), nil
		}, -1},
		{"agent deleted", func(t *testing.T, f *cacheFixture) (string, error) {
			return f.agent.Key, f.u.C.DeleteAgent(ctx, f.agent.ID)
		}, clavis.KindUnauthorized},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newCacheFixture(t, env)
			if err := exchange(f, f.agent.Key); err != nil {
				t.Fatalf("exchange before the change: %v", err)
			}
			key, err := tc.change(t, f)
			if err != nil {
				t.Fatalf("change: %v", err)
			}
			_, err = env.Client().AgentToken(ctx, key, f.agent.ID)
			if tc.want == -1 && err != nil || tc.want != -1 && clavis.KindOf(err) != tc.want {
				t.Fatalf("exchange right after the change: %v, want %v", err, tc.want)
			}
		})
	}
}

// TestAgentLastActiveAtResolution: an exchange sets the agent's last_active_at when it is unset or at
// least a minute old, and leaves it otherwise, also while the agent is served from the cache.
func TestAgentLastActiveAtResolution(t *testing.T) {
	env, clk := clockEnv(t)
	u := env.Signup(t)
	ak, err := u.C.CreateAgent(ctx, clavis.AgentInput{Name: "active"})
	if err != nil {
		t.Fatal(err)
	}
	lastActive := func() *time.Time {
		t.Helper()
		a, err := u.C.GetAgent(ctx, ak.Agent.ID)
		if err != nil {
			t.Fatal(err)
		}
		return a.LastActiveAt
	}
	exchangeAt := func(at time.Time) {
		t.Helper()
		clk.Set(at)
		if _, err := env.Client().AgentToken(ctx, string(ak.Key), ak.Agent.ID); err != nil {
			t.Fatal(err)
		}
	}
	if got := lastActive(); got != nil {
		t.Fatalf("last_active_at of a new agent = %v, want none", got)
	}
	t0 := clavis.Truncate(clk.Now())
	for _, step := range []struct {
		at, want time.Duration // after t0
	}{{0, 0}, {30 * time.Second, 0}, {time.Minute - tick, 0}, {time.Minute, time.Minute}, {90 * time.Second, time.Minute},
		{2*time.Minute + tick, 2*time.Minute + tick}} {
		exchangeAt(t0.Add(step.at))
		if got := lastActive(); got == nil || !got.Equal(t0.Add(step.want)) {
			t.Fatalf("after an exchange at t0+%v: last_active_at = %v, want t0+%v", step.at, got, step.want)
		}
	}
}
