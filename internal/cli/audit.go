package cli

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"clavis.dev/clavis"
)

type auditView struct {
	ID            string         `json:"id"`
	Action        string         `json:"action"`
	ActorID       string         `json:"actor_id"`
	ActorType     string         `json:"actor_type"`
	ResourceType  string         `json:"resource_type"`
	ResourceID    string         `json:"resource_id"`
	OrgID         string         `json:"org_id"`
	Details       map[string]any `json:"details"`
	IPAddress     string         `json:"ip_address"`
	CreatedAt     time.Time      `json:"created_at"`
	PrevEventID   *string        `json:"prev_event_id"`
	IntegrityHash string         `json:"integrity_hash"`
}

func viewAudit(e *clavis.AuditEvent) auditView {
	v := auditView{e.ID, e.Action, e.ActorID, string(e.ActorType), e.ResourceType, e.ResourceID, e.OrgID, e.Details,
		e.IPAddress, e.CreatedAt, nil, e.IntegrityHash}
	if v.Details == nil {
		v.Details = map[string]any{}
	}
	if e.PrevEventID != "" {
		p := e.PrevEventID
		v.PrevEventID = &p
	}
	return v
}

// auditListCmd is `audit list`: the org's events over the API, newest first. It is reached through the
// operator command `audit` (whose `audit verify` checks the database offline), so it declares the
// global flags it needs itself.
func (a *app) auditListCmd() *cobra.Command {
	var q clavis.AuditQuery
	var follow bool
	var every time.Duration
	c := &cobra.Command{Use: "audit list", Short: "list audit events, newest first",
		Example: "  clavis audit list --action secret.read --limit 20 -o json", Args: cobra.NoArgs,
		SilenceUsage: true, SilenceErrors: true,
		RunE: func(c *cobra.Command, _ []string) error {
			s, err := a.resolve(true)
			if err != nil {
				return err
			}
			evs, err := s.C.ListAudit(c.Context(), q)
			if err != nil {
				return err
			}
			if follow {
				return a.follow(c, s, q, evs, every)
			}
			views := listOf(evs, viewAudit)
			t := table{header: []string{"TIME", "ACTION", "ACTOR", "RESOURCE"}}
			for _, v := range views {
				t.rows = append(t.rows, []string{ts(v.CreatedAt), v.Action, v.ActorType + ":" + v.ActorID, v.ResourceType + ":" + v.ResourceID})
			}
			return a.emit(s, views, t)
		}}
	f := c.Flags()
	f.StringVar(&q.Action, "action", "", "only this action (e.g. secret.read)")
	f.StringVar(&q.ActorID, "actor", "", "only this actor id")
	f.StringVar(&q.ResourceID, "resource", "", "only this resource id")
	f.StringVar(&q.VaultID, "vault-id", "", "only this vault")
	f.IntVar(&q.Limit, "limit", 0, "at most this many (default 100, at most 1000)")
	f.IntVar(&q.Offset, "offset", 0, "skip this many")
	f.BoolVar(&follow, "follow", false, "keep printing new events (one JSON object a line with -o json)")
	f.DurationVar(&every, "interval", 2*time.Second, "--follow polling interval")
	f.StringVarP(&a.g.output, "output", "o", "", "output format: table, json or yaml")
	f.BoolVar(&a.g.json, "json", false, "same as -o json")
	f.StringVar(&a.g.url, "url", "", "server URL")
	f.StringVar(&a.g.profile, "profile", "", "profile name")
	c.SetFlagErrorFunc(func(c *cobra.Command, err error) error { return &exitError{code: ExitLocal, err: err} })
	return c
}

// follow prints evs (newest first) oldest first, then polls for newer events until the context ends or
// the process is interrupted. With -o json each event is one compact JSON line.
func (a *app) follow(c *cobra.Command, s *session, q clavis.AuditQuery, evs []*clavis.AuditEvent, every time.Duration) error {
	f, err := a.format(s)
	if err != nil {
		return err
	}
	seen := map[string]bool{}
	var last time.Time
	print := func(evs []*clavis.AuditEvent) {
		for i := len(evs) - 1; i >= 0; i-- {
			e := evs[i]
			if seen[e.ID] {
				continue
			}
			seen[e.ID] = true
			if e.CreatedAt.After(last) {
				last = e.CreatedAt
			}
			v := viewAudit(e)
			if f == "json" {
				b, _ := json.Marshal(v)
				fmt.Fprintf(a.io.Out, "%s\n", b)
				continue
			}
			fmt.Fprintf(a.io.Out, "%s  %s  %s:%s  %s:%s\n", ts(v.CreatedAt), v.Action, v.ActorType, v.ActorID, v.ResourceType, v.ResourceID)
		}
	}
	print(evs)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-c.Context().Done():
			return nil
		case <-t.C:
		}
		if !last.IsZero() {
			from := last
			q.From = &from
		}
		evs, err := s.C.ListAudit(c.Context(), q)
		if err != nil {
			a.msg("clavis audit: %v", err)
			continue
		}
		print(evs)
	}
}
