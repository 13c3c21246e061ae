package client_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"reflect"
	"strings"
	"testing"
	"time"

	"clavis.dev/clavis"
	"clavis.dev/clavis/client"
)

// exchange is one request as the server saw it.
type exchange struct {
	Method, URI, Auth, ContentType string
	Confirm                        string // X-Auth-Confirm
	Body                           []byte
}

// serve starts a server that records each request and answers with status and body, and returns a
// client for it (with the given options) and the recorded exchanges.
func serve(t *testing.T, status int, body string, opts ...client.Option) (*client.Client, *[]exchange) {
	t.Helper()
	var got []exchange
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got = append(got, exchange{r.Method, r.RequestURI, r.Header.Get("Authorization"), r.Header.Get("Content-Type"),
			r.Header.Get("X-Auth-Confirm"), b})
		if body != "" {
			w.Header().Set("Content-Type", "application/json")
		}
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	}))
	t.Cleanup(srv.Close)
	return client.New(srv.URL+"/", opts...), &got
}

func ts(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return t
}

func tp(s string) *time.Time { t := ts(s); return &t }
func bp(b bool) *bool        { return &b }

// withKey is the result of CreateAPIKey, which returns a key and the raw key.
type withKey struct {
	V   any
	Key clavis.Sensitive
}

const (
	vid = "e857f7ea-f794-4885-ad8e-898173cffc87"
	aid = "0d2bbdcf-db4c-4e76-992a-4c57400f22d2"
	uid = "7621aacf-63da-4537-b28d-7232d59273b6"
	pid = "fc9d9d84-8bae-4f4e-be62-71e2ed4fb0eb"
	sid = "22f3c628-ec25-4aa5-92dc-3a239313f129"
)

var (
	vaultJSON = `{"id":"` + vid + `","name":"payments","description":"","created_by":"` + uid + `","created_by_type":"user","created_at":"2026-02-18T12:00:00Z"}`
	vaultWant = &clavis.Vault{ID: vid, Name: "payments", CreatedBy: uid, CreatedByType: "user", CreatedAt: ts("2026-02-18T12:00:00Z")}

	metaJSON = `{"id":"` + sid + `","path":"api-keys/openai","type":"api_key","version":2,"metadata":{"tags":["prod"]},"created_at":"2026-02-18T12:01:00Z","expires_at":"2026-12-31T23:59:59Z"}`
	metaWant = &clavis.SecretMeta{Secret: &clavis.Secret{ID: sid, VaultID: vid, Path: "api-keys/openai"},
		Version: &clavis.Version{SecretID: sid, Version: 2, Type: "api_key", Metadata: json.RawMessage(`{"tags":["prod"]}`),
			CreatedAt: ts("2026-02-18T12:01:00Z"), ExpiresAt: tp("2026-12-31T23:59:59Z")}}

	secretJSON = `{"id":"` + sid + `","path":"a/b/c","type":"api_key","value":"sk-live-123","version":2,"metadata":{},"created_by":"agent:` + aid + `","created_at":"2026-02-18T12:01:00Z"}`
	secretWant = secretIn(vid)

	agentJSON = `{"id":"` + aid + `","name":"deploy-bot","description":"","auth_method":"api_key","scopes":[],"is_active":true,"intents_api_enabled":false,"shroud_enabled":false,"ssh_public_key":"ssh","ecdh_public_key":"ecdh","created_at":"2026-02-18T12:03:00Z","token_ttl_seconds":600,"vault_ids":["` + vid + `"]}`
	agentWant = &clavis.Agent{ID: aid, Name: "deploy-bot", Scopes: []string{}, Active: true,
		SSHPublicKey: "ssh", ECDHPublicKey: "ecdh", CreatedAt: ts("2026-02-18T12:03:00Z"), TokenTTL: 600, VaultIDs: []string{vid}}

	policyJSON = `{"id":"` + pid + `","vault_id":"` + vid + `","secret_path_pattern":"api-keys/*","principal_type":"agent","principal_id":"` + aid + `","permissions":["read"],"conditions":{},"created_by":"` + uid + `","created_by_type":"user","created_at":"2026-02-18T12:02:00Z"}`
	policyWant = &clavis.Policy{ID: pid, VaultID: vid, Pattern: "api-keys/*", PrincipalType: "agent", PrincipalID: aid,
		Permissions: []clavis.Permission{"read"}, Conditions: json.RawMessage(`{}`), CreatedBy: uid, CreatedByType: "user",
		CreatedAt: ts("2026-02-18T12:02:00Z"), Effect: "allow"}

	userJSON = `{"id":"` + uid + `","email":"ada@example.com","display_name":"Ada","auth_method":"password","role":"owner","email_verified":false,"marketing_emails":true,"totp_enabled":false,"org_id":"` + vid + `","created_at":"2026-02-18T12:00:00Z"}`
	userWant = &clavis.User{ID: uid, Email: "ada@example.com", DisplayName: "Ada", Role: "owner",
		MarketingEmails: true, OrgID: vid, CreatedAt: ts("2026-02-18T12:00:00Z")}
)

// secretIn is what GetSecret makes of secretJSON read from vault vaultID.
func secretIn(vaultID string) *clavis.SecretValue {
	return &clavis.SecretValue{Value: "sk-live-123", SecretMeta: clavis.SecretMeta{
		Secret: &clavis.Secret{ID: sid, VaultID: vaultID, Path: "a/b/c"},
		Version: &clavis.Version{SecretID: sid, Version: 2, Type: "api_key", Metadata: json.RawMessage(`{}`),
			CreatedBy: "agent:" + aid, CreatedAt: ts("2026-02-18T12:01:00Z")}}}
}

// TestRequests is the SDK's wire contract: for each method, the request it sends (method, escaped URI,
// JSON body) and what it makes of a spec-shaped answer.
func TestRequests(t *testing.T) {
	tests := []struct {
		name     string
		call     func(context.Context, *client.Client) (any, error)
		status   int
		resp     string
		wantReq  string // method and request URI
		wantBody string // JSON; "" = no body
		want     any
	}{
		{
			name:    "Health",
			call:    func(ctx context.Context, c *client.Client) (any, error) { return c.Health(ctx) },
			status:  200,
			resp:    `{"status":"healthy","version":"1.4.0"}`,
			wantReq: "GET /v1/health",
			want:    client.Health{Status: "healthy", Version: "1.4.0"},
		},
		{
			name: "Signup",
			call: func(ctx context.Context, c *client.Client) (any, error) {
				return c.Signup(ctx, "ada@example.com", "correct horse battery", "Ada")
			},
			status:   200,
			resp:     `{"access_token":"eyJ.a.b","token_type":"Bearer","expires_in":900,"email":"ada@example.com"}`,
			wantReq:  "POST /v1/auth/signup",
			wantBody: `{"email":"ada@example.com","password":"correct horse battery","display_name":"Ada"}`,
			want:     &clavis.Token{AccessToken: "eyJ.a.b", ExpiresIn: 900, Email: "ada@example.com"},
		},
		{
			name:     "Login with MFA challenge",
			call:     func(ctx context.Context, c *client.Client) (any, error) { return c.Login(ctx, "ada@example.com", "pw") },
			status:   200,
			resp:     `{"mfa_required":true,"mfa_token":"eyJ.m.m","access_token":"","token_type":"Bearer","expires_in":300}`,
			wantReq:  "POST /v1/auth/token",
			wantBody: `{"email":"ada@example.com","password":"pw"}`,
			want:     &clavis.Token{ExpiresIn: 300, MFAToken: "eyJ.m.m"},
		},
		{
			name:     "AgentToken without agent id",
			call:     func(ctx context.Context, c *client.Client) (any, error) { return c.AgentToken(ctx, "ocv_k", "") },
			status:   200,
			resp:     `{"access_token":"eyJ.a.b","token_type":"Bearer","expires_in":3600,"agent_id":"` + aid + `"}`,
			wantReq:  "POST /v1/auth/agent-token",
			wantBody: `{"api_key":"ocv_k"}`,
			want:     &clavis.Token{AccessToken: "eyJ.a.b", ExpiresIn: 3600, AgentID: aid},
		},
		{
			name:     "AgentToken with agent id",
			call:     func(ctx context.Context, c *client.Client) (any, error) { return c.AgentToken(ctx, "ocv_k", aid) },
			status:   200,
			resp:     `{"access_token":"eyJ.a.b","token_type":"Bearer","expires_in":3600}`,
			wantReq:  "POST /v1/auth/agent-token",
			wantBody: `{"api_key":"ocv_k","agent_id":"` + aid + `"}`,
			want:     &clavis.Token{AccessToken: "eyJ.a.b", ExpiresIn: 3600},
		},
		{
			name:     "APIKeyToken",
			call:     func(ctx context.Context, c *client.Client) (any, error) { return c.APIKeyToken(ctx, "1ck_k") },
			status:   200,
			resp:     `{"access_token":"eyJ.a.b","token_type":"Bearer","expires_in":900}`,
			wantReq:  "POST /v1/auth/api-key-token",
			wantBody: `{"api_key":"1ck_k"}`,
			want:     &clavis.Token{AccessToken: "eyJ.a.b", ExpiresIn: 900},
		},
		{
			name:    "RevokeToken",
			call:    func(ctx context.Context, c *client.Client) (any, error) { return nil, c.RevokeToken(ctx) },
			status:  204,
			wantReq: "DELETE /v1/auth/token",
		},
		{
			name:    "Me",
			call:    func(ctx context.Context, c *client.Client) (any, error) { return c.Me(ctx) },
			status:  200,
			resp:    userJSON,
			wantReq: "GET /v1/auth/me",
			want:    userWant,
		},
		{
			name: "UpdateMe sends only the given fields",
			call: func(ctx context.Context, c *client.Client) (any, error) {
				return c.UpdateMe(ctx, clavis.ProfilePatch{MarketingEmails: bp(true)})
			},
			status:   200,
			resp:     userJSON,
			wantReq:  "PATCH /v1/auth/me",
			wantBody: `{"marketing_emails":true}`,
			want:     userWant,
		},
		{
			name: "ChangePassword",
			call: func(ctx context.Context, c *client.Client) (any, error) {
				return nil, c.ChangePassword(ctx, "old", "new")
			},
			status:   204,
			wantReq:  "POST /v1/auth/change-password",
			wantBody: `{"current_password":"old","new_password":"new"}`,
		},
		{
			name: "CreateAPIKey",
			call: func(ctx context.Context, c *client.Client) (any, error) {
				k, raw, err := c.CreateAPIKey(ctx, clavis.APIKeyInput{Name: "ci", Scopes: []string{"prod/**"}, ExpiresAt: tp("2027-01-01T00:00:00Z")})
				return withKey{k, raw}, err
			},
			status:   201,
			resp:     `{"key":{"id":"` + pid + `","name":"ci","key_prefix":"1ck_Ab3dEfGh","scopes":["prod/**"],"is_active":true,"created_at":"2026-02-18T12:00:00Z","expires_at":"2027-01-01T00:00:00Z","last_used_at":null},"api_key":"1ck_raw"}`,
			wantReq:  "POST /v1/auth/api-keys",
			wantBody: `{"name":"ci","scopes":["prod/**"],"expires_at":"2027-01-01T00:00:00Z"}`,
			want: withKey{&clavis.APIKey{ID: pid, Name: "ci", Prefix: "1ck_Ab3dEfGh", Scopes: []string{"prod/**"}, Active: true,
				CreatedAt: ts("2026-02-18T12:00:00Z"), ExpiresAt: tp("2027-01-01T00:00:00Z")}, "1ck_raw"},
		},
		{
			name:    "ListAPIKeys",
			call:    func(ctx context.Context, c *client.Client) (any, error) { return c.ListAPIKeys(ctx) },
			status:  200,
			resp:    `{"keys":[{"id":"` + pid + `","name":"ci","key_prefix":"1ck_Ab3dEfGh","scopes":[],"is_active":false,"created_at":"2026-02-18T12:00:00Z","expires_at":null,"last_used_at":"2026-02-19T08:00:00.123456Z"}]}`,
			wantReq: "GET /v1/auth/api-keys",
			want: []*clavis.APIKey{{ID: pid, Name: "ci", Prefix: "1ck_Ab3dEfGh", Scopes: []string{}, CreatedAt: ts("2026-02-18T12:00:00Z"),
				LastUsedAt: tp("2026-02-19T08:00:00.123456Z")}},
		},
		{
			name:    "RevokeAPIKey",
			call:    func(ctx context.Context, c *client.Client) (any, error) { return nil, c.RevokeAPIKey(ctx, pid) },
			status:  204,
			wantReq: "DELETE /v1/auth/api-keys/" + pid,
		},
		{
			name: "CreateVault",
			call: func(ctx context.Context, c *client.Client) (any, error) {
				return c.CreateVault(ctx, clavis.VaultInput{Name: "payments"})
			},
			status:   201,
			resp:     vaultJSON,
			wantReq:  "POST /v1/vaults",
			wantBody: `{"name":"payments","description":""}`,
			want:     vaultWant,
		},
		{
			name:    "ListVaults empty is a non-nil slice",
			call:    func(ctx context.Context, c *client.Client) (any, error) { return c.ListVaults(ctx) },
			status:  200,
			resp:    `{"vaults":[]}`,
			wantReq: "GET /v1/vaults",
			want:    []*clavis.Vault{},
		},
		{
			name:    "GetVault",
			call:    func(ctx context.Context, c *client.Client) (any, error) { return c.GetVault(ctx, vid) },
			status:  200,
			resp:    vaultJSON,
			wantReq: "GET /v1/vaults/" + vid,
			want:    vaultWant,
		},
		{
			name:    "DeleteVault",
			call:    func(ctx context.Context, c *client.Client) (any, error) { return nil, c.DeleteVault(ctx, vid) },
			status:  204,
			wantReq: "DELETE /v1/vaults/" + vid,
		},
		{
			name: "PutSecret with every field",
			call: func(ctx context.Context, c *client.Client) (any, error) {
				return c.PutSecret(ctx, vid, "api-keys/openai", clavis.SecretInput{Value: "sk-live-123", Type: "api_key",
					Metadata: json.RawMessage(`{"tags": ["prod"]}`), ExpiresAt: tp("2026-12-31T23:59:59Z"), MaxAccessCount: new(3)})
			},
			status:   201,
			resp:     metaJSON,
			wantReq:  "PUT /v1/vaults/" + vid + "/secrets/api-keys/openai",
			wantBody: `{"value":"sk-live-123","type":"api_key","metadata":{"tags":["prod"]},"expires_at":"2026-12-31T23:59:59Z","max_access_count":3}`,
			want:     metaWant,
		},
		{
			name: "PutSecret omits unset fields",
			call: func(ctx context.Context, c *client.Client) (any, error) {
				return c.PutSecret(ctx, vid, "k", clavis.SecretInput{Value: "v"})
			},
			status:   201,
			resp:     metaJSON,
			wantReq:  "PUT /v1/vaults/" + vid + "/secrets/k",
			wantBody: `{"value":"v"}`,
			want:     metaWant,
		},
		{
			name:    "GetSecret keeps the slashes of a multi-segment path",
			call:    func(ctx context.Context, c *client.Client) (any, error) { return c.GetSecret(ctx, vid, "a/b/c") },
			status:  200,
			resp:    secretJSON,
			wantReq: "GET /v1/vaults/" + vid + "/secrets/a/b/c",
			want:    secretWant,
		},
		{
			name: "GetSecret escapes each segment",
			call: func(ctx context.Context, c *client.Client) (any, error) {
				return c.GetSecret(ctx, vid, "a b/c?d/e%f#g")
			},
			status:  200,
			resp:    secretJSON,
			wantReq: "GET /v1/vaults/" + vid + "/secrets/a%20b/c%3Fd/e%25f%23g",
			want:    secretWant,
		},
		{
			name:    "GetSecret escapes the vault id",
			call:    func(ctx context.Context, c *client.Client) (any, error) { return c.GetSecret(ctx, "x/y", "k") },
			status:  200,
			resp:    secretJSON,
			wantReq: "GET /v1/vaults/x%2Fy/secrets/k",
			want:    secretIn("x/y"),
		},
		{
			name:    "ListSecrets with prefix",
			call:    func(ctx context.Context, c *client.Client) (any, error) { return c.ListSecrets(ctx, vid, "api-keys/") },
			status:  200,
			resp:    `{"secrets":[` + metaJSON + `]}`,
			wantReq: "GET /v1/vaults/" + vid + "/secrets?prefix=api-keys%2F",
			want:    []clavis.SecretMeta{*metaWant},
		},
		{
			name:    "ListSecrets without prefix",
			call:    func(ctx context.Context, c *client.Client) (any, error) { return c.ListSecrets(ctx, vid, "") },
			status:  200,
			resp:    `{"secrets":[]}`,
			wantReq: "GET /v1/vaults/" + vid + "/secrets",
			want:    []clavis.SecretMeta{},
		},
		{
			name: "DeleteSecret",
			call: func(ctx context.Context, c *client.Client) (any, error) {
				return nil, c.DeleteSecret(ctx, vid, "a/b/c")
			},
			status:  204,
			wantReq: "DELETE /v1/vaults/" + vid + "/secrets/a/b/c",
		},
		{
			name:    "ListVersions",
			call:    func(ctx context.Context, c *client.Client) (any, error) { return c.ListVersions(ctx, vid, "db/pg") },
			status:  200,
			resp:    `{"versions":[{"id":"` + sid + `","path":"db/pg","type":"password","version":2,"metadata":{},"created_at":"2026-02-18T12:01:00Z","is_disabled":false},{"id":"` + sid + `","path":"db/pg","type":"password","version":1,"metadata":{},"created_at":"2026-02-18T12:00:00Z","is_disabled":true}]}`,
			wantReq: "GET /v1/vaults/" + vid + "/secret-versions/db/pg",
			want: []clavis.SecretMeta{
				{Secret: &clavis.Secret{ID: sid, VaultID: vid, Path: "db/pg"}, Version: &clavis.Version{SecretID: sid, Version: 2,
					Type: "password", Metadata: json.RawMessage(`{}`), CreatedAt: ts("2026-02-18T12:01:00Z")}},
				{Secret: &clavis.Secret{ID: sid, VaultID: vid, Path: "db/pg"}, Version: &clavis.Version{SecretID: sid, Version: 1,
					Type: "password", Metadata: json.RawMessage(`{}`), CreatedAt: ts("2026-02-18T12:00:00Z"), Disabled: true}},
			},
		},
		{
			name:    "GetVersion puts the version after the path",
			call:    func(ctx context.Context, c *client.Client) (any, error) { return c.GetVersion(ctx, vid, "a/b/c", 2) },
			status:  200,
			resp:    secretJSON,
			wantReq: "GET /v1/vaults/" + vid + "/secret-version/a/b/c/2",
			want:    secretWant,
		},
		{
			name: "DisableVersion",
			call: func(ctx context.Context, c *client.Client) (any, error) {
				return nil, c.DisableVersion(ctx, vid, "a/b c", 1)
			},
			status:  204,
			wantReq: "POST /v1/vaults/" + vid + "/secret-version-disable/a/b%20c/1",
		},
		{
			name: "RotateSecret",
			call: func(ctx context.Context, c *client.Client) (any, error) {
				return c.RotateSecret(ctx, vid, "db/pg", clavis.RotateInput{Length: new(64), Charset: "alphanumeric"})
			},
			status:   201,
			resp:     metaJSON,
			wantReq:  "POST /v1/vaults/" + vid + "/secret-rotate/db/pg",
			wantBody: `{"length":64,"charset":"alphanumeric"}`,
			want:     metaWant,
		},
		{
			name: "RotateSecret with defaults",
			call: func(ctx context.Context, c *client.Client) (any, error) {
				return c.RotateSecret(ctx, vid, "db/pg", clavis.RotateInput{})
			},
			status:   201,
			resp:     metaJSON,
			wantReq:  "POST /v1/vaults/" + vid + "/secret-rotate/db/pg",
			wantBody: `{}`,
			want:     metaWant,
		},
		{
			name: "RestoreVersion",
			call: func(ctx context.Context, c *client.Client) (any, error) {
				return c.RestoreVersion(ctx, vid, "db/pg", 1)
			},
			status:  201,
			resp:    metaJSON,
			wantReq: "POST /v1/vaults/" + vid + "/secret-restore/db/pg/1",
			want:    metaWant,
		},
		{
			name: "CreateAgent",
			call: func(ctx context.Context, c *client.Client) (any, error) {
				return c.CreateAgent(ctx, clavis.AgentInput{Name: "deploy-bot", VaultIDs: []string{vid}, TokenTTL: new(600)})
			},
			status:   201,
			resp:     `{"agent":` + agentJSON + `,"api_key":"ocv_raw"}`,
			wantReq:  "POST /v1/agents",
			wantBody: `{"name":"deploy-bot","vault_ids":["` + vid + `"],"token_ttl_seconds":600}`,
			want:     &clavis.AgentKey{Agent: agentWant, Key: "ocv_raw"},
		},
		{
			name:    "ListAgents",
			call:    func(ctx context.Context, c *client.Client) (any, error) { return c.ListAgents(ctx) },
			status:  200,
			resp:    `{"agents":[` + agentJSON + `]}`,
			wantReq: "GET /v1/agents",
			want:    []*clavis.Agent{agentWant},
		},
		{
			name:    "GetAgent",
			call:    func(ctx context.Context, c *client.Client) (any, error) { return c.GetAgent(ctx, aid) },
			status:  200,
			resp:    agentJSON,
			wantReq: "GET /v1/agents/" + aid,
			want:    agentWant,
		},
		{
			name:    "AgentMe",
			call:    func(ctx context.Context, c *client.Client) (any, error) { return c.AgentMe(ctx) },
			status:  200,
			resp:    `{"id":"` + aid + `","name":"deploy-bot","description":"d","org_id":"` + vid + `","scopes":["vaults:read"],"is_active":true,"intents_api_enabled":false,"shroud_enabled":false,"created_by":"` + uid + `","ssh_public_key":"ssh","ecdh_public_key":"ecdh","created_at":"2026-02-18T12:03:00Z","expires_at":"2027-01-01T00:00:00Z","last_active_at":"2026-02-19T00:00:00Z"}`,
			wantReq: "GET /v1/agents/me",
			want: &clavis.Agent{ID: aid, Name: "deploy-bot", Description: "d", OrgID: vid, Scopes: []string{"vaults:read"}, Active: true,
				CreatedBy: uid, SSHPublicKey: "ssh", ECDHPublicKey: "ecdh", CreatedAt: ts("2026-02-18T12:03:00Z"),
				ExpiresAt: tp("2027-01-01T00:00:00Z"), LastActiveAt: tp("2026-02-19T00:00:00Z")},
		},
		{
			name: "UpdateAgent sends nil as null",
			call: func(ctx context.Context, c *client.Client) (any, error) {
				return c.UpdateAgent(ctx, aid, clavis.AgentPatch{Active: bp(false), ClearExpiresAt: true})
			},
			status:   200,
			resp:     agentJSON,
			wantReq:  "PATCH /v1/agents/" + aid,
			wantBody: `{"is_active":false,"expires_at":null}`,
			want:     agentWant,
		},
		{
			name:    "DeleteAgent",
			call:    func(ctx context.Context, c *client.Client) (any, error) { return nil, c.DeleteAgent(ctx, aid) },
			status:  204,
			wantReq: "DELETE /v1/agents/" + aid,
		},
		{
			name: "RotateAgentKey",
			call: func(ctx context.Context, c *client.Client) (any, error) {
				return c.RotateAgentKey(ctx, aid)
			},
			status:  200,
			resp:    `{"api_key":"ocv_new","agent":` + agentJSON + `}`,
			wantReq: "POST /v1/agents/" + aid + "/rotate-key",
			want:    &clavis.AgentKey{Agent: agentWant, Key: "ocv_new"},
		},
		{
			name: "CreatePolicy fills in the default effect",
			call: func(ctx context.Context, c *client.Client) (any, error) {
				return c.CreatePolicy(ctx, vid, clavis.PolicyInput{Pattern: "api-keys/*", PrincipalType: "agent",
					PrincipalID: aid, Permissions: []string{"read"}})
			},
			status:   201,
			resp:     policyJSON,
			wantReq:  "POST /v1/vaults/" + vid + "/policies",
			wantBody: `{"secret_path_pattern":"api-keys/*","principal_type":"agent","principal_id":"` + aid + `","permissions":["read"]}`,
			want:     policyWant,
		},
		{
			name: "CreatePolicy with every field",
			call: func(ctx context.Context, c *client.Client) (any, error) {
				return c.CreatePolicy(ctx, vid, clavis.PolicyInput{Pattern: "prod/**", PrincipalType: "user",
					PrincipalID: uid, Permissions: []string{"write"}, Conditions: json.RawMessage(`{"ip_allowlist":["10.0.0.0/8"]}`),
					ExpiresAt: tp("2027-01-01T00:00:00Z"), Effect: new(clavis.EffectDeny), Priority: 5, RequireApproval: true})
			},
			status:   201,
			resp:     policyJSON,
			wantReq:  "POST /v1/vaults/" + vid + "/policies",
			wantBody: `{"secret_path_pattern":"prod/**","principal_type":"user","principal_id":"` + uid + `","permissions":["write"],"conditions":{"ip_allowlist":["10.0.0.0/8"]},"expires_at":"2027-01-01T00:00:00Z","effect":"deny","priority":5,"require_approval":true}`,
			want:     policyWant,
		},
		{
			name:    "ListPolicies",
			call:    func(ctx context.Context, c *client.Client) (any, error) { return c.ListPolicies(ctx, vid) },
			status:  200,
			resp:    `{"policies":[` + policyJSON[:len(policyJSON)-1] + `,"effect":"deny","priority":7,"require_approval":true,"expires_at":"2027-01-01T00:00:00Z"}]}`,
			wantReq: "GET /v1/vaults/" + vid + "/policies",
			want: func() []*clavis.Policy {
				p := *policyWant
				p.Effect, p.Priority, p.RequireApproval, p.ExpiresAt = "deny", 7, true, tp("2027-01-01T00:00:00Z")
				return []*clavis.Policy{&p}
			}(),
		},
		{
			name: "UpdatePolicy",
			call: func(ctx context.Context, c *client.Client) (any, error) {
				return c.UpdatePolicy(ctx, vid, pid, clavis.PolicyPatch{Permissions: &[]string{"read", "write"}, ClearExpiresAt: true})
			},
			status:   200,
			resp:     policyJSON,
			wantReq:  "PUT /v1/vaults/" + vid + "/policies/" + pid,
			wantBody: `{"permissions":["read","write"],"expires_at":null}`,
			want:     policyWant,
		},
		{
			name:    "DeletePolicy",
			call:    func(ctx context.Context, c *client.Client) (any, error) { return nil, c.DeletePolicy(ctx, vid, pid) },
			status:  204,
			wantReq: "DELETE /v1/vaults/" + vid + "/policies/" + pid,
		},
		{
			name: "Explain",
			call: func(ctx context.Context, c *client.Client) (any, error) {
				return c.Explain(ctx, vid, clavis.ExplainQuery{PrincipalType: "agent", PrincipalID: aid, Path: "prod/db", Permission: "read",
					IP: netip.MustParseAddr("10.1.2.3")})
			},
			status:  200,
			resp:    `{"allowed":false,"reason":"policy_deny","policy_id":"` + pid + `"}`,
			wantReq: "GET /v1/vaults/" + vid + "/policies/explain?ip=10.1.2.3&path=prod%2Fdb&permission=read&principal_id=" + aid + "&principal_type=agent",
			want:    &clavis.Explanation{Reason: "policy_deny", PolicyID: pid},
		},
		{
			name: "ListAudit with every filter",
			call: func(ctx context.Context, c *client.Client) (any, error) {
				from := time.Date(2026, 2, 27, 15, 0, 0, 123456789, time.FixedZone("CET", 3600))
				return c.ListAudit(ctx, clavis.AuditQuery{ResourceID: sid, ActorID: aid, Action: "secret.read", VaultID: vid,
					From: &from, To: tp("2026-02-28T00:00:00Z"), Limit: 50, Offset: 100})
			},
			status:  200,
			resp:    `{"events":[{"id":"` + pid + `","action":"secret.read","actor_id":"` + aid + `","actor_type":"agent","resource_type":"secret","resource_id":"` + sid + `","org_id":"` + uid + `","details":{"vault_id":"` + vid + `","version":2},"ip_address":"127.0.0.1","created_at":"2026-02-27T14:00:00.123Z","prev_event_id":null,"integrity_hash":"ab"}],"count":1}`,
			wantReq: "GET /v1/audit/events?action=secret.read&actor_id=" + aid + "&from=2026-02-27T14%3A00%3A00.123456Z&limit=50&offset=100&resource_id=" + sid + "&to=2026-02-28T00%3A00%3A00.000000Z&vault_id=" + vid,
			want: []*clavis.AuditEvent{{ID: pid, Action: "secret.read", ActorID: aid, ActorType: "agent", ResourceType: "secret", ResourceID: sid,
				OrgID: uid, Details: map[string]any{"vault_id": vid, "version": float64(2)}, IPAddress: "127.0.0.1",
				CreatedAt: ts("2026-02-27T14:00:00.123Z"), IntegrityHash: "ab"}},
		},
		{
			name: "ListAudit without filters",
			call: func(ctx context.Context, c *client.Client) (any, error) {
				return c.ListAudit(ctx, clavis.AuditQuery{})
			},
			status:  200,
			resp:    `{"events":[],"count":0}`,
			wantReq: "GET /v1/audit/events",
			want:    []*clavis.AuditEvent{},
		},
		{
			name:    "VerifyAudit",
			call:    func(ctx context.Context, c *client.Client) (any, error) { return c.VerifyAudit(ctx, nil, nil, 0) },
			status:  200,
			resp:    `{"chain_valid":false,"events_verified":3,"events_checked":4,"broken_at_event_id":"` + pid + `","scheme":{"algorithm":"HMAC-SHA256","chain_structure":"per-org linked list","hash_field":"integrity_hash","link_field":"prev_event_id","documentation":"http://x/openapi.json"}}`,
			wantReq: "GET /v1/audit/verify",
			want:    &clavis.AuditVerification{Verified: 3, Checked: 4, BrokenAt: pid},
		},
		{
			name: "VerifyAudit within a window",
			call: func(ctx context.Context, c *client.Client) (any, error) {
				return c.VerifyAudit(ctx, tp("2026-02-27T00:00:00Z"), tp("2026-02-28T00:00:00Z"), 10000)
			},
			status:  200,
			resp:    `{"chain_valid":true,"events_verified":2,"events_checked":2,"broken_at_event_id":null,"scheme":{}}`,
			wantReq: "GET /v1/audit/verify?from=2026-02-27T00%3A00%3A00.000000Z&limit=10000&to=2026-02-28T00%3A00%3A00.000000Z",
			want:    &clavis.AuditVerification{Valid: true, Verified: 2, Checked: 2},
		},
		{
			name:     "MFAVerify",
			call:     func(ctx context.Context, c *client.Client) (any, error) { return c.MFAVerify(ctx, "eyJ.m.m", "123456") },
			status:   200,
			resp:     `{"access_token":"eyJ.a.b","token_type":"Bearer","expires_in":900}`,
			wantReq:  "POST /v1/auth/mfa/verify",
			wantBody: `{"mfa_token":"eyJ.m.m","code":"123456"}`,
			want:     &clavis.Token{AccessToken: "eyJ.a.b", ExpiresIn: 900},
		},
		{
			name:    "MFAStatus",
			call:    func(ctx context.Context, c *client.Client) (any, error) { return c.MFAStatus(ctx) },
			status:  200,
			resp:    `{"enabled":true}`,
			wantReq: "GET /v1/auth/mfa/status",
			want:    true,
		},
		{
			name: "MFASetup",
			call: func(ctx context.Context, c *client.Client) (any, error) {
				uri, secret, err := c.MFASetup(ctx)
				return withKey{uri, secret}, err
			},
			status:  200,
			resp:    `{"otpauth_uri":"otpauth://totp/Clavis:ada?secret=ABC","secret":"ABC"}`,
			wantReq: "POST /v1/auth/mfa/setup",
			want:    withKey{"otpauth://totp/Clavis:ada?secret=ABC", "ABC"},
		},
		{
			name:     "MFAVerifySetup",
			call:     func(ctx context.Context, c *client.Client) (any, error) { return c.MFAVerifySetup(ctx, "123456") },
			status:   200,
			resp:     `{"recovery_codes":["r1","r2"]}`,
			wantReq:  "POST /v1/auth/mfa/verify-setup",
			wantBody: `{"code":"123456"}`,
			want:     []clavis.Sensitive{"r1", "r2"},
		},
		{
			name:     "MFADisable with a code",
			call:     func(ctx context.Context, c *client.Client) (any, error) { return nil, c.MFADisable(ctx, "123456", "") },
			status:   204,
			wantReq:  "DELETE /v1/auth/mfa",
			wantBody: `{"code":"123456"}`,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, exchanges := serve(t, tc.status, tc.resp)
			got, err := tc.call(t.Context(), c)
			if err != nil {
				t.Fatalf("call: %v", err)
			}
			if len(*exchanges) != 1 {
				t.Fatalf("server saw %d requests, want 1", len(*exchanges))
			}
			ex := (*exchanges)[0]
			if gotReq := ex.Method + " " + ex.URI; gotReq != tc.wantReq {
				t.Errorf("request = %q, want %q", gotReq, tc.wantReq)
			}
			checkBody(t, ex, tc.wantBody)
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("result =\n%#v\nwant\n%#v", got, tc.want)
			}
		})
	}
}

// checkBody compares a request body with want as JSON values; want "" means no body.
func checkBody(t *testing.T, ex exchange, want string) {
	t.Helper()
	if want == "" {
		if len(ex.Body) != 0 {
			t.Errorf("body = %s, want none", ex.Body)
		}
		return
	}
	if ex.ContentType != "application/json" {
		t.Errorf("Content-Type = %q, want application/json", ex.ContentType)
	}
	var got, w any
	if err := json.Unmarshal(ex.Body, &got); err != nil {
		t.Fatalf("body %s: %v", ex.Body, err)
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatalf("want body %s: %v", want, err)
	}
	if !reflect.DeepEqual(got, w) {
		t.Errorf("body = %s, want %s", ex.Body, want)
	}
}

// TestAuthorization checks which bearer each client sends, and that WithToken copies.
func TestAuthorization(t *testing.T) {
	var gotAuth []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotAuth = append(gotAuth, r.Header.Get("Authorization"))
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(srv.Close)
	anon := client.New(srv.URL)
	user := client.New(srv.URL, client.WithToken("eyJ.user.jwt"))
	agent := user.WithToken("ocv_agentkey")

	tests := []struct {
		name string
		c    *client.Client
		want string
	}{
		{"no credential sends no header", anon, ""},
		{"option", user, "Bearer eyJ.user.jwt"},
		{"copy with another credential", agent, "Bearer ocv_agentkey"},
		{"original unchanged by the copy", user, "Bearer eyJ.user.jwt"},
		{"copy without credential", user.WithToken(""), ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			gotAuth = nil
			if err := tc.c.RevokeToken(t.Context()); err != nil {
				t.Fatal(err)
			}
			if len(gotAuth) != 1 || gotAuth[0] != tc.want {
				t.Errorf("Authorization = %q, want [%q]", gotAuth, tc.want)
			}
		})
	}
}

// TestWithHTTPClient checks that requests go through the given *http.Client.
func TestWithHTTPClient(t *testing.T) {
	var gotURL string
	hc := &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		gotURL = r.URL.String()
		return &http.Response{StatusCode: 204, Body: io.NopCloser(bytes.NewReader(nil)), Header: http.Header{}, Request: r}, nil
	})}
	c := client.New("http://clavis.invalid", client.WithHTTPClient(hc))
	if err := c.DeleteVault(t.Context(), vid); err != nil {
		t.Fatal(err)
	}
	if want := "http://clavis.invalid/v1/vaults/" + vid; gotURL != want {
		t.Errorf("transport saw %q, want %q", gotURL, want)
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// TestSensitiveNotPrinted checks that secret values and tokens do not show in fmt or slog output, and
// that an explicit conversion reveals them.
func TestSensitiveNotPrinted(t *testing.T) {
	const canary = "sk-canary-7f3e9"
	c, _ := serve(t, 200, `{"id":"`+sid+`","path":"k","type":"generic","value":"`+canary+`","version":1,"metadata":{},"created_by":"user:`+uid+`","created_at":"2026-02-18T12:01:00Z"}`)
	s, err := c.GetSecret(t.Context(), vid, "k")
	if err != nil {
		t.Fatal(err)
	}
	if got := string(s.Value); got != canary {
		t.Fatalf("string(Value) = %q, want %q", got, canary)
	}
	tok := clavis.Token{AccessToken: canary, MFAToken: canary}
	in := clavis.SecretInput{Value: canary}

	var logged bytes.Buffer
	logger := slog.New(slog.NewJSONHandler(&logged, nil))
	logger.Info("read", "secret", s, "token", tok, "input", in)
	slog.New(slog.NewTextHandler(&logged, nil)).Info("read", "secret", *s, "ptr", s, "token", tok)

	outputs := map[string]string{"slog": logged.String()}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x"} {
		outputs[verb+" SecretValue"] = fmt.Sprintf(verb, *s)
		outputs[verb+" *SecretValue"] = fmt.Sprintf(verb, s)
		outputs[verb+" Token"] = fmt.Sprintf(verb, tok)
		outputs[verb+" SecretInput"] = fmt.Sprintf(verb, in)
		outputs[verb+" Value"] = fmt.Sprintf(verb, s.Value)
	}
	for name, out := range outputs {
		if strings.Contains(out, canary) || strings.Contains(out, fmt.Sprintf("%x", canary)) {
			t.Errorf("%s output reveals the value: %s", name, out)
		}
	}
	if !strings.Contains(logged.String(), sid) {
		t.Errorf("slog output lost the secret id: %s", logged.String())
	}
}

// TestMFADisableWithPassword checks that the password goes in the X-Auth-Confirm header, never the body.
func TestMFADisableWithPassword(t *testing.T) {
	c, exchanges := serve(t, http.StatusNoContent, "")
	if err := c.MFADisable(t.Context(), "", "correct horse battery"); err != nil {
		t.Fatal(err)
	}
	if len(*exchanges) != 1 {
		t.Fatalf("server saw %d requests, want 1", len(*exchanges))
	}
	ex := (*exchanges)[0]
	if got, want := ex.Method+" "+ex.URI, "DELETE /v1/auth/mfa"; got != want {
		t.Errorf("request = %q, want %q", got, want)
	}
	if ex.Confirm != "correct horse battery" {
		t.Errorf("X-Auth-Confirm = %q, want the password", ex.Confirm)
	}
	checkBody(t, ex, `{}`)
}
