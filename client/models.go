package client

import (
	"time"

	"clavis.dev/clavis"
)

// Response models mirror spec §1.4 key for key. Optional times are pointers (nil when the key is absent
// or null); other optional keys decode to their zero value when absent. Free-form objects (metadata,
// conditions, details) are map[string]any.

// Health is GET /v1/health.
type Health struct {
	Status  string `json:"status"` // "healthy" or "degraded"
	Version string `json:"version"`
}

// Token is TokenResponse, LoginResponse or SignupResponse. On an MFA challenge AccessToken is empty and
// MFARequired and MFAToken are set.
type Token struct {
	AccessToken clavis.Sensitive `json:"access_token"`
	TokenType   string           `json:"token_type"` // "Bearer"
	ExpiresIn   int              `json:"expires_in"` // seconds
	AgentID     string           `json:"agent_id,omitempty"`
	Email       string           `json:"email,omitempty"` // signup only
	MFARequired bool             `json:"mfa_required,omitempty"`
	MFAToken    clavis.Sensitive `json:"mfa_token,omitempty"`
}

// UserProfile is the calling user (GET/PATCH /v1/auth/me).
type UserProfile struct {
	ID              string    `json:"id"`
	Email           string    `json:"email"`
	DisplayName     string    `json:"display_name"`
	AuthMethod      string    `json:"auth_method"`
	Role            string    `json:"role"`
	EmailVerified   bool      `json:"email_verified"`
	MarketingEmails bool      `json:"marketing_emails"`
	TOTPEnabled     bool      `json:"totp_enabled"`
	OrgID           string    `json:"org_id"`
	CreatedAt       time.Time `json:"created_at"`
}

// ApiKey is a personal API key (1ck_) without the key itself. The name mirrors the spec model.
type ApiKey struct {
	ID         string     `json:"id"`
	Name       string     `json:"name"`
	KeyPrefix  string     `json:"key_prefix"`
	Scopes     []string   `json:"scopes"`
	IsActive   bool       `json:"is_active"`
	CreatedAt  time.Time  `json:"created_at"`
	ExpiresAt  *time.Time `json:"expires_at"`
	LastUsedAt *time.Time `json:"last_used_at"`
}

// Vault is a vault. CreatedBy is the bare UUID of the creator, CreatedByType "user" or "agent".
type Vault struct {
	ID            string    `json:"id"`
	Name          string    `json:"name"`
	Description   string    `json:"description"`
	CreatedBy     string    `json:"created_by"`
	CreatedByType string    `json:"created_by_type"`
	CreatedAt     time.Time `json:"created_at"`
}

// SecretMetadata describes one version of a secret without its value (PUT, rotate, restore, list).
type SecretMetadata struct {
	ID        string         `json:"id"`
	Path      string         `json:"path"`
	Type      string         `json:"type"`
	Version   int            `json:"version"`
	Metadata  map[string]any `json:"metadata"`
	CreatedAt time.Time      `json:"created_at"`
	ExpiresAt *time.Time     `json:"expires_at,omitempty"`
}

// SecretVersion is one entry of a secret's version list.
type SecretVersion struct {
	ID         string         `json:"id"`
	Path       string         `json:"path"`
	Type       string         `json:"type"`
	Version    int            `json:"version"`
	Metadata   map[string]any `json:"metadata"`
	CreatedAt  time.Time      `json:"created_at"`
	IsDisabled bool           `json:"is_disabled"`
	ExpiresAt  *time.Time     `json:"expires_at,omitempty"`
}

// Secret is one version of a secret with its value. Value redacts itself in fmt and slog output;
// string(s.Value) reveals it. CreatedBy is prefixed ("user:<uuid>" or "agent:<uuid>").
type Secret struct {
	ID        string           `json:"id"`
	Path      string           `json:"path"`
	Type      string           `json:"type"`
	Value     clavis.Sensitive `json:"value"`
	Version   int              `json:"version"`
	Metadata  map[string]any   `json:"metadata"`
	CreatedBy string           `json:"created_by"`
	CreatedAt time.Time        `json:"created_at"`
	ExpiresAt *time.Time       `json:"expires_at,omitempty"`
}

// Agent is an agent as its registering humans see it.
type Agent struct {
	ID                string     `json:"id"`
	Name              string     `json:"name"`
	Description       string     `json:"description"`
	AuthMethod        string     `json:"auth_method"`
	Scopes            []string   `json:"scopes"`
	IsActive          bool       `json:"is_active"`
	IntentsAPIEnabled bool       `json:"intents_api_enabled"`
	ShroudEnabled     bool       `json:"shroud_enabled"`
	SSHPublicKey      string     `json:"ssh_public_key"`
	ECDHPublicKey     string     `json:"ecdh_public_key"`
	CreatedAt         time.Time  `json:"created_at"`
	TokenTTLSeconds   *int       `json:"token_ttl_seconds,omitempty"`
	VaultIDs          []string   `json:"vault_ids,omitempty"`
	ExpiresAt         *time.Time `json:"expires_at,omitempty"`
	LastActiveAt      *time.Time `json:"last_active_at,omitempty"`
}

// AgentSelf is the calling agent's own record (GET /v1/agents/me). CreatedBy is the bare UUID of the
// registering user.
type AgentSelf struct {
	ID                string     `json:"id"`
	Name              string     `json:"name"`
	Description       string     `json:"description"`
	OrgID             string     `json:"org_id"`
	Scopes            []string   `json:"scopes"`
	IsActive          bool       `json:"is_active"`
	IntentsAPIEnabled bool       `json:"intents_api_enabled"`
	ShroudEnabled     bool       `json:"shroud_enabled"`
	CreatedBy         string     `json:"created_by"`
	SSHPublicKey      string     `json:"ssh_public_key"`
	ECDHPublicKey     string     `json:"ecdh_public_key"`
	CreatedAt         time.Time  `json:"created_at"`
	VaultIDs          []string   `json:"vault_ids,omitempty"`
	TokenTTLSeconds   *int       `json:"token_ttl_seconds,omitempty"`
	ExpiresAt         *time.Time `json:"expires_at,omitempty"`
	LastActiveAt      *time.Time `json:"last_active_at,omitempty"`
}

// Policy grants or denies permissions on a path pattern of a vault to one principal. The server omits
// effect at its default; the client fills in "allow" so that Effect is always "allow" or "deny".
type Policy struct {
	ID                string         `json:"id"`
	VaultID           string         `json:"vault_id"`
	SecretPathPattern string         `json:"secret_path_pattern"`
	PrincipalType     string         `json:"principal_type"`
	PrincipalID       string         `json:"principal_id"`
	Permissions       []string       `json:"permissions"`
	Conditions        map[string]any `json:"conditions"`
	CreatedBy         string         `json:"created_by"`
	CreatedByType     string         `json:"created_by_type"`
	CreatedAt         time.Time      `json:"created_at"`
	ExpiresAt         *time.Time     `json:"expires_at,omitempty"`
	Effect            string         `json:"effect,omitempty"`
	Priority          int            `json:"priority,omitempty"`
	RequireApproval   bool           `json:"require_approval,omitempty"`
}

// Explain is an authorization decision with its reason (spec §4.9); PolicyID is "" when no policy decided.
type Explain struct {
	Allowed  bool   `json:"allowed"`
	Reason   string `json:"reason"`
	PolicyID string `json:"policy_id,omitempty"`
}

// AuditEvent is one entry of the org's audit chain. PrevEventID is nil for the org's first event.
type AuditEvent struct {
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

// AuditVerify is the outcome of GET /v1/audit/verify. BrokenAtEventID is nil when the chain is valid.
type AuditVerify struct {
	ChainValid      bool        `json:"chain_valid"`
	EventsVerified  int         `json:"events_verified"`
	EventsChecked   int         `json:"events_checked"`
	BrokenAtEventID *string     `json:"broken_at_event_id"`
	Scheme          AuditScheme `json:"scheme"`
}

// AuditScheme describes how the audit chain is built.
type AuditScheme struct {
	Algorithm      string `json:"algorithm"`
	ChainStructure string `json:"chain_structure"`
	HashField      string `json:"hash_field"`
	LinkField      string `json:"link_field"`
	Documentation  string `json:"documentation"`
}
