package main

import (
	"context"
	"net/http"
	"strings"
	"testing"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"

	"clavis.dev/clavis"
	"clavis.dev/clavis/client"
	"clavis.dev/clavis/internal/clavistest"
	"clavis.dev/clavis/internal/engine"
	"clavis.dev/clavis/internal/httpapi"
	"clavis.dev/clavis/internal/ratelimit"
)

// mcpServer starts the full stack with /mcp served as `clavis server` wires it.
func mcpServer(t *testing.T, allowUsers bool, limits *httpapi.RateLimits) *clavistest.Env {
	t.Helper()
	return clavistest.New(t, clavistest.Options{API: func(e *engine.Engine, o *httpapi.Options) {
		o.MCP, o.MCPAllowUsers, o.RateLimits = mcpHTTP(e, false), allowUsers, limits
	}})
}

// bearer adds headers to every request.
type bearer struct{ h http.Header }

func (b bearer) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	for k, v := range b.h {
		r.Header[k] = v
	}
	return http.DefaultTransport.RoundTrip(r)
}

// mcpHTTPSession connects the SDK's streamable client to /mcp with the given headers.
func mcpHTTPSession(t *testing.T, env *clavistest.Env, h http.Header) (*sdk.ClientSession, error) {
	t.Helper()
	tr := &sdk.StreamableClientTransport{Endpoint: env.URL + "/mcp", HTTPClient: &http.Client{Transport: bearer{h}},
		MaxRetries: -1, DisableStandaloneSSE: true}
	cs, err := sdk.NewClient(&sdk.Implementation{Name: "test", Version: "1"}, nil).Connect(context.Background(), tr, nil)
	if err == nil {
		t.Cleanup(func() { _ = cs.Close() })
	}
	return cs, err
}

func bearerHeader(cred string, kv ...string) http.Header {
	h := http.Header{"Authorization": {"Bearer " + cred}}
	for i := 0; i+1 < len(kv); i += 2 {
		h.Set(kv[i], kv[i+1])
	}
	return h
}

// rawInitialize posts an initialize request to /mcp and returns the response.
func rawInitialize(t *testing.T, env *clavistest.Env, h http.Header) *http.Response {
	t.Helper()
	req, _ := http.NewRequest("POST", env.URL+"/mcp", strings.NewReader(
		`{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	for k, v := range h {
		req.Header[k] = v
	}
	if host := h.Get("Host"); host != "" {
		req.Host = host
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close() // read-only body
	return resp
}

// TestMcpHTTP drives /mcp over real HTTP with the SDK's streamable client: agent JWT and ocv_ key,
// X-Vault-ID as the default vault, audit with details.via = "mcp", and the refused credentials.
func TestMcpHTTP(t *testing.T) {
	ctx := context.Background()
	env := mcpServer(t, false, nil)
	u := env.Signup(t)
	v, err := u.C.CreateVault(ctx, clavis.VaultInput{Name: "main"})
	if err != nil {
		t.Fatal(err)
	}
	a := env.NewAgent(t, u, clavis.AgentInput{})
	if _, err := u.C.CreatePolicy(ctx, v.ID, clavis.PolicyInput{Pattern: "**", PrincipalType: clavis.PrincipalAgent,
		PrincipalID: a.ID, Permissions: []string{"read", "write"}}); err != nil {
		t.Fatal(err)
	}

	for _, cred := range []struct{ name, value string }{{"jwt", a.Token}, {"key", a.Key}} {
		t.Run(cred.name, func(t *testing.T) {
			cs, err := mcpHTTPSession(t, env, bearerHeader(cred.value, "X-Vault-ID", v.ID))
			if err != nil {
				t.Fatal(err)
			}
			if got, isErr := mcpText(t, cs, "put_secret", map[string]any{"path": "p/" + cred.name, "value": "http-value-123"}); isErr ||
				got != "Secret stored at 'p/"+cred.name+"' (version 1, type: api_key)." {
				t.Errorf("put_secret = %q (isError=%v)", got, isErr)
			}
			want := `{"path":"p/` + cred.name + `","type":"api_key","version":1,"value":"http-value-123"}`
			if got, isErr := mcpText(t, cs, "get_secret", map[string]any{"path": "p/" + cred.name}); isErr || got != want {
				t.Errorf("get_secret = %q (isError=%v)", got, isErr)
			}
		})
	}
	// Without X-Vault-ID an unbound agent must name the vault.
	cs, err := mcpHTTPSession(t, env, bearerHeader(a.Token))
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := mcpText(t, cs, "list_secrets", nil); got != "No vault selected: pass vault_id or set CLAVIS_VAULT_ID" {
		t.Errorf("list_secrets without a vault = %q", got)
	}

	evs, err := u.C.ListAudit(ctx, clavis.AuditQuery{Action: "secret.read"})
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 2 {
		t.Fatalf("secret.read events = %d, want 2", len(evs))
	}
	for _, ev := range evs {
		if ev.Details["via"] != "mcp" {
			t.Errorf("secret.read details = %v, want via mcp", ev.Details)
		}
	}

	// Refused: no credential, garbage, a user's token, a foreign Origin.
	for _, c := range []struct {
		name   string
		h      http.Header
		status int
	}{
		{"no credential", http.Header{}, 401},
		{"garbage", bearerHeader("garbage"), 401},
		{"user token", bearerHeader(u.Token), 401},
		{"foreign origin", bearerHeader(a.Token, "Origin", "http://evil.example"), 403},
		{"own origin", bearerHeader(a.Token, "Origin", env.URL), 200},
		{"rebound host", bearerHeader(a.Token, "Host", "evil.example"), 403},
		{"localhost", bearerHeader(a.Token, "Host", "localhost"), 200},
	} {
		resp := rawInitialize(t, env, c.h)
		if resp.StatusCode != c.status {
			t.Errorf("%s: status %d, want %d", c.name, resp.StatusCode, c.status)
		}
		if c.status == 401 && resp.Header.Get("WWW-Authenticate") != "Bearer" {
			t.Errorf("%s: WWW-Authenticate = %q, want Bearer", c.name, resp.Header.Get("WWW-Authenticate"))
		}
	}
	if _, err := mcpHTTPSession(t, env, bearerHeader(u.Token)); err == nil {
		t.Errorf("the SDK client connected with a user token")
	}
}

// TestMcpHTTPUsersAndRateLimit checks --mcp-allow-users and the per-principal rate limit on /mcp.
func TestMcpHTTPUsersAndRateLimit(t *testing.T) {
	ctx := context.Background()
	env := mcpServer(t, true, &httpapi.RateLimits{PublicAuth: ratelimit.Rule{Burst: 30, Rate: 10},
		Principal: ratelimit.Rule{Burst: 12, Rate: 0.001}, IPv6Prefix: 64})
	u := env.Signup(t)
	v, err := u.C.CreateVault(ctx, clavis.VaultInput{Name: "main"})
	if err != nil {
		t.Fatal(err)
	}
	a := env.NewAgent(t, u, clavis.AgentInput{})
	if resp := rawInitialize(t, env, bearerHeader(u.Token)); resp.StatusCode != 200 {
		t.Errorf("user token with --mcp-allow-users: status %d, want 200", resp.StatusCode)
	}
	cs, err := mcpHTTPSession(t, env, bearerHeader(u.Token, "X-Vault-ID", v.ID))
	if err != nil {
		t.Fatal(err)
	}
	if got, isErr := mcpText(t, cs, "list_secrets", nil); isErr || got != "No secrets found in this vault." {
		t.Errorf("list_secrets as the user = %q", got)
	}

	n := 0
	for ; n < 30; n++ {
		resp := rawInitialize(t, env, bearerHeader(a.Token))
		if resp.StatusCode == http.StatusTooManyRequests {
			if resp.Header.Get("Retry-After") == "" {
				t.Errorf("429 without Retry-After")
			}
			break
		}
		if resp.StatusCode != 200 {
			t.Fatalf("request %d: status %d", n, resp.StatusCode)
		}
	}
	if n != 12 {
		t.Errorf("requests before 429 = %d, want the burst, 12", n)
	}
}

// TestMcpServerCommand checks the wiring of /mcp in `clavis server` (a child process), with
// --mcp-no-value-tools set through its environment variable.
func TestMcpServerCommand(t *testing.T) {
	ctx := context.Background()
	t.Setenv("CLAVIS_MCP_NO_VALUE_TOOLS", "1")
	url, _ := startChild(t, t.TempDir())
	tok, err := client.New(url).Signup(ctx, "mcp-"+clavistest.RandHex(6)+"@example.com", "Pw-"+clavistest.RandHex(10), "")
	if err != nil {
		t.Fatal(err)
	}
	u := client.New(url).WithToken(string(tok.AccessToken))
	v, err := u.CreateVault(ctx, clavis.VaultInput{Name: "main"})
	if err != nil {
		t.Fatal(err)
	}
	ak, err := u.CreateAgent(ctx, clavis.AgentInput{Name: "bot"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := u.CreatePolicy(ctx, v.ID, clavis.PolicyInput{Pattern: "**", PrincipalType: clavis.PrincipalAgent,
		PrincipalID: ak.Agent.ID, Permissions: []string{"read", "write"}}); err != nil {
		t.Fatal(err)
	}
	env := &clavistest.Env{URL: url}
	cs, err := mcpHTTPSession(t, env, bearerHeader(string(ak.Key), "X-Vault-ID", v.ID))
	if err != nil {
		t.Fatal(err)
	}
	tools, err := cs.ListTools(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(tools.Tools) != 15 { // the 17 tools but the two value tools
		t.Errorf("tools with --mcp-no-value-tools: %d, want 15", len(tools.Tools))
	}
	for _, tool := range tools.Tools {
		if tool.Name == "get_secret" || tool.Name == "get_env_bundle" {
			t.Errorf("--mcp-no-value-tools lists %s", tool.Name)
		}
	}
	if got, isErr := mcpText(t, cs, "put_secret", map[string]any{"path": "a", "value": "b"}); isErr || got != "Secret stored at 'a' (version 1, type: api_key)." {
		t.Errorf("put_secret = %q", got)
	}
	if resp := rawInitialize(t, env, bearerHeader(string(tok.AccessToken))); resp.StatusCode != 401 {
		t.Errorf("user token: status %d, want 401", resp.StatusCode)
	}
}
