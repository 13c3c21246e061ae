package cli

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"clavis.dev/clavis"
)

// approvalView is api.md's Approval.
type approvalView struct {
	ID             string          `json:"id"`
	OrgID          string          `json:"org_id"`
	AgentID        string          `json:"agent_id"`
	Action         string          `json:"action"`
	TargetType     string          `json:"target_type"`
	TargetID       string          `json:"target_id"`
	RiskTier       int             `json:"risk_tier"`
	Status         string          `json:"status"`
	Summary        json.RawMessage `json:"summary"`
	ExpiresAt      time.Time       `json:"expires_at"`
	CreatedAt      time.Time       `json:"created_at"`
	Reason         string          `json:"reason,omitempty"`
	DecisionReason string          `json:"decision_reason,omitempty"`
	DecidedBy      string          `json:"decided_by,omitempty"`
	DecidedAt      *time.Time      `json:"decided_at,omitempty"`
}

func viewApproval(x *clavis.Approval) approvalView {
	sum := x.Summary
	if len(sum) == 0 {
		sum = json.RawMessage("{}")
	}
	return approvalView{x.ID, x.OrgID, x.AgentID, x.Action, x.TargetType, x.TargetID, x.RiskTier, x.Status, sum,
		x.ExpiresAt, x.CreatedAt, x.Reason, x.DecisionReason, x.DecidedBy, x.DecidedAt}
}

// what summarises an approval's request in one line.
func (v approvalView) what() string {
	var s struct {
		Pattern     string   `json:"secret_path_pattern"`
		Permissions []string `json:"permissions"`
		Path        string   `json:"path"`
		Permission  string   `json:"permission"`
	}
	_ = json.Unmarshal(v.Summary, &s) // a summary the server sent; unknown shapes print empty
	if v.Action == clavis.ApprovalSecretAccess {
		return s.Permission + " " + s.Path + " (once)"
	}
	return strings.Join(s.Permissions, ",") + " " + s.Pattern
}

// approvalCmd: approval list|get|approve|reject — the requests of agents that the user decides.
func (a *app) approvalCmd() *cobra.Command {
	c := &cobra.Command{Use: "approval", Short: "decide agents' requests for access",
		Example: "  clavis approval list --status pending\n  clavis approval approve 165f… --reason 'deploy window'"}
	approvalTable := func(vs ...approvalView) table {
		t := table{header: []string{"ID", "STATUS", "AGENT", "VAULT", "REQUEST", "RISK", "CREATED"}}
		for _, v := range vs {
			t.rows = append(t.rows, []string{v.ID, v.Status, v.AgentID, v.TargetID, v.what(), fmt.Sprint(v.RiskTier), ts(v.CreatedAt)})
		}
		return t
	}
	var status string
	var limit, offset int
	list := &cobra.Command{Use: "list", Short: "list the approvals you may decide, newest first",
		Example: "  clavis approval list --status pending -o json", Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			s, err := a.resolve(true)
			if err != nil {
				return err
			}
			xs, err := s.C.ListApprovals(c.Context(), clavis.ApprovalQuery{Status: status, Limit: limit, Offset: offset})
			if err != nil {
				return err
			}
			views := listOf(xs, viewApproval)
			return a.emit(s, views, approvalTable(views...))
		}}
	list.Flags().StringVar(&status, "status", "", "only this status: pending, approved, rejected or expired")
	list.Flags().IntVar(&limit, "limit", 0, "at most this many (1–200; default 50)")
	list.Flags().IntVar(&offset, "offset", 0, "skip this many")
	get := &cobra.Command{Use: "get ID", Short: "show an approval", Example: "  clavis approval get 165f…", Args: cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			s, err := a.resolve(true)
			if err != nil {
				return err
			}
			x, err := s.C.GetApproval(c.Context(), args[0])
			if err != nil {
				return err
			}
			return a.emit(s, viewApproval(x), approvalTable(viewApproval(x)))
		}}
	decide := func(approve bool, use, short, example string) *cobra.Command {
		var reason string
		d := &cobra.Command{Use: use + " ID", Short: short, Example: example, Args: cobra.ExactArgs(1),
			RunE: func(c *cobra.Command, args []string) error {
				s, err := a.resolve(true)
				if err != nil {
					return err
				}
				x, err := s.C.DecideApproval(c.Context(), args[0], approve, reason)
				if err != nil {
					return err
				}
				a.msg("%s approval %s", x.Status, x.ID)
				return a.emit(s, viewApproval(x), approvalTable(viewApproval(x)))
			}}
		d.Flags().StringVar(&reason, "reason", "", "why, recorded with the decision")
		return d
	}
	c.AddCommand(list, get,
		decide(true, "approve", "approve a pending approval (a policy change creates the policy; an access is granted once, within 1 h)",
			"  clavis approval approve 165f… --reason ok"),
		decide(false, "reject", "reject a pending approval", "  clavis approval reject 165f… --reason 'too broad'"))
	return c
}

// enrollmentView is api.md's Enrollment.
type enrollmentView struct {
	ID          string    `json:"id"`
	Name        string    `json:"name"`
	Description string    `json:"description"`
	HumanEmail  string    `json:"human_email"`
	Status      string    `json:"status"`
	CreatedAt   time.Time `json:"created_at"`
	ExpiresAt   time.Time `json:"expires_at"`
	AgentID     string    `json:"agent_id,omitempty"`
}

func viewEnrollment(e *clavis.Enrollment) enrollmentView {
	return enrollmentView{e.ID, e.Name, e.Description, e.HumanEmail, e.Status, e.CreatedAt, e.ExpiresAt, e.AgentID}
}

// enrollmentCmd: enrollment list|approve|deny — agents' self-enrolments addressed to the user.
func (a *app) enrollmentCmd() *cobra.Command {
	c := &cobra.Command{Use: "enrollment", Short: "decide agents' requests to be enrolled by you",
		Example: "  clavis enrollment list\n  clavis enrollment approve 23e5… --scope 'app/**' --vault-id 3f0c…"}
	enrollmentTable := func(vs ...enrollmentView) table {
		t := table{header: []string{"ID", "NAME", "STATUS", "AGENT", "CREATED", "EXPIRES"}}
		for _, v := range vs {
			t.rows = append(t.rows, []string{v.ID, v.Name, v.Status, v.AgentID, ts(v.CreatedAt), ts(v.ExpiresAt)})
		}
		return t
	}
	list := &cobra.Command{Use: "list", Short: "list the enrolments addressed to you, newest first",
		Example: "  clavis enrollment list -o json", Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			s, err := a.resolve(true)
			if err != nil {
				return err
			}
			es, err := s.C.ListEnrollments(c.Context())
			if err != nil {
				return err
			}
			views := listOf(es, viewEnrollment)
			return a.emit(s, views, enrollmentTable(views...))
		}}
	var in clavis.EnrollApproval
	var ttl int
	var expires string
	approve := &cobra.Command{Use: "approve ID", Short: "register the agent in your org; it fetches its key itself",
		Example: "  clavis enrollment approve 23e5… --scope 'app/**' --token-ttl 900", Args: cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			s, err := a.resolve(true)
			if err != nil {
				return err
			}
			if c.Flags().Changed("token-ttl") {
				in.TokenTTL = &ttl
			}
			if expires != "" {
				t, err := time.Parse(time.RFC3339, expires)
				if err != nil {
					return localErr("--expires-at: %v", err)
				}
				in.ExpiresAt = &t
			}
			g, err := s.C.ApproveEnrollment(c.Context(), args[0], in)
			if err != nil {
				return err
			}
			a.msg("enrolled agent %s; it receives its key on its next poll", g.ID)
			type approved struct {
				Agent agentView `json:"agent"`
			}
			v := viewAgent(g)
			return a.emit(s, approved{v}, table{header: []string{"ID", "NAME", "SCOPES"},
				rows: [][]string{{v.ID, v.Name, strings.Join(v.Scopes, ",")}}})
		}}
	approve.Flags().StringSliceVar(&in.Scopes, "scope", nil, "path scope of the agent (repeatable)")
	approve.Flags().StringSliceVar(&in.VaultIDs, "vault-id", nil, "bind the agent to this vault (repeatable)")
	approve.Flags().IntVar(&ttl, "token-ttl", 0, "agent token lifetime in seconds")
	approve.Flags().StringVar(&expires, "expires-at", "", "the agent expires at this RFC 3339 time")
	deny := &cobra.Command{Use: "deny ID", Short: "refuse an enrolment", Example: "  clavis enrollment deny 23e5…", Args: cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			s, err := a.resolve(true)
			if err != nil {
				return err
			}
			if err := s.C.DenyEnrollment(c.Context(), args[0]); err != nil {
				return err
			}
			a.msg("denied enrolment %s", args[0])
			return nil
		}}
	c.AddCommand(list, approve, deny)
	return c
}
