package engine

import (
	"context"
	"time"

	"clavis.dev/clavis"
)

// Session is the Engine bound to one authenticated caller: it implements the per-resource interfaces
// of the root package (clavis.Services) in-process, by forwarding to the Engine's caller-explicit
// methods. Its results are root types, which hold no server-side material (key and password hashes,
// wrapped keys, ciphertext: those live in the store's rows only); they may hold more of the object than
// the API shows (a vault's org and owner, a version's creator in metadata), which consumers that must
// also work over HTTP do not rely on.
//
// A Session serves one request. It does not check its caller's credential again: revocation, rotation,
// deactivation and expiry take effect at the next Authenticate, so make a Session per request (as the
// HTTP server authenticates every request) and never keep one across requests. It is safe for
// concurrent use.
type Session struct {
	e *Engine
	c *clavis.Caller
}

// As binds the Engine to c, the caller that Authenticate returned for the request at hand.
func (e *Engine) As(c *clavis.Caller) *Session { return &Session{e: e, c: c} }

// Caller returns the caller the Session acts as.
func (s *Session) Caller() *clavis.Caller { return s.c }

var (
	_ clavis.Account      = (*Session)(nil)
	_ clavis.APIKeys      = (*Session)(nil)
	_ clavis.TwoFactor    = (*Session)(nil)
	_ clavis.Vaults       = (*Session)(nil)
	_ clavis.Secrets      = (*Session)(nil)
	_ clavis.Versions     = (*Session)(nil)
	_ clavis.Agents       = (*Session)(nil)
	_ clavis.Policies     = (*Session)(nil)
	_ clavis.Audit        = (*Session)(nil)
	_ clavis.Sharing      = (*Session)(nil)
	_ clavis.Organization = (*Session)(nil)
	_ clavis.Approvals    = (*Session)(nil)
	_ clavis.Enrollments  = (*Session)(nil)
	_ clavis.Services     = (*Session)(nil)
	_ clavis.Uses         = (*Session)(nil)

	_ clavis.WebSessions = (*Session)(nil)
)

// The list defaults and ceilings of the HTTP API (spec §1.8), so that both implementations agree.
const (
	auditDefaultLimit, auditMaxLimit   = 100, 1000
	verifyDefaultLimit, verifyMaxLimit = 1000, 10000
)

// --- account, API keys, MFA ---

func (s *Session) Me(ctx context.Context) (*clavis.User, error) {
	return s.e.Me(ctx, s.c)
}

func (s *Session) UpdateMe(ctx context.Context, p clavis.ProfilePatch) (*clavis.User, error) {
	return s.e.UpdateMe(ctx, s.c, p)
}

func (s *Session) ChangePassword(ctx context.Context, current, next string) error {
	return s.e.ChangePassword(ctx, s.c, current, next)
}

func (s *Session) RevokeToken(ctx context.Context) error { return s.e.RevokeToken(ctx, s.c) }

func (s *Session) CreateAPIKey(ctx context.Context, in clavis.APIKeyInput) (*clavis.APIKey, clavis.Sensitive, error) {
	return s.e.CreateAPIKey(ctx, s.c, in)
}

func (s *Session) ListAPIKeys(ctx context.Context) ([]*clavis.APIKey, error) {
	return s.e.ListAPIKeys(ctx, s.c)
}

func (s *Session) RevokeAPIKey(ctx context.Context, id string) error {
	return s.e.RevokeAPIKey(ctx, s.c, id)
}

func (s *Session) ListWebSessions(ctx context.Context) ([]*clavis.WebSession, error) {
	return s.e.ListWebSessions(ctx, s.c)
}

func (s *Session) RevokeWebSession(ctx context.Context, id string) error {
	return s.e.RevokeWebSession(ctx, s.c, id)
}

func (s *Session) MFAStatus(ctx context.Context) (bool, error) { return s.e.MFAStatus(ctx, s.c) }

func (s *Session) MFASetup(ctx context.Context) (string, clavis.Sensitive, error) {
	return s.e.MFASetup(ctx, s.c)
}

func (s *Session) MFAVerifySetup(ctx context.Context, code string) ([]clavis.Sensitive, error) {
	return s.e.MFAVerifySetup(ctx, s.c, code)
}

func (s *Session) MFADisable(ctx context.Context, code, password string) error {
	return s.e.MFADisable(ctx, s.c, code, password)
}

// --- vaults ---

func (s *Session) CreateVault(ctx context.Context, in clavis.VaultInput) (*clavis.Vault, error) {
	return s.e.CreateVault(ctx, s.c, in)
}

func (s *Session) ListVaults(ctx context.Context) ([]*clavis.Vault, error) {
	return s.e.ListVaults(ctx, s.c)
}

func (s *Session) GetVault(ctx context.Context, id string) (*clavis.Vault, error) {
	return s.e.GetVault(ctx, s.c, id)
}

func (s *Session) DeleteVault(ctx context.Context, id string) error {
	return s.e.DeleteVault(ctx, s.c, id)
}

// --- secrets and versions ---

func (s *Session) PutSecret(ctx context.Context, vaultID, path string, in clavis.SecretInput) (*clavis.SecretMeta, error) {
	return s.e.PutSecret(ctx, s.c, vaultID, path, in)
}

func (s *Session) GetSecret(ctx context.Context, vaultID, path string) (*clavis.SecretValue, error) {
	return s.e.GetSecret(ctx, s.c, vaultID, path)
}

func (s *Session) ListSecrets(ctx context.Context, vaultID, prefix string) ([]clavis.SecretMeta, error) {
	return s.e.ListSecrets(ctx, s.c, vaultID, prefix)
}

func (s *Session) DeleteSecret(ctx context.Context, vaultID, path string) error {
	return s.e.DeleteSecret(ctx, s.c, vaultID, path)
}

func (s *Session) RotateSecret(ctx context.Context, vaultID, path string, in clavis.RotateInput) (*clavis.SecretMeta, error) {
	return s.e.RotateSecret(ctx, s.c, vaultID, path, in)
}

func (s *Session) ListVersions(ctx context.Context, vaultID, path string) ([]clavis.SecretMeta, error) {
	return s.e.ListVersions(ctx, s.c, vaultID, path)
}

func (s *Session) GetVersion(ctx context.Context, vaultID, path string, version int) (*clavis.SecretValue, error) {
	return s.e.GetVersion(ctx, s.c, vaultID, path, version)
}

func (s *Session) DisableVersion(ctx context.Context, vaultID, path string, version int) error {
	return s.e.DisableVersion(ctx, s.c, vaultID, path, version)
}

func (s *Session) RestoreVersion(ctx context.Context, vaultID, path string, version int) (*clavis.SecretMeta, error) {
	return s.e.RestoreVersion(ctx, s.c, vaultID, path, version)
}

// --- agents ---

func (s *Session) CreateAgent(ctx context.Context, in clavis.AgentInput) (*clavis.AgentKey, error) {
	return s.e.CreateAgent(ctx, s.c, in)
}

func (s *Session) ListAgents(ctx context.Context) ([]*clavis.Agent, error) {
	return s.e.ListAgents(ctx, s.c)
}

func (s *Session) GetAgent(ctx context.Context, id string) (*clavis.Agent, error) {
	return s.e.GetAgent(ctx, s.c, id)
}

func (s *Session) AgentMe(ctx context.Context) (*clavis.Agent, error) {
	return s.e.AgentMe(ctx, s.c)
}

func (s *Session) UpdateAgent(ctx context.Context, id string, p clavis.AgentPatch) (*clavis.Agent, error) {
	return s.e.UpdateAgent(ctx, s.c, id, p)
}

func (s *Session) DeleteAgent(ctx context.Context, id string) error {
	return s.e.DeleteAgent(ctx, s.c, id)
}

func (s *Session) RotateAgentKey(ctx context.Context, id string) (*clavis.AgentKey, error) {
	return s.e.RotateAgentKey(ctx, s.c, id)
}

// --- policies ---

func (s *Session) CreatePolicy(ctx context.Context, vaultID string, in clavis.PolicyInput) (*clavis.Policy, error) {
	return s.e.CreatePolicy(ctx, s.c, vaultID, in)
}

func (s *Session) ListPolicies(ctx context.Context, vaultID string) ([]*clavis.Policy, error) {
	return s.e.ListPolicies(ctx, s.c, vaultID)
}

func (s *Session) UpdatePolicy(ctx context.Context, vaultID, policyID string, p clavis.PolicyPatch) (*clavis.Policy, error) {
	return s.e.UpdatePolicy(ctx, s.c, vaultID, policyID, p)
}

func (s *Session) DeletePolicy(ctx context.Context, vaultID, policyID string) error {
	return s.e.DeletePolicy(ctx, s.c, vaultID, policyID)
}

func (s *Session) Explain(ctx context.Context, vaultID string, q clavis.ExplainQuery) (*clavis.Explanation, error) {
	return s.e.Explain(ctx, s.c, vaultID, q)
}

// --- audit ---

func (s *Session) ListAudit(ctx context.Context, q clavis.AuditQuery) ([]*clavis.AuditEvent, error) {
	if q.Limit < 0 {
		return nil, clavis.Invalid("limit", "limit must be a positive integer")
	}
	if q.Offset < 0 {
		return nil, clavis.Invalid("offset", "offset must be a non-negative integer")
	}
	if q.Limit == 0 {
		q.Limit = auditDefaultLimit
	}
	q.Limit = min(q.Limit, auditMaxLimit)
	return s.e.ListAudit(ctx, s.c, q)
}

func (s *Session) VerifyAudit(ctx context.Context, from, to *time.Time, limit int) (*clavis.AuditVerification, error) {
	if limit < 0 {
		return nil, clavis.Invalid("limit", "limit must be a positive integer")
	}
	if limit == 0 {
		limit = verifyDefaultLimit
	}
	v, err := s.e.VerifyAudit(ctx, s.c, from, to, min(limit, verifyMaxLimit))
	if err != nil {
		return nil, err
	}
	return &clavis.AuditVerification{Valid: v.Valid, Verified: v.Verified, Checked: v.Checked, BrokenAt: v.BrokenAt}, nil
}

// --- approvals and enrolments ---

func (s *Session) RequestApproval(ctx context.Context, in clavis.ApprovalInput) (*clavis.Approval, error) {
	return s.e.RequestApproval(ctx, s.c, in)
}

func (s *Session) ListApprovals(ctx context.Context, q clavis.ApprovalQuery) ([]*clavis.Approval, error) {
	return s.e.ListApprovals(ctx, s.c, q)
}

func (s *Session) GetApproval(ctx context.Context, id string) (*clavis.Approval, error) {
	return s.e.GetApproval(ctx, s.c, id)
}

func (s *Session) DecideApproval(ctx context.Context, id string, approve bool, reason string) (*clavis.Approval, error) {
	decision := "reject"
	if approve {
		decision = "approve"
	}
	return s.e.DecideApproval(ctx, s.c, id, decision, reason)
}

func (s *Session) ListEnrollments(ctx context.Context) ([]*clavis.Enrollment, error) {
	return s.e.ListEnrollments(ctx, s.c)
}

func (s *Session) ApproveEnrollment(ctx context.Context, id string, in clavis.EnrollApproval) (*clavis.Agent, error) {
	return s.e.ApproveEnrollment(ctx, s.c, id, in)
}

func (s *Session) DenyEnrollment(ctx context.Context, id string) error {
	return s.e.DenyEnrollment(ctx, s.c, id)
}

// --- sharing ---

func (s *Session) CreateShare(ctx context.Context, secretID string, in clavis.ShareInput) (*clavis.Share, error) {
	return s.e.CreateShare(ctx, s.c, secretID, in)
}

func (s *Session) OpenShare(ctx context.Context, shareID string, passphrase clavis.Sensitive) (*clavis.SharedSecret, error) {
	return s.e.AccessShare(ctx, s.c, shareID, passphrase, s.c.IP)
}

func (s *Session) RevokeShare(ctx context.Context, shareID string) error {
	return s.e.RevokeShare(ctx, s.c, shareID)
}

func (s *Session) ListOutboundShares(ctx context.Context) ([]*clavis.Share, error) {
	return s.e.ListOutboundShares(ctx, s.c)
}

func (s *Session) ListInboundShares(ctx context.Context) ([]*clavis.Share, error) {
	return s.e.ListInboundShares(ctx, s.c)
}

func (s *Session) AcceptShare(ctx context.Context, shareID string) error {
	return s.e.AcceptShare(ctx, s.c, shareID)
}

func (s *Session) DeclineShare(ctx context.Context, shareID string) error {
	return s.e.DeclineShare(ctx, s.c, shareID)
}

// --- organisation ---

func (s *Session) ListMembers(ctx context.Context) ([]*clavis.User, error) {
	return s.e.ListMembers(ctx, s.c)
}

func (s *Session) InviteMember(ctx context.Context, email string, role clavis.Role) (*clavis.Invite, error) {
	return s.e.InviteMember(ctx, s.c, email, role)
}

func (s *Session) SetMemberRole(ctx context.Context, userID string, role clavis.Role) (*clavis.User, error) {
	return s.e.SetMemberRole(ctx, s.c, userID, role)
}

func (s *Session) RemoveMember(ctx context.Context, userID string) error {
	return s.e.RemoveMember(ctx, s.c, userID)
}

func (s *Session) AgentKeysVault(ctx context.Context) (string, error) {
	return s.e.AgentKeysVault(ctx, s.c)
}

func (s *Session) ListIPRules(ctx context.Context) ([]*clavis.IPRule, error) {
	return s.e.ListIPRules(ctx, s.c)
}

func (s *Session) CreateIPRule(ctx context.Context, in clavis.IPRuleInput) (*clavis.IPRule, error) {
	return s.e.CreateIPRule(ctx, s.c, in)
}

func (s *Session) DeleteIPRule(ctx context.Context, id string) error {
	return s.e.DeleteIPRule(ctx, s.c, id)
}

// --- use without read ---

func (s *Session) PutUseConfig(ctx context.Context, vaultID, path string, in clavis.UseConfigInput) (*clavis.UseConfig, error) {
	return s.e.PutUseConfig(ctx, s.c, vaultID, path, in)
}

func (s *Session) GetUseConfig(ctx context.Context, vaultID, path string) (*clavis.UseConfig, error) {
	return s.e.GetUseConfig(ctx, s.c, vaultID, path)
}

func (s *Session) DeleteUseConfig(ctx context.Context, vaultID, path string) error {
	return s.e.DeleteUseConfig(ctx, s.c, vaultID, path)
}

func (s *Session) UseSecret(ctx context.Context, vaultID, path string, req clavis.UseRequest) (*clavis.UseResult, error) {
	return s.e.UseSecret(ctx, s.c, vaultID, path, req)
}
