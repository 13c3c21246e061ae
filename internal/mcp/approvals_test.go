package mcp_test

import (
	"context"
	"net/netip"
	"strings"
	"testing"

	clavismcp "clavis.dev/clavis/internal/mcp"
)

// TestMcpApprovalTools: request_access opens a policy_change approval for the default vault (or the
// given one), get_approval_status follows its decision, through both implementations.
func TestMcpApprovalTools(t *testing.T) {
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
			s := connect(t, svc, clavismcp.Options{DefaultVault: f.vault})
			got, isErr := s.call(t, "request_access", map[string]any{"secret_path_pattern": "private/**",
				"permissions": []string{"read"}, "reason": "rotate the private key"})
			id, ok := strings.CutPrefix(got, "Approval requested: ")
			id, ok2 := strings.CutSuffix(id, " (pending)")
			if isErr || !ok || !ok2 || len(id) != 36 {
				t.Fatalf("request_access = %q (isError=%v)", got, isErr)
			}
			s.want(t, "get_approval_status", map[string]any{"approval_id": id}, "Approval "+id+": pending", false)
			if _, err := f.user.C.DecideApproval(context.Background(), id, true, "ok"); err != nil {
				t.Fatal(err)
			}
			s.want(t, "get_approval_status", map[string]any{"approval_id": id}, "Approval "+id+": approved", false)
			s.want(t, "get_approval_status", map[string]any{"approval_id": "00000000-0000-4000-8000-000000000000"},
				"Approval not found: 00000000-0000-4000-8000-000000000000", true)
			s.want(t, "request_access", map[string]any{"secret_path_pattern": "a/*b", "permissions": []string{"read"}},
				"Error: invalid glob: segment 2 mixes '*' with other characters; '*' and '**' must be whole segments", true)
			other := "00000000-0000-4000-8000-000000000001"
			s.want(t, "request_access", map[string]any{"vault_id": other, "secret_path_pattern": "**", "permissions": []string{"read"}},
				"Vault not found: "+other, true)
		})
	}
}
