package web_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"testing"

	"clavis.dev/clavis"
	"clavis.dev/clavis/client"
)

// userClient signs in to the API as a world's user.
func (w *world) client(t *testing.T, d *dash) *client.Client {
	t.Helper()
	tok, err := d.env.Client().Login(context.Background(), w.email, w.passwrd)
	if err != nil {
		t.Fatal(err)
	}
	return d.env.Client().WithToken(string(tok.AccessToken))
}

// newAgent registers an agent bound to the world's vault and returns its API client.
func (w *world) agent(t *testing.T, d *dash, owner *client.Client, name string) (*clavis.Agent, *client.Client) {
	t.Helper()
	ctx := context.Background()
	ak, err := owner.CreateAgent(ctx, clavis.AgentInput{Name: name, VaultIDs: []string{w.vault}})
	if err != nil {
		t.Fatal(err)
	}
	tok, err := d.env.Client().AgentToken(ctx, string(ak.Key), ak.Agent.ID)
	if err != nil {
		t.Fatal(err)
	}
	return ak.Agent, d.env.Client().WithToken(string(tok.AccessToken))
}

// TestInbox: the approvals and enrolments addressed to the user are listed with escaped names, decided
// from their deep links (the very URLs the notifications carry), and nobody else's can be seen or
// decided.
func TestInbox(t *testing.T) {
	ctx := context.Background()
	d := newDash(t)
	w := setup(t, d)
	b := w.b
	owner := w.client(t, d)
	ag, agent := w.agent(t, d, owner, "bot "+hostile)

	change, err := agent.RequestApproval(ctx, clavis.ApprovalInput{Action: clavis.ApprovalPolicyChange, TargetType: "vault",
		TargetID: w.vault, Summary: json.RawMessage(`{"secret_path_pattern":"app/**","permissions":["read"]}`), Reason: hostile})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := owner.CreatePolicy(ctx, w.vault, clavis.PolicyInput{Pattern: "gated/**", PrincipalType: clavis.PrincipalAgent,
		PrincipalID: ag.ID, Permissions: []string{"read"}, RequireApproval: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := owner.PutSecret(ctx, w.vault, "gated/key", clavis.SecretInput{Value: clavis.Sensitive(w.canary)}); err != nil {
		t.Fatal(err)
	}
	_, err = agent.GetSecret(ctx, w.vault, "gated/key")
	var ce *clavis.Error
	if !errors.As(err, &ce) || ce.ApprovalID == "" {
		t.Fatalf("gated read: %v", err)
	}
	access := ce.ApprovalID
	ticket, err := d.env.Engine.Enroll(ctx, clavis.EnrollInput{Name: "enrolling " + hostile, HumanEmail: w.email, Description: hostile},
		netip.MustParseAddr("192.0.2.7"))
	if err != nil {
		t.Fatal(err)
	}
	enrol := ticket.EnrollmentID

	// the deep links are the notifications' (internal/notify carries engine.Notice's URL)
	for id, typ := range map[string]string{change.ID: "approval", enrol: "enrollment"} {
		action := map[string]string{"approval": "approval.request", "enrollment": "agent.enroll_request"}[typ]
		n, err := d.env.Engine.Notice(ctx, &clavis.AuditEvent{Action: action, ResourceType: typ, ResourceID: id})
		if err != nil || n == nil {
			t.Fatalf("notice of %s: %v", typ, err)
		}
		u, err := url.Parse(n.URL)
		if err != nil {
			t.Fatal(err)
		}
		r := must(t, "deep link "+u.Path, b.get(u.Path), http.StatusOK)
		checkHeaders(t, u.Path, r)
		if !strings.Contains(r.body, escaped) || strings.Contains(r.body, "<script>alert") || strings.Contains(r.body, w.canary) {
			t.Errorf("%s: hostile text not escaped, or a value shown: %s", u.Path, snippet(r.body))
		}
	}

	r := must(t, "inbox", b.get("/ui/approvals"), http.StatusOK)
	checkHeaders(t, "inbox", r)
	for _, want := range []string{"/ui/approvals/" + change.ID, "/ui/approvals/" + access, "/ui/enrollments/" + enrol, escaped, `aria-current="page">Approvals`} {
		if !strings.Contains(r.body, want) {
			t.Errorf("inbox lacks %q", want)
		}
	}
	if strings.Contains(r.body, "<script>alert") || strings.Contains(r.body, w.canary) {
		t.Errorf("inbox renders markup or a value")
	}

	// signed out, a deep link comes back after sign-in
	anon := d.browser(t)
	r = anon.get("/ui/approvals/" + change.ID)
	if r.status != http.StatusSeeOther || r.location() != "/ui/login?next="+url.QueryEscape("/ui/approvals/"+change.ID) {
		t.Fatalf("signed-out deep link: %d %q", r.status, r.location())
	}
	anon.get("/ui/login")
	r = anon.post("/ui/login", url.Values{"email": {w.email}, "password": {w.passwrd}, "next": {"/ui/approvals/" + change.ID}})
	if r.location() != "/ui/approvals/"+change.ID {
		t.Errorf("after sign-in went to %q", r.location())
	}

	// CSRF and other tenants
	if r := b.post("/ui/approvals/"+change.ID+"/decide", url.Values{"csrf": {""}, "decision": {"approve"}}); r.status != http.StatusForbidden {
		t.Errorf("decide without CSRF token: %d", r.status)
	}
	other := setup(t, d).b
	for _, p := range []string{"/ui/approvals/" + change.ID, "/ui/enrollments/" + enrol} {
		if r := other.get(p); r.status != http.StatusNotFound || strings.Contains(r.body, escaped) {
			t.Errorf("another user's %s: %d", p, r.status)
		}
	}
	must(t, "another user decides", other.post("/ui/approvals/"+change.ID+"/decide", url.Values{"decision": {"approve"}}), http.StatusNotFound)
	must(t, "another user approves the enrolment", other.post("/ui/enrollments/"+enrol+"/approve", nil), http.StatusNotFound)

	// decide: approve the policy change (the policy exists at once), reject the access
	r = must(t, "approve", b.post("/ui/approvals/"+change.ID+"/decide", url.Values{"decision": {"approve"}, "reason": {"ok " + hostile}}), http.StatusSeeOther)
	if r = b.follow(r); !strings.Contains(r.body, `<span class="tag approved">approved</span>`) || !strings.Contains(r.body, "ok "+escaped) {
		t.Errorf("approved page: %s", snippet(r.body))
	}
	if r := b.get("/ui/vaults/" + w.vault + "/policies"); !strings.Contains(r.body, "app/**") {
		t.Errorf("approving the policy change made no policy")
	}
	must(t, "decide twice", b.post("/ui/approvals/"+change.ID+"/decide", url.Values{"decision": {"reject"}}), http.StatusConflict)
	must(t, "bad decision", b.post("/ui/approvals/"+access+"/decide", url.Values{"decision": {"maybe"}}), http.StatusBadRequest)
	must(t, "reject", b.post("/ui/approvals/"+access+"/decide", url.Values{"decision": {"reject"}, "reason": {"no"}}), http.StatusSeeOther)
	if r := b.get("/ui/approvals"); !strings.Contains(r.body, "Nothing waits for your decision") || !strings.Contains(r.body, "rejected") {
		t.Errorf("inbox after deciding: %s", snippet(r.body))
	}
	if _, err := agent.GetSecret(ctx, w.vault, "gated/key"); !clavis.IsKind(err, clavis.KindApprovalRequired) {
		t.Errorf("after a rejection the agent read: %v", err)
	}

	// the enrolment: approve it bound to the vault; the agent exists, its key is not shown to the user
	r = must(t, "approve enrolment", b.post("/ui/enrollments/"+enrol+"/approve", url.Values{"vault_ids": {w.vault}, "scopes": {"app/**"}}), http.StatusSeeOther)
	if !strings.HasPrefix(r.location(), "/ui/agents/") {
		t.Fatalf("approved enrolment went to %q", r.location())
	}
	if body := b.follow(r).body; !strings.Contains(body, "enrolling "+escaped) || strings.Contains(body, "ocv_") {
		t.Errorf("the enrolled agent's page: %s", snippet(body))
	}
	must(t, "deny after approval", b.post("/ui/enrollments/"+enrol+"/deny", nil), http.StatusConflict)

	// deny one addressed to the other user
	t2, err := d.env.Engine.Enroll(ctx, clavis.EnrollInput{Name: "second", HumanEmail: setupEmail(other)}, netip.MustParseAddr("192.0.2.8"))
	if err != nil {
		t.Fatal(err)
	}
	must(t, "deny", other.post("/ui/enrollments/"+t2.EnrollmentID+"/deny", nil), http.StatusSeeOther)
	if r := other.get("/ui/enrollments/" + t2.EnrollmentID); !strings.Contains(r.body, `<span class="tag denied">denied</span>`) || strings.Contains(r.body, `id="approve"`) {
		t.Errorf("denied enrolment page: %s", snippet(r.body))
	}
}

// setupEmail is the email the browser signed up with (shown in the page header).
func setupEmail(b *browser) string {
	body := b.get("/ui/account").body
	i := strings.Index(body, `<span class="who">`)
	if i < 0 {
		b.t.Fatal("no user in the header")
	}
	rest := body[i+len(`<span class="who">`):]
	return rest[:strings.Index(rest, "<")]
}
