package web

import (
	"encoding/json"
	"net/url"
	"strconv"
	"strings"
	"time"

	"clavis.dev/clavis"
)

// The audit log (docs/dashboard.md §2.7): filters, paging and chain verification.

const auditPageSize = 50

type auditRow struct {
	*clavis.AuditEvent
	DetailsText string
}

type auditPage struct {
	Events           []auditRow
	Q                map[string]string
	Offset           int
	PrevURL, NextURL string
	Verify           *clavis.AuditVerification
	VerifyErr        string
}

// dayOrTime reads a filter time: a date (YYYY-MM-DD) or a datetime-local value, as UTC.
func dayOrTime(s string) (*time.Time, error) {
	if s == "" {
		return nil, nil
	}
	for _, layout := range []string{"2006-01-02T15:04", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return &t, nil
		}
	}
	return nil, clavis.Invalid("from", "Give times as YYYY-MM-DD or YYYY-MM-DDTHH:MM (UTC)")
}

func auditView(h *Handler, q *req) (string, any, error) {
	ctx := q.r.Context()
	v := q.r.URL.Query()
	p := auditPage{Q: map[string]string{}}
	for _, k := range []string{"action", "actor", "resource", "from", "to"} {
		p.Q[k] = v.Get(k)
	}
	p.Offset, _ = strconv.Atoi(v.Get("offset"))
	p.Offset = max(p.Offset, 0)
	from, err := dayOrTime(p.Q["from"])
	if err != nil {
		return "", nil, err
	}
	to, err := dayOrTime(p.Q["to"])
	if err != nil {
		return "", nil, err
	}
	evs, err := q.svc.ListAudit(ctx, clavis.AuditQuery{Action: p.Q["action"], ActorID: p.Q["actor"], ResourceID: p.Q["resource"],
		From: from, To: to, Limit: auditPageSize + 1, Offset: p.Offset})
	if err != nil {
		return "", nil, err
	}
	page := func(off int) string {
		u := url.Values{}
		for k, x := range p.Q {
			if x != "" {
				u.Set(k, x)
			}
		}
		u.Set("offset", strconv.Itoa(off))
		return "/ui/audit?" + u.Encode()
	}
	if len(evs) > auditPageSize {
		evs = evs[:auditPageSize]
		p.NextURL = page(p.Offset + auditPageSize)
	}
	if p.Offset > 0 {
		p.PrevURL = page(max(p.Offset-auditPageSize, 0))
	}
	for _, e := range evs {
		var d strings.Builder
		enc := json.NewEncoder(&d)
		enc.SetEscapeHTML(false) // the template escapes; keep the text readable
		_ = enc.Encode(e.Details)
		p.Events = append(p.Events, auditRow{AuditEvent: e, DetailsText: strings.TrimSpace(d.String())})
	}
	if v.Get("verify") != "" {
		res, err := q.svc.VerifyAudit(ctx, nil, nil, 10000)
		if err != nil {
			_, p.VerifyErr = h.describe(q, err)
		} else {
			p.Verify = res
		}
	}
	return "audit", p, nil
}
