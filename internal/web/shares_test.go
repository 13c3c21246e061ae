package web_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestShares: a share created from the secret page (passphrase never shown or refilled), listed
// outbound; the recipient accepts and opens it (a POST: the one page with the value), declines
// another; the creator revokes. No other page shows the value.
func TestShares(t *testing.T) {
	d := newDash(t)
	w := setup(t, d)
	b := w.b
	rcpt := setup(t, d)
	me, err := rcpt.client(t, d).Me(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	secretURL := "/ui/vaults/" + w.vault + "/secret?path=" + url.QueryEscape(w.path)
	shareURL := "/ui/vaults/" + w.vault + "/share"
	const passphrase = "pass-phrase-4242"
	exp := time.Now().UTC().Add(2 * time.Hour).Format("2006-01-02T15:04")

	r := must(t, "secret page", b.get(secretURL), http.StatusOK)
	if !strings.Contains(r.body, `action="`+shareURL+`"`) || !strings.Contains(r.body, `<datalist id="recipients">`) {
		t.Errorf("the secret page has no share form: %s", snippet(r.body))
	}
	// a form error: shown, the passphrase not filled back in
	r = must(t, "share in the past", b.post(shareURL, url.Values{"path": {w.path}, "recipient_type": {"user"}, "recipient_id": {me.ID},
		"share_expires_at": {"2001-01-01T00:00"}, "passphrase": {passphrase}}), http.StatusBadRequest)
	if strings.Contains(r.body, passphrase) || !strings.Contains(r.body, `class="error"`) {
		t.Errorf("share form error: %s", snippet(r.body))
	}
	if r := b.post(shareURL, url.Values{"csrf": {""}, "path": {w.path}, "recipient_type": {"anyone_with_link"}, "share_expires_at": {exp}}); r.status != http.StatusForbidden {
		t.Errorf("share without CSRF token: %d", r.status)
	}
	for _, f := range []url.Values{
		{"recipient_type": {"user"}, "recipient_id": {me.ID}, "passphrase": {passphrase}, "share_max_access_count": {"2"}},
		{"recipient_type": {"user"}, "recipient_id": {me.ID}},
		{"recipient_type": {"anyone_with_link"}},
	} {
		f.Set("path", w.path)
		f.Set("share_expires_at", exp)
		r := must(t, "create share "+f.Get("recipient_type"), b.post(shareURL, f), http.StatusSeeOther)
		if r.location() != "/ui/shares?done=share-created" {
			t.Errorf("share created → %q", r.location())
		}
	}
	r = must(t, "outbound", b.get("/ui/shares"), http.StatusOK)
	checkHeaders(t, "shares", r)
	if strings.Count(r.body, "/revoke") != 3 || !strings.Contains(r.body, "/v1/share/") || strings.Contains(r.body, passphrase) || strings.Contains(r.body, w.canary) {
		t.Errorf("outbound list: %s", snippet(r.body))
	}

	ids := regexp.MustCompile(`/ui/shares/([0-9a-f-]+)/accept`).FindAllStringSubmatch(rcpt.b.get("/ui/shares").body, -1)
	if len(ids) != 2 {
		t.Fatalf("recipient sees %d shares to accept, want 2", len(ids))
	}
	first, second := ids[1][1], ids[0][1] // newest first: the passphrase one is the older
	must(t, "open before accepting", rcpt.b.post("/ui/shares/"+first+"/open", url.Values{"passphrase": {passphrase}}), http.StatusForbidden)
	must(t, "accept", rcpt.b.post("/ui/shares/"+first+"/accept", nil), http.StatusSeeOther)
	if r := rcpt.b.post("/ui/shares/"+first+"/open", url.Values{"passphrase": {"wrong"}}); r.status != http.StatusForbidden || strings.Contains(r.body, w.canary) {
		t.Errorf("wrong passphrase: %d", r.status)
	}
	if r := rcpt.b.post("/ui/shares/"+first+"/open", url.Values{"csrf": {""}, "passphrase": {passphrase}}); r.status != http.StatusForbidden || strings.Contains(r.body, w.canary) {
		t.Errorf("open without CSRF token: %d", r.status)
	}
	r = must(t, "open", rcpt.b.post("/ui/shares/"+first+"/open", url.Values{"passphrase": {passphrase}}), http.StatusOK)
	checkHeaders(t, "open share", r)
	if !strings.Contains(r.body, w.canary) || !strings.Contains(r.body, "1 of 2") {
		t.Errorf("opened share: %s", snippet(r.body))
	}
	if body := rcpt.b.get("/ui/shares").body; strings.Contains(body, w.canary) || !strings.Contains(body, "1 of 2") {
		t.Errorf("inbound list after opening: %s", snippet(body))
	}
	must(t, "decline", rcpt.b.post("/ui/shares/"+second+"/decline", nil), http.StatusSeeOther)
	if body := rcpt.b.get("/ui/shares").body; strings.Contains(body, second) {
		t.Errorf("a declined share is still listed")
	}
	// someone else's share: 404, and the creator alone revokes
	must(t, "recipient revokes", rcpt.b.post("/ui/shares/"+first+"/revoke", nil), http.StatusNotFound)
	must(t, "revoke", b.post("/ui/shares/"+first+"/revoke", nil), http.StatusSeeOther)
	must(t, "open revoked", rcpt.b.post("/ui/shares/"+first+"/open", url.Values{"passphrase": {passphrase}}), http.StatusNotFound)
	if body := b.get("/ui/shares").body; strings.Count(body, "/revoke") != 2 {
		t.Errorf("outbound after revoking: %d shares", strings.Count(body, "/revoke"))
	}
}
