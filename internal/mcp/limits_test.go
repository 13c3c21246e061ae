package mcp_test

import (
	"context"
	"strings"
	"testing"

	"clavis.dev/clavis"
	"clavis.dev/clavis/internal/clavistest"
	"clavis.dev/clavis/internal/engine"
	"clavis.dev/clavis/internal/httpapi"
	clavismcp "clavis.dev/clavis/internal/mcp"
	"clavis.dev/clavis/internal/ratelimit"
)

// TestMcpRateLimited checks that a 429 of the service is an error result naming the wait.
func TestMcpRateLimited(t *testing.T) {
	ctx := context.Background()
	env := clavistest.New(t, clavistest.Options{API: func(_ *engine.Engine, o *httpapi.Options) {
		o.RateLimits = &httpapi.RateLimits{PublicAuth: ratelimit.Rule{Burst: 30, Rate: 10}, Principal: ratelimit.Rule{Burst: 6, Rate: 0.01}}
	}})
	u := env.Signup(t)
	v, err := u.C.CreateVault(ctx, clavis.VaultInput{Name: "main"})
	if err != nil {
		t.Fatal(err)
	}
	a := env.NewAgent(t, u, clavis.AgentInput{})
	mustPolicy(t, u.C, v.ID, clavis.PolicyInput{Pattern: "**", PrincipalType: clavis.PrincipalAgent, PrincipalID: a.ID, Permissions: []string{"read"}})
	s := connect(t, a.C, clavismcp.Options{DefaultVault: v.ID})
	for i := 0; i < 6; i++ {
		s.want(t, "list_secrets", nil, "No secrets found in this vault.", false)
	}
	s.want(t, "list_secrets", nil, "Rate limited; retry in 100 s", true)
}

// TestMcpDescribeNeverReads checks that describe_secret and list_secrets record no read and spend no
// access count: a secret readable once stays readable after being described.
func TestMcpDescribeNeverReads(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	s := connect(t, f.agent.C, clavismcp.Options{DefaultVault: f.vault})
	s.want(t, "put_secret", map[string]any{"path": "app/once", "value": canaryDB, "max_access_count": 1, "metadata": map[string]any{"owner": "ops"}},
		"Secret stored at 'app/once' (version 1, type: api_key).", false)
	got, _ := s.call(t, "describe_secret", map[string]any{"path": "app/once"})
	if !strings.HasPrefix(got, `{"path":"app/once","type":"api_key","version":1,"metadata":{"owner":"ops"},`) {
		t.Errorf("describe_secret = %q", got)
	}
	s.call(t, "list_secrets", nil)
	s.call(t, "list_versions", map[string]any{"path": "app/once"})
	evs, err := f.user.C.ListAudit(ctx, clavis.AuditQuery{Action: "secret.read"})
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 0 {
		t.Errorf("secret.read events after describe = %d, want 0", len(evs))
	}
	s.want(t, "get_secret", map[string]any{"path": "app/once"}, `{"path":"app/once","type":"api_key","version":1,"value":"`+canaryDB+`"}`, false)
	s.scan(t, canaryDB)
}

// TestMcpInputEnums checks that the enumerated inputs are refused before the service is called, with a
// text that names the property and never quotes the arguments.
func TestMcpInputEnums(t *testing.T) {
	f := newFixture(t)
	s := connect(t, f.agent.C, clavismcp.Options{DefaultVault: f.vault})
	s.want(t, "put_secret", map[string]any{"path": "app/a", "value": canaryDB, "type": "nonsense"}, "Error: invalid arguments (type)", true)
	s.want(t, "rotate_generate", map[string]any{"path": "app/a", "charset": "emoji"}, "Error: invalid arguments (charset)", true)
	s.want(t, "grant_access", map[string]any{"vault_id": f.vault, "principal_type": "robot", "principal_id": f.agent.ID}, "Error: invalid arguments (principal_type)", true)
	s.want(t, "grant_access", map[string]any{"vault_id": f.vault, "principal_type": "agent", "principal_id": f.agent.ID, "permissions": []string{"own"}},
		"Error: invalid arguments (permissions)", true)
	s.want(t, "explain_access", map[string]any{"path": "app/a", "permission": "fly"}, "Error: invalid arguments (permission)", true)
	s.want(t, "put_secret", map[string]any{"path": "app/a", "value": canaryDB, "max_access_count": 0}, "Error: max_access_count must be greater than 0", true)
	s.want(t, "rotate_generate", map[string]any{"path": "app/a", "length": 0}, "Error: length must be between 8 and 1024", true)
	s.want(t, "put_secret", map[string]any{"path": "app/a", "value": canaryDB, "type": "password"}, "Secret stored at 'app/a' (version 1, type: password).", false)
	s.scan(t, canaryDB)
}
