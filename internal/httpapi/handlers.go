package httpapi

import (
	"encoding/json"
	"net/http"
	"net/netip"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"clavis.dev/clavis"
	"clavis.dev/clavis/internal/policy"
)

// errHumansOnly refuses an agent on a route for human users, before anything is looked up.
var errHumansOnly = clavis.E(clavis.KindForbidden, "This endpoint is for human users only")

var uuidRe = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

// id returns a UUID path parameter; a malformed one means "does not exist" (spec §1.1).
func id(r *http.Request, name string) (string, error) {
	v := r.PathValue(name)
	if !uuidRe.MatchString(v) {
		return "", clavis.ErrNotFound
	}
	return v, nil
}

// secretPath returns the decoded {path...} tail (spec §4.5.1: decoded once, then validated by the engine).
func secretPath(r *http.Request) string { return r.PathValue("path") }

// --- health and discovery ---

func health(s *server, w http.ResponseWriter, r *http.Request, _ *clavis.Caller) error {
	status := "healthy"
	if s.ready(r.Context()) != nil {
		status = "degraded"
	}
	writeJSON(w, 200, map[string]string{"status": status, "version": s.opt.Version})
	return nil
}

func healthz(_ *server, w http.ResponseWriter, _ *http.Request, _ *clavis.Caller) error {
	writeJSON(w, 200, map[string]string{"status": "ok"})
	return nil
}

func readyz(s *server, w http.ResponseWriter, r *http.Request, _ *clavis.Caller) error {
	if err := s.ready(r.Context()); err != nil {
		return clavis.E(clavis.KindUnavailable, "not ready")
	}
	writeJSON(w, 200, map[string]string{"status": "ready"})
	return nil
}

// metrics serves /metrics to clients on this host only, and to nobody when it has a listener of its own
// (Options.Metrics); everyone else gets the 404 of an unknown route.
func metrics(s *server, w http.ResponseWriter, r *http.Request, _ *clavis.Caller) error {
	if s.opt.Metrics != nil || !loopbackClient(r) {
		return clavis.ErrNotFound
	}
	promhttp.HandlerFor(s.reg, promhttp.HandlerOpts{}).ServeHTTP(w, r)
	return nil
}

func openapiDoc(s *server, w http.ResponseWriter, _ *http.Request, _ *clavis.Caller) error {
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(s.openapi)
	return nil
}

func jwtPublicKey(s *server, w http.ResponseWriter, _ *http.Request, _ *clavis.Caller) error {
	writeJSON(w, 200, map[string]string{"alg": "EdDSA", "public_key_base64": b64std(s.svc.PublicKey())})
	return nil
}

func jwks(s *server, w http.ResponseWriter, _ *http.Request, _ *clavis.Caller) error {
	w.Header().Set("Content-Type", "application/jwk-set+json")
	w.Header().Set("Cache-Control", "public, max-age=300")
	w.Header().Set("Access-Control-Allow-Origin", "*")
	_, _ = w.Write(s.svc.JWKS())
	return nil
}

func openidConfig(s *server, w http.ResponseWriter, _ *http.Request, _ *clavis.Caller) error {
	base := s.svc.IssuerURL()
	writeJSON(w, 200, map[string]any{
		"issuer": base, "jwks_uri": base + "/.well-known/jwks.json", "token_endpoint": base + "/v1/auth/agent-token",
		"id_token_signing_alg_values_supported": []string{"EdDSA"}, "subject_types_supported": []string{"public"},
		"response_types_supported": []string{"token"},
	})
	return nil
}

// --- accounts and sessions ---

func signup(s *server, w http.ResponseWriter, r *http.Request, _ *clavis.Caller) error {
	var in struct {
		Email       string `json:"email"`
		Password    string `json:"password"`
		DisplayName string `json:"display_name"`
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	t, err := s.svc.Signup(r.Context(), clavis.SignupInput{Email: in.Email, Password: clavis.Sensitive(in.Password), DisplayName: in.DisplayName}, s.clientIP(r))
	if err != nil {
		return err
	}
	writeJSON(w, 200, tokenOf(t))
	return nil
}

func login(s *server, w http.ResponseWriter, r *http.Request, _ *clavis.Caller) error {
	var in struct{ Email, Password string }
	if err := decode(r, &in); err != nil {
		return err
	}
	t, err := s.svc.Login(r.Context(), in.Email, in.Password, s.clientIP(r))
	if err != nil {
		return err
	}
	writeJSON(w, 200, tokenOf(t))
	return nil
}

func revokeToken(s *server, w http.ResponseWriter, r *http.Request, c *clavis.Caller) error {
	if err := s.svc.RevokeToken(r.Context(), c); err != nil {
		return err
	}
	w.WriteHeader(204)
	return nil
}

func agentToken(s *server, w http.ResponseWriter, r *http.Request, _ *clavis.Caller) error {
	var in struct {
		APIKey  string `json:"api_key"`
		AgentID string `json:"agent_id"`
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	t, err := s.svc.AgentToken(r.Context(), in.APIKey, in.AgentID, s.clientIP(r))
	if err != nil {
		return err
	}
	writeJSON(w, 200, tokenOf(t))
	return nil
}

func apiKeyToken(s *server, w http.ResponseWriter, r *http.Request, _ *clavis.Caller) error {
	var in struct {
		APIKey string `json:"api_key"`
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	t, err := s.svc.APIKeyToken(r.Context(), in.APIKey, s.clientIP(r))
	if err != nil {
		return err
	}
	writeJSON(w, 200, tokenOf(t))
	return nil
}

func refresh(_ *server, _ http.ResponseWriter, _ *http.Request, _ *clavis.Caller) error {
	return clavis.Invalid("", "Refresh tokens are not issued; exchange your credentials again")
}

func getMe(s *server, w http.ResponseWriter, r *http.Request, c *clavis.Caller) error {
	u, err := s.svc.Me(r.Context(), c)
	if err != nil {
		return err
	}
	writeJSON(w, 200, userOf(u))
	return nil
}

func patchMe(s *server, w http.ResponseWriter, r *http.Request, c *clavis.Caller) error {
	var in struct {
		DisplayName     *string `json:"display_name"`
		MarketingEmails *bool   `json:"marketing_emails"`
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	u, err := s.svc.UpdateMe(r.Context(), c, clavis.ProfilePatch{DisplayName: in.DisplayName, MarketingEmails: in.MarketingEmails})
	if err != nil {
		return err
	}
	writeJSON(w, 200, userOf(u))
	return nil
}

func changePassword(s *server, w http.ResponseWriter, r *http.Request, c *clavis.Caller) error {
	var in struct {
		Current string `json:"current_password"`
		New     string `json:"new_password"`
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	if err := s.svc.ChangePassword(r.Context(), c, in.Current, in.New); err != nil {
		return err
	}
	w.WriteHeader(204)
	return nil
}

// --- personal API keys ---

func createAPIKey(s *server, w http.ResponseWriter, r *http.Request, c *clavis.Caller) error {
	var in struct {
		Name      string   `json:"name"`
		Scopes    []string `json:"scopes"`
		ExpiresAt *reqTime `json:"expires_at"`
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	k, raw, err := s.svc.CreateAPIKey(r.Context(), c, clavis.APIKeyInput{Name: in.Name, Scopes: in.Scopes, ExpiresAt: in.ExpiresAt.ptr()})
	if err != nil {
		return err
	}
	writeJSON(w, 201, map[string]any{"key": apiKeyOf(k), "api_key": string(raw)})
	return nil
}

func listAPIKeys(s *server, w http.ResponseWriter, r *http.Request, c *clavis.Caller) error {
	ks, err := s.svc.ListAPIKeys(r.Context(), c)
	if err != nil {
		return err
	}
	writeJSON(w, 200, map[string]any{"keys": mapList(ks, apiKeyOf)})
	return nil
}

func revokeAPIKey(s *server, w http.ResponseWriter, r *http.Request, c *clavis.Caller) error {
	if c.Type != clavis.PrincipalUser {
		return errHumansOnly // a route-level refusal comes before any lookup (spec §1.7 rule 6)
	}
	kid, err := id(r, "key_id")
	if err != nil {
		return err
	}
	if err := s.svc.RevokeAPIKey(r.Context(), c, kid); err != nil {
		return err
	}
	w.WriteHeader(204)
	return nil
}

// --- vaults ---

func createVault(s *server, w http.ResponseWriter, r *http.Request, c *clavis.Caller) error {
	var in struct {
		Name        string `json:"name"`
		Description string `json:"description"`
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	v, err := s.svc.CreateVault(r.Context(), c, clavis.VaultInput{Name: in.Name, Description: in.Description})
	if err != nil {
		return err
	}
	writeJSON(w, 201, vaultOf(v))
	return nil
}

func listVaults(s *server, w http.ResponseWriter, r *http.Request, c *clavis.Caller) error {
	vs, err := s.svc.ListVaults(r.Context(), c)
	if err != nil {
		return err
	}
	writeJSON(w, 200, map[string]any{"vaults": mapList(vs, vaultOf)})
	return nil
}

func getVault(s *server, w http.ResponseWriter, r *http.Request, c *clavis.Caller) error {
	vid, err := id(r, "vault_id")
	if err != nil {
		return err
	}
	v, err := s.svc.GetVault(r.Context(), c, vid)
	if err != nil {
		return err
	}
	writeJSON(w, 200, vaultOf(v))
	return nil
}

func deleteVault(s *server, w http.ResponseWriter, r *http.Request, c *clavis.Caller) error {
	vid, err := id(r, "vault_id")
	if err != nil {
		return err
	}
	if err := s.svc.DeleteVault(r.Context(), c, vid); err != nil {
		return err
	}
	w.WriteHeader(204)
	return nil
}

// --- secrets ---

func listSecrets(s *server, w http.ResponseWriter, r *http.Request, c *clavis.Caller) error {
	vid, err := id(r, "vault_id")
	if err != nil {
		return err
	}
	items, err := s.svc.ListSecrets(r.Context(), c, vid, r.URL.Query().Get("prefix"))
	if err != nil {
		return err
	}
	writeJSON(w, 200, map[string]any{"secrets": mapList(items, secretMetaOf)})
	return nil
}

func putSecret(s *server, w http.ResponseWriter, r *http.Request, c *clavis.Caller) error {
	vid, err := id(r, "vault_id")
	if err != nil {
		return err
	}
	var in struct {
		Value          *string         `json:"value"`
		Type           string          `json:"type"`
		Metadata       nullable[any]   `json:"metadata"`
		ExpiresAt      *reqTime        `json:"expires_at"`
		MaxAccessCount nullable[int64] `json:"max_access_count"`
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	if in.Value == nil {
		return clavis.Invalid("value", "value is required")
	}
	out := clavis.SecretInput{Value: clavis.Sensitive(*in.Value), Type: in.Type, ExpiresAt: in.ExpiresAt.ptr()}
	if m := in.Metadata.value(); m != nil {
		obj, ok := (*m).(map[string]any)
		if !ok {
			return clavis.Invalid("metadata", "metadata must be a JSON object")
		}
		out.Metadata = mustMarshal(obj)
	}
	if n := in.MaxAccessCount.value(); n != nil {
		if *n < 1 || *n > 1<<31-1 {
			return clavis.Invalid("max_access_count", "max_access_count must be at least 1")
		}
		out.MaxAccessCount = int(*n)
	}
	m, err := s.svc.PutSecret(r.Context(), c, vid, secretPath(r), out)
	if err != nil {
		return err
	}
	writeJSON(w, 201, secretMetaOf(*m))
	return nil
}

func getSecret(s *server, w http.ResponseWriter, r *http.Request, c *clavis.Caller) error {
	vid, err := id(r, "vault_id")
	if err != nil {
		return err
	}
	v, err := s.svc.GetSecret(r.Context(), c, vid, secretPath(r))
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, 200, secretOf(v))
	return nil
}

func deleteSecret(s *server, w http.ResponseWriter, r *http.Request, c *clavis.Caller) error {
	vid, err := id(r, "vault_id")
	if err != nil {
		return err
	}
	if err := s.svc.DeleteSecret(r.Context(), c, vid, secretPath(r)); err != nil {
		return err
	}
	w.WriteHeader(204)
	return nil
}

func listVersions(s *server, w http.ResponseWriter, r *http.Request, c *clavis.Caller) error {
	vid, err := id(r, "vault_id")
	if err != nil {
		return err
	}
	vs, err := s.svc.ListVersions(r.Context(), c, vid, secretPath(r))
	if err != nil {
		return err
	}
	writeJSON(w, 200, map[string]any{"versions": mapList(vs, secretVersionOf)})
	return nil
}

// versionTail parses "{path...}/{n}" (spec §4.5.1).
func versionTail(r *http.Request) (string, int, error) {
	return policy.SplitVersionPath(secretPath(r))
}

func getVersion(s *server, w http.ResponseWriter, r *http.Request, c *clavis.Caller) error {
	vid, err := id(r, "vault_id")
	if err != nil {
		return err
	}
	p, n, err := versionTail(r)
	if err != nil {
		return err
	}
	v, err := s.svc.GetVersion(r.Context(), c, vid, p, n)
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, 200, secretOf(v))
	return nil
}

func disableVersion(s *server, w http.ResponseWriter, r *http.Request, c *clavis.Caller) error {
	vid, err := id(r, "vault_id")
	if err != nil {
		return err
	}
	p, n, err := versionTail(r)
	if err != nil {
		return err
	}
	if err := s.svc.DisableVersion(r.Context(), c, vid, p, n); err != nil {
		return err
	}
	w.WriteHeader(204)
	return nil
}

func rotateSecret(s *server, w http.ResponseWriter, r *http.Request, c *clavis.Caller) error {
	vid, err := id(r, "vault_id")
	if err != nil {
		return err
	}
	var in struct {
		Length  nullable[int64] `json:"length"`
		Charset string          `json:"charset"`
		Type    string          `json:"type"`
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	ri := clavis.RotateInput{Charset: in.Charset, Type: in.Type}
	if n := in.Length.value(); n != nil {
		if *n < 8 || *n > 1024 {
			return clavis.Invalid("length", "length must be between 8 and 1024")
		}
		ri.Length = int(*n)
	}
	m, err := s.svc.RotateSecret(r.Context(), c, vid, secretPath(r), ri)
	if err != nil {
		return err
	}
	writeJSON(w, 201, secretMetaOf(*m))
	return nil
}

func restoreVersion(s *server, w http.ResponseWriter, r *http.Request, c *clavis.Caller) error {
	vid, err := id(r, "vault_id")
	if err != nil {
		return err
	}
	p, n, err := versionTail(r)
	if err != nil {
		return err
	}
	m, err := s.svc.RestoreVersion(r.Context(), c, vid, p, n)
	if err != nil {
		return err
	}
	writeJSON(w, 201, secretMetaOf(*m))
	return nil
}

// --- agents ---

// agentBody is the request body of agent create and patch.
type agentBody struct {
	Name          nullable[string]   `json:"name"`
	Description   nullable[string]   `json:"description"`
	AuthMethod    nullable[string]   `json:"auth_method"`
	Scopes        nullable[[]string] `json:"scopes"`
	VaultIDs      nullable[[]string] `json:"vault_ids"`
	IsActive      nullable[bool]     `json:"is_active"`
	ExpiresAt     nullable[reqTime]  `json:"expires_at"`
	TokenTTL      nullable[int64]    `json:"token_ttl_seconds"`
	IntentsAPI    nullable[bool]     `json:"intents_api_enabled"`
	ShroudEnabled nullable[bool]     `json:"shroud_enabled"`
}

// check rejects the options Clavis does not support (spec §4.7).
func (b *agentBody) check() error {
	if m := b.AuthMethod.value(); m != nil && *m != "api_key" {
		return clavis.Invalid("auth_method", "only auth_method api_key is supported")
	}
	if v := b.IntentsAPI.value(); v != nil && *v {
		return clavis.Invalid("intents_api_enabled", "intents_api_enabled is not supported")
	}
	if v := b.ShroudEnabled.value(); v != nil && *v {
		return clavis.Invalid("shroud_enabled", "shroud_enabled is not supported")
	}
	if n := b.TokenTTL.value(); n != nil && (*n < 1 || *n > 86400) {
		return clavis.Invalid("token_ttl_seconds", "token_ttl_seconds must be between 1 and 86400")
	}
	if ids := b.VaultIDs.value(); ids != nil {
		for _, v := range *ids {
			if !uuidRe.MatchString(v) {
				return clavis.Invalid("vault_ids", "vault_ids must name vaults of your organisation")
			}
		}
	}
	return nil
}

func createAgent(s *server, w http.ResponseWriter, r *http.Request, c *clavis.Caller) error {
	var b agentBody
	if err := decode(r, &b); err != nil {
		return err
	}
	if err := b.check(); err != nil {
		return err
	}
	in := clavis.AgentInput{}
	if v := b.Name.value(); v != nil {
		in.Name = *v
	}
	if v := b.Description.value(); v != nil {
		in.Description = *v
	}
	if v := b.Scopes.value(); v != nil {
		in.Scopes = *v
	}
	if v := b.VaultIDs.value(); v != nil {
		in.VaultIDs = *v
	}
	if v := b.ExpiresAt.value(); v != nil {
		in.ExpiresAt = v.ptr()
	}
	if v := b.TokenTTL.value(); v != nil {
		in.TokenTTL = int(*v)
	}
	ak, err := s.svc.CreateAgent(r.Context(), c, in)
	if err != nil {
		return err
	}
	writeJSON(w, 201, map[string]any{"agent": agentOf(ak.Agent), "api_key": string(ak.Key)})
	return nil
}

func listAgents(s *server, w http.ResponseWriter, r *http.Request, c *clavis.Caller) error {
	as, err := s.svc.ListAgents(r.Context(), c)
	if err != nil {
		return err
	}
	writeJSON(w, 200, map[string]any{"agents": mapList(as, agentOf)})
	return nil
}

func agentMe(s *server, w http.ResponseWriter, r *http.Request, c *clavis.Caller) error {
	a, err := s.svc.AgentMe(r.Context(), c)
	if err != nil {
		return err
	}
	writeJSON(w, 200, agentSelfOf(a))
	return nil
}

func getAgent(s *server, w http.ResponseWriter, r *http.Request, c *clavis.Caller) error {
	aid, err := id(r, "agent_id")
	if err != nil {
		return err
	}
	a, err := s.svc.GetAgent(r.Context(), c, aid)
	if err != nil {
		return err
	}
	writeJSON(w, 200, agentOf(a))
	return nil
}

func patchAgent(s *server, w http.ResponseWriter, r *http.Request, c *clavis.Caller) error {
	if c.Type != clavis.PrincipalUser {
		return errHumansOnly
	}
	aid, err := id(r, "agent_id")
	if err != nil {
		return err
	}
	var b agentBody
	if err := decode(r, &b); err != nil {
		return err
	}
	if err := b.check(); err != nil {
		return err
	}
	p := clavis.AgentPatch{Name: b.Name.value(), Description: b.Description.value(), Scopes: b.Scopes.value(),
		VaultIDs: b.VaultIDs.value(), Active: b.IsActive.value(), ClearExpiresAt: b.ExpiresAt.Null, ClearTokenTTL: b.TokenTTL.Null}
	if v := b.ExpiresAt.value(); v != nil {
		p.ExpiresAt = v.ptr()
	}
	if v := b.TokenTTL.value(); v != nil {
		n := int(*v)
		p.TokenTTL = &n
	}
	a, err := s.svc.UpdateAgent(r.Context(), c, aid, p)
	if err != nil {
		return err
	}
	writeJSON(w, 200, agentOf(a))
	return nil
}

func deleteAgent(s *server, w http.ResponseWriter, r *http.Request, c *clavis.Caller) error {
	if c.Type != clavis.PrincipalUser {
		return errHumansOnly
	}
	aid, err := id(r, "agent_id")
	if err != nil {
		return err
	}
	if err := s.svc.DeleteAgent(r.Context(), c, aid); err != nil {
		return err
	}
	w.WriteHeader(204)
	return nil
}

func rotateAgentKey(s *server, w http.ResponseWriter, r *http.Request, c *clavis.Caller) error {
	if c.Type != clavis.PrincipalUser {
		return errHumansOnly
	}
	aid, err := id(r, "agent_id")
	if err != nil {
		return err
	}
	ak, err := s.svc.RotateAgentKey(r.Context(), c, aid)
	if err != nil {
		return err
	}
	writeJSON(w, 200, map[string]any{"api_key": string(ak.Key), "agent": agentOf(ak.Agent)})
	return nil
}

// --- policies ---

// policyBody is the request body of policy create and update.
type policyBody struct {
	Pattern             nullable[string]         `json:"secret_path_pattern"`
	PrincipalType       nullable[string]         `json:"principal_type"`
	PrincipalID         nullable[string]         `json:"principal_id"`
	Permissions         nullable[[]string]       `json:"permissions"`
	Conditions          nullable[map[string]any] `json:"conditions"`
	ExpiresAt           nullable[reqTime]        `json:"expires_at"`
	Effect              nullable[string]         `json:"effect"`
	Priority            nullable[int64]          `json:"priority"`
	RequireApproval     nullable[bool]           `json:"require_approval"`
	AttributeConditions nullable[any]            `json:"attribute_conditions"`
	ConsensusTrigger    nullable[any]            `json:"consensus_trigger"`
	TxConditions        nullable[any]            `json:"tx_conditions"`
	SchemaVersion       nullable[int64]          `json:"policy_schema_version"`
}

// check rejects unsupported options (spec §3.6) and out-of-range integers.
func (b *policyBody) check() error {
	for name, v := range map[string]nullable[any]{"attribute_conditions": b.AttributeConditions,
		"consensus_trigger": b.ConsensusTrigger, "tx_conditions": b.TxConditions} {
		if x := v.value(); x != nil && !emptyJSON(*x) {
			return clavis.Invalid(name, name+" is not supported")
		}
	}
	if v := b.SchemaVersion.value(); v != nil && *v != 1 && *v != 2 {
		return clavis.Invalid("policy_schema_version", "policy_schema_version must be 1 or 2")
	}
	if v := b.Priority.value(); v != nil && (*v < 0 || *v > 1000) {
		return clavis.Invalid("priority", "priority must be between 0 and 1000")
	}
	if v := b.Effect.value(); v != nil && *v != "allow" && *v != "deny" {
		return clavis.Invalid("effect", "effect must be allow or deny")
	}
	return nil
}

func (b *policyBody) conditions() []byte {
	if v := b.Conditions.value(); v != nil {
		return mustMarshal(*v)
	}
	return nil
}

func emptyJSON(v any) bool {
	switch x := v.(type) {
	case map[string]any:
		return len(x) == 0
	case []any:
		return len(x) == 0
	case string:
		return x == ""
	case bool:
		return !x
	}
	return false
}

func createPolicy(s *server, w http.ResponseWriter, r *http.Request, c *clavis.Caller) error {
	vid, err := id(r, "vault_id")
	if err != nil {
		return err
	}
	var b policyBody
	if err := decode(r, &b); err != nil {
		return err
	}
	if err := b.check(); err != nil {
		return err
	}
	in := clavis.PolicyInput{Conditions: b.conditions()}
	if v := b.Pattern.value(); v != nil {
		in.Pattern = *v
	}
	if v := b.PrincipalType.value(); v != nil {
		in.PrincipalType = clavis.PrincipalType(*v)
	}
	if v := b.PrincipalID.value(); v != nil {
		in.PrincipalID = *v
	}
	if v := b.Permissions.value(); v != nil {
		in.Permissions = *v
	}
	if v := b.ExpiresAt.value(); v != nil {
		in.ExpiresAt = v.ptr()
	}
	if v := b.Effect.value(); v != nil {
		in.Effect = clavis.Effect(*v)
	}
	if v := b.Priority.value(); v != nil {
		in.Priority = int(*v)
	}
	if v := b.RequireApproval.value(); v != nil {
		in.RequireApproval = *v
	}
	if in.PrincipalID != "" && !uuidRe.MatchString(in.PrincipalID) {
		return clavis.Invalid("principal_id", "principal_id must be a UUID")
	}
	p, err := s.svc.CreatePolicy(r.Context(), c, vid, in)
	if err != nil {
		return err
	}
	writeJSON(w, 201, policyOf(p))
	return nil
}

func listPolicies(s *server, w http.ResponseWriter, r *http.Request, c *clavis.Caller) error {
	vid, err := id(r, "vault_id")
	if err != nil {
		return err
	}
	ps, err := s.svc.ListPolicies(r.Context(), c, vid)
	if err != nil {
		return err
	}
	writeJSON(w, 200, map[string]any{"policies": mapList(ps, policyOf)})
	return nil
}

func updatePolicy(s *server, w http.ResponseWriter, r *http.Request, c *clavis.Caller) error {
	vid, err := id(r, "vault_id")
	if err != nil {
		return err
	}
	pid, err := id(r, "policy_id")
	if err != nil {
		return err
	}
	var b policyBody
	if err := decode(r, &b); err != nil {
		return err
	}
	if err := b.check(); err != nil {
		return err
	}
	p := clavis.PolicyPatch{Pattern: b.Pattern.value(), PrincipalID: b.PrincipalID.value(), Permissions: b.Permissions.value(),
		ClearExpiresAt: b.ExpiresAt.Null, RequireApproval: b.RequireApproval.value()}
	if v := b.PrincipalType.value(); v != nil {
		pt := clavis.PrincipalType(*v)
		p.PrincipalType = &pt
	}
	if b.Conditions.Set {
		raw := json.RawMessage(b.conditions())
		if raw == nil {
			raw = json.RawMessage("{}")
		}
		p.Conditions = &raw
	}
	if v := b.ExpiresAt.value(); v != nil {
		p.ExpiresAt = v.ptr()
	}
	if v := b.Effect.value(); v != nil {
		e := clavis.Effect(*v)
		p.Effect = &e
	}
	if v := b.Priority.value(); v != nil {
		n := int(*v)
		p.Priority = &n
	}
	out, err := s.svc.UpdatePolicy(r.Context(), c, vid, pid, p)
	if err != nil {
		return err
	}
	writeJSON(w, 200, policyOf(out))
	return nil
}

func deletePolicy(s *server, w http.ResponseWriter, r *http.Request, c *clavis.Caller) error {
	vid, err := id(r, "vault_id")
	if err != nil {
		return err
	}
	pid, err := id(r, "policy_id")
	if err != nil {
		return err
	}
	if err := s.svc.DeletePolicy(r.Context(), c, vid, pid); err != nil {
		return err
	}
	w.WriteHeader(204)
	return nil
}

func explain(s *server, w http.ResponseWriter, r *http.Request, c *clavis.Caller) error {
	vid, err := id(r, "vault_id")
	if err != nil {
		return err
	}
	q := r.URL.Query()
	eq := clavis.ExplainQuery{PrincipalType: clavis.PrincipalType(q.Get("principal_type")), PrincipalID: q.Get("principal_id"),
		Path: q.Get("path"), Permission: clavis.Permission(q.Get("permission"))}
	if ip := q.Get("ip"); ip != "" {
		if eq.IP, err = netip.ParseAddr(ip); err != nil {
			return clavis.Invalid("ip", "ip must be an IPv4 or IPv6 address")
		}
	}
	if eq.PrincipalID != "" && !uuidRe.MatchString(eq.PrincipalID) {
		return clavis.ErrNotFound
	}
	ex, err := s.svc.Explain(r.Context(), c, vid, eq)
	if err != nil {
		return err
	}
	out := map[string]any{"allowed": ex.Allowed, "reason": ex.Reason}
	if ex.PolicyID != "" {
		out["policy_id"] = ex.PolicyID
	}
	writeJSON(w, 200, out)
	return nil
}

// --- audit ---

// pageParams parses limit/offset (spec §1.8): limit clamped to max, limit < 1 or offset < 0 → 400.
func pageParams(q url.Values, def, max int) (limit, offset int, err error) {
	limit, offset = def, 0
	if s := q.Get("limit"); s != "" {
		if limit, err = strconv.Atoi(s); err != nil || limit < 1 {
			return 0, 0, clavis.Invalid("limit", "limit must be a positive integer")
		}
		limit = min(limit, max)
	}
	if s := q.Get("offset"); s != "" {
		if offset, err = strconv.Atoi(s); err != nil || offset < 0 {
			return 0, 0, clavis.Invalid("offset", "offset must be a non-negative integer")
		}
	}
	return limit, offset, nil
}

// timeParams parses from/to query times.
func timeParams(q url.Values) (from, to *time.Time, err error) {
	for _, p := range []struct {
		name string
		dst  **time.Time
	}{{"from", &from}, {"to", &to}} {
		if s := q.Get(p.name); s != "" {
			t, err := parseTime(s)
			if err != nil {
				return nil, nil, clavis.Invalid(p.name, p.name+" must be an RFC 3339 time")
			}
			*p.dst = &t
		}
	}
	return from, to, nil
}

func listAudit(s *server, w http.ResponseWriter, r *http.Request, c *clavis.Caller) error {
	q := r.URL.Query()
	limit, offset, err := pageParams(q, 100, 1000)
	if err != nil {
		return err
	}
	from, to, err := timeParams(q)
	if err != nil {
		return err
	}
	evs, err := s.svc.ListAudit(r.Context(), c, clavis.AuditQuery{ResourceID: q.Get("resource_id"), ActorID: q.Get("actor_id"),
		Action: q.Get("action"), VaultID: q.Get("vault_id"), From: from, To: to, Limit: limit, Offset: offset})
	if err != nil {
		return err
	}
	writeJSON(w, 200, map[string]any{"events": mapList(evs, auditOf), "count": len(evs)})
	return nil
}

func verifyAudit(s *server, w http.ResponseWriter, r *http.Request, c *clavis.Caller) error {
	q := r.URL.Query()
	limit, _, err := pageParams(q, 1000, 10000)
	if err != nil {
		return err
	}
	from, to, err := timeParams(q)
	if err != nil {
		return err
	}
	v, err := s.svc.VerifyAudit(r.Context(), c, from, to, limit)
	if err != nil {
		return err
	}
	var broken *string
	if v.BrokenAt != "" {
		broken = &v.BrokenAt
	}
	writeJSON(w, 200, map[string]any{"chain_valid": v.Valid, "events_verified": v.Verified, "events_checked": v.Checked,
		"broken_at_event_id": broken, "scheme": map[string]string{"algorithm": "HMAC-SHA256",
			"chain_structure": "per-org linked list", "hash_field": "integrity_hash", "link_field": "prev_event_id",
			"documentation": strings.TrimRight(s.opt.PublicURL, "/") + "/openapi.json"}})
	return nil
}
