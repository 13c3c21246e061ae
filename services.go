package clavis

import (
	"context"
	"time"
)

// Per-resource services. Each acts as one principal bound when the value was made: in-process by
// engine.(*Engine).As(caller) for one request, over HTTP by a client.Client holding that principal's
// credential (which the server checks on every call). Both
// implement every interface below with the same results and the same error Kinds, so a consumer (the MCP
// server, the CLI, the dashboard) is written once against the narrow view it needs and works locally or
// remotely. Consumers declare their own view by composing these.
//
// Every method authorizes the bound principal before it looks anything up, so a denial never tells
// whether the object exists. Errors are *Error; the Kinds each method names are those a caller should
// handle. Besides them, any method may return KindUnauthorized (the credential expired or was revoked
// since it was bound), KindRateLimited, KindUnavailable (the audit log cannot record) and KindInternal;
// over HTTP also transport errors that are not *Error (see package client). Results hold what the HTTP
// API shows of an object: server-side material (key hashes, wrapped keys, ciphertext, password hashes)
// is never set. Fields the API does not show (a vault's OrgID and OwnerUserID, a secret's LatestVersion,
// a version's CreatedBy outside a read, an agent's OrgID and CreatedBy outside AgentMe) may be set
// in-process and are unset over HTTP; consumers written for both do not rely on them.

// Account is the bound user's own account.
type Account interface {
	// Me returns the user. Errors: KindForbidden (the principal is an agent).
	Me(ctx context.Context) (*User, error)
	// UpdateMe changes the user's profile; nil fields are unchanged. Errors: KindInvalid, KindForbidden.
	UpdateMe(ctx context.Context, p ProfilePatch) (*User, error)
	// ChangePassword changes the password and revokes every token issued before, the one in use
	// included; API keys stay valid. Errors: KindInvalid (weak new password), KindForbidden (wrong
	// current password, or an agent).
	ChangePassword(ctx context.Context, current, next string) error
	// RevokeToken revokes the access token in use. Errors: KindInvalid (the credential is a raw key).
	RevokeToken(ctx context.Context) error
}

// APIKeys are the bound user's personal API keys (1ck_).
type APIKeys interface {
	// CreateAPIKey creates a key and returns it with the raw key, shown only this once. Errors:
	// KindInvalid, KindForbidden (an agent, or a scoped key), KindLimitExceeded.
	CreateAPIKey(ctx context.Context, in APIKeyInput) (*APIKey, Sensitive, error)
	// ListAPIKeys lists the user's keys, revoked ones included. Errors: KindForbidden (an agent).
	ListAPIKeys(ctx context.Context) ([]*APIKey, error)
	// RevokeAPIKey revokes one of the user's keys; revoking twice is not an error. Errors:
	// KindForbidden (an agent), KindNotFound (no such key of this user).
	RevokeAPIKey(ctx context.Context, id string) error
}

// TwoFactor is the bound user's second factor (TOTP, spec §4.13).
type TwoFactor interface {
	// MFAStatus reports whether MFA is enabled. Errors: KindForbidden (an agent).
	MFAStatus(ctx context.Context) (bool, error)
	// MFASetup starts enrolment and returns the otpauth URI and the base32 secret. Errors:
	// KindConflict (already enabled), KindForbidden.
	MFASetup(ctx context.Context) (uri string, secret Sensitive, err error)
	// MFAVerifySetup enables MFA with a code of the pending secret and returns the recovery codes, shown
	// only this once. Errors: KindInvalid (wrong code, or no setup pending), KindForbidden.
	MFAVerifySetup(ctx context.Context, code string) ([]Sensitive, error)
	// MFADisable turns MFA off, proven by a current or recovery code or by the password ("" for the one
	// not given). Errors: KindInvalid (neither given), KindConflict (MFA is off), KindForbidden (wrong
	// code or password).
	MFADisable(ctx context.Context, code, password string) error
}

// Vaults are the vaults visible to the bound principal.
type Vaults interface {
	// CreateVault creates a vault owned by the principal. Errors: KindInvalid, KindForbidden (an agent
	// bound by vault_ids, or a scoped key), KindLimitExceeded.
	CreateVault(ctx context.Context, in VaultInput) (*Vault, error)
	// ListVaults lists exactly the vaults visible to the principal, oldest first.
	ListVaults(ctx context.Context) ([]*Vault, error)
	// GetVault returns one vault. Errors: KindNotFound (missing and invisible alike).
	GetVault(ctx context.Context, id string) (*Vault, error)
	// DeleteVault deletes a vault with its key, secrets and policies. Errors: KindForbidden (visible but
	// not the owner), KindNotFound.
	DeleteVault(ctx context.Context, id string) error
}

// Secrets are the secrets of a vault, by path, at their latest version.
type Secrets interface {
	// PutSecret writes a new version of the secret at path and returns its metadata. Errors:
	// KindInvalid (path, type, metadata), KindForbidden, KindNotFound (vault), KindLimitExceeded,
	// KindTooLarge, KindApprovalRequired.
	PutSecret(ctx context.Context, vaultID, path string, in SecretInput) (*SecretMeta, error)
	// GetSecret reads the latest version with its value. Errors: KindForbidden, KindNotFound (vault,
	// or never written), KindGone (deleted; latest version expired, exhausted or disabled),
	// KindApprovalRequired.
	GetSecret(ctx context.Context, vaultID, path string) (*SecretValue, error)
	// ListSecrets lists the latest version of every readable or usable, undeleted secret whose path starts with
	// prefix ("" for all), by path. Errors: KindNotFound (vault).
	ListSecrets(ctx context.Context, vaultID, prefix string) ([]SecretMeta, error)
	// DeleteSecret soft-deletes a secret. Errors: KindForbidden, KindNotFound, KindGone (already deleted).
	DeleteSecret(ctx context.Context, vaultID, path string) error
	// RotateSecret stores a server-generated value as a new version and returns its metadata. Errors:
	// KindInvalid, KindForbidden, KindNotFound, KindGone (deleted).
	RotateSecret(ctx context.Context, vaultID, path string, in RotateInput) (*SecretMeta, error)
}

// Versions are the numbered versions of one secret.
type Versions interface {
	// ListVersions lists every version, newest first. Errors: KindForbidden, KindNotFound, KindGone.
	ListVersions(ctx context.Context, vaultID, path string) ([]SecretMeta, error)
	// GetVersion reads one version with its value; the read counts toward its max access count.
	// Errors: KindInvalid, KindForbidden, KindNotFound, KindGone (expired, exhausted or disabled).
	GetVersion(ctx context.Context, vaultID, path string, version int) (*SecretValue, error)
	// DisableVersion makes a version unreadable; disabling twice is not an error. Errors: KindForbidden,
	// KindNotFound.
	DisableVersion(ctx context.Context, vaultID, path string, version int) error
	// RestoreVersion copies a version into a new latest version, reviving a deleted path. Errors:
	// KindInvalid, KindForbidden, KindNotFound, KindGone (source version disabled).
	RestoreVersion(ctx context.Context, vaultID, path string, version int) (*SecretMeta, error)
}

// Agents are the agents of the bound principal's org.
type Agents interface {
	// CreateAgent registers an agent and returns it with its key (ocv_), shown only this once. Errors:
	// KindInvalid, KindForbidden (an agent, or a scoped key), KindLimitExceeded.
	CreateAgent(ctx context.Context, in AgentInput) (*AgentKey, error)
	// ListAgents lists the org's agents. Errors: KindForbidden (an agent).
	ListAgents(ctx context.Context) ([]*Agent, error)
	// GetAgent returns one agent; an agent may read only itself. Errors: KindForbidden, KindNotFound.
	GetAgent(ctx context.Context, id string) (*Agent, error)
	// AgentMe returns the bound agent's own record. Errors: KindForbidden (a user).
	AgentMe(ctx context.Context) (*Agent, error)
	// UpdateAgent changes an agent; nil fields are unchanged. Errors: KindInvalid, KindForbidden (an
	// agent, or not its manager), KindNotFound.
	UpdateAgent(ctx context.Context, id string, p AgentPatch) (*Agent, error)
	// DeleteAgent deletes an agent with its policies; its key and tokens stop working. Errors:
	// KindForbidden, KindNotFound.
	DeleteAgent(ctx context.Context, id string) error
	// RotateAgentKey issues a new key; the old key and every token issued before stop working at once.
	// Errors: KindForbidden, KindNotFound.
	RotateAgentKey(ctx context.Context, id string) (*AgentKey, error)
}

// Policies are the access policies of a vault, for its managers.
type Policies interface {
	// CreatePolicy creates a policy. Errors: KindInvalid, KindForbidden (not a manager of the vault),
	// KindNotFound (vault), KindLimitExceeded.
	CreatePolicy(ctx context.Context, vaultID string, in PolicyInput) (*Policy, error)
	// ListPolicies lists a vault's policies, oldest first. Errors: KindForbidden, KindNotFound.
	ListPolicies(ctx context.Context, vaultID string) ([]*Policy, error)
	// UpdatePolicy changes a policy; different values for immutable fields give KindInvalid. Errors:
	// KindInvalid, KindForbidden, KindNotFound.
	UpdatePolicy(ctx context.Context, vaultID, policyID string, p PolicyPatch) (*Policy, error)
	// DeletePolicy deletes a policy. Errors: KindForbidden, KindNotFound.
	DeletePolicy(ctx context.Context, vaultID, policyID string) error
	// Explain decides a request of a principal now, without making it; an empty PrincipalType and
	// PrincipalID explain the bound principal's own access, and a zero IP means its own address.
	// Errors: KindInvalid, KindForbidden (another principal and not a manager), KindNotFound.
	Explain(ctx context.Context, vaultID string, q ExplainQuery) (*Explanation, error)
}

// Audit is the org's tamper-evident log.
type Audit interface {
	// ListAudit lists events, newest first: the whole org for owners and admins, the principal's own
	// actions for everyone else. A zero Limit is the default (100); larger than 1000 is 1000. Errors:
	// KindInvalid (negative Limit or Offset).
	ListAudit(ctx context.Context, q AuditQuery) ([]*AuditEvent, error)
	// VerifyAudit walks the org's chain from its oldest event within [from, to), at most limit events
	// (0 = the default, 1000; at most 10000); only Valid, Verified, Checked and BrokenAt are set. Errors:
	// KindInvalid (negative limit), KindForbidden (not an owner or admin).
	VerifyAudit(ctx context.Context, from, to *time.Time, limit int) (*AuditVerification, error)
}

// Approvals are agents' requests for a human decision (spec §4.14).
type Approvals interface {
	// RequestApproval files an agent's request, pending. Errors: KindInvalid, KindForbidden (a user),
	// KindNotFound (the target vault is not one the agent may address).
	RequestApproval(ctx context.Context, in ApprovalInput) (*Approval, error)
	// ListApprovals lists, newest first, the approvals the bound user may decide (those on vaults it
	// owns). Errors: KindInvalid (status, limit, offset), KindForbidden (an agent).
	ListApprovals(ctx context.Context, q ApprovalQuery) ([]*Approval, error)
	// GetApproval returns one approval to a decider or the requesting agent. Errors: KindNotFound.
	GetApproval(ctx context.Context, id string) (*Approval, error)
	// DecideApproval approves or rejects a pending approval; approving a policy change creates the
	// policy. Errors: KindNotFound (no approval the user may decide), KindConflict (not pending).
	DecideApproval(ctx context.Context, id string, approve bool, reason string) (*Approval, error)
}

// Enrollments are agents' self-enrolment requests addressed to the bound user (spec §4.8).
type Enrollments interface {
	// ListEnrollments lists, newest first, the enrolments addressed to the user's email. Errors:
	// KindForbidden (an agent).
	ListEnrollments(ctx context.Context) ([]*Enrollment, error)
	// ApproveEnrollment registers the agent in the user's org and returns it; its key goes to the agent
	// on its next poll, never to the user. Errors: KindInvalid, KindNotFound (not addressed to the
	// user), KindConflict (not pending).
	ApproveEnrollment(ctx context.Context, id string, in EnrollApproval) (*Agent, error)
	// DenyEnrollment refuses an enrolment. Errors: KindNotFound, KindConflict (not pending).
	DenyEnrollment(ctx context.Context, id string) error
}

// Sharing hands secrets to others (spec §4.11): shares the bound principal created or receives.
type Sharing interface {
	// CreateShare shares the secret with the stable id secretID; the principal needs share and read on
	// its path. Errors: KindInvalid, KindForbidden (no permission; external_email by an agent),
	// KindNotFound (secret missing, deleted or not visible), KindRateLimited (per-org creation limit).
	CreateShare(ctx context.Context, secretID string, in ShareInput) (*Share, error)
	// OpenShare reads a share addressed to the principal (or a link share) with its passphrase ("" for
	// none); every successful call counts one access. Errors: KindNotFound (unknown, revoked, declined
	// or addressed to someone else), KindForbidden (not accepted yet, client IP not allowed, wrong
	// passphrase), KindGone (share or secret expired, exhausted, deleted or disabled), KindRateLimited.
	OpenShare(ctx context.Context, shareID string, passphrase Sensitive) (*SharedSecret, error)
	// RevokeShare revokes a share the principal created. Errors: KindNotFound.
	RevokeShare(ctx context.Context, shareID string) error
	// ListOutboundShares lists the shares the principal created, newest first, revoked ones excluded.
	ListOutboundShares(ctx context.Context) ([]*Share, error)
	// ListInboundShares lists the shares addressed to the principal, newest first, revoked and declined
	// ones excluded.
	ListInboundShares(ctx context.Context) ([]*Share, error)
	// AcceptShare and DeclineShare answer a share addressed to the principal. Errors: KindNotFound.
	AcceptShare(ctx context.Context, shareID string) error
	DeclineShare(ctx context.Context, shareID string) error
}

// Organization is the bound user's org: members, invitations, IP rules (spec §4.12). Every method is
// for users only (agents get KindForbidden); managing needs the owner or admin role.
type Organization interface {
	// ListMembers lists the org's active users, oldest first.
	ListMembers(ctx context.Context) ([]*User, error)
	// InviteMember invites an email with a role ("" = member); re-inviting refreshes the invitation.
	// Errors: KindInvalid, KindForbidden (role), KindConflict (the email has an account).
	InviteMember(ctx context.Context, email string, role Role) (*Invite, error)
	// SetMemberRole changes a member's role. Errors: KindInvalid, KindForbidden, KindNotFound,
	// KindConflict (the org would have no owner).
	SetMemberRole(ctx context.Context, userID string, role Role) (*User, error)
	// RemoveMember disables a member's account; its sessions and keys stop working. Errors:
	// KindForbidden, KindNotFound, KindConflict (last owner).
	RemoveMember(ctx context.Context, userID string) error
	// AgentKeysVault returns the id of the org's __agent-keys vault. Errors: KindNotFound (no agent yet).
	AgentKeysVault(ctx context.Context) (string, error)
	// ListIPRules lists the org's IP rules, oldest first.
	ListIPRules(ctx context.Context) ([]*IPRule, error)
	// CreateIPRule adds a rule. Errors: KindInvalid, KindForbidden, KindConflict (it would lock the
	// caller out).
	CreateIPRule(ctx context.Context, in IPRuleInput) (*IPRule, error)
	// DeleteIPRule removes a rule. Errors: KindForbidden, KindNotFound.
	DeleteIPRule(ctx context.Context, id string) error
}

// WebSessions are the bound user's dashboard sessions (docs/dashboard.md §1). Only the server itself
// implements them: no HTTP route serves them.
type WebSessions interface {
	// ListWebSessions lists the user's live sessions, oldest first. Errors: KindForbidden (not a user,
	// or a scoped key).
	ListWebSessions(ctx context.Context) ([]*WebSession, error)
	// RevokeWebSession ends one of them. Errors: KindForbidden, KindNotFound.
	RevokeWebSession(ctx context.Context, id string) error
}

// Services is every per-resource service of one bound principal.
type Services interface {
	Account
	APIKeys
	TwoFactor
	Vaults
	Secrets
	Versions
	Agents
	Policies
	Audit
	Approvals
	Enrollments
	Sharing
	Organization
	Uses
}
