package clavistest_test

import (
	"encoding/json"
	"strings"
	"testing"

	"clavis.dev/clavis"
	"clavis.dev/clavis/internal/clavistest"
)

// TestRulesOnTheWire pins, over HTTP, the rules the engine alone decides (the handlers only parse):
// route-level refusals come before the id is judged (spec §1.7 rule 6, §1.9), a malformed *_id is 404
// (§1.1), and ranges, required values and formats are 400 — also when the client sends 0 or "" for a
// field whose absence means "use the default".
func TestRulesOnTheWire(t *testing.T) {
	env := clavistest.New(t)
	_, _, scoped, _ := scopedCredentials(t, env)
	u := env.Signup(t)
	user := bearer(t, env, u)
	v, err := u.C.CreateVault(ctx, clavis.VaultInput{Name: "rules"})
	if err != nil {
		t.Fatal(err)
	}
	ag := env.NewAgent(t, u, clavis.AgentInput{Name: "rules"})
	agent := secAgentToken(t, env, ag)
	const bad = "not-a-uuid"
	upper := strings.ToUpper(ag.ID) // a real id, but not as the engine mints them
	vault := env.URL + "/v1/vaults/" + v.ID
	policy := func(extra string) string {
		return `{"secret_path_pattern":"a/*","principal_type":"agent","principal_id":"` + ag.ID + `","permissions":["read"]` + extra + `}`
	}

	tests := []struct {
		name, who, method, url, body string
		want                         int
		detail                       string // a substring of the problem's detail; "" = not checked
	}{
		{"agent patches an agent", "agent", "PATCH", "/v1/agents/" + bad, `{"name":"x"}`, 403, "human users only"},
		{"agent deletes itself", "agent", "DELETE", "/v1/agents/" + ag.ID, "", 403, "human users only"},
		{"agent rotates a key", "agent", "POST", "/v1/agents/" + bad + "/rotate-key", "", 403, "human users only"},
		{"scoped key deletes a vault", "scoped", "DELETE", "/v1/vaults/" + bad, "", 403, "Scoped credentials cannot grant access"},
		{"scoped key updates an agent", "scoped", "PATCH", "/v1/agents/" + bad, `{}`, 403, "Scoped credentials cannot grant access"},

		{"malformed agent id", "user", "GET", "/v1/agents/" + bad, "", 404, "Not found"},
		{"uppercase agent id", "user", "PATCH", "/v1/agents/" + upper, `{"name":"x"}`, 404, "Not found"},
		{"malformed agent id on delete", "user", "DELETE", "/v1/agents/" + bad, "", 404, "Not found"},
		{"malformed vault id", "user", "GET", "/v1/vaults/" + bad, "", 404, "Not found"},
		{"malformed vault id on delete", "user", "DELETE", "/v1/vaults/" + bad, "", 404, "Not found"},
		{"malformed vault id on write", "user", "PUT", "/v1/vaults/" + bad + "/secrets/k", `{"value":"v"}`, 404, "Not found"},
		{"malformed vault id on version read", "user", "GET", "/v1/vaults/" + bad + "/secret-version/k/1", "", 404, "Not found"},
		{"malformed vault id on rotate", "user", "POST", "/v1/vaults/" + bad + "/secret-rotate/k", `{"length":0}`, 404, "Not found"},
		{"malformed vault id on policies", "user", "GET", "/v1/vaults/" + bad + "/policies", "", 404, "Not found"},
		{"malformed policy id", "user", "PUT", "/v1/vaults/" + v.ID + "/policies/" + bad, `{}`, 404, "Not found"},
		{"malformed policy id on delete", "user", "DELETE", "/v1/vaults/" + v.ID + "/policies/" + bad, "", 404, "Not found"},
		{"explain a malformed principal", "user", "GET", "/v1/vaults/" + v.ID + "/policies/explain?principal_type=agent&principal_id=" + bad + "&path=a&permission=read", "", 404, "Not found"},

		{"policy principal_id not a UUID", "user", "POST", "/v1/vaults/" + v.ID + "/policies", strings.Replace(policy(""), ag.ID, bad, 1), 400, "principal_id must be a UUID"},
		{"policy priority above 1000", "user", "POST", "/v1/vaults/" + v.ID + "/policies", policy(`,"priority":1001`), 400, "priority must be between 0 and 1000"},
		{"policy priority below 0", "user", "POST", "/v1/vaults/" + v.ID + "/policies", policy(`,"priority":-1`), 400, "priority must be between 0 and 1000"},
		{"policy effect empty", "user", "POST", "/v1/vaults/" + v.ID + "/policies", policy(`,"effect":""`), 400, "effect must be allow or deny"},
		{"policy effect unknown", "user", "POST", "/v1/vaults/" + v.ID + "/policies", policy(`,"effect":"maybe"`), 400, "effect must be allow or deny"},
		{"agent token TTL 0", "user", "POST", "/v1/agents", `{"name":"x","token_ttl_seconds":0}`, 400, "token_ttl_seconds must be between 1 and 86400"},
		{"agent token TTL above a day", "user", "POST", "/v1/agents", `{"name":"x","token_ttl_seconds":86401}`, 400, "token_ttl_seconds must be between 1 and 86400"},
		{"agent token TTL 0 on patch", "user", "PATCH", "/v1/agents/" + ag.ID, `{"token_ttl_seconds":0}`, 400, "token_ttl_seconds must be between 1 and 86400"},
		{"agent vault_ids not UUIDs", "user", "POST", "/v1/agents", `{"name":"x","vault_ids":["` + bad + `"]}`, 400, "vault_ids must name vaults of your organisation"},
		{"secret without value", "user", "PUT", vault + "/secrets/k", `{}`, 400, "value is required"},
		{"secret metadata a string", "user", "PUT", vault + "/secrets/k", `{"value":"v","metadata":"{}"}`, 400, "metadata must be a JSON object"},
		{"secret access count 0", "user", "PUT", vault + "/secrets/k", `{"value":"v","max_access_count":0}`, 400, "max_access_count must be at least 1"},
		{"secret access count above int32", "user", "PUT", vault + "/secrets/k", `{"value":"v","max_access_count":2147483648}`, 400, "max_access_count must be at least 1"},
		{"rotate length 0", "user", "POST", vault + "/secret-rotate/k", `{"length":0}`, 400, "length must be between 8 and 1024"},
		{"rotate length 7", "user", "POST", vault + "/secret-rotate/k", `{"length":7}`, 400, "length must be between 8 and 1024"},
		{"rotate length 1025", "user", "POST", vault + "/secret-rotate/k", `{"length":1025}`, 400, "length must be between 8 and 1024"},
	}
	creds := map[string]string{"user": user, "agent": agent, "scoped": scoped}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			url := tc.url
			if strings.HasPrefix(url, "/") {
				url = env.URL + url
			}
			got := secDo(t, tc.method, url, creds[tc.who], tc.body)
			var p struct{ Detail string }
			_ = json.Unmarshal(got.Body, &p)
			if got.Status != tc.want || !strings.Contains(p.Detail, tc.detail) {
				t.Errorf("%s %s as %s = %d %q, want %d with detail containing %q", tc.method, tc.url, tc.who, got.Status, p.Detail, tc.want, tc.detail)
			}
		})
	}
}
