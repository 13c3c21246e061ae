package clavis

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/netip"
	"time"
)

// Caller is the authenticated identity of one request, established by Service.Authenticate.
type Caller struct {
	Principal
	Role Role // users only
	// Scopes is the path-scope ceiling in force (agent scopes, or the scopes of the 1ck_ key in use); labels excluded.
	Scopes   []string
	VaultIDs []string // agents only: the vault binding; empty = not bound
	APIKeyID string   // the 1ck_ key in use, directly or through a token minted from it
	// TokenID and TokenExpires describe the JWT in use; TokenID is "" when a raw key authenticated the request.
	TokenID      string
	TokenExpires time.Time
	IP           netip.Addr
	// Via names the transport when it is not the HTTP API ("mcp" for /mcp); the audit events of the
	// request record it as details.via.
	Via string
}

// Sensitive is a secret value or credential in transit to its one rightful reader. It redacts itself
// under every fmt verb, in slog output and in JSON encoding (so also inside slices, maps and structs
// that slog's JSON handler marshals); only an explicit string conversion reveals it. Encoders of the
// wire format convert explicitly. Decoding JSON into a Sensitive stores the value as sent.
type Sensitive string

const redacted = "[redacted]"

func (Sensitive) String() string       { return redacted }
func (Sensitive) GoString() string     { return redacted }
func (Sensitive) LogValue() slog.Value { return slog.StringValue(redacted) }

// Format prints "[redacted]" under every verb and flag, as fmt would print that string.
func (Sensitive) Format(f fmt.State, verb rune) { fmt.Fprintf(f, fmt.FormatString(f, verb), redacted) }

// MarshalJSON encodes "[redacted]".
func (Sensitive) MarshalJSON() ([]byte, error) { return []byte(`"` + redacted + `"`), nil }

// Token is an issued access token. It redacts its credentials in fmt, slog and JSON output.
type Token struct {
	AccessToken Sensitive
	ExpiresIn   int
	AgentID     string // set only when the response must echo it (spec §7 item 2)
	Email       string // signup only
	// MFAToken is set instead of AccessToken when a login needs a second factor.
	MFAToken Sensitive
}

// SignupInput is a new account.
type SignupInput struct {
	Email       string
	Password    Sensitive
	DisplayName string
}

// ProfilePatch changes a user's own profile; nil fields are unchanged.
type ProfilePatch struct {
	DisplayName     *string
	MarketingEmails *bool
}

// APIKeyInput creates a personal API key.
type APIKeyInput struct {
	Name      string
	Scopes    []string
	ExpiresAt *time.Time
}

// VaultInput creates a vault.
type VaultInput struct {
	Name, Description string
}

// SecretInput writes a new version of a secret.
type SecretInput struct {
	Value          Sensitive
	Type           string // "" = generic
	Metadata       json.RawMessage
	ExpiresAt      *time.Time
	MaxAccessCount *int // nil = unlimited
}

// RotateInput asks for a server-generated value.
type RotateInput struct {
	Length  *int   // nil = 32
	Charset string // "" = hex
	Type    string // "" = previous version's type
}

// SecretMeta describes one version of a secret without its value.
type SecretMeta struct {
	Secret  *Secret
	Version *Version
}

// SecretValue is one version of a secret with its plaintext, which it redacts in fmt, slog and JSON
// output.
type SecretValue struct {
	SecretMeta
	Value Sensitive
}

// AgentInput registers an agent or (as AgentPatch) changes one.
type AgentInput struct {
	Name        string
	Description string
	Scopes      []string
	VaultIDs    []string
	ExpiresAt   *time.Time
	TokenTTL    *int // seconds; nil = the default
}

// AgentPatch changes an agent; nil fields are unchanged. Clear* fields set an optional field to unset.
type AgentPatch struct {
	Name, Description *string
	Scopes, VaultIDs  *[]string
	Active            *bool
	ExpiresAt         *time.Time
	ClearExpiresAt    bool
	TokenTTL          *int
	ClearTokenTTL     bool
}

// AgentKey is an agent with its freshly issued key, shown once; the key redacts itself in fmt, slog and
// JSON output.
type AgentKey struct {
	Agent *Agent
	Key   Sensitive
}

// PolicyInput creates a policy.
type PolicyInput struct {
	Pattern         string
	PrincipalType   PrincipalType
	PrincipalID     string
	Permissions     []string
	Conditions      json.RawMessage
	ExpiresAt       *time.Time
	Effect          *Effect // nil = allow
	Priority        int
	RequireApproval bool
}

// PolicyPatch changes a policy; nil fields are unchanged. Immutable fields may be given with equal values.
type PolicyPatch struct {
	Pattern         *string
	PrincipalType   *PrincipalType
	PrincipalID     *string
	Permissions     *[]string
	Conditions      *json.RawMessage
	ExpiresAt       *time.Time
	ClearExpiresAt  bool
	Effect          *Effect
	Priority        *int
	RequireApproval *bool
}

// ExplainQuery asks how a request of a principal would be decided.
type ExplainQuery struct {
	PrincipalType PrincipalType
	PrincipalID   string
	Path          string
	Permission    Permission
	IP            netip.Addr
}

// Explanation is an authorization decision with its reason.
type Explanation struct {
	Allowed  bool
	Reason   string
	PolicyID string
}

// AuditQuery filters the audit log.
type AuditQuery struct {
	ResourceID, ActorID, Action, VaultID string
	From, To                             *time.Time
	Limit, Offset                        int
}

// AuditVerification is the outcome of walking an org's chain. GET /v1/audit/verify reports its first
// four fields (spec §5.3); the others are for operators (offline verify).
type AuditVerification struct {
	Valid             bool
	Verified, Checked int
	BrokenAt          string

	// Set when the walk reached the end of the chain and compared it with the org's head, which every
	// append advances and counts:
	Truncated bool   // the chain does not end at the head: events were removed from its end
	Last      string // the chain's last event ("" for an empty chain)
	HeadCount int64  // events the head says the chain holds
}

// WebSession is one of a user's dashboard sign-ins (docs/dashboard.md §1), named by a public id (not
// the cookie's secret id).
type WebSession struct {
	ID                    string
	IP                    string
	CreatedAt, LastSeenAt time.Time
}

// Service is everything transports may ask of Clavis. Every method that takes a Caller authorizes it
// before it looks anything up. Errors are *Error.
type Service interface {
	// Authenticate resolves an Authorization bearer credential (JWT, 1ck_ or ocv_ key) to a live Caller.
	Authenticate(ctx context.Context, bearer string, ip netip.Addr) (*Caller, error)

	Signup(ctx context.Context, in SignupInput, ip netip.Addr) (*Token, error)
	Login(ctx context.Context, email, password string, ip netip.Addr) (*Token, error)
	AgentToken(ctx context.Context, apiKey, agentID string, ip netip.Addr) (*Token, error)
	APIKeyToken(ctx context.Context, apiKey string, ip netip.Addr) (*Token, error)
	RevokeToken(ctx context.Context, c *Caller) error
	Me(ctx context.Context, c *Caller) (*User, error)
	UpdateMe(ctx context.Context, c *Caller, p ProfilePatch) (*User, error)
	ChangePassword(ctx context.Context, c *Caller, current, next string) error
	// SigningKeys returns the JWKS document and the current public key.
	JWKS() []byte
	PublicKey() []byte
	IssuerURL() string

	// MFA (spec §4.13): status, setup (returns the otpauth URI and the base32 secret), verify-setup
	// (returns the recovery codes), the login challenge, and disabling with a code or the password.
	MFAStatus(ctx context.Context, c *Caller) (bool, error)
	MFASetup(ctx context.Context, c *Caller) (uri string, secret Sensitive, err error)
	MFAVerifySetup(ctx context.Context, c *Caller, code string) ([]Sensitive, error)
	MFAVerify(ctx context.Context, mfaToken, code string, ip netip.Addr) (*Token, error)
	MFADisable(ctx context.Context, c *Caller, code, password string) error

	CreateAPIKey(ctx context.Context, c *Caller, in APIKeyInput) (*APIKey, Sensitive, error)
	ListAPIKeys(ctx context.Context, c *Caller) ([]*APIKey, error)
	RevokeAPIKey(ctx context.Context, c *Caller, id string) error

	CreateVault(ctx context.Context, c *Caller, in VaultInput) (*Vault, error)
	ListVaults(ctx context.Context, c *Caller) ([]*Vault, error)
	GetVault(ctx context.Context, c *Caller, id string) (*Vault, error)
	DeleteVault(ctx context.Context, c *Caller, id string) error

	PutSecret(ctx context.Context, c *Caller, vaultID, path string, in SecretInput) (*SecretMeta, error)
	GetSecret(ctx context.Context, c *Caller, vaultID, path string) (*SecretValue, error)
	ListSecrets(ctx context.Context, c *Caller, vaultID, prefix string) ([]SecretMeta, error)
	DeleteSecret(ctx context.Context, c *Caller, vaultID, path string) error
	ListVersions(ctx context.Context, c *Caller, vaultID, path string) ([]SecretMeta, error)
	GetVersion(ctx context.Context, c *Caller, vaultID, path string, version int) (*SecretValue, error)
	DisableVersion(ctx context.Context, c *Caller, vaultID, path string, version int) error
	RotateSecret(ctx context.Context, c *Caller, vaultID, path string, in RotateInput) (*SecretMeta, error)
	RestoreVersion(ctx context.Context, c *Caller, vaultID, path string, version int) (*SecretMeta, error)

	CreateAgent(ctx context.Context, c *Caller, in AgentInput) (*AgentKey, error)
	ListAgents(ctx context.Context, c *Caller) ([]*Agent, error)
	GetAgent(ctx context.Context, c *Caller, id string) (*Agent, error)
	// AgentMe returns the calling agent's own record.
	AgentMe(ctx context.Context, c *Caller) (*Agent, error)
	UpdateAgent(ctx context.Context, c *Caller, id string, p AgentPatch) (*Agent, error)
	DeleteAgent(ctx context.Context, c *Caller, id string) error
	RotateAgentKey(ctx context.Context, c *Caller, id string) (*AgentKey, error)

	CreatePolicy(ctx context.Context, c *Caller, vaultID string, in PolicyInput) (*Policy, error)
	ListPolicies(ctx context.Context, c *Caller, vaultID string) ([]*Policy, error)
	UpdatePolicy(ctx context.Context, c *Caller, vaultID, policyID string, p PolicyPatch) (*Policy, error)
	DeletePolicy(ctx context.Context, c *Caller, vaultID, policyID string) error
	Explain(ctx context.Context, c *Caller, vaultID string, q ExplainQuery) (*Explanation, error)

	// Use without read (spec use.md).
	PutUseConfig(ctx context.Context, c *Caller, vaultID, path string, in UseConfigInput) (*UseConfig, error)
	GetUseConfig(ctx context.Context, c *Caller, vaultID, path string) (*UseConfig, error)
	DeleteUseConfig(ctx context.Context, c *Caller, vaultID, path string) error
	UseSecret(ctx context.Context, c *Caller, vaultID, path string, req UseRequest) (*UseResult, error)

	ListAudit(ctx context.Context, c *Caller, q AuditQuery) ([]*AuditEvent, error)
	VerifyAudit(ctx context.Context, c *Caller, from, to *time.Time, limit int) (*AuditVerification, error)

	RequestApproval(ctx context.Context, c *Caller, in ApprovalInput) (*Approval, error)
	ListApprovals(ctx context.Context, c *Caller, q ApprovalQuery) ([]*Approval, error)
	GetApproval(ctx context.Context, c *Caller, id string) (*Approval, error)
	// DecideApproval takes the decision as sent ("approve" or "approved", "reject" or "rejected"), so that
	// a route-level refusal comes before its validation.
	DecideApproval(ctx context.Context, c *Caller, id, decision, reason string) (*Approval, error)

	// Enroll files a public enrolment request (spec §4.8); its answer never depends on whether the
	// addressed email belongs to anyone. PollEnrollment needs the enrolment's secret (else KindNotFound).
	Enroll(ctx context.Context, in EnrollInput, ip netip.Addr) (*EnrollTicket, error)
	PollEnrollment(ctx context.Context, id, secret string, ip netip.Addr) (*EnrollmentStatus, error)
	ListEnrollments(ctx context.Context, c *Caller) ([]*Enrollment, error)
	ApproveEnrollment(ctx context.Context, c *Caller, id string, in EnrollApproval) (*Agent, error)
	DenyEnrollment(ctx context.Context, c *Caller, id string) error
	CreateShare(ctx context.Context, c *Caller, secretID string, in ShareInput) (*Share, error)
	// AccessShare opens a share (GET /v1/share/{id}); c is nil for an anonymous request.
	AccessShare(ctx context.Context, c *Caller, shareID string, passphrase Sensitive, ip netip.Addr) (*SharedSecret, error)
	RevokeShare(ctx context.Context, c *Caller, shareID string) error
	ListOutboundShares(ctx context.Context, c *Caller) ([]*Share, error)
	ListInboundShares(ctx context.Context, c *Caller) ([]*Share, error)
	AcceptShare(ctx context.Context, c *Caller, shareID string) error
	DeclineShare(ctx context.Context, c *Caller, shareID string) error

	ListMembers(ctx context.Context, c *Caller) ([]*User, error)
	InviteMember(ctx context.Context, c *Caller, email string, role Role) (*Invite, error)
	SetMemberRole(ctx context.Context, c *Caller, userID string, role Role) (*User, error)
	RemoveMember(ctx context.Context, c *Caller, userID string) error
	AgentKeysVault(ctx context.Context, c *Caller) (string, error)
	ListIPRules(ctx context.Context, c *Caller) ([]*IPRule, error)
	CreateIPRule(ctx context.Context, c *Caller, in IPRuleInput) (*IPRule, error)
	DeleteIPRule(ctx context.Context, c *Caller, id string) error

	// Ready reports whether the database, keys and audit log are usable.
	Ready(ctx context.Context) error
}
