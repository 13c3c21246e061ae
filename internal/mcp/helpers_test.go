package mcp_test

import (
	"context"
	"strings"
	"sync"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"clavis.dev/clavis"
	clavismcp "clavis.dev/clavis/internal/mcp"
)

// session is an SDK client session with every output it saw, for the canary scan.
type session struct {
	cs *mcp.ClientSession
	mu sync.Mutex
	// outputs are every tool result seen, in order.
	outputs []output
}

type output struct {
	tool, text string
	isError    bool
}

// connect serves svc over in-memory transports and connects the SDK's client to it.
func connect(t *testing.T, svc clavismcp.Service, o clavismcp.Options) *session {
	t.Helper()
	ctx := context.Background()
	st, ct := mcp.NewInMemoryTransports()
	ss, err := clavismcp.New(svc, o).Connect(ctx, st, nil)
	if err != nil {
		t.Fatalf("server connect: %v", err)
	}
	t.Cleanup(func() { _ = ss.Close() })
	cs, err := mcp.NewClient(&mcp.Implementation{Name: "test", Version: "1"}, nil).Connect(ctx, ct, nil)
	if err != nil {
		t.Fatalf("client connect: %v", err)
	}
	t.Cleanup(func() { _ = cs.Close() })
	return &session{cs: cs}
}

// call calls a tool and returns its text and whether it is an error result; a protocol error fails t.
func (s *session) call(t *testing.T, tool string, args map[string]any) (string, bool) {
	t.Helper()
	if args == nil {
		args = map[string]any{}
	}
	res, err := s.cs.CallTool(context.Background(), &mcp.CallToolParams{Name: tool, Arguments: args})
	if err != nil {
		t.Fatalf("%s: protocol error: %v", tool, err)
	}
	var b strings.Builder
	for _, c := range res.Content {
		tc, ok := c.(*mcp.TextContent)
		if !ok {
			t.Fatalf("%s: content %T, want text only", tool, c)
		}
		b.WriteString(tc.Text)
	}
	if res.StructuredContent != nil {
		t.Errorf("%s: structuredContent set, want text only", tool)
	}
	s.mu.Lock()
	s.outputs = append(s.outputs, output{tool, b.String(), res.IsError})
	s.mu.Unlock()
	return b.String(), res.IsError
}

// want calls a tool and checks its text and error flag.
func (s *session) want(t *testing.T, tool string, args map[string]any, wantText string, wantErr bool) {
	t.Helper()
	got, isErr := s.call(t, tool, args)
	if got != wantText || isErr != wantErr {
		t.Errorf("%s %v:\n got (isError=%v) %q\nwant (isError=%v) %q", tool, args, isErr, got, wantErr, wantText)
	}
}

// scan fails t if any output other than a successful value tool's holds one of the canaries.
func (s *session) scan(t *testing.T, canaries ...string) {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, o := range s.outputs {
		if (o.tool == "get_secret" || o.tool == "get_env_bundle") && !o.isError {
			continue
		}
		for _, c := range canaries {
			if strings.Contains(o.text, c) {
				t.Errorf("%s output leaks a canary: %q", o.tool, o.text)
			}
		}
	}
}

func mustPolicy(t *testing.T, c clavis.Policies, vaultID string, in clavis.PolicyInput) {
	t.Helper()
	if _, err := c.CreatePolicy(context.Background(), vaultID, in); err != nil {
		t.Fatalf("policy: %v", err)
	}
}
