package client

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"clavis.dev/clavis"
)

// AuditQuery filters the audit log; zero fields are not sent (Limit 0 is the server default of 100).
// From is inclusive, To exclusive.
type AuditQuery struct {
	ResourceID, ActorID, Action, VaultID string
	From, To                             *time.Time
	Limit, Offset                        int
}

// ListAuditEvents lists audit events, newest first (GET /v1/audit/events). Org owners and admins see the
// whole org, everyone else only their own actions. Errors: KindInvalid (bad number).
func (c *Client) ListAuditEvents(ctx context.Context, q AuditQuery) ([]AuditEvent, error) {
	v := url.Values{}
	for k, s := range map[string]string{"resource_id": q.ResourceID, "actor_id": q.ActorID, "action": q.Action, "vault_id": q.VaultID} {
		if s != "" {
			v.Set(k, s)
		}
	}
	if q.From != nil {
		v.Set("from", clavis.FormatTime(*q.From))
	}
	if q.To != nil {
		v.Set("to", clavis.FormatTime(*q.To))
	}
	if q.Limit != 0 {
		v.Set("limit", strconv.Itoa(q.Limit))
	}
	if q.Offset != 0 {
		v.Set("offset", strconv.Itoa(q.Offset))
	}
	out, err := call[struct {
		Events []AuditEvent `json:"events"`
		Count  int          `json:"count"`
	}](ctx, c, http.MethodGet, "/v1/audit/events", v, nil)
	if err != nil {
		return nil, err
	}
	return nonNil(out.Events), nil
}

// VerifyAudit walks the org's audit chain from its oldest event, up to the server's default limit
// (GET /v1/audit/verify). Org owners and admins only; others get KindForbidden.
func (c *Client) VerifyAudit(ctx context.Context) (AuditVerify, error) {
	return call[AuditVerify](ctx, c, http.MethodGet, "/v1/audit/verify", nil, nil)
}
