package client

import (
	"encoding/json"
	"time"

	"clavis.dev/clavis"
)

// Health is GET /v1/health. It has no counterpart in the root package: it describes the server, not a
// resource.
type Health struct {
	Status  string `json:"status"` // "healthy" or "degraded"
	Version string `json:"version"`
}

// The wire models below mirror spec §1.4 key for key; this file is the one place that turns them into
// root types. Keys that are constant in Clavis (token_type "Bearer", auth_method, email_verified,
// intents_api_enabled, shroud_enabled, the audit verify scheme) have no root field and are dropped.
// Optional times are pointers; free-form objects (metadata, conditions) stay raw JSON as sent.

type wireToken struct {
	AccessToken clavis.Sensitive `json:"access_token"`
	ExpiresIn   int              `json:"expires_in"`
	AgentID     string           `json:"agent_id,omitempty"`
	Email       string           `json:"email,omitempty"`
	MFAToken    clavis.Sensitive `json:"mfa_token,omitempty"`
}

func (w wireToken) root() *clavis.Token {
	return &clavis.Token{AccessToken: w.AccessToken, ExpiresIn: w.ExpiresIn, AgentID: w.AgentID, Email: w.Email, MFAToken: w.MFAToken}
}

type wireUser struct {
	ID              string    `json:"id"`
	Email           string    `json:"email"`
	DisplayName     string    `json:"display_name"`
	Role            string    `json:"role"`
	MarketingEmails bool      `json:"marketing_emails"`
	TOTPEnabled     bool      `json:"totp_enabled"`
	OrgID           string    `json:"org_id"`
	CreatedAt       time.Time `json:"created_at"`
}

func (w wireUser) root() *clavis.User {
	return &clavis.User{ID: w.ID, OrgID: w.OrgID, Email: w.Email, DisplayName: w.DisplayName, Role: clavis.Role(w.Role),
		MarketingEmails: w.MarketingEmails, TOTPEnabled: w.TOTPEnabled, CreatedAt: w.CreatedAt}
}

type wireAPIKey struct {
	ID         string     `json:"id"`
	Name       string     `json:"name"`
	KeyPrefix  string     `json:"key_prefix"`
	Scopes     []string   `json:"scopes"`
	IsActive   bool       `json:"is_active"`
	CreatedAt  time.Time  `json:"created_at"`
	ExpiresAt  *time.Time `json:"expires_at"`
	LastUsedAt *time.Time `json:"last_used_at"`
}

func (w wireAPIKey) root() *clavis.APIKey {
	return &clavis.APIKey{ID: w.ID, Name: w.Name, Prefix: w.KeyPrefix, Scopes: w.Scopes, Active: w.IsActive,
		CreatedAt: w.CreatedAt, ExpiresAt: w.ExpiresAt, LastUsedAt: w.LastUsedAt}
}

// wireVault is a vault; created_by is the bare UUID of the creator.
type wireVault struct {
	ID            string    `json:"id"`
	Name          string    `json:"name"`
	Description   string    `json:"description"`
	CreatedBy     string    `json:"created_by"`
	CreatedByType string    `json:"created_by_type"`
	CreatedAt     time.Time `json:"created_at"`
}

func (w wireVault) root() *clavis.Vault {
	return &clavis.Vault{ID: w.ID, Name: w.Name, Description: w.Description, CreatedBy: w.CreatedBy,
		CreatedByType: clavis.PrincipalType(w.CreatedByType), CreatedAt: w.CreatedAt}
}

// wireSecret is SecretMetadata (PUT, rotate, restore, list), SecretVersion (with is_disabled) and Secret
// (with value and created_by, prefixed "user:<uuid>" or "agent:<uuid>"). The id is the secret's; the
// other keys describe the version.
type wireSecret struct {
	ID         string           `json:"id"`
	Path       string           `json:"path"`
	Type       string           `json:"type"`
	Value      clavis.Sensitive `json:"value"`
	Version    int              `json:"version"`
	Metadata   json.RawMessage  `json:"metadata"`
	CreatedBy  string           `json:"created_by"`
	CreatedAt  time.Time        `json:"created_at"`
	ExpiresAt  *time.Time       `json:"expires_at,omitempty"`
	IsDisabled bool             `json:"is_disabled"`
}

// meta is the SecretMeta of a secret of vaultID.
func (w wireSecret) meta(vaultID string) clavis.SecretMeta {
	return clavis.SecretMeta{
		Secret: &clavis.Secret{ID: w.ID, VaultID: vaultID, Path: w.Path},
		Version: &clavis.Version{SecretID: w.ID, Version: w.Version, Type: w.Type, Metadata: w.Metadata,
			ExpiresAt: w.ExpiresAt, Disabled: w.IsDisabled, CreatedBy: w.CreatedBy, CreatedAt: w.CreatedAt},
	}
}

func (w wireSecret) value(vaultID string) *clavis.SecretValue {
	return &clavis.SecretValue{SecretMeta: w.meta(vaultID), Value: w.Value}
}

func metas(ws []wireSecret, vaultID string) []clavis.SecretMeta {
	out := make([]clavis.SecretMeta, len(ws))
	for i, w := range ws {
		out[i] = w.meta(vaultID)
	}
	return out
}

// wireAgent is Agent and, with org_id and created_by (the bare UUID of the registering user), AgentSelf.
type wireAgent struct {
	ID              string     `json:"id"`
	Name            string     `json:"name"`
	Description     string     `json:"description"`
	OrgID           string     `json:"org_id"`
	Scopes          []string   `json:"scopes"`
	IsActive        bool       `json:"is_active"`
	CreatedBy       string     `json:"created_by"`
	SSHPublicKey    string     `json:"ssh_public_key"`
	ECDHPublicKey   string     `json:"ecdh_public_key"`
	CreatedAt       time.Time  `json:"created_at"`
	TokenTTLSeconds int        `json:"token_ttl_seconds"`
	VaultIDs        []string   `json:"vault_ids"`
	ExpiresAt       *time.Time `json:"expires_at"`
	LastActiveAt    *time.Time `json:"last_active_at"`
}

func (w wireAgent) root() *clavis.Agent {
	return &clavis.Agent{ID: w.ID, OrgID: w.OrgID, Name: w.Name, Description: w.Description, Scopes: w.Scopes,
		VaultIDs: w.VaultIDs, Active: w.IsActive, ExpiresAt: w.ExpiresAt, TokenTTL: w.TokenTTLSeconds,
		SSHPublicKey: w.SSHPublicKey, ECDHPublicKey: w.ECDHPublicKey, CreatedBy: w.CreatedBy, CreatedAt: w.CreatedAt,
		LastActiveAt: w.LastActiveAt}
}

// wireAgentKey is the answer of agent create and rotate-key.
type wireAgentKey struct {
	Agent  wireAgent        `json:"agent"`
	APIKey clavis.Sensitive `json:"api_key"`
}

func (w wireAgentKey) root() *clavis.AgentKey {
	return &clavis.AgentKey{Agent: w.Agent.root(), Key: w.APIKey}
}

// wirePolicy is a policy. The server omits effect at its default, allow.
type wirePolicy struct {
	ID                string          `json:"id"`
	VaultID           string          `json:"vault_id"`
	SecretPathPattern string          `json:"secret_path_pattern"`
	PrincipalType     string          `json:"principal_type"`
	PrincipalID       string          `json:"principal_id"`
	Permissions       []string        `json:"permissions"`
	Conditions        json.RawMessage `json:"conditions"`
	CreatedBy         string          `json:"created_by"`
	CreatedByType     string          `json:"created_by_type"`
	CreatedAt         time.Time       `json:"created_at"`
	ExpiresAt         *time.Time      `json:"expires_at,omitempty"`
	Effect            string          `json:"effect,omitempty"`
	Priority          int             `json:"priority,omitempty"`
	RequireApproval   bool            `json:"require_approval,omitempty"`
}

func (w wirePolicy) root() *clavis.Policy {
	p := &clavis.Policy{ID: w.ID, VaultID: w.VaultID, Pattern: w.SecretPathPattern, PrincipalType: clavis.PrincipalType(w.PrincipalType),
		PrincipalID: w.PrincipalID, Permissions: make([]clavis.Permission, len(w.Permissions)), Conditions: w.Conditions,
		Effect: clavis.Effect(w.Effect), Priority: w.Priority, RequireApproval: w.RequireApproval, ExpiresAt: w.ExpiresAt,
		CreatedBy: w.CreatedBy, CreatedByType: clavis.PrincipalType(w.CreatedByType), CreatedAt: w.CreatedAt}
	for i, s := range w.Permissions {
		p.Permissions[i] = clavis.Permission(s)
	}
	if p.Effect == "" {
		p.Effect = clavis.EffectAllow
	}
	return p
}

type wireExplanation struct {
	Allowed  bool   `json:"allowed"`
	Reason   string `json:"reason"`
	PolicyID string `json:"policy_id,omitempty"`
}

func (w wireExplanation) root() *clavis.Explanation {
	return &clavis.Explanation{Allowed: w.Allowed, Reason: w.Reason, PolicyID: w.PolicyID}
}

// wireAuditEvent is one entry of the org's audit chain; prev_event_id is null for the org's first event.
type wireAuditEvent struct {
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

func (w wireAuditEvent) root() *clavis.AuditEvent {
	e := &clavis.AuditEvent{ID: w.ID, OrgID: w.OrgID, Action: w.Action, ActorID: w.ActorID, ActorType: clavis.PrincipalType(w.ActorType),
		ResourceType: w.ResourceType, ResourceID: w.ResourceID, Details: w.Details, IPAddress: w.IPAddress,
		CreatedAt: w.CreatedAt, IntegrityHash: w.IntegrityHash}
	if w.PrevEventID != nil {
		e.PrevEventID = *w.PrevEventID
	}
	return e
}

// wireAuditVerify is the outcome of GET /v1/audit/verify; broken_at_event_id is null when the chain is
// valid. The scheme object, constant per server, is not kept.
type wireAuditVerify struct {
	ChainValid      bool    `json:"chain_valid"`
	EventsVerified  int     `json:"events_verified"`
	EventsChecked   int     `json:"events_checked"`
	BrokenAtEventID *string `json:"broken_at_event_id"`
}

func (w wireAuditVerify) root() *clavis.AuditVerification {
	v := &clavis.AuditVerification{Valid: w.ChainValid, Verified: w.EventsVerified, Checked: w.EventsChecked}
	if w.BrokenAtEventID != nil {
		v.BrokenAt = *w.BrokenAtEventID
	}
	return v
}

// roots converts a decoded list, never returning nil (spec §1.3: lists are never null).
func roots[W any, R any](ws []W, f func(W) R) []R {
	out := make([]R, len(ws))
	for i, w := range ws {
		out[i] = f(w)
	}
	return out
}
