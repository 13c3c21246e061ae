package web_test

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

const (
	hostile = `<script>alert(1)</script>"'&`
	escaped = `&lt;script&gt;alert(1)&lt;/script&gt;`
)

// world is a signed-in user with a vault holding one secret whose value is canary.
type world struct {
	b              *browser
	vault, path    string
	canary         string
	email, passwrd string
}

func setup(t *testing.T, d *dash) *world {
	t.Helper()
	b := d.browser(t)
	w := &world{b: b, path: "app/db-password", canary: "canary-" + strings.Repeat("7", 12)}
	w.email, w.passwrd = b.signup()
	r := must(t, "create vault", b.post("/ui/vaults", url.Values{"name": {"v " + hostile}, "description": {hostile}}), http.StatusSeeOther)
	w.vault = strings.TrimPrefix(strings.Split(r.location(), "?")[0], "/ui/vaults/")
	b.follow(r)
	r = must(t, "add secret", b.post("/ui/vaults/"+w.vault+"/secrets", url.Values{"path": {w.path}, "value": {w.canary},
		"type": {"password"}, "max_access_count": {"5"}}), http.StatusSeeOther)
	b.follow(r)
	return w
}

var idRE = regexp.MustCompile(`<code id="agent-id">([0-9a-f-]+)</code>`)

// TestScreens walks every screen and form: each renders, escapes hostile names, sends the strict
// headers, and shows a secret value only in the reveal response.
func TestScreens(t *testing.T) {
	d := newDash(t)
	w := setup(t, d)
	b := w.b
	vaultURL := "/ui/vaults/" + w.vault
	secretURL := vaultURL + "/secret?path=" + url.QueryEscape(w.path)

	// agent, with its key shown once
	r := must(t, "register agent", b.post("/ui/agents", url.Values{"name": {"bot " + hostile}, "vault_ids": {w.vault}}), http.StatusOK)
	key := regexp.MustCompile(`ocv_[A-Za-z0-9_-]+`).FindString(r.body)
	m := idRE.FindStringSubmatch(r.body)
	if key == "" || m == nil || !strings.Contains(r.body, "CLAVIS_API_KEY") || !strings.Contains(r.body, `&#34;$CLAVIS_API_KEY&#34;`) {
		t.Fatalf("agent key page lacks the key, the id or the snippets: %s", snippet(r.body))
	}
	agent := m[1]
	must(t, "create policy", b.post(vaultURL+"/policies", url.Values{"pattern": {"app/**"}, "principal": {"agent:" + agent},
		"permissions": {"read"}}), http.StatusSeeOther)

	pages := []string{"/ui/vaults", vaultURL, vaultURL + "?prefix=app/", secretURL, vaultURL + "/policies",
		vaultURL + "/policies?principal=agent:" + agent + "&explain_path=app/x&permission=read", "/ui/agents", "/ui/agents/" + agent,
		"/ui/audit", "/ui/audit?verify=1", "/ui/account"}
	for _, p := range pages {
		r := must(t, p, b.get(p), http.StatusOK)
		checkHeaders(t, p, r)
		if strings.Contains(r.body, w.canary) || strings.Contains(r.body, key) {
			t.Errorf("%s shows a secret value or the agent key", p)
		}
		if strings.Contains(r.body, "<script>alert") {
			t.Errorf("%s renders a hostile name as markup", p)
		}
	}
	for p, want := range map[string]string{vaultURL: escaped, secretURL: escaped, "/ui/audit": escaped, "/ui/agents": escaped,
		vaultURL + "/policies?principal=agent:" + agent + "&explain_path=app/x&permission=read": "Allowed</strong>",
		"/ui/audit?verify=1": "Chain verified", "/ui/vaults": escaped} {
		if r := b.get(p); !strings.Contains(r.body, want) {
			t.Errorf("%s lacks %q: %s", p, want, snippet(r.body))
		}
	}

	// reveal: the one response with the value; an audited read that counts
	r = must(t, "reveal", b.post(vaultURL+"/reveal", url.Values{"path": {w.path}}), http.StatusOK)
	if !strings.Contains(r.body, w.canary) || !strings.Contains(r.body, "4 of 5") {
		t.Errorf("reveal lacks the value or the reads left: %s", snippet(r.body))
	}
	checkHeaders(t, "reveal", r)
	if r := b.get("/ui/audit?action=secret.read"); !strings.Contains(r.body, "secret.read") || strings.Contains(r.body, w.canary) {
		t.Errorf("the audit log lacks the read (or shows the value): %s", snippet(r.body))
	}
	if r := b.get("/ui/audit?action=secret.read"); !strings.Contains(r.body, `&#34;via&#34;:&#34;web&#34;`) {
		t.Errorf("the read is not audited as via web: %s", snippet(r.body))
	}

	// the secret's other forms
	for _, f := range []struct {
		path string
		form url.Values
	}{
		{vaultURL + "/secrets", url.Values{"from": {"secret"}, "path": {w.path}, "value": {w.canary + "-2"}, "type": {"generic"}}},
		{vaultURL + "/rotate", url.Values{"path": {w.path}, "length": {"24"}, "charset": {"alphanumeric"}}},
		{vaultURL + "/disable", url.Values{"path": {w.path}, "version": {"1"}}},
		{vaultURL + "/restore", url.Values{"path": {w.path}, "version": {"2"}}},
		{"/ui/agents/" + agent, url.Values{"name": {"bot2"}, "scopes": {"app/**"}, "vault_ids": {w.vault}}},
		{"/ui/agents/" + agent + "/deactivate", nil},
		{"/ui/agents/" + agent + "/activate", nil},
		{"/ui/account/profile", url.Values{"display_name": {hostile}}},
	} {
		r := must(t, f.path, b.post(f.path, f.form), http.StatusSeeOther)
		if body := b.follow(r).body; strings.Contains(body, w.canary) || strings.Contains(body, "<script>alert") {
			t.Errorf("after %s: a value or markup on the page", f.path)
		}
	}
	if r := b.get(secretURL); !strings.Contains(r.body, `data-label="Version">4</td>`) || !strings.Contains(r.body, "disabled") {
		t.Errorf("versions after new version, rotate, disable, restore: %s", snippet(r.body))
	}
	r = must(t, "rotate agent key", b.post("/ui/agents/"+agent+"/rotate", nil), http.StatusOK)
	if k2 := regexp.MustCompile(`ocv_[A-Za-z0-9_-]+`).FindString(r.body); k2 == "" || k2 == key {
		t.Errorf("rotate shows no new key")
	}
	r = must(t, "create API key", b.post("/ui/account/api-keys", url.Values{"name": {"ci"}}), http.StatusOK)
	if !strings.Contains(r.body, "1ck_") {
		t.Errorf("API key page lacks the key")
	}
	if r := b.get("/ui/account"); strings.Contains(r.body, "1ck_") && regexp.MustCompile(`1ck_[A-Za-z0-9_-]{20,}`).MatchString(r.body) {
		t.Errorf("the account page shows a whole API key")
	}

	// form errors: shown, value fields not filled back in
	r = must(t, "bad secret", b.post(vaultURL+"/secrets", url.Values{"from": {"vault"}, "path": {"../x"}, "value": {w.canary}}), http.StatusBadRequest)
	if strings.Contains(r.body, w.canary) || !strings.Contains(r.body, `class="error"`) {
		t.Errorf("a form error fills the value back in or shows no message: %s", snippet(r.body))
	}
	r = must(t, "delete vault unconfirmed", b.post(vaultURL+"/delete", url.Values{"confirm": {"nope"}}), http.StatusBadRequest)
	must(t, "delete secret", b.post(vaultURL+"/delete-secret", url.Values{"path": {w.path}}), http.StatusSeeOther)
	must(t, "delete agent", b.post("/ui/agents/"+agent+"/delete", nil), http.StatusSeeOther)
	must(t, "delete vault", b.post(vaultURL+"/delete", url.Values{"confirm": {"v " + hostile}}), http.StatusSeeOther)
	must(t, "deleted vault", b.get(vaultURL), http.StatusNotFound)
}

func checkHeaders(t *testing.T, what string, r resp) {
	t.Helper()
	want := map[string]string{
		"Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
		"X-Content-Type-Options":  "nosniff", "Referrer-Policy": "no-referrer", "Cache-Control": "no-store",
	}
	for k, v := range want {
		if got := r.header.Get(k); got != v {
			t.Errorf("%s: %s = %q, want %q", what, k, got, v)
		}
	}
	if strings.Contains(r.body, "<script>") || strings.Contains(r.body, " style=") || strings.Contains(r.body, "hx-on") {
		t.Errorf("%s has an inline script or style", what)
	}
}
