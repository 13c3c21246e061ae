package mcp

import (
	"context"
	"encoding/json"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"clavis.dev/clavis"
)

type requestAccessIn struct {
	SecretPathPattern string   `json:"secret_path_pattern" jsonschema:"path glob of the secrets you need"`
	Permissions       []string `json:"permissions" jsonschema:"permissions you need"`
	Reason            string   `json:"reason,omitempty" jsonschema:"why, for the human who decides"`
	VaultID           string   `json:"vault_id,omitempty" jsonschema:"vault UUID; default: the configured vault"`
}

type approvalIn struct {
	ApprovalID string `json:"approval_id" jsonschema:"approval UUID"`
}

func (t *tools) approvalTools(s *mcp.Server) {
	add(t, s, "request_access", "Ask a human for access to secrets: opens a policy change for them to approve.", writes,
		(*call).requestAccess, enums{"permissions": permissionNames()})
	add(t, s, "get_approval_status", "Check whether a human has decided an approval you requested.", reads, (*call).approvalStatus)
}

func (c *call) requestAccess(ctx context.Context, in requestAccessIn) (string, error) {
	v, err := c.vault(ctx, in.VaultID)
	if err != nil {
		return "", err
	}
	sum, err := json.Marshal(struct {
		Pattern     string   `json:"secret_path_pattern"`
		Permissions []string `json:"permissions"`
	}{in.SecretPathPattern, in.Permissions})
	if err != nil {
		return "", err
	}
	a, err := c.svc.RequestApproval(ctx, clavis.ApprovalInput{Action: clavis.ApprovalPolicyChange, TargetType: "vault",
		TargetID: v, Summary: sum, Reason: in.Reason})
	if err != nil {
		return "", c.fail(ctx, err, v, "")
	}
	return "Approval requested: " + a.ID + " (" + a.Status + ")", nil
}

func (c *call) approvalStatus(ctx context.Context, in approvalIn) (string, error) {
	a, err := c.svc.GetApproval(ctx, in.ApprovalID)
	if clavis.IsKind(err, clavis.KindNotFound) {
		return "", toolError("Approval not found: " + in.ApprovalID)
	}
	if err != nil {
		return "", c.fail(ctx, err, "", "")
	}
	return "Approval " + a.ID + ": " + a.Status, nil
}
