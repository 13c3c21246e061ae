package clavistest_test

import (
	"encoding/base32"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"mime"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"clavis.dev/clavis/internal/clavistest"
	"clavis.dev/clavis/internal/totp"
)

// apiDoc is the served /openapi.json with what the test needs of it.
type apiDoc struct {
	Paths      map[string]map[string]apiOp `json:"paths"`
	Components struct {
		Schemas map[string]map[string]any `json:"schemas"`
	} `json:"components"`
}

type apiOp struct {
	Responses map[string]struct {
		Content map[string]struct {
			Schema map[string]any `json:"schema"`
		} `json:"content"`
	} `json:"responses"`
}

// TestOpenAPIDescribesResponses checks /openapi.json against the real server: one walk through the API
// (signup to logout, MFA included) sends a real request to every route the document lists, and validates
// each answer against what the document declares for that route: the status must be the documented
// success status (or an error answered with the default Problem schema), the media type must match,
// and the body must satisfy the schema — a key the schema lacks, a required key missing, a value of the
// wrong type or null where null is not allowed fails. A documented route that the walk does not reach
// fails too, so a new route needs a step here.
// Long on purpose: one walk whose steps depend on each other, read top to bottom.
func TestOpenAPIDescribesResponses(t *testing.T) {
	env := clavistest.New(t, clavistest.Options{Egress: clavistest.UseLoopback()})
	w := &apiWalk{t: t, base: env.URL, vars: map[string]string{}, seen: map[string]bool{}}
	res, err := http.Get(env.URL + "/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if err := json.NewDecoder(res.Body).Decode(&w.doc); err != nil {
		t.Fatal(err)
	}

	for _, p := range []string{"/v1/health", "/healthz", "/readyz", "/metrics", "/openapi.json",
		"/v1/auth/jwt-public-key", "/.well-known/jwks.json", "/.well-known/openid-configuration"} {
		w.call("GET", p, "", "", 200)
	}

	// Accounts, sessions and personal API keys.
	email, pw := "openapi-"+clavistest.RandHex(4)+"@example.com", "Pw-"+clavistest.RandHex(10)
	tok := w.call("POST", "/v1/auth/signup", "", `{"email":"`+email+`","password":"`+pw+`","display_name":"Ada"}`, 200)
	user := tok["access_token"].(string)
	w.call("POST", "/v1/auth/token", "", `{"email":"`+email+`","password":"`+pw+`"}`, 200)
	w.call("GET", "/v1/auth/me", user, "", 200)
	w.call("PATCH", "/v1/auth/me", user, `{"display_name":"Ada L."}`, 200)
	w.call("POST", "/v1/auth/refresh", "", `{}`, 400)
	k := w.call("POST", "/v1/auth/api-keys", user, `{"name":"ci"}`, 201)
	w.vars["key_id"] = k["key"].(map[string]any)["id"].(string)
	w.call("GET", "/v1/auth/api-keys", user, "", 200)
	w.call("POST", "/v1/auth/api-key-token", "", `{"api_key":"`+k["api_key"].(string)+`"}`, 200)
	w.call("DELETE", "/v1/auth/api-keys/{key_id}", user, "", 204)

	// Vaults and secrets.
	w.vars["vault_id"] = w.call("POST", "/v1/vaults", user, `{"name":"app","description":"d"}`, 201)["id"].(string)
	w.call("GET", "/v1/vaults", user, "", 200)
	w.call("GET", "/v1/vaults/{vault_id}", user, "", 200)
	w.vars["path"], w.vars["version"] = "app/db-password", "1"
	w.call("PUT", "/v1/vaults/{vault_id}/secrets/{path}", user, `{"value":"s3cret","type":"password","metadata":{"env":"prod"}}`, 201)
	w.call("PUT", "/v1/vaults/{vault_id}/secrets/{path}", user, `{"value":"s3cret-2","expires_at":"2099-01-01T00:00:00Z"}`, 201)
	w.call("GET", "/v1/vaults/{vault_id}/secrets/{path}", user, "", 200)
	w.call("GET", "/v1/vaults/{vault_id}/secrets", user, "", 200)
	w.call("GET", "/v1/vaults/{vault_id}/secret-versions/{path}", user, "", 200)
	w.call("GET", "/v1/vaults/{vault_id}/secret-version/{path}/{version}", user, "", 200)
	w.call("POST", "/v1/vaults/{vault_id}/secret-rotate/{path}", user, `{"length":24}`, 201)
	w.call("POST", "/v1/vaults/{vault_id}/secret-restore/{path}/{version}", user, "", 201)
	w.call("POST", "/v1/vaults/{vault_id}/secret-version-disable/{path}/{version}", user, "", 204)

	// Use without read, against a loopback upstream.
	up := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, _ *http.Request) {
		rw.Header().Set("X-Upstream", "yes")
		_, _ = rw.Write([]byte(`{"ok":true}`))
	}))
	defer up.Close()
	w.vars["path"] = "app/api-key"
	w.call("PUT", "/v1/vaults/{vault_id}/secrets/{path}", user, `{"value":"sk-0123456789abcdef0123"}`, 201)
	w.call("PUT", "/v1/vaults/{vault_id}/secret-use/{path}", user, `{"allowed_hosts":["`+strings.TrimPrefix(up.URL, "http://")+
		`"],"allowed_path_prefixes":["/v1"],"inject":{"as":"header","name":"X-Api-Key"},"allow_http":true}`, 200)
	w.call("GET", "/v1/vaults/{vault_id}/secret-use/{path}", user, "", 200)
	w.call("POST", "/v1/vaults/{vault_id}/use/{path}", user, `{"url":"`+up.URL+`/v1/models","headers":{"Accept":"application/json"}}`, 200)
	w.call("DELETE", "/v1/vaults/{vault_id}/secret-use/{path}", user, "", 204)
	w.vars["path"] = "app/db-password"

	// Agents.
	ak := w.call("POST", "/v1/agents", user, `{"name":"bot","vault_ids":["`+w.vars["vault_id"]+`"]}`, 201)
	w.vars["agent_id"] = ak["agent"].(map[string]any)["id"].(string)
	at := w.call("POST", "/v1/auth/agent-token", "", `{"api_key":"`+ak["api_key"].(string)+`","agent_id":"`+w.vars["agent_id"]+`"}`, 200)
	w.call("GET", "/v1/agents/me", at["access_token"].(string), "", 200)
	w.call("GET", "/v1/agents", user, "", 200)
	w.call("GET", "/v1/agents/{agent_id}", user, "", 200)
	w.call("PATCH", "/v1/agents/{agent_id}", user, `{"description":"reads the db password"}`, 200)
	ak = w.call("POST", "/v1/agents/{agent_id}/rotate-key", user, "", 200)
	agentKey := ak["api_key"].(string)

	// Policies.
	pol := w.call("POST", "/v1/vaults/{vault_id}/policies", user, `{"secret_path_pattern":"app/*","principal_type":"agent",`+
		`"principal_id":"`+w.vars["agent_id"]+`","permissions":["read"],"expires_at":"2099-01-01T00:00:00Z"}`, 201)
	w.vars["policy_id"] = pol["id"].(string)
	w.call("GET", "/v1/vaults/{vault_id}/policies", user, "", 200)
	w.call("GET", "/v1/vaults/{vault_id}/policies/explain?"+url.Values{"principal_type": {"agent"},
		"principal_id": {w.vars["agent_id"]}, "path": {"app/db-password"}, "permission": {"read"}}.Encode(), user, "", 200)
	w.call("PUT", "/v1/vaults/{vault_id}/policies/{policy_id}", user, `{"priority":5,"effect":"deny"}`, 200)
	w.call("DELETE", "/v1/vaults/{vault_id}/policies/{policy_id}", user, "", 204)

	// Approvals: a policy change approved, a one-time access requested and rejected.
	agentTok := w.call("POST", "/v1/auth/agent-token", "", `{"api_key":"`+agentKey+`"}`, 200)
	agent := agentTok["access_token"].(string)
	ap := w.call("POST", "/v1/approvals/request", agent, `{"action":"policy_change","target_type":"vault","target_id":"`+
		w.vars["vault_id"]+`","summary":{"secret_path_pattern":"app/**","permissions":["read"]},"reason":"deploy"}`, 202)
	w.vars["approval_id"] = ap["id"].(string)
	w.call("GET", "/v1/approvals?status=pending", user, "", 200)
	w.call("GET", "/v1/approvals/{approval_id}", agent, "", 200)
	w.call("POST", "/v1/approvals/{approval_id}/decide", user, `{"decision":"approve","reason":"ok"}`, 200)
	ap = w.call("POST", "/v1/approvals/request", agent, `{"action":"secret_access","target_type":"vault","target_id":"`+
		w.vars["vault_id"]+`","summary":{"path":"app/db-password","permission":"read"},"risk_tier":2}`, 202)
	w.vars["approval_id"] = ap["id"].(string)
	w.call("POST", "/v1/approvals/{approval_id}/deny", user, `{"reason":"no"}`, 200)
	ap = w.call("POST", "/v1/approvals/request", agent, `{"action":"secret_access","target_type":"vault","target_id":"`+
		w.vars["vault_id"]+`","summary":{"path":"app/db-password","permission":"read"}}`, 202)
	w.vars["approval_id"] = ap["id"].(string)
	w.call("POST", "/v1/approvals/{approval_id}/approve", user, `{}`, 200)

	// Agent self-enrolment: one approved (its key delivered by the poll), one denied.
	en := w.call("POST", "/v1/agents/enroll", "", `{"name":"enrolled","human_email":"`+email+`"}`, 201)
	w.vars["enrollment_id"] = en["enrollment_id"].(string)
	w.header = http.Header{"X-Enrollment-Secret": {en["enrollment_secret"].(string)}}
	w.call("GET", "/v1/agents/enroll/{enrollment_id}", "", "", 200)
	w.header = nil
	w.call("GET", "/v1/agents/enrollments", user, "", 200)
	w.call("POST", "/v1/agents/enrollments/{enrollment_id}/approve", user, `{"scopes":["app/**"]}`, 201)
	w.header = http.Header{"X-Enrollment-Secret": {en["enrollment_secret"].(string)}}
	if st := w.call("GET", "/v1/agents/enroll/{enrollment_id}", "", "", 200); st["api_key"] == nil {
		t.Errorf("the first poll after approval must deliver the key: %v", st)
	}
	w.header = nil
	en = w.call("POST", "/v1/agents/enroll", "", `{"name":"refused","human_email":"other-`+email+`"}`, 201)
	w.vars["enrollment_id"] = en["enrollment_id"].(string)
	w.call("POST", "/v1/agents/enrollments/{enrollment_id}/deny", user, "", 404) // addressed to someone else

	// Sharing: a link share opened anonymously and revoked; a share to the agent, accepted, declined.
	w.vars["secret_id"] = w.call("GET", "/v1/vaults/{vault_id}/secrets/{path}", user, "", 200)["id"].(string)
	w.vars["share_id"] = w.call("POST", "/v1/secrets/{secret_id}/share", user,
		`{"recipient_type":"anyone_with_link","expires_at":"2099-01-01T00:00:00Z","max_access_count":2,"passphrase":"open sesame"}`, 201)["id"].(string)
	w.header = http.Header{"X-Share-Passphrase": {"open sesame"}}
	w.call("GET", "/v1/share/{share_id}", "", "", 200)
	w.header = nil
	w.call("GET", "/v1/shares/outbound", user, "", 200)
	w.call("DELETE", "/v1/share/{share_id}", user, "", 204)
	w.vars["share_id"] = w.call("POST", "/v1/secrets/{secret_id}/share", user,
		`{"recipient_type":"agent","recipient_id":"`+w.vars["agent_id"]+`","expires_at":"2099-01-01T00:00:00Z"}`, 201)["id"].(string)
	w.call("GET", "/v1/shares/inbound", agentKey, "", 200)
	w.call("POST", "/v1/shares/{share_id}/accept", agentKey, "", 204)
	w.call("POST", "/v1/shares/{share_id}/decline", agentKey, "", 204)

	// The organisation: members, an invited admin demoted and removed, the agent-keys vault, IP rules.
	w.call("GET", "/v1/org/members", user, "", 200)
	w.call("GET", "/v1/org/agent-keys-vault", user, "", 200)
	invitee := "invitee-" + clavistest.RandHex(4) + "@example.com"
	w.call("POST", "/v1/org/invite", user, `{"email":"`+invitee+`","role":"admin"}`, 200)
	joined := w.call("POST", "/v1/auth/signup", "", `{"email":"`+invitee+`","password":"`+pw+`"}`, 200)
	w.vars["user_id"] = w.call("GET", "/v1/auth/me", joined["access_token"].(string), "", 200)["id"].(string)
	w.call("PATCH", "/v1/org/members/{user_id}", user, `{"role":"member"}`, 200)
	w.call("DELETE", "/v1/org/members/{user_id}", user, "", 204)
	w.vars["rule_id"] = w.call("POST", "/v1/security/ip-rules", user, `{"rule_type":"deny","cidr":"192.0.2.0/24","label":"test-net"}`, 201)["id"].(string)
	w.call("GET", "/v1/security/ip-rules", user, "", 200)
	w.call("DELETE", "/v1/security/ip-rules/{rule_id}", user, "", 204)

	// Audit.
	w.call("GET", "/v1/audit/events?limit=50", user, "", 200)
	w.call("GET", "/v1/audit/verify", user, "", 200)

	// Multi-factor authentication: enable, log in with a recovery code, disable with the password.
	w.call("GET", "/v1/auth/mfa/status", user, "", 200)
	secret := w.call("POST", "/v1/auth/mfa/setup", user, "", 200)["secret"].(string)
	key, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(secret)
	if err != nil {
		t.Fatalf("MFA secret %q: %v", secret, err)
	}
	code := totp.Code(key, time.Now().Unix()/30)
	rc := w.call("POST", "/v1/auth/mfa/verify-setup", user, `{"code":"`+code+`"}`, 200)["recovery_codes"].([]any)
	challenge := w.call("POST", "/v1/auth/token", "", `{"email":"`+email+`","password":"`+pw+`"}`, 200)
	mfaToken, _ := challenge["mfa_token"].(string)
	if mfaToken == "" {
		t.Fatalf("login with MFA on answered %v, want an mfa_token", challenge)
	}
	w.call("POST", "/v1/auth/mfa/verify", "", `{"mfa_token":"`+mfaToken+`","code":"`+rc[0].(string)+`"}`, 200)
	w.header = http.Header{"X-Auth-Confirm": {pw}}
	w.call("DELETE", "/v1/auth/mfa", user, `{}`, 204)
	w.header = nil

	// Deletions, and the end of the session.
	w.call("DELETE", "/v1/vaults/{vault_id}/secrets/{path}", user, "", 204)
	w.call("DELETE", "/v1/agents/{agent_id}", user, "", 204)
	w.call("DELETE", "/v1/vaults/{vault_id}", user, "", 204)
	other := w.call("POST", "/v1/auth/token", "", `{"email":"`+email+`","password":"`+pw+`"}`, 200)
	w.call("DELETE", "/v1/auth/token", other["access_token"].(string), "", 204)
	w.call("POST", "/v1/auth/change-password", user, `{"current_password":"`+pw+`","new_password":"`+pw+`-new"}`, 204)

	var missed []string
	for p, ops := range w.doc.Paths {
		for m := range ops {
			if key := strings.ToUpper(m) + " " + p; !w.seen[key] {
				missed = append(missed, key)
			}
		}
	}
	sort.Strings(missed)
	for _, key := range missed {
		t.Errorf("/openapi.json lists %s, which this test never calls: add a step", key)
	}
}

// apiWalk sends requests and checks each answer against the document.
type apiWalk struct {
	t      *testing.T
	base   string
	doc    apiDoc
	vars   map[string]string // values for the path template's parameters
	header http.Header       // extra request headers, if any
	seen   map[string]bool   // "METHOD /template" of every route called
}

// call sends method to the path template tmpl (its parameters filled from w.vars; a query string may
// follow) with an optional bearer credential and body, fails unless the status is want, validates the
// answer against the document, and returns the body when it is a JSON object.
func (w *apiWalk) call(method, tmpl, bearer, body string, want int) map[string]any {
	t := w.t
	t.Helper()
	tmpl, query, _ := strings.Cut(tmpl, "?")
	path := tmpl
	for k, v := range w.vars {
		path = strings.ReplaceAll(path, "{"+k+"}", v)
	}
	if query != "" {
		path += "?" + query
	}
	req, err := http.NewRequest(method, w.base+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, vs := range w.header {
		req.Header[k] = vs
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	what := method + " " + path
	if res.StatusCode != want {
		t.Fatalf("%s = %d %s, want %d", what, res.StatusCode, raw, want)
	}
	key := method + " " + tmpl
	w.seen[key] = true
	op, ok := w.doc.Paths[tmpl][strings.ToLower(method)]
	if !ok {
		t.Errorf("%s: /openapi.json has no operation %s", what, key)
		return nil
	}
	status := fmt.Sprint(res.StatusCode)
	resp, ok := op.Responses[status]
	if !ok && res.StatusCode >= 400 {
		resp, ok = op.Responses["default"]
	}
	if !ok {
		t.Errorf("%s answered %d, which /openapi.json does not declare for %s", what, res.StatusCode, key)
		return nil
	}
	if len(resp.Content) == 0 {
		if len(raw) != 0 {
			t.Errorf("%s: /openapi.json declares no body for %d, got %s", what, res.StatusCode, raw)
		}
		return nil
	}
	media, _, _ := mime.ParseMediaType(res.Header.Get("Content-Type"))
	c, ok := resp.Content[media]
	if !ok {
		t.Errorf("%s: Content-Type %q, /openapi.json declares %v", what, media, slices.Collect(maps.Keys(resp.Content)))
		return nil
	}
	var v any
	if media == "text/plain" {
		v = string(raw)
	} else if err := json.Unmarshal(raw, &v); err != nil {
		t.Errorf("%s: body is not JSON: %v", what, err)
		return nil
	}
	for _, e := range w.validate(c.Schema, v, "body") {
		t.Errorf("%s (%d, schema of %s): %s", what, res.StatusCode, key, e)
	}
	obj, _ := v.(map[string]any)
	return obj
}

// validate checks v against s for the subset of JSON Schema that /openapi.json uses: $ref into
// components/schemas, type (one or a list, "null" included), properties, required, additionalProperties
// (false or a schema), items and format (not checked). Any other keyword is reported, so that the
// document cannot grow a constraint this test silently ignores.
func (w *apiWalk) validate(s map[string]any, v any, at string) []string {
	if ref, ok := s["$ref"].(string); ok {
		name, found := strings.CutPrefix(ref, "#/components/schemas/")
		target, exists := w.doc.Components.Schemas[name]
		if !found || !exists {
			return []string{at + ": unresolvable $ref " + ref}
		}
		return w.validate(target, v, at)
	}
	var errs []string
	for kw := range s {
		if !slices.Contains([]string{"type", "properties", "required", "additionalProperties", "items", "format"}, kw) {
			errs = append(errs, at+": schema keyword "+kw+" is not checked by this test")
		}
	}
	if typ, ok := s["type"]; ok {
		var allowed []string
		switch x := typ.(type) {
		case string:
			allowed = []string{x}
		case []any:
			for _, a := range x {
				allowed = append(allowed, a.(string))
			}
		}
		if got := jsonType(v); !slices.Contains(allowed, got) && !(got == "integer" && slices.Contains(allowed, "number")) {
			return append(errs, fmt.Sprintf("%s: %s, want %s", at, got, strings.Join(allowed, " or ")))
		}
	}
	switch x := v.(type) {
	case map[string]any:
		props, _ := s["properties"].(map[string]any)
		if req, ok := s["required"].([]any); ok {
			for _, r := range req {
				if _, ok := x[r.(string)]; !ok {
					errs = append(errs, fmt.Sprintf("%s: required key %q is missing", at, r))
				}
			}
		}
		keys := slices.Sorted(maps.Keys(x))
		for _, k := range keys {
			if ps, ok := props[k].(map[string]any); ok {
				errs = append(errs, w.validate(ps, x[k], at+"."+k)...)
				continue
			}
			switch ap := s["additionalProperties"].(type) {
			case bool:
				if !ap {
					errs = append(errs, fmt.Sprintf("%s: key %q is not in the schema", at, k))
				}
			case map[string]any:
				errs = append(errs, w.validate(ap, x[k], at+"."+k)...)
			}
		}
	case []any:
		if items, ok := s["items"].(map[string]any); ok {
			for i, e := range x {
				errs = append(errs, w.validate(items, e, fmt.Sprintf("%s[%d]", at, i))...)
			}
		}
	}
	return errs
}

// jsonType names the JSON type of a value decoded by encoding/json; whole numbers are "integer".
func jsonType(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case bool:
		return "boolean"
	case float64:
		if x == float64(int64(x)) {
			return "integer"
		}
		return "number"
	case string:
		return "string"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	}
	return fmt.Sprintf("%T", v)
}
