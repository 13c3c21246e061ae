package web

import (
	"bytes"
	"encoding/json"
	"net/url"
	"strings"

	"clavis.dev/clavis"
)

// The approvals and enrolments inbox (docs/dashboard.md §2.8): agents' requests the user may decide,
// pending first, and the agents' enrolment requests addressed to the user. Each has a deep link
// (/ui/approvals/{id}, /ui/enrollments/{id}) that the notifications of internal/notify point to.

type approvalRow struct {
	*clavis.Approval
	AgentName string
	VaultName string
	Summary   string // the request's object, indented
}

type inboxPage struct {
	Pending     []approvalRow
	Decided     []approvalRow
	Enrollments []*clavis.Enrollment
}

// names returns readable names of the org's agents and the visible vaults, by id (a member sees no
// agent list: the ids remain).
func names(q *req) (agents, vaults map[string]string) {
	ctx := q.r.Context()
	agents, vaults = map[string]string{}, map[string]string{}
	if as, err := q.svc.ListAgents(ctx); err == nil {
		for _, a := range as {
			agents[a.ID] = a.Name
		}
	}
	if vs, err := q.svc.ListVaults(ctx); err == nil {
		for _, v := range vs {
			vaults[v.ID] = v.Name
		}
	}
	return agents, vaults
}

func approvalRowOf(a *clavis.Approval, agents, vaults map[string]string) approvalRow {
	r := approvalRow{Approval: a, AgentName: agents[a.AgentID], VaultName: vaults[a.TargetID], Summary: string(a.Summary)}
	var buf bytes.Buffer
	if json.Indent(&buf, a.Summary, "", "  ") == nil {
		r.Summary = buf.String()
	}
	return r
}

func inboxView(h *Handler, q *req) (string, any, error) {
	ctx := q.r.Context()
	as, err := q.svc.ListApprovals(ctx, clavis.ApprovalQuery{Limit: 200})
	if err != nil {
		return "", nil, err
	}
	es, err := q.svc.ListEnrollments(ctx)
	if err != nil {
		return "", nil, err
	}
	agents, vaults := names(q)
	p := inboxPage{Enrollments: es}
	for _, a := range as {
		if a.Status == clavis.ApprovalPending {
			p.Pending = append(p.Pending, approvalRowOf(a, agents, vaults))
		} else {
			p.Decided = append(p.Decided, approvalRowOf(a, agents, vaults))
		}
	}
	return "approvals", p, nil
}

func approvalView(h *Handler, q *req) (string, any, error) {
	a, err := q.svc.GetApproval(q.r.Context(), q.r.PathValue("approval"))
	if err != nil {
		return "", nil, err
	}
	agents, vaults := names(q)
	return "approval", approvalRowOf(a, agents, vaults), nil
}

func approvalURL(id string) string { return "/ui/approvals/" + url.PathEscape(id) }

// decideApproval approves or rejects an approval with the reason given.
func decideApproval(h *Handler, q *req) error {
	id := q.r.PathValue("approval")
	var approve bool
	switch q.r.PostFormValue("decision") {
	case "approve":
		approve = true
	case "reject":
	default:
		return again(approvalView, clavis.Invalid("decision", "Choose approve or reject"))
	}
	a, err := q.svc.DecideApproval(q.r.Context(), id, approve, strings.TrimSpace(q.r.PostFormValue("reason")))
	if err != nil {
		return again(approvalView, err)
	}
	return redirect(q, approvalURL(id), "approval-"+a.Status)
}

type enrollmentPage struct {
	Enrollment *clavis.Enrollment
	Vaults     []*clavis.Vault
}

// enrollmentView shows one enrolment addressed to the user (there is no other way to read one than
// the user's own list, so another's id is a 404).
func enrollmentView(h *Handler, q *req) (string, any, error) {
	ctx := q.r.Context()
	es, err := q.svc.ListEnrollments(ctx)
	if err != nil {
		return "", nil, err
	}
	id := q.r.PathValue("enrollment")
	for _, e := range es {
		if e.ID == id {
			vs, err := q.svc.ListVaults(ctx)
			if err != nil {
				return "", nil, err
			}
			return "enrollment", enrollmentPage{Enrollment: e, Vaults: vs}, nil
		}
	}
	return "", nil, clavis.E(clavis.KindNotFound, "No such enrolment request addressed to you")
}

func enrollmentURL(id string) string { return "/ui/enrollments/" + url.PathEscape(id) }

// approveEnrollment registers the enrolling agent in the user's org; its key goes to the agent.
func approveEnrollment(h *Handler, q *req) error {
	id := q.r.PathValue("enrollment")
	exp, err := formTime(q, "expires_at")
	if err != nil {
		return again(enrollmentView, err)
	}
	ttl, err := formInt(q, "token_ttl")
	if err != nil {
		return again(enrollmentView, err)
	}
	a, err := q.svc.ApproveEnrollment(q.r.Context(), id, clavis.EnrollApproval{Scopes: fields(q.r.PostFormValue("scopes")),
		VaultIDs: q.r.PostForm["vault_ids"], ExpiresAt: exp, TokenTTL: ttl})
	if err != nil {
		return again(enrollmentView, err)
	}
	return redirect(q, agentURL(a.ID), "enrollment-approved")
}

func denyEnrollment(h *Handler, q *req) error {
	id := q.r.PathValue("enrollment")
	if err := q.svc.DenyEnrollment(q.r.Context(), id); err != nil {
		return again(enrollmentView, err)
	}
	return redirect(q, enrollmentURL(id), "enrollment-denied")
}
