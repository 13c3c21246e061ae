package clavis

import "time"

// Notification event types: what a human is told about approvals and enrolments.
const (
	NoticeApprovalRequested   = "approval.requested"
	NoticeApprovalDecided     = "approval.decided"
	NoticeEnrollmentRequested = "enrollment.requested"
	NoticeEnrollmentDecided   = "enrollment.decided"
)

// Notice is a notification about a pending or decided approval or enrolment, made from its committed
// audit event. It holds ids, names, paths and a link — never a secret value, key, token or password —
// and Recipients, the email addresses of the humans who should act (empty when nobody should be
// emailed, e.g. for an enrolment addressed to an email that belongs to no user).
type Notice struct {
	ID         string    `json:"id"` // the audit event's id: one notice per event
	Type       string    `json:"type"`
	OccurredAt time.Time `json:"occurred_at"`
	OrgID      string    `json:"org_id,omitempty"`

	ApprovalID   string `json:"approval_id,omitempty"`
	EnrollmentID string `json:"enrollment_id,omitempty"`
	Action       string `json:"action,omitempty"` // approval action: policy_change | secret_access
	Status       string `json:"status,omitempty"`
	AgentID      string `json:"agent_id,omitempty"`
	AgentName    string `json:"agent_name,omitempty"`
	VaultID      string `json:"vault_id,omitempty"`
	VaultName    string `json:"vault_name,omitempty"`
	Path         string `json:"path,omitempty"`
	Permission   string `json:"permission,omitempty"`
	// URL is the dashboard page where the human decides.
	URL string `json:"url,omitempty"`

	Recipients []string `json:"-"`
}

// Delivery is the outcome of delivering one notice on one channel, recorded by the server.
type Delivery struct {
	ID       string
	NoticeID string // the notice's (audit event's) id
	Channel  string // "webhook" or "email"
	// Target names the destination without credentials: the webhook's scheme, host and path, or the
	// email recipients.
	Target    string
	Status    string // "delivered" or "failed"
	Attempts  int
	Error     string // the last failure, when failed ("" otherwise); never a secret
	CreatedAt time.Time
}
