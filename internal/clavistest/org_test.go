package clavistest_test

import (
	"net/http"
	"net/netip"
	"testing"
	"time"

	"clavis.dev/clavis"
	"clavis.dev/clavis/client"
	"clavis.dev/clavis/internal/clavistest"
	"clavis.dev/clavis/internal/engine"
	"clavis.dev/clavis/internal/httpapi"
)

// signupAs signs email up and returns its client, or the signup error.
func signupAs(env *clavistest.Env, email string) (*client.Client, error) {
	tok, err := env.Client().Signup(ctx, email, "Pw-"+clavistest.RandHex(10), "")
	if err != nil {
		return nil, err
	}
	return env.Client().WithToken(string(tok.AccessToken)), nil
}

// An invitation joins the inviting org with its role also where signup is otherwise closed.
func TestInviteJoinsWhereSignupIsClosed(t *testing.T) {
	env := clavistest.New(t, clavistest.Options{SignupMode: engine.SignupFirstUser})
	owner := env.Signup(t) // the first user founds the only org
	if _, err := signupAs(env, "stranger-"+clavistest.RandHex(4)+"@example.com"); clavis.KindOf(err) != clavis.KindForbidden {
		t.Fatalf("uninvited signup in first-user mode: %v, want 403", err)
	}
	email := "Invited-" + clavistest.RandHex(4) + "@Example.com"
	if _, err := owner.C.InviteMember(ctx, email, clavis.RoleAdmin); err != nil {
		t.Fatal(err)
	}
	if _, err := owner.C.InviteMember(ctx, email, clavis.RoleMember); err != nil { // re-inviting refreshes
		t.Fatal(err)
	}
	c, err := signupAs(env, email)
	if err != nil {
		t.Fatalf("invited signup: %v", err)
	}
	me, err := c.Me(ctx)
	if err != nil || me.OrgID != owner.OrgID || me.Role != clavis.RoleMember {
		t.Fatalf("invited user: %+v %v, want org %s role member", me, err, owner.OrgID)
	}
	// the invitation is used up
	if _, err := signupAs(env, "x"+email); clavis.KindOf(err) != clavis.KindForbidden {
		t.Fatalf("another uninvited signup: %v", err)
	}
}

// external_email shares are bound when an existing account with that email logs in.
func TestExternalEmailShareBoundAtLogin(t *testing.T) {
	env := clavistest.New(t)
	owner := env.Signup(t)
	other := env.Signup(t)
	v, _ := owner.C.CreateVault(ctx, clavis.VaultInput{Name: "v"})
	m, err := owner.C.PutSecret(ctx, v.ID, "k", clavis.SecretInput{Value: "for-other"})
	if err != nil {
		t.Fatal(err)
	}
	exp := time.Now().Add(time.Hour)
	sh, err := owner.C.CreateShare(ctx, m.Secret.ID, clavis.ShareInput{RecipientType: clavis.ShareToExternalEmail, Email: other.Email, ExpiresAt: &exp})
	if err != nil {
		t.Fatal(err)
	}
	if in, _ := other.C.ListInboundShares(ctx); len(in) != 0 {
		t.Fatalf("bound before logging in: %d", len(in))
	}
	tok, err := env.Client().Login(ctx, other.Email, other.Password)
	if err != nil {
		t.Fatal(err)
	}
	oc := env.Client().WithToken(string(tok.AccessToken))
	if in, err := oc.ListInboundShares(ctx); err != nil || len(in) != 1 || in[0].ID != sh.ID {
		t.Fatalf("inbound after login: %v %v", in, err)
	}
	if err := oc.AcceptShare(ctx, sh.ID); err != nil {
		t.Fatal(err)
	}
	if got, err := oc.OpenShare(ctx, sh.ID, ""); err != nil || string(got.Value) != "for-other" {
		t.Fatalf("open: %v", err)
	}
}

// IP rules judge the client address that --trusted-proxies resolve, not the proxy's.
func TestIPRulesBehindTrustedProxy(t *testing.T) {
	env := clavistest.New(t, clavistest.Options{API: func(_ *engine.Engine, o *httpapi.Options) {
		o.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}
	}})
	u := env.Signup(t)
	if _, err := u.C.CreateIPRule(ctx, clavis.IPRuleInput{RuleType: "deny", CIDR: "203.0.113.9"}); err != nil {
		t.Fatal(err)
	}
	me := func(xff string) int {
		t.Helper()
		req, _ := http.NewRequest("GET", env.URL+"/v1/auth/me", nil)
		req.Header.Set("Authorization", "Bearer "+u.Token)
		if xff != "" {
			req.Header.Set("X-Forwarded-For", xff)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_ = res.Body.Close()
		return res.StatusCode
	}
	for xff, want := range map[string]int{"": 200, "203.0.113.9": 403, "203.0.113.10": 200, "203.0.113.9, 127.0.0.1": 403} {
		if got := me(xff); got != want {
			t.Errorf("X-Forwarded-For %q: %d, want %d", xff, got, want)
		}
	}
	evs, err := u.C.ListAudit(ctx, clavis.AuditQuery{Action: "access.denied"})
	if err != nil || len(evs) != 2 || evs[0].IPAddress != "203.0.113.9" || evs[0].Details["reason"] != "ip_rule" {
		t.Fatalf("ip_rule denials: %d %v", len(evs), err)
	}
}

// Wrong passphrases are limited per share: after 10, every attempt is 429, the right one included.
func TestSharePassphraseGuessesLimited(t *testing.T) {
	env := clavistest.New(t)
	u := env.Signup(t)
	v, _ := u.C.CreateVault(ctx, clavis.VaultInput{Name: "v"})
	m, err := u.C.PutSecret(ctx, v.ID, "k", clavis.SecretInput{Value: "guarded"})
	if err != nil {
		t.Fatal(err)
	}
	exp := time.Now().Add(time.Hour)
	sh, err := u.C.CreateShare(ctx, m.Secret.ID, clavis.ShareInput{RecipientType: clavis.ShareToAnyone, ExpiresAt: &exp,
		MaxAccessCount: new(5), Passphrase: "the right one"})
	if err != nil {
		t.Fatal(err)
	}
	anon := env.Client().WithToken("")
	for i := range 10 {
		if _, err := anon.OpenShare(ctx, sh.ID, clavis.Sensitive("guess-"+clavistest.RandHex(3))); clavis.KindOf(err) != clavis.KindForbidden {
			t.Fatalf("wrong passphrase %d: %v, want 403", i+1, err)
		}
	}
	for _, p := range []string{"guess", "the right one"} {
		if _, err := anon.OpenShare(ctx, sh.ID, clavis.Sensitive(p)); clavis.KindOf(err) != clavis.KindRateLimited {
			t.Fatalf("passphrase %q after 10 wrong ones: %v, want 429", p, err)
		}
	}
}

// Share creation is limited per org (20 at once), and one org's use does not limit another's.
func TestShareCreationLimitedPerOrg(t *testing.T) {
	env := clavistest.New(t, clavistest.Options{RateLimits: true})
	exp := time.Now().Add(time.Hour)
	create := func(u *clavistest.User) (*clavis.Secret, func() error) {
		v, _ := u.C.CreateVault(ctx, clavis.VaultInput{Name: "v"})
		m, err := u.C.PutSecret(ctx, v.ID, "k", clavis.SecretInput{Value: "x"})
		if err != nil {
			t.Fatal(err)
		}
		return m.Secret, func() error {
			_, err := u.C.CreateShare(ctx, m.Secret.ID, clavis.ShareInput{RecipientType: clavis.ShareToAnyone, ExpiresAt: &exp})
			return err
		}
	}
	_, share := create(env.Signup(t))
	for i := range 20 {
		if err := share(); err != nil {
			t.Fatalf("share %d: %v", i+1, err)
		}
	}
	if err := share(); clavis.KindOf(err) != clavis.KindRateLimited {
		t.Fatalf("21st share: %v, want 429", err)
	}
	_, other := create(env.Signup(t))
	if err := other(); err != nil {
		t.Fatalf("another org: %v", err)
	}
}

// An org owner may delete a vault whose owner was removed from the org (spec §3.7), not before.
func TestOrgOwnerDeletesVaultOfRemovedMember(t *testing.T) {
	env := clavistest.New(t)
	owner := env.Signup(t)
	email := "member-" + clavistest.RandHex(4) + "@example.com"
	if _, err := owner.C.InviteMember(ctx, email, ""); err != nil {
		t.Fatal(err)
	}
	mc, err := signupAs(env, email)
	if err != nil {
		t.Fatal(err)
	}
	me, _ := mc.Me(ctx)
	v, err := mc.CreateVault(ctx, clavis.VaultInput{Name: "members"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := mc.CreatePolicy(ctx, v.ID, clavis.PolicyInput{Pattern: "**", PrincipalType: clavis.PrincipalUser,
		PrincipalID: owner.ID, Permissions: []string{"read"}}); err != nil {
		t.Fatal(err)
	}
	if err := owner.C.DeleteVault(ctx, v.ID); clavis.KindOf(err) != clavis.KindForbidden {
		t.Fatalf("delete while the member is in the org: %v, want 403", err)
	}
	if err := owner.C.RemoveMember(ctx, me.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := mc.Me(ctx); clavis.KindOf(err) != clavis.KindUnauthorized {
		t.Fatalf("removed member's token: %v, want 401", err)
	}
	if err := owner.C.DeleteVault(ctx, v.ID); err != nil {
		t.Fatalf("delete after removal: %v", err)
	}
}
