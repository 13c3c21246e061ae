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
