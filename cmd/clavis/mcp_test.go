package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"

	"clavis.dev/clavis"
	"clavis.dev/clavis/internal/clavistest"
)

// mcpChild connects the SDK's client to `clavis mcp` run as a child process over real stdio, with env
// added to a clean environment. It returns the session and the child's stderr.
func mcpChild(t *testing.T, env []string, args ...string) (*sdk.ClientSession, *lockedBuffer) {
	t.Helper()
	cmd := exec.Command(os.Args[0], append([]string{"mcp"}, args...)...) // #nosec G204 G702 -- the test binary itself
	cmd.Env = append([]string{"CLAVIS_TEST_MAIN=1", "PATH=" + os.Getenv("PATH")}, env...)
	stderr := &lockedBuffer{}
	cmd.Stderr = stderr
	cs, err := sdk.NewClient(&sdk.Implementation{Name: "test", Version: "1"}, nil).Connect(context.Background(), &sdk.CommandTransport{Command: cmd}, nil)
	if err != nil {
		t.Fatalf("connect to clavis mcp: %v\nstderr: %s", err, stderr.String())
	}
	t.Cleanup(func() { _ = cs.Close() })
	return cs, stderr
}

func mcpText(t *testing.T, cs *sdk.ClientSession, tool string, args map[string]any) (string, bool) {
	t.Helper()
	res, err := cs.CallTool(context.Background(), &sdk.CallToolParams{Name: tool, Arguments: args})
	if err != nil {
		t.Fatalf("%s: %v", tool, err)
	}
	var b strings.Builder
	for _, c := range res.Content {
		b.WriteString(c.(*sdk.TextContent).Text)
	}
	return b.String(), res.IsError
}

// TestMcpStdio drives `clavis mcp` over real stdio against a running server: 1Claw variable names, the
// default vault, value tools, --no-value-tools, and the token refresh before expiry and after a 401.
func TestMcpStdio(t *testing.T) {
	ctx := context.Background()
	clock := clavistest.NewClock()
	env := clavistest.New(t, clavistest.Options{Clock: clock.Now})
	u := env.Signup(t)
	v, err := u.C.CreateVault(ctx, clavis.VaultInput{Name: "main"})
	if err != nil {
		t.Fatal(err)
	}
	ttl := 3
	a := env.NewAgent(t, u, clavis.AgentInput{TokenTTL: &ttl})
	if _, err := u.C.CreatePolicy(ctx, v.ID, clavis.PolicyInput{Pattern: "**", PrincipalType: clavis.PrincipalAgent,
		PrincipalID: a.ID, Permissions: []string{"read", "write"}}); err != nil {
		t.Fatal(err)
	}
	exchanges := func() int {
		t.Helper()
		evs, err := u.C.ListAudit(ctx, clavis.AuditQuery{ResourceID: a.ID, Action: "auth.success"})
		if err != nil {
			t.Fatal(err)
		}
		return len(evs)
	}

	cs, stderr := mcpChild(t, []string{"ONECLAW_BASE_URL=" + env.URL, "ONECLAW_AGENT_API_KEY=" + a.Key, "ONECLAW_VAULT_ID=" + v.ID})
	if got, isErr := mcpText(t, cs, "put_secret", map[string]any{"path": "db", "value": "stdio-value-123"}); isErr || got != "Secret stored at 'db' (version 1, type: api_key)." {
		t.Fatalf("put_secret = %q (isError=%v)", got, isErr)
	}
	before := exchanges()
	time.Sleep(2 * time.Second) // past TTL/2: the next call re-exchanges the key first
	want := `{"path":"db","type":"api_key","version":1,"value":"stdio-value-123"}`
	if got, isErr := mcpText(t, cs, "get_secret", map[string]any{"path": "db"}); isErr || got != want {
		t.Fatalf("get_secret after refresh = %q (isError=%v)", got, isErr)
	}
	if got := exchanges(); got != before+1 {
		t.Errorf("key exchanges after the refresh time = %d, want %d", got, before+1)
	}
	// The server's clock jumps past the token's expiry: the call gets 401, re-exchanges once and succeeds.
	clock.Advance(10 * time.Second)
	before = exchanges()
	if got, isErr := mcpText(t, cs, "get_secret", map[string]any{"path": "db"}); isErr || got != want {
		t.Fatalf("get_secret after a 401 = %q (isError=%v)\nstderr: %s", got, isErr, stderr)
	}
	if got := exchanges(); got != before+1 {
		t.Errorf("key exchanges after a 401 = %d, want %d", got, before+1)
	}
	if strings.Contains(stderr.String(), a.Key) {
		t.Errorf("stderr shows the key")
	}

	// CLAVIS_* wins over the 1Claw names; --no-value-tools hides the value tools.
	cs2, _ := mcpChild(t, []string{"CLAVIS_URL=" + env.URL, "CLAVIS_API_KEY=" + a.Key, "ONECLAW_AGENT_API_KEY=ocv_wrong",
		"CLAVIS_VAULT_ID=" + v.ID}, "--no-value-tools")
	tools, err := cs2.ListTools(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, tool := range tools.Tools {
		if tool.Name == "get_secret" || tool.Name == "get_env_bundle" {
			t.Errorf("--no-value-tools lists %s", tool.Name)
		}
	}
	if got, isErr := mcpText(t, cs2, "list_secrets", nil); isErr || got != "Found 1 secret(s):\n- db  (type: api_key, version: 1, expires: never)" {
		t.Errorf("list_secrets = %q (isError=%v)", got, isErr)
	}

	// A ready token (1Claw's ONECLAW_AGENT_TOKEN) works without a key.
	tok, err := env.Client().AgentToken(ctx, a.Key, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	cs3, _ := mcpChild(t, []string{"ONECLAW_BASE_URL=" + env.URL, "ONECLAW_AGENT_TOKEN=" + string(tok.AccessToken), "ONECLAW_VAULT_ID=" + v.ID})
	if got, isErr := mcpText(t, cs3, "get_secret", map[string]any{"path": "db"}); isErr || got != want {
		t.Errorf("get_secret with a ready token = %q (isError=%v)", got, isErr)
	}
}

// TestMcpStdioStartupErrors checks that a missing or refused credential ends `clavis mcp` with status
// 1 and one line on stderr naming the variable, before any JSON-RPC.
func TestMcpStdioStartupErrors(t *testing.T) {
	env := clavistest.New(t)
	for _, c := range []struct {
		name string
		env  []string
		want string
	}{
		{"missing", []string{"CLAVIS_URL=" + env.URL}, "clavis mcp: set CLAVIS_API_KEY (or ONECLAW_AGENT_API_KEY)\n"},
		{"refused key", []string{"CLAVIS_URL=" + env.URL, "CLAVIS_API_KEY=ocv_notakey"},
			"clavis mcp: the server refused the agent key; set a valid CLAVIS_API_KEY\n"},
		{"refused 1claw token", []string{"ONECLAW_BASE_URL=" + env.URL, "ONECLAW_AGENT_TOKEN=garbage"},
			"clavis mcp: the server refused the agent token; set a valid ONECLAW_AGENT_TOKEN\n"},
	} {
		t.Run(c.name, func(t *testing.T) {
			cmd := exec.Command(os.Args[0], "mcp") // #nosec G204 G702 -- the test binary itself
			cmd.Env = append([]string{"CLAVIS_TEST_MAIN=1"}, c.env...)
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			err := cmd.Run()
			if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 {
				t.Errorf("exit = %v, want status 1", err)
			}
			if stderr.String() != c.want || stdout.Len() != 0 {
				t.Errorf("stderr = %q, stdout = %q; want stderr %q and no stdout", stderr.String(), stdout.String(), c.want)
			}
		})
	}
}
