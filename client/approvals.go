package client

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"clavis.dev/clavis"
)

// wireApproval is Approval (spec §4.14).
type wireApproval struct {
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
	Reason         string          `json:"reason"`
	DecisionReason string          `json:"decision_reason"`
	DecidedBy      string          `json:"decided_by"`
	DecidedAt      *time.Time      `json:"decided_at"`
}

func (w wireApproval) root() *clavis.Approval {
	return &clavis.Approval{ID: w.ID, OrgID: w.OrgID, AgentID: w.AgentID, Action: w.Action, TargetType: w.TargetType,
		TargetID: w.TargetID, RiskTier: w.RiskTier, Status: w.Status, Summary: w.Summary, Reason: w.Reason,
		DecisionReason: w.DecisionReason, DecidedBy: w.DecidedBy, DecidedAt: w.DecidedAt, ExpiresAt: w.ExpiresAt,
		CreatedAt: w.CreatedAt}
}

// RequestApproval files the agent's request (POST /v1/approvals/request). Errors: KindInvalid,
// KindForbidden (a user), KindNotFound (target vault).
func (c *Client) RequestApproval(ctx context.Context, in clavis.ApprovalInput) (*clavis.Approval, error) {
	body := struct {
		Action     string          `json:"action"`
		TargetType string          `json:"target_type"`
		TargetID   string          `json:"target_id"`
		Summary    json.RawMessage `json:"summary"`
		Reason     string          `json:"reason,omitempty"`
		RiskTier   int             `json:"risk_tier,omitempty"`
	}{in.Action, in.TargetType, in.TargetID, in.Summary, in.Reason, in.RiskTier}
	w, err := call[wireApproval](ctx, c, http.MethodPost, "/v1/approvals/request", nil, body)
	if err != nil {
		return nil, err
	}
	return w.root(), nil
}

// ListApprovals lists the approvals the user may decide, newest first (GET /v1/approvals).
func (c *Client) ListApprovals(ctx context.Context, q clavis.ApprovalQuery) ([]*clavis.Approval, error) {
	query := url.Values{}
	if q.Status != "" {
		query.Set("status", q.Status)
	}
	if q.Limit != 0 {
		query.Set("limit", strconv.Itoa(q.Limit))
	}
	if q.Offset != 0 {
		query.Set("offset", strconv.Itoa(q.Offset))
	}
	out, err := call[struct {
		Approvals []wireApproval `json:"approvals"`
	}](ctx, c, http.MethodGet, "/v1/approvals", query, nil)
	if err != nil {
		return nil, err
	}
	return roots(out.Approvals, wireApproval.root), nil
}

// GetApproval returns one approval (GET /v1/approvals/{id}). Errors: KindNotFound.
func (c *Client) GetApproval(ctx context.Context, id string) (*clavis.Approval, error) {
	w, err := call[wireApproval](ctx, c, http.MethodGet, "/v1/approvals/"+seg(id), nil, nil)
	if err != nil {
		return nil, err
	}
	return w.root(), nil
}

// DecideApproval approves or rejects a pending approval (POST /v1/approvals/{id}/decide). Errors:
// KindNotFound, KindConflict (not pending).
func (c *Client) DecideApproval(ctx context.Context, id string, approve bool, reason string) (*clavis.Approval, error) {
	decision := "reject"
	if approve {
		decision = "approve"
	}
	body := struct {
		Decision string `json:"decision"`
		Reason   string `json:"reason,omitempty"`
	}{decision, reason}
	w, err := call[wireApproval](ctx, c, http.MethodPost, "/v1/approvals/"+seg(id)+"/decide", nil, body)
	if err != nil {
		return nil, err
	}
	return w.root(), nil
}

// wireEnrollment is Enrollment (spec §4.8).
type wireEnrollment struct {
	ID          string    `json:"id"`
	Name        string    `json:"name"`
	Description string    `json:"description"`
	HumanEmail  string    `json:"human_email"`
	Status      string    `json:"status"`
	CreatedAt   time.Time `json:"created_at"`
	ExpiresAt   time.Time `json:"expires_at"`
	AgentID     string    `json:"agent_id"`
}

func (w wireEnrollment) root() *clavis.Enrollment {
	return &clavis.Enrollment{ID: w.ID, Name: w.Name, Description: w.Description, HumanEmail: w.HumanEmail,
		Status: w.Status, AgentID: w.AgentID, CreatedAt: w.CreatedAt, ExpiresAt: w.ExpiresAt}
}

// ListEnrollments lists the enrolments addressed to the user, newest first (GET /v1/agents/enrollments).
func (c *Client) ListEnrollments(ctx context.Context) ([]*clavis.Enrollment, error) {
	out, err := call[struct {
		Enrollments []wireEnrollment `json:"enrollments"`
	}](ctx, c, http.MethodGet, "/v1/agents/enrollments", nil, nil)
	if err != nil {
		return nil, err
	}
	return roots(out.Enrollments, wireEnrollment.root), nil
}

// ApproveEnrollment registers the enrolled agent in the user's org
// (POST /v1/agents/enrollments/{id}/approve). Errors: KindInvalid, KindNotFound, KindConflict.
func (c *Client) ApproveEnrollment(ctx context.Context, id string, in clavis.EnrollApproval) (*clavis.Agent, error) {
	body := struct {
		Scopes    []string   `json:"scopes,omitempty"`
		VaultIDs  []string   `json:"vault_ids,omitempty"`
		ExpiresAt *time.Time `json:"expires_at,omitempty"`
		TokenTTL  *int       `json:"token_ttl_seconds,omitempty"`
	}{in.Scopes, in.VaultIDs, in.ExpiresAt, in.TokenTTL}
	out, err := call[struct {
		Agent wireAgent `json:"agent"`
	}](ctx, c, http.MethodPost, "/v1/agents/enrollments/"+seg(id)+"/approve", nil, body)
	if err != nil {
		return nil, err
	}
	return out.Agent.root(), nil
}

// DenyEnrollment refuses an enrolment (POST /v1/agents/enrollments/{id}/deny). Errors: KindNotFound,
// KindConflict.
func (c *Client) DenyEnrollment(ctx context.Context, id string) error {
	return c.do(ctx, http.MethodPost, "/v1/agents/enrollments/"+seg(id)+"/deny", nil, nil, nil)
}
