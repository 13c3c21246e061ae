package httpapi

import (
	"context"
	"net/netip"
	"time"

	"clavis.dev/clavis"
)

// The service interfaces the handlers call, one per resource, declared here by their consumer (DESIGN §4
// rule 3). Every method that takes a *clavis.Caller authorizes it before it looks anything up, and decides
// every rule of the contract (persona and role checks, ranges, malformed ids): the handlers only parse and
// write. Errors are *clavis.Error; anything else is rendered as an internal error. internal/engine
// implements them all (asserted in internal/clavistest).

// Service is everything the HTTP API asks of Clavis.
type Service interface {
	Sessions
	Discovery
	MFA
	APIKeys
	Vaults
	Secrets
	Agents
	Policies
	Audit
	Approvals
	Enrollments
	Sharing
	Organization
	Uses
	// Ready reports whether the database, keys and audit log are usable (/readyz, /v1/health).
	Ready(ctx context.Context) error
}

// Sessions authenticates requests, issues and revokes tokens and manages the caller's own account.
type Sessions interface {
	// Authenticate resolves an Authorization bearer credential (JWT, 1ck_ or ocv_ key) to a live Caller.
	Authenticate(ctx context.Context, bearer string, ip netip.Addr) (*clavis.Caller, error)
	Signup(ctx context.Context, in clavis.SignupInput, ip netip.Addr) (*clavis.Token, error)
	Login(ctx context.Context, email, password string, ip netip.Addr) (*clavis.Token, error)
	AgentToken(ctx context.Context, apiKey, agentID string, ip netip.Addr) (*clavis.Token, error)
	APIKeyToken(ctx context.Context, apiKey string, ip netip.Addr) (*clavis.Token, error)
	RevokeToken(ctx context.Context, c *clavis.Caller) error
	Me(ctx context.Context, c *clavis.Caller) (*clavis.User, error)
	UpdateMe(ctx context.Context, c *clavis.Caller, p clavis.ProfilePatch) (*clavis.User, error)
	ChangePassword(ctx context.Context, c *clavis.Caller, current, next string) error
}

// Discovery publishes the token verification keys.
type Discovery interface {
	JWKS() []byte      // the JWKS document
	PublicKey() []byte // the current Ed25519 public key
	IssuerURL() string
}

// MFA is TOTP second-factor management and the login challenge (spec §4.13).
type MFA interface {
	MFAStatus(ctx context.Context, c *clavis.Caller) (bool, error)
	MFASetup(ctx context.Context, c *clavis.Caller) (uri string, secret clavis.Sensitive, err error)
	MFAVerifySetup(ctx context.Context, c *clavis.Caller, code string) ([]clavis.Sensitive, error)
	MFAVerify(ctx context.Context, mfaToken, code string, ip netip.Addr) (*clavis.Token, error)
	MFADisable(ctx context.Context, c *clavis.Caller, code, password string) error
}

// APIKeys manages the caller's personal API keys (spec §4.3).
type APIKeys interface {
	CreateAPIKey(ctx context.Context, c *clavis.Caller, in clavis.APIKeyInput) (*clavis.APIKey, clavis.Sensitive, error)
	ListAPIKeys(ctx context.Context, c *clavis.Caller) ([]*clavis.APIKey, error)
	RevokeAPIKey(ctx context.Context, c *clavis.Caller, id string) error
}

// Vaults manages vaults (spec §4.4).
type Vaults interface {
	CreateVault(ctx context.Context, c *clavis.Caller, in clavis.VaultInput) (*clavis.Vault, error)
	ListVaults(ctx context.Context, c *clavis.Caller) ([]*clavis.Vault, error)
	GetVault(ctx context.Context, c *clavis.Caller, id string) (*clavis.Vault, error)
	DeleteVault(ctx context.Context, c *clavis.Caller, id string) error
}

// Secrets reads and writes secrets and their versions (spec §4.5, §4.6).
type Secrets interface {
	PutSecret(ctx context.Context, c *clavis.Caller, vaultID, path string, in clavis.SecretInput) (*clavis.SecretMeta, error)
	GetSecret(ctx context.Context, c *clavis.Caller, vaultID, path string) (*clavis.SecretValue, error)
	ListSecrets(ctx context.Context, c *clavis.Caller, vaultID, prefix string) ([]clavis.SecretMeta, error)
	DeleteSecret(ctx context.Context, c *clavis.Caller, vaultID, path string) error
	ListVersions(ctx context.Context, c *clavis.Caller, vaultID, path string) ([]clavis.SecretMeta, error)
	GetVersion(ctx context.Context, c *clavis.Caller, vaultID, path string, version int) (*clavis.SecretValue, error)
	DisableVersion(ctx context.Context, c *clavis.Caller, vaultID, path string, version int) error
	RotateSecret(ctx context.Context, c *clavis.Caller, vaultID, path string, in clavis.RotateInput) (*clavis.SecretMeta, error)
	RestoreVersion(ctx context.Context, c *clavis.Caller, vaultID, path string, version int) (*clavis.SecretMeta, error)
}

// Uses are the destination configs and proxied calls of use without read (spec use.md).
type Uses interface {
	PutUseConfig(ctx context.Context, c *clavis.Caller, vaultID, path string, in clavis.UseConfigInput) (*clavis.UseConfig, error)
	GetUseConfig(ctx context.Context, c *clavis.Caller, vaultID, path string) (*clavis.UseConfig, error)
	DeleteUseConfig(ctx context.Context, c *clavis.Caller, vaultID, path string) error
	UseSecret(ctx context.Context, c *clavis.Caller, vaultID, path string, req clavis.UseRequest) (*clavis.UseResult, error)
}

// Agents registers and manages agents (spec §4.7).
type Agents interface {
	CreateAgent(ctx context.Context, c *clavis.Caller, in clavis.AgentInput) (*clavis.AgentKey, error)
	ListAgents(ctx context.Context, c *clavis.Caller) ([]*clavis.Agent, error)
	GetAgent(ctx context.Context, c *clavis.Caller, id string) (*clavis.Agent, error)
	// AgentMe returns the calling agent's own record.
	AgentMe(ctx context.Context, c *clavis.Caller) (*clavis.Agent, error)
	UpdateAgent(ctx context.Context, c *clavis.Caller, id string, p clavis.AgentPatch) (*clavis.Agent, error)
	DeleteAgent(ctx context.Context, c *clavis.Caller, id string) error
	RotateAgentKey(ctx context.Context, c *clavis.Caller, id string) (*clavis.AgentKey, error)
}

// Policies manages a vault's policies and explains decisions (spec §4.9).
type Policies interface {
	CreatePolicy(ctx context.Context, c *clavis.Caller, vaultID string, in clavis.PolicyInput) (*clavis.Policy, error)
	ListPolicies(ctx context.Context, c *clavis.Caller, vaultID string) ([]*clavis.Policy, error)
	UpdatePolicy(ctx context.Context, c *clavis.Caller, vaultID, policyID string, p clavis.PolicyPatch) (*clavis.Policy, error)
	DeletePolicy(ctx context.Context, c *clavis.Caller, vaultID, policyID string) error
	Explain(ctx context.Context, c *clavis.Caller, vaultID string, q clavis.ExplainQuery) (*clavis.Explanation, error)
}

// Audit lists and verifies the org's audit log (spec §4.10, §5.3).
type Audit interface {
	ListAudit(ctx context.Context, c *clavis.Caller, q clavis.AuditQuery) ([]*clavis.AuditEvent, error)
	VerifyAudit(ctx context.Context, c *clavis.Caller, from, to *time.Time, limit int) (*clavis.AuditVerification, error)
}

// Approvals are agents' requests for a human decision (spec §4.14).
type Approvals interface {
	RequestApproval(ctx context.Context, c *clavis.Caller, in clavis.ApprovalInput) (*clavis.Approval, error)
	ListApprovals(ctx context.Context, c *clavis.Caller, q clavis.ApprovalQuery) ([]*clavis.Approval, error)
	GetApproval(ctx context.Context, c *clavis.Caller, id string) (*clavis.Approval, error)
	DecideApproval(ctx context.Context, c *clavis.Caller, id, decision, reason string) (*clavis.Approval, error)
}

// Enrollments are agents' public self-enrolment requests and the addressed humans' decisions (spec §4.8).
type Enrollments interface {
	Enroll(ctx context.Context, in clavis.EnrollInput, ip netip.Addr) (*clavis.EnrollTicket, error)
	PollEnrollment(ctx context.Context, id, secret string, ip netip.Addr) (*clavis.EnrollmentStatus, error)
	ListEnrollments(ctx context.Context, c *clavis.Caller) ([]*clavis.Enrollment, error)
	ApproveEnrollment(ctx context.Context, c *clavis.Caller, id string, in clavis.EnrollApproval) (*clavis.Agent, error)
	DenyEnrollment(ctx context.Context, c *clavis.Caller, id string) error
}

// Sharing creates, opens, lists, answers and revokes shares (spec §4.11).
type Sharing interface {
	CreateShare(ctx context.Context, c *clavis.Caller, secretID string, in clavis.ShareInput) (*clavis.Share, error)
	// AccessShare opens a share; c is nil for an anonymous request.
	AccessShare(ctx context.Context, c *clavis.Caller, shareID string, passphrase clavis.Sensitive, ip netip.Addr) (*clavis.SharedSecret, error)
	RevokeShare(ctx context.Context, c *clavis.Caller, shareID string) error
	ListOutboundShares(ctx context.Context, c *clavis.Caller) ([]*clavis.Share, error)
	ListInboundShares(ctx context.Context, c *clavis.Caller) ([]*clavis.Share, error)
	AcceptShare(ctx context.Context, c *clavis.Caller, shareID string) error
	DeclineShare(ctx context.Context, c *clavis.Caller, shareID string) error
}

// Organization manages members, invitations, the agent-keys vault and IP rules (spec §4.12).
type Organization interface {
	ListMembers(ctx context.Context, c *clavis.Caller) ([]*clavis.User, error)
	InviteMember(ctx context.Context, c *clavis.Caller, email string, role clavis.Role) (*clavis.Invite, error)
	SetMemberRole(ctx context.Context, c *clavis.Caller, userID string, role clavis.Role) (*clavis.User, error)
	RemoveMember(ctx context.Context, c *clavis.Caller, userID string) error
	AgentKeysVault(ctx context.Context, c *clavis.Caller) (string, error)
	ListIPRules(ctx context.Context, c *clavis.Caller) ([]*clavis.IPRule, error)
	CreateIPRule(ctx context.Context, c *clavis.Caller, in clavis.IPRuleInput) (*clavis.IPRule, error)
	DeleteIPRule(ctx context.Context, c *clavis.Caller, id string) error
}
