package httpapi

import (
	"encoding/json"
	"net/http"

	"clavis.dev/clavis"
)

// approvalModel is Approval (spec §1.4).
type approvalModel struct {
	ID             string          `json:"id"`
	OrgID          string          `json:"org_id"`
	AgentID        string          `json:"agent_id"`
	Action         string          `json:"action"`
	TargetType     string          `json:"target_type"`
	TargetID       string          `json:"target_id"`
	RiskTier       int             `json:"risk_tier"`
	Status         string          `json:"status"`
	Summary        json.RawMessage `json:"summary"`
	ExpiresAt      string          `json:"expires_at"`
	CreatedAt      string          `json:"created_at"`
	Reason         string          `json:"reason,omitempty"`
	DecisionReason string          `json:"decision_reason,omitempty"`
	DecidedBy      string          `json:"decided_by,omitempty"`
	DecidedAt      *string         `json:"decided_at,omitempty"`
}

func approvalOf(a *clavis.Approval) approvalModel {
	return approvalModel{ID: a.ID, OrgID: a.OrgID, AgentID: a.AgentID, Action: a.Action, TargetType: a.TargetType,
		TargetID: a.TargetID, RiskTier: a.RiskTier, Status: a.Status, Summary: rawOrEmpty(a.Summary),
		ExpiresAt: ts(a.ExpiresAt), CreatedAt: ts(a.CreatedAt), Reason: a.Reason, DecisionReason: a.DecisionReason,
		DecidedBy: a.DecidedBy, DecidedAt: tsPtr(a.DecidedAt)}
}

type approvalList struct {
	Approvals []approvalModel `json:"approvals"`
}

// approvalRequestBody is the body of POST /v1/approvals/request.
type approvalRequestBody struct {
	Action     string          `json:"action"`
	TargetType string          `json:"target_type"`
	TargetID   string          `json:"target_id"`
	Summary    json.RawMessage `json:"summary"`
	Reason     string          `json:"reason"`
	RiskTier   nullable[int64] `json:"risk_tier"`
}

// decideBody is the body of decide and of its approve/deny aliases (which ignore decision).
type decideBody struct {
	Decision string `json:"decision"`
	Reason   string `json:"reason"`
}

func requestApproval(s *server, w http.ResponseWriter, r *http.Request, c *clavis.Caller) error {
	var b approvalRequestBody
	if err := decode(r, &b); err != nil {
		return err
	}
	in := clavis.ApprovalInput{Action: b.Action, TargetType: b.TargetType, TargetID: b.TargetID, Summary: b.Summary,
		Reason: b.Reason}
	if v := b.RiskTier.value(); v != nil {
		in.RiskTier = toInt(*v)
		if in.RiskTier == 0 {
			in.RiskTier = -1 // an explicit 0 is out of range, not the default
		}
	}
	a, err := s.svc.RequestApproval(r.Context(), c, in)
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/v1/approvals/"+a.ID)
	writeJSON(w, 202, approvalOf(a))
	return nil
}

func listApprovals(s *server, w http.ResponseWriter, r *http.Request, c *clavis.Caller) error {
	q := r.URL.Query()
	limit, offset, err := pageParams(q, 50, 200)
	if err != nil {
		return err
	}
	as, err := s.svc.ListApprovals(r.Context(), c, clavis.ApprovalQuery{Status: q.Get("status"), Limit: limit, Offset: offset})
	if err != nil {
		return err
	}
	writeJSON(w, 200, approvalList{mapList(as, approvalOf)})
	return nil
}

func getApproval(s *server, w http.ResponseWriter, r *http.Request, c *clavis.Caller) error {
	a, err := s.svc.GetApproval(r.Context(), c, r.PathValue("approval_id"))
	if err != nil {
		return err
	}
	writeJSON(w, 200, approvalOf(a))
	return nil
}

func decideApproval(s *server, w http.ResponseWriter, r *http.Request, c *clavis.Caller) error {
	var b decideBody
	if err := decode(r, &b); err != nil {
		return err
	}
	return decide(s, w, r, c, b.Decision, b.Reason)
}

func approveApproval(s *server, w http.ResponseWriter, r *http.Request, c *clavis.Caller) error {
	var b decideBody
	if err := decode(r, &b); err != nil {
		return err
	}
	return decide(s, w, r, c, "approve", b.Reason)
}

func denyApproval(s *server, w http.ResponseWriter, r *http.Request, c *clavis.Caller) error {
	var b decideBody
	if err := decode(r, &b); err != nil {
		return err
	}
	return decide(s, w, r, c, "reject", b.Reason)
}

func decide(s *server, w http.ResponseWriter, r *http.Request, c *clavis.Caller, decision, reason string) error {
	a, err := s.svc.DecideApproval(r.Context(), c, r.PathValue("approval_id"), decision, reason)
	if err != nil {
		return err
	}
	writeJSON(w, 200, approvalOf(a))
	return nil
}
