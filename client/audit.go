package client

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"clavis.dev/clavis"
)

// ListAudit lists audit events, newest first (GET /v1/audit/events). Zero fields of q are not sent
// (Limit 0 is the server default of 100); From is inclusive, To exclusive. Org owners and admins see the
// whole org, everyone else only their own actions. Errors: KindInvalid (bad number).
func (c *Client) ListAudit(ctx context.Context, q clavis.AuditQuery) ([]*clavis.AuditEvent, error) {
	v := url.Values{}
	for k, s := range map[string]string{"resource_id": q.ResourceID, "actor_id": q.ActorID, "action": q.Action, "vault_id": q.VaultID} {
		if s != "" {
			v.Set(k, s)
		}
	}
	setWindow(v, q.From, q.To, q.Limit)
	if q.Offset != 0 {
		v.Set("offset", strconv.Itoa(q.Offset))
	}
	out, err := call[struct {
		Events []wireAuditEvent `json:"events"`
		Count  int              `json:"count"`
	}](ctx, c, http.MethodGet, "/v1/audit/events", v, nil)
	if err != nil {
		return nil, err
	}
	return roots(out.Events, wireAuditEvent.root), nil
}

// VerifyAudit walks the org's audit chain from its oldest event within [from, to), at most limit events
// (GET /v1/audit/verify); nil times and limit 0 are not sent (the server's default limit is 1000). Org
// owners and admins only; others get KindForbidden.
func (c *Client) VerifyAudit(ctx context.Context, from, to *time.Time, limit int) (*clavis.AuditVerification, error) {
	v := url.Values{}
	setWindow(v, from, to, limit)
	w, err := call[wireAuditVerify](ctx, c, http.MethodGet, "/v1/audit/verify", v, nil)
	if err != nil {
		return nil, err
	}
	return w.root(), nil
}

// setWindow sets the from, to and limit query parameters that are not zero.
func setWindow(v url.Values, from, to *time.Time, limit int) {
	if from != nil {
		v.Set("from", clavis.FormatTime(*from))
	}
	if to != nil {
		v.Set("to", clavis.FormatTime(*to))
	}
	if limit != 0 {
		v.Set("limit", strconv.Itoa(limit))
	}
}
