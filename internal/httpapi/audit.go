package httpapi

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"clavis.dev/clavis"
)

// pageParams parses limit/offset (spec §1.8): limit clamped to max, limit < 1 or offset < 0 → 400.
func pageParams(q url.Values, def, max int) (limit, offset int, err error) {
	limit, offset = def, 0
	if s := q.Get("limit"); s != "" {
		if limit, err = strconv.Atoi(s); err != nil || limit < 1 {
			return 0, 0, clavis.Invalid("limit", "limit must be a positive integer")
		}
		limit = min(limit, max)
	}
	if s := q.Get("offset"); s != "" {
		if offset, err = strconv.Atoi(s); err != nil || offset < 0 {
			return 0, 0, clavis.Invalid("offset", "offset must be a non-negative integer")
		}
	}
	return limit, offset, nil
}

// timeParams parses from/to query times.
func timeParams(q url.Values) (from, to *time.Time, err error) {
	for _, p := range []struct {
		name string
		dst  **time.Time
	}{{"from", &from}, {"to", &to}} {
		if s := q.Get(p.name); s != "" {
			t, err := parseTime(s)
			if err != nil {
				return nil, nil, clavis.Invalid(p.name, p.name+" must be an RFC 3339 time")
			}
			*p.dst = &t
		}
	}
	return from, to, nil
}

func listAudit(s *server, w http.ResponseWriter, r *http.Request, c *clavis.Caller) error {
	q := r.URL.Query()
	limit, offset, err := pageParams(q, 100, 1000)
	if err != nil {
		return err
	}
	from, to, err := timeParams(q)
	if err != nil {
		return err
	}
	evs, err := s.svc.ListAudit(r.Context(), c, clavis.AuditQuery{ResourceID: q.Get("resource_id"), ActorID: q.Get("actor_id"),
		Action: q.Get("action"), VaultID: q.Get("vault_id"), From: from, To: to, Limit: limit, Offset: offset})
	if err != nil {
		return err
	}
	writeJSON(w, 200, auditList{Events: mapList(evs, auditOf), Count: len(evs)})
	return nil
}

func verifyAudit(s *server, w http.ResponseWriter, r *http.Request, c *clavis.Caller) error {
	q := r.URL.Query()
	limit, _, err := pageParams(q, 1000, 10000)
	if err != nil {
		return err
	}
	from, to, err := timeParams(q)
	if err != nil {
		return err
	}
	v, err := s.svc.VerifyAudit(r.Context(), c, from, to, limit)
	if err != nil {
		return err
	}
	var broken *string
	if v.BrokenAt != "" {
		broken = &v.BrokenAt
	}
	writeJSON(w, 200, verifyModel{Valid: v.Valid, Verified: v.Verified, Checked: v.Checked, BrokenAt: broken,
		Scheme: chainSchemeModel{Algorithm: "HMAC-SHA256", Structure: "per-org linked list", HashField: "integrity_hash",
			LinkField: "prev_event_id", Documentation: strings.TrimRight(s.opt.PublicURL, "/") + "/openapi.json"}})
	return nil
}
