package mcp

import (
	"context"
	"fmt"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"clavis.dev/clavis"
)

type shareIn struct {
	SecretID       string `json:"secret_id" jsonschema:"the secret's id (as list_secrets and describe show it in the API)"`
	RecipientType  string `json:"recipient_type" jsonschema:"user, agent, anyone_with_link or creator (the human who registered you)"`
	RecipientID    string `json:"recipient_id,omitempty" jsonschema:"UUID of the user or agent (user and agent shares)"`
	ExpiresAt      string `json:"expires_at" jsonschema:"RFC 3339 time when the share expires"`
	MaxAccessCount int    `json:"max_access_count,omitempty" jsonschema:"how many times the share may be opened (default 5)"`
}

func (t *tools) shareTools(s *mcp.Server) {
	add(t, s, "share_secret", "Share a secret's latest value with a user, an agent, your creator or anyone with the link.",
		writes, (*call).shareSecret, enums{"recipient_type": {clavis.ShareToUser, clavis.ShareToAgent, clavis.ShareToAnyone, clavis.ShareToCreator}})
}

func (c *call) shareSecret(ctx context.Context, in shareIn) (string, error) {
	if (in.RecipientType == clavis.ShareToUser || in.RecipientType == clavis.ShareToAgent) && in.RecipientID == "" {
		return "", toolError("Error: recipient_id is required when sharing with a " + in.RecipientType + ".")
	}
	exp, err := time.Parse(time.RFC3339, in.ExpiresAt)
	if err != nil {
		return "", toolError("Error: expires_at must be an RFC 3339 time")
	}
	maxAccess := in.MaxAccessCount
	if maxAccess == 0 {
		maxAccess = 5
	}
	sh, err := c.svc.CreateShare(ctx, in.SecretID, clavis.ShareInput{RecipientType: in.RecipientType, RecipientID: in.RecipientID,
		ExpiresAt: &exp, MaxAccessCount: &maxAccess})
	if err != nil {
		return "", c.fail(ctx, err, "", in.SecretID)
	}
	recipient := sh.RecipientType
	if sh.RecipientID != "" {
		recipient += ":" + sh.RecipientID
	}
	return fmt.Sprintf("Secret shared successfully.\n  Share ID: %s\n  Recipient: %s\n  Expires: %s\n  Max accesses: %d\n  URL: %s",
		sh.ID, recipient, sh.ExpiresAt.UTC().Format(time.RFC3339), sh.MaxAccessCount, sh.URL), nil
}
