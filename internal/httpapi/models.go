package httpapi

import (
	"encoding/json"
	"time"

	"clavis.dev/clavis"
	"clavis.dev/clavis/internal/audit"
)

// Wire models: exactly the keys of spec §1.4, optional keys omitted when unset.

func ts(t time.Time) string { return clavis.FormatTime(t) }

func tsPtr(t *time.Time) *string {
	if t == nil {
		return nil
	}
	s := ts(*t)
	return &s
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func rawOrEmpty(r json.RawMessage) json.RawMessage {
	if len(r) == 0 {
		return json.RawMessage("{}")
	}
	return r
}

// tokenFields are the keys of every token response.
type tokenFields struct {
	AccessToken string `json:"access_token"`
	TokenType   string `json:"token_type"`
	ExpiresIn   int    `json:"expires_in"`
}

// tokenModel is TokenResponse; agent_id only from agent-token when the request omitted it.
type tokenModel struct {
	tokenFields
	AgentID string `json:"agent_id,omitempty"`
}

// loginModel is LoginResponse: a token, or (mfa_required, mfa_token) on an MFA challenge.
type loginModel struct {
	tokenFields
	MFARequired bool    `json:"mfa_required,omitempty"`
	MFAToken    *string `json:"mfa_token,omitempty"`
}

// signupModel is SignupResponse.
type signupModel struct {
	tokenFields
	Email string `json:"email"`
}

func tokenFieldsOf(t *clavis.Token) tokenFields {
	return tokenFields{AccessToken: string(t.AccessToken), TokenType: "Bearer", ExpiresIn: t.ExpiresIn}
}

func tokenOf(t *clavis.Token) tokenModel { return tokenModel{tokenFieldsOf(t), t.AgentID} }

func loginOf(t *clavis.Token) loginModel {
	m := loginModel{tokenFields: tokenFieldsOf(t)}
	if t.MFAToken != "" {
		s := string(t.MFAToken)
		m.MFARequired, m.MFAToken = true, &s
	}
	return m
}

func signupOf(t *clavis.Token) signupModel { return signupModel{tokenFieldsOf(t), t.Email} }

type userModel struct {
	ID              string `json:"id"`
	Email           string `json:"email"`
	DisplayName     string `json:"display_name"`
	AuthMethod      string `json:"auth_method"`
	Role            string `json:"role"`
	EmailVerified   bool   `json:"email_verified"`
	MarketingEmails bool   `json:"marketing_emails"`
	TOTPEnabled     bool   `json:"totp_enabled"`
	OrgID           string `json:"org_id"`
	CreatedAt       string `json:"created_at"`
}

func userOf(u *clavis.User) userModel {
	return userModel{ID: u.ID, Email: u.Email, DisplayName: u.DisplayName, AuthMethod: "password", Role: string(u.Role),
		MarketingEmails: u.MarketingEmails, TOTPEnabled: u.TOTPEnabled, OrgID: u.OrgID, CreatedAt: ts(u.CreatedAt)}
}

type apiKeyModel struct {
	ID         string   `json:"id"`
	Name       string   `json:"name"`
	KeyPrefix  string   `json:"key_prefix"`
	Scopes     []string `json:"scopes"`
	IsActive   bool     `json:"is_active"`
	CreatedAt  string   `json:"created_at"`
	ExpiresAt  *string  `json:"expires_at"`
	LastUsedAt *string  `json:"last_used_at"`
}

func apiKeyOf(k *clavis.APIKey) apiKeyModel {
	return apiKeyModel{ID: k.ID, Name: k.Name, KeyPrefix: k.Prefix, Scopes: nonNil(k.Scopes), IsActive: k.Active,
		CreatedAt: ts(k.CreatedAt), ExpiresAt: tsPtr(k.ExpiresAt), LastUsedAt: tsPtr(k.LastUsedAt)}
}

type vaultModel struct {
	ID            string `json:"id"`
	Name          string `json:"name"`
	Description   string `json:"description"`
	CreatedBy     string `json:"created_by"`
	CreatedByType string `json:"created_by_type"`
	CreatedAt     string `json:"created_at"`
}

func vaultOf(v *clavis.Vault) vaultModel {
	return vaultModel{ID: v.ID, Name: v.Name, Description: v.Description, CreatedBy: v.CreatedBy,
		CreatedByType: string(v.CreatedByType), CreatedAt: ts(v.CreatedAt)}
}

// secretMetaModel is SecretMetadata.
type secretMetaModel struct {
	ID        string          `json:"id"`
	Path      string          `json:"path"`
	Type      string          `json:"type"`
	Version   int             `json:"version"`
	Metadata  json.RawMessage `json:"metadata"`
	CreatedAt string          `json:"created_at"`
	ExpiresAt *string         `json:"expires_at,omitempty"`
}

func secretMetaOf(m clavis.SecretMeta) secretMetaModel {
	return secretMetaModel{ID: m.Secret.ID, Path: m.Secret.Path, Type: m.Version.Type, Version: m.Version.Version,
		Metadata: rawOrEmpty(m.Version.Metadata), CreatedAt: ts(m.Version.CreatedAt), ExpiresAt: tsPtr(m.Version.ExpiresAt)}
}

// secretVersionModel is SecretVersion: SecretMetadata and is_disabled.
type secretVersionModel struct {
	secretMetaModel
	IsDisabled bool `json:"is_disabled"`
}

func secretVersionOf(m clavis.SecretMeta) secretVersionModel {
	return secretVersionModel{secretMetaOf(m), m.Version.Disabled}
}

type secretModel struct {
	ID        string          `json:"id"`
	Path      string          `json:"path"`
	Type      string          `json:"type"`
	Value     string          `json:"value"`
	Version   int             `json:"version"`
	Metadata  json.RawMessage `json:"metadata"`
	CreatedBy string          `json:"created_by"`
	CreatedAt string          `json:"created_at"`
	ExpiresAt *string         `json:"expires_at,omitempty"`
}

func secretOf(v *clavis.SecretValue) secretModel {
	return secretModel{ID: v.Secret.ID, Path: v.Secret.Path, Type: v.Version.Type, Value: string(v.Value),
		Version: v.Version.Version, Metadata: rawOrEmpty(v.Version.Metadata), CreatedBy: v.Version.CreatedBy,
		CreatedAt: ts(v.Version.CreatedAt), ExpiresAt: tsPtr(v.Version.ExpiresAt)}
}

type policyModel struct {
	ID              string          `json:"id"`
	VaultID         string          `json:"vault_id"`
	Pattern         string          `json:"secret_path_pattern"`
	PrincipalType   string          `json:"principal_type"`
	PrincipalID     string          `json:"principal_id"`
	Permissions     []string        `json:"permissions"`
	Conditions      json.RawMessage `json:"conditions"`
	CreatedBy       string          `json:"created_by"`
	CreatedByType   string          `json:"created_by_type"`
	CreatedAt       string          `json:"created_at"`
	ExpiresAt       *string         `json:"expires_at,omitempty"`
	Effect          string          `json:"effect,omitempty"`
	Priority        int             `json:"priority,omitempty"`
	RequireApproval bool            `json:"require_approval,omitempty"`
}

func policyOf(p *clavis.Policy) policyModel {
	perms := make([]string, 0, len(p.Permissions))
	for _, x := range p.Permissions {
		perms = append(perms, string(x))
	}
	m := policyModel{ID: p.ID, VaultID: p.VaultID, Pattern: p.Pattern, PrincipalType: string(p.PrincipalType),
		PrincipalID: p.PrincipalID, Permissions: perms, Conditions: rawOrEmpty(p.Conditions), CreatedBy: p.CreatedBy,
		CreatedByType: string(p.CreatedByType), CreatedAt: ts(p.CreatedAt), ExpiresAt: tsPtr(p.ExpiresAt),
		Priority: p.Priority, RequireApproval: p.RequireApproval}
	if p.Effect == clavis.EffectDeny {
		m.Effect = "deny"
	}
	return m
}

// agentFields are the keys Agent and AgentSelf share.
type agentFields struct {
	ID                string   `json:"id"`
	Name              string   `json:"name"`
	Description       string   `json:"description"`
	Scopes            []string `json:"scopes"`
	IsActive          bool     `json:"is_active"`
	IntentsAPIEnabled bool     `json:"intents_api_enabled"`
	ShroudEnabled     bool     `json:"shroud_enabled"`
	SSHPublicKey      string   `json:"ssh_public_key"`
	ECDHPublicKey     string   `json:"ecdh_public_key"`
	CreatedAt         string   `json:"created_at"`
	TokenTTLSeconds   int      `json:"token_ttl_seconds,omitempty"`
	VaultIDs          []string `json:"vault_ids,omitempty"`
	ExpiresAt         *string  `json:"expires_at,omitempty"`
	LastActiveAt      *string  `json:"last_active_at,omitempty"`
}

// agentModel is Agent.
type agentModel struct {
	agentFields
	AuthMethod string `json:"auth_method"`
}

// agentSelfModel is AgentSelf (GET /v1/agents/me): no auth_method, but org_id and created_by.
type agentSelfModel struct {
	agentFields
	OrgID     string `json:"org_id"`
	CreatedBy string `json:"created_by"`
}

func agentFieldsOf(a *clavis.Agent) agentFields {
	return agentFields{ID: a.ID, Name: a.Name, Description: a.Description, Scopes: nonNil(a.Scopes),
		IsActive: a.Active, SSHPublicKey: a.SSHPublicKey, ECDHPublicKey: a.ECDHPublicKey, CreatedAt: ts(a.CreatedAt),
		TokenTTLSeconds: a.TokenTTL, VaultIDs: a.VaultIDs, ExpiresAt: tsPtr(a.ExpiresAt), LastActiveAt: tsPtr(a.LastActiveAt)}
}

func agentOf(a *clavis.Agent) agentModel { return agentModel{agentFieldsOf(a), "api_key"} }

func agentSelfOf(a *clavis.Agent) agentSelfModel {
	return agentSelfModel{agentFieldsOf(a), a.OrgID, a.CreatedBy}
}

// auditModel is the AuditEvent model; its JSON form is shared with the audit sinks.
type auditModel = audit.JSON

func auditOf(e *clavis.AuditEvent) auditModel { return audit.JSONOf(e) }

// mapList renders a list, never null.
func mapList[T, M any](items []T, f func(T) M) []M {
	out := make([]M, 0, len(items))
	for _, it := range items {
		out = append(out, f(it))
	}
	return out
}

// List envelopes (spec §1.5) and the small response bodies that are not resources.
type (
	vaultList struct {
		Vaults []vaultModel `json:"vaults"`
	}
	secretList struct {
		Secrets []secretMetaModel `json:"secrets"`
	}
	versionList struct {
		Versions []secretVersionModel `json:"versions"`
	}
	agentList struct {
		Agents []agentModel `json:"agents"`
	}
	policyList struct {
		Policies []policyModel `json:"policies"`
	}
	apiKeyList struct {
		Keys []apiKeyModel `json:"keys"`
	}
	auditList struct {
		Events []auditModel `json:"events"`
		Count  int          `json:"count"`
	}

	apiKeyCreatedModel struct {
		Key    apiKeyModel `json:"key"`
		APIKey string      `json:"api_key"`
	}
	agentKeyModel struct {
		Agent  agentModel `json:"agent"`
		APIKey string     `json:"api_key"`
	}
	explainModel struct {
		Allowed  bool   `json:"allowed"`
		Reason   string `json:"reason"`
		PolicyID string `json:"policy_id,omitempty"`
	}
	verifyModel struct {
		Valid    bool             `json:"chain_valid"`
		Verified int              `json:"events_verified"`
		Checked  int              `json:"events_checked"`
		BrokenAt *string          `json:"broken_at_event_id"`
		Scheme   chainSchemeModel `json:"scheme"`
	}
	chainSchemeModel struct {
		Algorithm     string `json:"algorithm"`
		Structure     string `json:"chain_structure"`
		HashField     string `json:"hash_field"`
		LinkField     string `json:"link_field"`
		Documentation string `json:"documentation"`
	}

	mfaStatusModel struct {
		Enabled bool `json:"enabled"`
	}
	mfaSetupModel struct {
		OTPAuthURI string `json:"otpauth_uri"`
		Secret     string `json:"secret"`
	}
	recoveryCodesModel struct {
		RecoveryCodes []string `json:"recovery_codes"`
	}

	healthModel struct {
		Status  string `json:"status"`
		Version string `json:"version"`
	}
	statusModel struct {
		Status string `json:"status"`
	}
	publicKeyModel struct {
		Alg       string `json:"alg"`
		PublicKey string `json:"public_key_base64"`
	}
	openIDConfigModel struct {
		Issuer        string   `json:"issuer"`
		JWKSURI       string   `json:"jwks_uri"`
		TokenEndpoint string   `json:"token_endpoint"`
		SigningAlgs   []string `json:"id_token_signing_alg_values_supported"`
		SubjectTypes  []string `json:"subject_types_supported"`
		ResponseTypes []string `json:"response_types_supported"`
	}
)

// jwksModel is the JSON Web Key Set (RFC 7517) that the token issuer renders for GET /.well-known/jwks.json.
type jwksModel struct {
	Keys []jwkModel `json:"keys"`
}

// jwkModel is one key of the set: exactly these keys (spec §1.4).
type jwkModel struct {
	Kty string `json:"kty"`
	Crv string `json:"crv"`
	X   string `json:"x"`
	Kid string `json:"kid"`
	Alg string `json:"alg"`
	Use string `json:"use"`
}

func (jwksModel) mediaType() string { return "application/jwk-set+json" }
