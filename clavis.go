// Package clavis is the vocabulary of the Clavis secrets vault: the domain types shared by every layer,
// the service interfaces that transports call, and the one error type. It imports the standard library only.
package clavis

import (
	"encoding/json"
	"time"
)

// PrincipalType names the kind of a principal.
type PrincipalType string

const (
	PrincipalUser      PrincipalType = "user"
	PrincipalAgent     PrincipalType = "agent"
	PrincipalAnonymous PrincipalType = "anonymous"
)

// Principal is an authenticated caller. Its String form is "user:<uuid>" or "agent:<uuid>".
type Principal struct {
	Type  PrincipalType
	ID    string
	OrgID string
}

func (p Principal) String() string { return string(p.Type) + ":" + p.ID }

// Role is a user's role in its org.
type Role string

const (
	RoleOwner  Role = "owner"
	RoleAdmin  Role = "admin"
	RoleMember Role = "member"
)

// Permission is an action on a secret path.
type Permission string

const (
	PermRead   Permission = "read"
	PermWrite  Permission = "write"
	PermDelete Permission = "delete"
	PermRotate Permission = "rotate"
	PermShare  Permission = "share"
	// PermUse allows a proxied call with the value injected, never the value itself (spec use.md).
	PermUse Permission = "use"
)

// Permissions returns every permission in canonical order (a new slice each call).
func Permissions() []Permission {
	return []Permission{PermRead, PermWrite, PermDelete, PermRotate, PermShare, PermUse}
}

// Effect is a policy's effect.
type Effect string

const (
	EffectAllow Effect = "allow"
	EffectDeny  Effect = "deny"
)

// SecretTypes returns the accepted secret types; the first is the default (a new slice each call).
func SecretTypes() []string {
	return []string{"generic", "api_key", "password", "private_key", "certificate", "ssh_key", "env", "file", "note", "env_bundle"}
}

// Org is a tenant. Every other object belongs to exactly one org.
type Org struct {
	ID        string
	Name      string
	CreatedAt time.Time
}

// User is a human account.
type User struct {
	ID              string
	OrgID           string
	Email           string // lower-cased
	DisplayName     string
	Role            Role
	MarketingEmails bool
	TOTPEnabled     bool
	Disabled        bool
	CreatedAt       time.Time
}

// APIKey is a personal API key (1ck_).
type APIKey struct {
	ID         string
	UserID     string
	OrgID      string
	Name       string
	Prefix     string
	Scopes     []string
	Active     bool
	ExpiresAt  *time.Time
	LastUsedAt *time.Time
	CreatedAt  time.Time
}

// Agent is a non-human principal registered by a user.
type Agent struct {
	ID            string
	OrgID         string
	Name          string
	Description   string
	Scopes        []string
	VaultIDs      []string
	Active        bool
	ExpiresAt     *time.Time
	TokenTTL      int // seconds; 0 = default
	SSHPublicKey  string
	ECDHPublicKey string
	CreatedBy     string // user id of the registering human
	CreatedAt     time.Time
	LastActiveAt  *time.Time
}

// Vault holds secrets under one vault key.
type Vault struct {
	ID            string
	OrgID         string
	Name          string
	Description   string
	CreatedBy     string // bare uuid of the creator
	CreatedByType PrincipalType
	// OwnerUserID is the human owner-equivalent: the creator itself, or the user who registered the
	// creating agent at creation time.
	OwnerUserID string
	// System marks the org's __agent-keys vault.
	System    bool
	CreatedAt time.Time
}

// Secret is the stable identity of a path in a vault; its values are Versions.
type Secret struct {
	ID            string
	VaultID       string
	Path          string
	Deleted       bool
	LatestVersion int
	CreatedAt     time.Time
}

// Version is one value of a secret: its metadata (the value itself is a SecretValue's).
type Version struct {
	SecretID       string
	Version        int
	Type           string
	Metadata       json.RawMessage
	ExpiresAt      *time.Time
	MaxAccessCount int // 0 = unlimited
	AccessCount    int
	Disabled       bool
	CreatedBy      string // "user:<uuid>" or "agent:<uuid>"
	CreatedAt      time.Time
}

// Policy grants or denies permissions on a path pattern of a vault to one principal.
type Policy struct {
	ID              string
	VaultID         string
	Pattern         string
	PrincipalType   PrincipalType
	PrincipalID     string
	Permissions     []Permission
	Conditions      json.RawMessage // as sent; "{}" when none
	Effect          Effect
	Priority        int
	RequireApproval bool
	ExpiresAt       *time.Time
	CreatedBy       string
	CreatedByType   PrincipalType
	CreatedAt       time.Time
}

// AuditEvent is one entry of an org's tamper-evident log.
type AuditEvent struct {
	ID            string
	OrgID         string
	Action        string
	ActorID       string
	ActorType     PrincipalType
	ResourceType  string
	ResourceID    string
	Details       map[string]any
	IPAddress     string
	CreatedAt     time.Time
	PrevEventID   string // "" for the first event of an org
	IntegrityHash string
}
