package mcp_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"clavis.dev/clavis"
	"clavis.dev/clavis/internal/clavistest"
	clavismcp "clavis.dev/clavis/internal/mcp"
)

// fixture is a user's vault and an agent allowed read/write/delete/rotate on app/**.
type fixture struct {
	env   *clavistest.Env
	clock *clavistest.Clock
	user  *clavistest.User
	agent *clavistest.Agent
	vault string
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	ctx := context.Background()
	clock := clavistest.NewClock()
	clock.Set(clock.Now().Truncate(time.Second))
	env := clavistest.New(t, clavistest.Options{Clock: clock.Now})
	u := env.Signup(t)
	v, err := u.C.CreateVault(ctx, clavis.VaultInput{Name: "main"})
	if err != nil {
		t.Fatal(err)
	}
	a := env.NewAgent(t, u, clavis.AgentInput{})
	mustPolicy(t, u.C, v.ID, clavis.PolicyInput{Pattern: "app/**", PrincipalType: clavis.PrincipalAgent, PrincipalID: a.ID,
		Permissions: []string{"read", "write", "delete", "rotate"}})
	return &fixture{env: env, clock: clock, user: u, agent: a, vault: v.ID}
}

const (
	canaryDB      = "canary-db-7f3a9c1e5b2d"
	canaryRotated = "canary-rotated-0e9d8c7b6a"
	canaryPrivate = "canary-private-11aa22bb33"
	canaryEnv     = "canary-env-value-5566"
)

// TestMcpTools drives every tool through the SDK's client over in-memory transports, acting through both
// implementations of the service — the agent's real client over HTTP (as `clavis mcp`) and the engine
// bound to the agent's caller (as /mcp): golden output texts, deny/404/410 errors, and a canary scan of
// every output.
func TestMcpTools(t *testing.T) {
	for _, impl := range []string{"client", "engine"} {
		t.Run(impl, func(t *testing.T) {
			f := newFixture(t)
			var svc clavismcp.Service = f.agent.C
			if impl == "engine" {
				c, err := f.env.Engine.Authenticate(context.Background(), f.agent.Token, netip.MustParseAddr("127.0.0.1"))
				if err != nil {
					t.Fatal(err)
				}
				svc = f.env.Engine.As(c)
			}
			testTools(t, f, svc)
		})
	}
}

func testTools(t *testing.T, f *fixture, svc clavismcp.Service) {
	ctx := context.Background()
	if _, err := f.user.C.PutSecret(ctx, f.vault, "private/key", clavis.SecretInput{Value: canaryPrivate}); err != nil {
		t.Fatal(err)
	}
	s := connect(t, svc, clavismcp.Options{Version: "test", DefaultVault: f.vault})
	now := f.clock.Now().UTC().Format(time.RFC3339)

	s.want(t, "list_secrets", nil, "No secrets found in this vault.", false)
	s.want(t, "put_secret", map[string]any{"path": "app/db", "value": canaryDB, "type": "password"},
		"Secret stored at 'app/db' (version 1, type: password).", false)
	s.want(t, "put_secret", map[string]any{"path": "app/api", "value": "short-but-secret"},
		"Secret stored at 'app/api' (version 1, type: api_key).", false)
	s.want(t, "list_secrets", nil,
		"Found 2 secret(s):\n- app/api  (type: api_key, version: 1, expires: never)\n- app/db  (type: password, version: 1, expires: never)", false)
	s.want(t, "list_secrets", map[string]any{"prefix": "app/d"},
		"Found 1 secret(s):\n- app/db  (type: password, version: 1, expires: never)", false)
	s.want(t, "describe_secret", map[string]any{"path": "app/db"},
		`{"path":"app/db","type":"password","version":1,"metadata":{},"created_at":"`+now+`","expires_at":null}`, false)
	s.want(t, "get_secret", map[string]any{"path": "app/db"},
		`{"path":"app/db","type":"password","version":1,"value":"`+canaryDB+`"}`, false)

	// Denials never tell whether the path exists; 404 and the vault are named.
	s.want(t, "get_secret", map[string]any{"path": "private/key"}, "Access denied: private/key", true)
	s.want(t, "get_secret", map[string]any{"path": "private/none"}, "Access denied: private/none", true)
	s.want(t, "describe_secret", map[string]any{"path": "private/key"}, "Access denied: private/key", true)
	s.want(t, "put_secret", map[string]any{"path": "private/key", "value": "x"}, "Access denied: private/key", true)
	s.want(t, "delete_secret", map[string]any{"path": "private/key"}, "Access denied: private/key", true)
	s.want(t, "get_secret", map[string]any{"path": "app/missing"}, "Secret not found: app/missing", true)
	other := "00000000-0000-4000-8000-000000000001"
	s.want(t, "get_secret", map[string]any{"path": "app/db", "vault_id": other}, "Vault not found: "+other, true)
	s.want(t, "list_secrets", map[string]any{"vault_id": other}, "Vault not found: "+other, true)

	// Rotation keeps the type; the generated value is never returned.
	s.want(t, "rotate_and_store", map[string]any{"path": "app/db", "value": canaryRotated},
		"Rotated secret at 'app/db'. New version: 2.", false)
	s.want(t, "rotate_generate", map[string]any{"path": "app/api", "length": 40, "charset": "alphanumeric"},
		"Rotated secret at 'app/api'. New version: 2.", false)
	s.want(t, "rotate_generate", map[string]any{"path": "app/api", "length": 4}, "Error: length must be between 8 and 1024", true)
	generated, err := f.user.C.GetSecret(ctx, f.vault, "app/api")
	if err != nil || len(generated.Value) != 40 {
		t.Fatalf("generated value: %v (len %d)", err, len(generated.Value))
	}
	s.want(t, "list_versions", map[string]any{"path": "app/db"},
		"Versions of 'app/db':\n- v2  (created: "+now+", disabled: no)\n- v1  (created: "+now+", disabled: no)", false)
	s.want(t, "list_secrets", map[string]any{"prefix": "app/db"},
		"Found 1 secret(s):\n- app/db  (type: password, version: 2, expires: never)", false)

	// 410 with each reason.
	s.want(t, "delete_secret", map[string]any{"path": "app/api"}, "Secret at 'app/api' has been soft-deleted.", false)
	s.want(t, "get_secret", map[string]any{"path": "app/api"}, "Secret is no longer available: app/api (deleted)", true)
	s.want(t, "delete_secret", map[string]any{"path": "app/api"}, "Secret is no longer available: app/api (deleted)", true)
	s.want(t, "put_secret", map[string]any{"path": "app/once", "value": "once-value-123", "max_access_count": 1},
		"Secret stored at 'app/once' (version 1, type: api_key).", false)
	s.want(t, "get_secret", map[string]any{"path": "app/once"}, `{"path":"app/once","type":"api_key","version":1,"value":"once-value-123"}`, false)
	s.want(t, "get_secret", map[string]any{"path": "app/once"}, "Secret is no longer available: app/once (max reads reached)", true)
	s.want(t, "put_secret", map[string]any{"path": "app/dis", "value": "disabled-value-1"},
		"Secret stored at 'app/dis' (version 1, type: api_key).", false)
	if err := f.user.C.DisableVersion(ctx, f.vault, "app/dis", 1); err != nil {
		t.Fatal(err)
	}
	s.want(t, "get_secret", map[string]any{"path": "app/dis"}, "Secret is no longer available: app/dis (version disabled)", true)
	exp := f.clock.Now().Add(10 * time.Second).UTC().Format(time.RFC3339)
	s.want(t, "put_secret", map[string]any{"path": "app/exp", "value": "expiring-value-1", "expires_at": exp},
		"Secret stored at 'app/exp' (version 1, type: api_key).", false)
	s.want(t, "list_secrets", map[string]any{"prefix": "app/exp"},
		"Found 1 secret(s):\n- app/exp  (type: api_key, version: 1, expires: "+exp+")", false)
	f.clock.Advance(20 * time.Second)
	s.want(t, "get_secret", map[string]any{"path": "app/exp"}, "Secret is no longer available: app/exp (expired)", true)

	// env_bundle.
	s.want(t, "put_secret", map[string]any{"path": "app/env", "value": "A=" + canaryEnv + "\n# comment\nB=x=y\n", "type": "env_bundle"},
		"Secret stored at 'app/env' (version 1, type: env_bundle).", false)
	s.want(t, "get_env_bundle", map[string]any{"path": "app/env"}, `{"A":"`+canaryEnv+`","B":"x=y"}`, false)
	s.want(t, "get_env_bundle", map[string]any{"path": "app/db"}, "Secret at 'app/db' is not an env_bundle", true)
	s.want(t, "get_env_bundle", map[string]any{"path": "private/key"}, "Access denied: private/key", true)

	// explain_access is the agent's own decision, with api.md's reason codes.
	for _, c := range []struct{ path, perm string }{{"app/db", ""}, {"app/db", "share"}, {"private/key", "read"}} {
		perm := c.perm
		if perm == "" {
			perm = "read"
		}
		x, err := f.agent.C.Explain(ctx, f.vault, clavis.ExplainQuery{Path: c.path, Permission: clavis.Permission(perm)})
		if err != nil {
			t.Fatal(err)
		}
		want := "denied: " + x.Reason
		if x.Allowed {
			want = "allowed: " + x.Reason
		}
		args := map[string]any{"path": c.path}
		if c.perm != "" {
			args["permission"] = c.perm
		}
		s.want(t, "explain_access", args, want, false)
	}
	if got, _ := s.call(t, "explain_access", map[string]any{"path": "app/db"}); got != "allowed: policy_allow" {
		t.Errorf("explain_access app/db = %q, want allowed: policy_allow", got)
	}

	// Vaults: the agent creates its own, lists, and grants on it; granting on the user's vault is denied.
	got, isErr := s.call(t, "create_vault", map[string]any{"name": "agent-vault", "description": "d"})
	id, _, _ := strings.Cut(strings.TrimPrefix(got, "Vault created successfully.\n  ID: "), "\n")
	if want := "Vault created successfully.\n  ID: " + id + "\n  Name: agent-vault\n  Owner: agent:" + f.agent.ID; isErr || got != want || id == "" {
		t.Errorf("create_vault = %q, want %q", got, want)
	}
	vs, err := f.agent.C.ListVaults(ctx)
	if err != nil {
		t.Fatal(err)
	}
	wantList := fmt.Sprintf("Found %d vault(s):", len(vs))
	for _, v := range vs {
		wantList += fmt.Sprintf("\n- %s  (id: %s, created by: %s, %s)", v.Name, v.ID, v.CreatedByType, v.CreatedAt.UTC().Format(time.RFC3339))
	}
	s.want(t, "list_vaults", nil, wantList, false)
	got, isErr = s.call(t, "grant_access", map[string]any{"vault_id": id, "principal_type": "user", "principal_id": f.user.ID})
	pid, _, _ := strings.Cut(strings.TrimPrefix(got, "Access granted.\n  Policy ID: "), "\n")
	if want := "Access granted.\n  Policy ID: " + pid + "\n  Vault: " + id + "\n  Granted to: user:" + f.user.ID +
		"\n  Permissions: read\n  Path pattern: **"; isErr || got != want {
		t.Errorf("grant_access = %q, want %q", got, want)
	}
	s.want(t, "grant_access", map[string]any{"vault_id": f.vault, "principal_type": "agent", "principal_id": f.agent.ID,
		"permissions": []string{"read", "share"}, "secret_path_pattern": "private/**"}, "Access denied", true)
	s.want(t, "grant_access", map[string]any{"vault_id": other, "principal_type": "agent", "principal_id": f.agent.ID},
		"Vault not found: "+other, true)

	s.scan(t, canaryDB, canaryRotated, canaryPrivate, canaryEnv, string(generated.Value), "once-value-123")
}

// TestMcpRedactsReturnedValues checks that a value returned by get_secret or get_env_bundle is redacted
// from later outputs of the session, and that the resource lists the default vault without values.
func TestMcpRedactsReturnedValues(t *testing.T) {
	f := newFixture(t)
	s := connect(t, f.agent.C, clavismcp.Options{DefaultVault: f.vault})
	s.call(t, "put_secret", map[string]any{"path": "app/db", "value": canaryDB})
	s.call(t, "put_secret", map[string]any{"path": "app/env", "value": "A=" + canaryEnv + "\nB=short", "type": "env_bundle"})
	s.call(t, "get_secret", map[string]any{"path": "app/db"})
	s.call(t, "get_env_bundle", map[string]any{"path": "app/env"})
	s.call(t, "put_secret", map[string]any{"path": "app/meta", "value": "v", "metadata": map[string]any{"a": canaryDB, "b": canaryEnv, "c": "short"}})
	got, _ := s.call(t, "describe_secret", map[string]any{"path": "app/meta"})
	if want := `"metadata":{"a":"[REDACTED:app/db]","b":"[REDACTED:app/env]","c":"short"}`; !strings.Contains(got, want) {
		t.Errorf("describe_secret = %q, want it to contain %q", got, want)
	}
	// A value tool still returns its own value.
	s.want(t, "get_secret", map[string]any{"path": "app/db"}, `{"path":"app/db","type":"api_key","version":1,"value":"`+canaryDB+`"}`, false)

	res, err := s.cs.ReadResource(context.Background(), &mcp.ReadResourceParams{URI: "vault://secrets"})
	if err != nil {
		t.Fatal(err)
	}
	var items []map[string]any
	if err := json.Unmarshal([]byte(res.Contents[0].Text), &items); err != nil {
		t.Fatal(err)
	}
	if len(items) != 3 || items[0]["path"] != "app/db" || items[0]["type"] != "api_key" || items[0]["version"] != 1.0 || items[0]["expires_at"] != nil {
		t.Errorf("vault://secrets = %s", res.Contents[0].Text)
	}
	if strings.Contains(res.Contents[0].Text, canaryDB) {
		t.Errorf("vault://secrets leaks a value")
	}
	// The SDK's own argument errors quote the arguments; they are replaced.
	s.want(t, "put_secret", map[string]any{"path": "app/x", "value": map[string]any{"v": canaryDB}}, "Error: invalid arguments (value)", true)
	s.scan(t, canaryDB, canaryEnv)
}

// TestMcpToolList checks names, annotations, the absence of output schemas and --mcp-no-value-tools.
func TestMcpToolList(t *testing.T) {
	f := newFixture(t)
	all := []string{"create_vault", "delete_secret", "describe_secret", "explain_access", "get_approval_status", "get_env_bundle",
		"get_secret", "grant_access", "list_secrets", "list_vaults", "list_versions", "put_secret", "request_access",
		"rotate_and_store", "rotate_generate", "share_secret", "use_secret"}
	readOnly := []string{"describe_secret", "explain_access", "get_approval_status", "get_env_bundle", "get_secret", "list_secrets",
		"list_vaults", "list_versions"}
	for _, noValue := range []bool{false, true} {
		s := connect(t, f.agent.C, clavismcp.Options{NoValueTools: noValue})
		res, err := s.cs.ListTools(context.Background(), nil)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, tool := range res.Tools {
			names = append(names, tool.Name)
			if tool.OutputSchema != nil {
				t.Errorf("%s declares an output schema", tool.Name)
			}
			a := tool.Annotations
			if a == nil {
				t.Errorf("%s: no annotations", tool.Name)
				continue
			}
			if got, want := a.ReadOnlyHint, slices.Contains(readOnly, tool.Name); got != want {
				t.Errorf("%s readOnlyHint = %v, want %v", tool.Name, got, want)
			}
			if got, want := a.DestructiveHint != nil && *a.DestructiveHint, tool.Name == "delete_secret" || tool.Name == "use_secret"; got != want {
				t.Errorf("%s destructiveHint = %v, want %v", tool.Name, got, want)
			}
		}
		slices.Sort(names)
		want := all
		if noValue {
			want = slices.DeleteFunc(slices.Clone(all), func(n string) bool { return n == "get_secret" || n == "get_env_bundle" })
		}
		if !slices.Equal(names, want) {
			t.Errorf("noValueTools=%v: tools %v, want %v", noValue, names, want)
		}
	}
}

// TestMcpVaultSelection checks the default vault: an unbound agent without one is told to choose, an
// agent bound to exactly one vault uses it.
func TestMcpVaultSelection(t *testing.T) {
	f := newFixture(t)
	s := connect(t, f.agent.C, clavismcp.Options{})
	s.want(t, "list_secrets", nil, "No vault selected: pass vault_id or set CLAVIS_VAULT_ID", true)
	s.want(t, "list_secrets", map[string]any{"vault_id": f.vault}, "No secrets found in this vault.", false)

	bound := f.env.NewAgent(t, f.user, clavis.AgentInput{VaultIDs: []string{f.vault}})
	mustPolicy(t, f.user.C, f.vault, clavis.PolicyInput{Pattern: "**", PrincipalType: clavis.PrincipalAgent, PrincipalID: bound.ID,
		Permissions: []string{"read", "write"}})
	b := connect(t, bound.C, clavismcp.Options{})
	b.want(t, "put_secret", map[string]any{"path": "x", "value": "y"}, "Secret stored at 'x' (version 1, type: api_key).", false)
}

// TestMcpShareSecret: share_secret through both implementations, with the golden text of docs/mcp.md
// and its errors; the shared value never appears in the output.
func TestMcpShareSecret(t *testing.T) {
	for _, impl := range []string{"client", "engine"} {
		t.Run(impl, func(t *testing.T) {
			ctx := context.Background()
			f := newFixture(t)
			var svc clavismcp.Service = f.agent.C
			if impl == "engine" {
				c, err := f.env.Engine.Authenticate(ctx, f.agent.Token, netip.MustParseAddr("127.0.0.1"))
				if err != nil {
					t.Fatal(err)
				}
				svc = f.env.Engine.As(c)
			}
			mustPolicy(t, f.user.C, f.vault, clavis.PolicyInput{Pattern: "app/**", PrincipalType: clavis.PrincipalAgent, PrincipalID: f.agent.ID,
				Permissions: []string{"share"}})
			shared, err := f.user.C.PutSecret(ctx, f.vault, "app/db", clavis.SecretInput{Value: canaryDB})
			if err != nil {
				t.Fatal(err)
			}
			private, err := f.user.C.PutSecret(ctx, f.vault, "private/key", clavis.SecretInput{Value: canaryPrivate})
			if err != nil {
				t.Fatal(err)
			}
			s := connect(t, svc, clavismcp.Options{DefaultVault: f.vault})
			exp := f.clock.Now().Add(time.Hour).UTC().Format(time.RFC3339)
			id := shared.Secret.ID

			got, isErr := s.call(t, "share_secret", map[string]any{"secret_id": id, "recipient_type": "anyone_with_link", "expires_at": exp})
			shareID, _, _ := strings.Cut(strings.TrimPrefix(got, "Secret shared successfully.\n  Share ID: "), "\n")
			want := "Secret shared successfully.\n  Share ID: " + shareID + "\n  Recipient: anyone_with_link\n  Expires: " + exp +
				"\n  Max accesses: 5\n  URL: " + f.env.URL + "/v1/share/" + shareID
			if isErr || got != want {
				t.Errorf("share_secret = %q, want %q", got, want)
			}
			got, isErr = s.call(t, "share_secret", map[string]any{"secret_id": id, "recipient_type": "creator", "expires_at": exp, "max_access_count": 1})
			if isErr || !strings.Contains(got, "\n  Recipient: creator:"+f.user.ID+"\n") || !strings.Contains(got, "\n  Max accesses: 1\n") {
				t.Errorf("share_secret to the creator = %q", got)
			}
			s.want(t, "share_secret", map[string]any{"secret_id": id, "recipient_type": "agent", "expires_at": exp},
				"Error: recipient_id is required when sharing with a agent.", true)
			s.want(t, "share_secret", map[string]any{"secret_id": id, "recipient_type": "anyone_with_link", "expires_at": "tomorrow"},
				"Error: expires_at must be an RFC 3339 time", true)
			s.want(t, "share_secret", map[string]any{"secret_id": private.Secret.ID, "recipient_type": "anyone_with_link", "expires_at": exp},
				"Access denied: "+private.Secret.ID, true)
			absent := "00000000-0000-4000-8000-000000000002"
			s.want(t, "share_secret", map[string]any{"secret_id": absent, "recipient_type": "anyone_with_link", "expires_at": exp},
				"Secret not found: "+absent, true)
			s.scan(t, canaryDB, canaryPrivate)
		})
	}
}
