package web_test

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"clavis.dev/clavis/internal/clavistest"
)

// TestMembersAndIPRules: an owner invites (the invitee joins by signing up), changes a role and removes
// a member, whose sessions end; a member sees the list without the forms and is refused every change
// and the IP rules; an IP rule that would lock the owner out is refused with the engine's message.
func TestMembersAndIPRules(t *testing.T) {
	d := newDash(t)
	w := setup(t, d)
	b := w.b
	r := must(t, "members", b.get("/ui/account/members"), http.StatusOK)
	checkHeaders(t, "members", r)
	if !strings.Contains(r.body, w.email+" (you)") || !strings.Contains(r.body, `action="/ui/account/members/invite"`) {
		t.Errorf("members page for the owner: %s", snippet(r.body))
	}
	if r := b.get("/ui/account"); !strings.Contains(r.body, `href="/ui/account/ip-rules"`) {
		t.Errorf("the account page links no IP rules for the owner")
	}
	if r := b.post("/ui/account/members/invite", url.Values{"csrf": {""}, "email": {"x@example.com"}}); r.status != http.StatusForbidden {
		t.Errorf("invite without CSRF token: %d", r.status)
	}
	email := "m-" + clavistest.RandHex(5) + "@example.com"
	must(t, "invite", b.post("/ui/account/members/invite", url.Values{"email": {email}, "role": {"member"}}), http.StatusSeeOther)
	must(t, "invite an existing account", b.post("/ui/account/members/invite", url.Values{"email": {w.email}}), http.StatusConflict)

	m := d.browser(t) // the invitee signs up and joins the org
	m.get("/ui/signup")
	must(t, "invitee signs up", m.post("/ui/signup", url.Values{"email": {email}, "password": {"Pw-" + clavistest.RandHex(10)}}), http.StatusSeeOther)
	m.get("/ui/account")
	must(t, "hostile display name", m.post("/ui/account/profile", url.Values{"display_name": {hostile}}), http.StatusSeeOther)
	r = must(t, "members, with the invitee", b.get("/ui/account/members"), http.StatusOK)
	if !strings.Contains(r.body, email) || !strings.Contains(r.body, escaped) || strings.Contains(r.body, "<script>alert") {
		t.Errorf("members list: %s", snippet(r.body))
	}
	mm := regexp.MustCompile(`/ui/account/members/([0-9a-f-]+)/remove`).FindStringSubmatch(r.body)
	if mm == nil {
		t.Fatal("no remove form for the member")
	}
	memberID := mm[1]
	ownerID := regexp.MustCompile(`/ui/account/members/([0-9a-f-]+)/role`).FindAllStringSubmatch(r.body, -1)
	if len(ownerID) != 2 {
		t.Fatalf("%d role forms, want 2", len(ownerID))
	}

	// a member: the list without forms; every change and the IP rules refused
	r = must(t, "members as a member", m.get("/ui/account/members"), http.StatusOK)
	if strings.Contains(r.body, "/invite") || strings.Contains(r.body, "/remove") || !strings.Contains(r.body, w.email) {
		t.Errorf("a member sees the admin forms: %s", snippet(r.body))
	}
	if strings.Contains(m.get("/ui/account").body, "/ui/account/ip-rules") {
		t.Errorf("the account page links IP rules for a member")
	}
	must(t, "member: IP rules", m.get("/ui/account/ip-rules"), http.StatusForbidden)
	for path, form := range map[string]url.Values{
		"/ui/account/members/invite":                {"email": {"y@example.com"}},
		"/ui/account/members/" + memberID + "/role": {"role": {"owner"}},
		"/ui/account/ip-rules":                      {"rule_type": {"deny"}, "cidr": {"192.0.2.0/24"}},
	} {
		must(t, "member: POST "+path, m.post(path, form), http.StatusForbidden)
	}
	for _, o := range ownerID {
		if o[1] != memberID {
			must(t, "member removes the owner", m.post("/ui/account/members/"+o[1]+"/remove", nil), http.StatusForbidden)
		}
	}

	// role change, both ways
	must(t, "make admin", b.post("/ui/account/members/"+memberID+"/role", url.Values{"role": {"admin"}}), http.StatusSeeOther)
	must(t, "admin: IP rules", m.get("/ui/account/ip-rules"), http.StatusOK)
	must(t, "bad role", b.post("/ui/account/members/"+memberID+"/role", url.Values{"role": {"king"}}), http.StatusBadRequest)
	must(t, "make member", b.post("/ui/account/members/"+memberID+"/role", url.Values{"role": {"member"}}), http.StatusSeeOther)

	// IP rules: self-lockout refused and shown; a rule added, listed escaped, deleted
	r = must(t, "lockout", b.post("/ui/account/ip-rules", url.Values{"rule_type": {"allow"}, "cidr": {"10.0.0.0/8"}, "applies_to": {"users"}}), http.StatusConflict)
	if !strings.Contains(r.body, `class="error"`) || !strings.Contains(r.body, "127.0.0.1") {
		t.Errorf("lockout not shown as an error: %s", snippet(r.body))
	}
	must(t, "bad cidr", b.post("/ui/account/ip-rules", url.Values{"rule_type": {"deny"}, "cidr": {"nope"}}), http.StatusBadRequest)
	must(t, "add rule", b.post("/ui/account/ip-rules", url.Values{"rule_type": {"deny"}, "cidr": {"192.0.2.1"}, "label": {hostile}}), http.StatusSeeOther)
	r = must(t, "IP rules", b.get("/ui/account/ip-rules"), http.StatusOK)
	checkHeaders(t, "ip rules", r)
	rule := regexp.MustCompile(`/ui/account/ip-rules/([0-9a-f-]+)/delete`).FindStringSubmatch(r.body)
	if rule == nil || !strings.Contains(r.body, "192.0.2.1/32") || !strings.Contains(r.body, escaped) {
		t.Fatalf("IP rules page: %s", snippet(r.body))
	}
	must(t, "delete rule", b.post("/ui/account/ip-rules/"+rule[1]+"/delete", nil), http.StatusSeeOther)
	if r := b.get("/ui/account/ip-rules"); !strings.Contains(r.body, "No IP rules") {
		t.Errorf("rule not deleted")
	}

	// removal ends the member's sessions
	must(t, "member signed in", m.get("/ui/vaults"), http.StatusOK)
	must(t, "remove", b.post("/ui/account/members/"+memberID+"/remove", nil), http.StatusSeeOther)
	if r := m.get("/ui/vaults"); r.status != http.StatusSeeOther || !strings.HasPrefix(r.location(), "/ui/login") {
		t.Errorf("a removed member is still signed in: %d %q", r.status, r.location())
	}
	if r := b.get("/ui/account/members"); strings.Contains(r.body, email) {
		t.Errorf("a removed member is still listed")
	}
}
