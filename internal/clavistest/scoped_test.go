package clavistest_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/netip"
	"net/url"
	"reflect"
	"sort"
	"strings"
	"testing"

	"clavis.dev/clavis"
	"clavis.dev/clavis/internal/clavistest"
)

const scopedDetail = "Scoped credentials cannot grant access"

// scopedAllowed are the Service methods a path-scoped personal key may call (spec §2.8, last bullet);
// the secret methods decide the ceiling per path, the others need no path.
var scopedAllowed = map[string]bool{
	"RevokeToken": true, "Me": true, "ListVaults": true, "GetVault": true, "Explain": true,
	"PutSecret": true, "GetSecret": true, "ListSecrets": true, "DeleteSecret": true, "ListVersions": true,
	"GetVersion": true, "DisableVersion": true, "RotateSecret": true, "RestoreVersion": true,
}

// scopedCredentials signs up a user with a vault holding ci/token and prod/db, and returns the raw
// scoped key (ceiling ci/**) and a token minted from it.
func scopedCredentials(t *testing.T, env *clavistest.Env) (u *clavistest.User, vaultID, key, minted string) {
	t.Helper()
	ctx := context.Background()
	u = env.Signup(t)
	v, err := u.C.CreateVault(ctx, clavis.VaultInput{Name: "scoped"})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"ci/token", "prod/db"} {
		if _, err := u.C.PutSecret(ctx, v.ID, p, clavis.SecretInput{Value: clavis.Sensitive("v-" + p)}); err != nil {
			t.Fatal(err)
		}
	}
	a := secDo(t, "POST", env.URL+"/v1/auth/api-keys", secBearer(t, u), `{"name":"ci","scopes":["ci/**"]}`)
	var created struct {
		APIKey string `json:"api_key"`
	}
	if a.Status != 201 || json.Unmarshal(a.Body, &created) != nil {
		t.Fatalf("create scoped key: %d %s", a.Status, a.Body)
	}
	m := secDo(t, "POST", env.URL+"/v1/auth/api-key-token", "", `{"api_key":"`+created.APIKey+`"}`)
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if m.Status != 200 || json.Unmarshal(m.Body, &tok) != nil {
		t.Fatalf("mint token: %d %s", m.Status, m.Body)
	}
	return u, v.ID, created.APIKey, tok.AccessToken
}

// secBearer logs u in again and returns a fresh access token (the client keeps its own unexported).
func secBearer(t *testing.T, u *clavistest.User) string {
	t.Helper()
	tok, err := u.C.Login(context.Background(), u.Email, u.Password)
	if err != nil {
		t.Fatal(err)
	}
	return string(tok.AccessToken)
}

// Every Service method that takes a Caller refuses a scoped key unless spec §2.8 lists it: the engine
// denies by default, so a method added later without the guard fails here.
func TestScopedKeyRefusedByEveryOtherServiceMethod(t *testing.T) {
	env := clavistest.New(t)
	_, _, key, minted := scopedCredentials(t, env)
	ctx := context.Background()
	callerT := reflect.TypeOf((*clavis.Caller)(nil))
	svc := reflect.TypeOf((*clavis.Service)(nil)).Elem()
	for _, cred := range []string{key, minted} {
		c, err := env.Engine.Authenticate(ctx, cred, netip.MustParseAddr("127.0.0.1"))
		if err != nil {
			t.Fatal(err)
		}
		if len(c.Scopes) == 0 {
			t.Fatalf("a scoped key's caller must carry its ceiling")
		}
		engine := reflect.ValueOf(env.Engine)
		refused := 0
		for i := range svc.NumMethod() {
			m := svc.Method(i)
			mt := m.Type
			if mt.NumIn() < 2 || mt.In(1) != callerT || scopedAllowed[m.Name] {
				continue
			}
			args := []reflect.Value{reflect.ValueOf(ctx), reflect.ValueOf(c)}
			for j := 2; j < mt.NumIn(); j++ {
				args = append(args, reflect.Zero(mt.In(j)))
			}
			out := engine.MethodByName(m.Name).Call(args)
			err, _ := out[len(out)-1].Interface().(error)
			var e *clavis.Error
			if !errors.As(err, &e) || e.Kind != clavis.KindForbidden || e.Message != scopedDetail {
				t.Errorf("%s with a scoped credential: want 403 %q, got %v", m.Name, scopedDetail, err)
			}
			refused++
		}
		if refused < 20 {
			t.Fatalf("only %d methods checked; the Service interface changed shape?", refused)
		}
	}
}

// Every authenticated route of /openapi.json, called with a scoped key and with a token minted from it:
// the routes spec §2.8 lists work within the ceiling, every other route is 403 with the scoped detail,
// and nothing was created, changed or deleted.
func TestScopedKeyOnEveryRoute(t *testing.T) {
	env := clavistest.New(t)
	u, vid, key, minted := scopedCredentials(t, env)
	ctx := context.Background()
	ak, err := u.C.CreateAgent(ctx, clavis.AgentInput{Name: "victim"})
	if err != nil {
		t.Fatal(err)
	}
	a := ak.Agent
	pol, err := u.C.CreatePolicy(ctx, vid, clavis.PolicyInput{Pattern: "ci/**", PrincipalType: "agent",
		PrincipalID: a.ID, Permissions: []string{"read"}})
	if err != nil {
		t.Fatal(err)
	}
	keys, err := u.C.ListAPIKeys(ctx)
	if err != nil || len(keys) != 1 {
		t.Fatalf("keys: %v %d", err, len(keys))
	}
	var doc struct {
		Paths map[string]map[string]struct {
			Security []any `json:"security"`
		} `json:"paths"`
	}
	if r := secDo(t, "GET", env.URL+"/openapi.json", "", ""); r.Status != 200 || json.Unmarshal(r.Body, &doc) != nil {
		t.Fatalf("openapi: %d", r.Status)
	}
	ids := strings.NewReplacer("{vault_id}", vid, "{agent_id}", a.ID, "{key_id}", keys[0].ID,
		"{policy_id}", pol.ID, "{path}", "ci/token", "{version}", "1")
	bodies := map[string]string{ // #nosec G101 -- request bodies of the test user's own throwaway account
		"POST /v1/auth/api-keys":                         `{"name":"wide"}`,
		"POST /v1/vaults":                                `{"name":"other"}`,
		"POST /v1/agents":                                `{"name":"helper"}`,
		"PATCH /v1/agents/{agent_id}":                    `{"scopes":["**"]}`,
		"POST /v1/vaults/{vault_id}/policies":            `{"secret_path_pattern":"**","principal_type":"agent","principal_id":"` + a.ID + `","permissions":["read"]}`,
		"PUT /v1/vaults/{vault_id}/policies/{policy_id}": `{"secret_path_pattern":"**"}`,
		"PATCH /v1/auth/me":                              `{"display_name":"x"}`,
		"POST /v1/auth/change-password":                  `{"current_password":"` + u.Password + `","new_password":"Another-pass-123"}`,
		"PUT /v1/vaults/{vault_id}/secrets/{path}":       `{"value":"new"}`,
	}
	// allowed routes and the statuses they answer within the ceiling (DELETE /v1/auth/token is run last).
	allowed := map[string]bool{
		"GET /v1/vaults": true, "GET /v1/vaults/{vault_id}": true, "GET /v1/vaults/{vault_id}/policies/explain": true,
		"GET /v1/auth/me": true, "DELETE /v1/auth/token": true,
	}
	var routes []string
	for p, ops := range doc.Paths {
		for m, op := range ops {
			if op.Security != nil {
				routes = append(routes, strings.ToUpper(m)+" "+p)
			}
		}
	}
	sort.Strings(routes)
	for _, cred := range []string{key, minted} {
		for _, rt := range routes {
			method, tmpl, _ := strings.Cut(rt, " ")
			if rt == "DELETE /v1/auth/token" {
				continue
			}
			target := env.URL + ids.Replace(tmpl)
			if strings.HasSuffix(tmpl, "/explain") {
				target += "?" + url.Values{"path": {"ci/token"}, "permission": {"read"}}.Encode()
			}
			r := secDo(t, method, target, cred, bodies[rt])
			p, _, _ := secProblemOf(r)
			secretRoute := strings.HasPrefix(tmpl, "/v1/vaults/{vault_id}/secret")
			switch {
			case allowed[rt] || secretRoute:
				if r.Status == http.StatusForbidden {
					t.Errorf("%s within the ceiling: want it served, got %d %s", rt, r.Status, r.Body)
				}
				if strings.Contains(tmpl, "{path}") {
					out := secDo(t, method, strings.Replace(target, "ci/token", "prod/db", 1), cred, bodies[rt])
					if out.Status != http.StatusForbidden {
						t.Errorf("%s outside the ceiling: want 403, got %d", rt, out.Status)
					}
				}
			case r.Status != http.StatusForbidden || p.Detail != scopedDetail:
				t.Errorf("%s with a scoped credential: want 403 %q, got %d %s", rt, scopedDetail, r.Status, r.Body)
			}
		}
	}
	// Nothing escaped: one key, one agent with its one policy, the vault still there, prod/db unread by it.
	if keys, _ := u.C.ListAPIKeys(ctx); len(keys) != 1 {
		t.Errorf("want only the scoped key, found %d keys", len(keys))
	}
	if agents, _ := u.C.ListAgents(ctx); len(agents) != 1 {
		t.Errorf("want one agent, found %d", len(agents))
	}
	if ps, _ := u.C.ListPolicies(ctx, vid); len(ps) != 1 || ps[0].Pattern != "ci/**" {
		t.Errorf("policies changed: %+v", ps)
	}
	if got, err := u.C.GetAgent(ctx, a.ID); err != nil || len(got.Scopes) != 0 {
		t.Errorf("agent changed: %+v %v", got, err)
	}
	if _, err := u.C.GetVault(ctx, vid); err != nil {
		t.Errorf("vault gone: %v", err)
	}
	if _, err := u.C.GetSecret(ctx, vid, "prod/db"); err != nil {
		t.Errorf("prod/db outside the ceiling changed: %v", err)
	}
	// The refusals are audited.
	evs, err := u.C.ListAudit(ctx, clavis.AuditQuery{Action: "access.denied", Limit: 1000})
	if err != nil || len(evs) < 2*20 {
		t.Errorf("want the refusals audited as access.denied, found %d (%v)", len(evs), err)
	}
	if r := secDo(t, "DELETE", env.URL+"/v1/auth/token", minted, ""); r.Status != http.StatusNoContent {
		t.Errorf("revoking its own token: %d %s", r.Status, r.Body)
	}
}

// Self-explain (spec §4.9): an agent that is no manager explains its own access, without policy_id; a
// scoped key explains only paths within its ceiling.
func TestSelfExplain(t *testing.T) {
	env := clavistest.New(t)
	u, vid, key, _ := scopedCredentials(t, env)
	ctx := context.Background()
	ag := env.NewAgent(t, u, clavis.AgentInput{})
	if _, err := u.C.CreatePolicy(ctx, vid, clavis.PolicyInput{Pattern: "ci/**", PrincipalType: "agent",
		PrincipalID: ag.ID, Permissions: []string{"read"}}); err != nil {
		t.Fatal(err)
	}
	got, err := ag.C.Explain(ctx, vid, clavis.ExplainQuery{Path: "ci/token", Permission: "read"})
	if err != nil || !got.Allowed || got.Reason != "policy_allow" || got.PolicyID != "" {
		t.Errorf("agent self-explain: %+v %v", got, err)
	}
	if got, err := ag.C.Explain(ctx, vid, clavis.ExplainQuery{Path: "prod/db", Permission: "read"}); err != nil || got.Allowed || got.Reason != "no_matching_policy" {
		t.Errorf("agent self-explain of a denied path: %+v %v", got, err)
	}
	if _, err := ag.C.Explain(ctx, vid, clavis.ExplainQuery{PrincipalType: "user", PrincipalID: u.ID, Path: "ci/token", Permission: "read"}); !clavis.IsKind(err, clavis.KindForbidden) {
		t.Errorf("agent explaining another principal: want 403, got %v", err)
	}
	in := url.Values{"path": {"ci/x"}, "permission": {"write"}}.Encode()
	if r := secDo(t, "GET", env.URL+"/v1/vaults/"+vid+"/policies/explain?"+in, key, ""); r.Status != 200 || !strings.Contains(string(r.Body), `"reason":"owner"`) {
		t.Errorf("scoped key within its ceiling: %d %s", r.Status, r.Body)
	}
	out := url.Values{"path": {"prod/db"}, "permission": {"read"}}.Encode()
	if r := secDo(t, "GET", env.URL+"/v1/vaults/"+vid+"/policies/explain?"+out, key, ""); r.Status != 403 {
		t.Errorf("scoped key outside its ceiling: want 403, got %d %s", r.Status, r.Body)
	}
}
