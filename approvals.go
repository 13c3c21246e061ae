package clavis

import (
	"encoding/json"
	"time"
)

// Approval actions (spec §4.14).
const (
	ApprovalPolicyChange = "policy_change" // an agent asks for a policy; approving creates it
	ApprovalSecretAccess = "secret_access" // a one-time grant for a path guarded by require_approval
)

// Approval statuses.
const (
	ApprovalPending  = "pending"
	ApprovalApproved = "approved"
	ApprovalRejected = "rejected"
	ApprovalExpired  = "expired"
)

// Approval is an agent's request for a human decision (spec §4.14).
type Approval struct {
	ID         string
	OrgID      string
	AgentID    string
	Action     string // ApprovalPolicyChange or ApprovalSecretAccess
	TargetType string // "vault"
	TargetID   string // the vault
	RiskTier   int    // 1–5
	Status     string
	// Summary is the request's object: {secret_path_pattern, permissions, …} for a policy change,
	// {path, permission} for secret access.
	Summary        json.RawMessage
	Reason         string
	DecisionReason string
	DecidedBy      string // bare uuid of the deciding user
	DecidedAt      *time.Time
	ExpiresAt      time.Time
	CreatedAt      time.Time
}

// ApprovalInput is an agent's request (POST /v1/approvals/request).
type ApprovalInput struct {
	Action     string
	TargetType string
	TargetID   string
	Summary    json.RawMessage
	Reason     string
	RiskTier   int // 0 = the default, 1
}

// ApprovalQuery filters the approvals a user may decide. A zero Limit is the default (50); larger than
// 200 is 200.
type ApprovalQuery struct {
	Status        string // "" for all
	Limit, Offset int
}

// Enrollment statuses (spec §4.8).
const (
	EnrollmentPending  = "pending"
	EnrollmentApproved = "approved"
	EnrollmentDenied   = "denied"
	EnrollmentExpired  = "expired"
)

// Enrollment is an agent's public request to be registered by a human (spec §4.8).
type Enrollment struct {
	ID          string
	Name        string
	Description string
	HumanEmail  string // lower-cased
	Status      string
	AgentID     string // once approved
	CreatedAt   time.Time
	ExpiresAt   time.Time
}

// EnrollInput is an agent's enrolment request.
type EnrollInput struct {
	Name, HumanEmail, Description string
}

// EnrollTicket is the answer to an enrolment request: the id and the secret the agent polls with. It is
// identical in shape whether or not the addressed human exists.
type EnrollTicket struct {
	EnrollmentID string
	Secret       Sensitive
	ApprovalURL  string
	ExpiresAt    time.Time
}

// EnrollmentStatus is what a poll of an enrolment returns; APIKey is set on the first poll after approval
// only.
type EnrollmentStatus struct {
	EnrollmentID string
	Status       string
	AgentID      string
	APIKey       Sensitive
}

// EnrollApproval is what the approving human may set on the agent (as agent create).
type EnrollApproval struct {
	Scopes    []string
	VaultIDs  []string
	ExpiresAt *time.Time
	TokenTTL  *int
}
