package web_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestUseConfig: the secret page shows and edits the destination config of use without read; the
// engine's refusals (a public-suffix wildcard, a value too short to redact) show as form errors.
func TestUseConfig(t *testing.T) {
	d := newDash(t)
	w := setup(t, d)
	b := w.b
	vaultURL := "/ui/vaults/" + w.vault
	secretURL := vaultURL + "/secret?path=" + url.QueryEscape(w.path)
	r := must(t, "secret page", b.get(secretURL), http.StatusOK)
	if !strings.Contains(r.body, "Not set: the secret cannot be used") || strings.Contains(r.body, "use-config/delete") {
		t.Errorf("no config: %s", snippet(r.body))
	}
	form := func(f url.Values) url.Values {
		f.Set("path", w.path)
		return f
	}
	if r := b.post(vaultURL+"/use-config", form(url.Values{"csrf": {""}, "allowed_hosts": {"api.example.com"}})); r.status != http.StatusForbidden {
		t.Errorf("use config without CSRF token: %d", r.status)
	}
	r = must(t, "public suffix", b.post(vaultURL+"/use-config", form(url.Values{"allowed_hosts": {"*.com"}, "allowed_path_prefixes": {"/"},
		"inject_as": {"bearer"}})), http.StatusBadRequest)
	if !strings.Contains(r.body, `class="error"`) {
		t.Errorf("public suffix wildcard: no error shown")
	}
	r = must(t, "save", b.post(vaultURL+"/use-config", form(url.Values{"allowed_hosts": {"api.example.com, *.example.org:8443"},
		"allowed_path_prefixes": {"/v1/charges /v1/refunds"}, "allowed_methods": {"POST", "DELETE"}, "inject_as": {"header"},
		"inject_name": {"X-Api-Key"}, "inject_prefix": {"Key "}})), http.StatusSeeOther)
	r = b.follow(r)
	for _, want := range []string{`value="api.example.com, *.example.org:8443"`, `value="/v1/charges, /v1/refunds"`, `value="X-Api-Key"`,
		`value="Key "`, `value="DELETE" checked`, `value="POST" checked`, "use-config/delete", "Destination config saved"} {
		if !strings.Contains(r.body, want) {
			t.Errorf("saved config lacks %q", want)
		}
	}
	if strings.Contains(r.body, `value="GET" checked`) || strings.Contains(r.body, w.canary) {
		t.Errorf("saved config shows GET allowed, or the value")
	}
	r = must(t, "basic", b.post(vaultURL+"/use-config", form(url.Values{"allowed_hosts": {"api.example.com"}, "allowed_path_prefixes": {"/"},
		"inject_as": {"basic"}, "basic_slot": {"username"}, "basic_other": {"x"}, "allow_http": {"on"}})), http.StatusSeeOther)
	if r = b.follow(r); !strings.Contains(r.body, `<option value="username" selected>`) || !strings.Contains(r.body, `name="allow_http" checked`) {
		t.Errorf("basic config with the value as username: %s", snippet(r.body))
	}

	// a value shorter than 16 bytes cannot be used: 409, shown
	must(t, "short secret", b.post(vaultURL+"/secrets", url.Values{"from": {"vault"}, "path": {"short"}, "value": {"abc"}}), http.StatusSeeOther)
	r = must(t, "short value", b.post(vaultURL+"/use-config", url.Values{"path": {"short"}, "allowed_hosts": {"api.example.com"},
		"allowed_path_prefixes": {"/"}, "inject_as": {"bearer"}}), http.StatusConflict)
	if !strings.Contains(r.body, `class="error"`) {
		t.Errorf("short value: no error shown")
	}

	must(t, "delete", b.post(vaultURL+"/use-config/delete", url.Values{"path": {w.path}}), http.StatusSeeOther)
	if r := b.get(secretURL); !strings.Contains(r.body, "Not set") {
		t.Errorf("config not deleted")
	}
	must(t, "delete twice", b.post(vaultURL+"/use-config/delete", url.Values{"path": {w.path}}), http.StatusNotFound)
	if r := setup(t, d).b.post(vaultURL+"/use-config", form(url.Values{"allowed_hosts": {"api.example.com"}})); r.status != http.StatusNotFound {
		t.Errorf("another tenant's use config: %d", r.status)
	}
}
