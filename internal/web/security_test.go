package web_test

import (
	"encoding/base32"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"clavis.dev/clavis/internal/clavistest"
	"clavis.dev/clavis/internal/ratelimit"
	"clavis.dev/clavis/internal/totp"
	"clavis.dev/clavis/internal/web"
)

// TestLoginRateLimited: the login form takes its tokens from the API's per-IP bucket of
// POST /v1/auth/token, so a burst spent on either is spent for both.
func TestLoginRateLimited(t *testing.T) {
	lim := ratelimit.New(ratelimit.Rule{Burst: 3, Rate: 0.001}, 0, nil)
	d := newDashWith(t, web.Options{IPLimiter: lim, IPv6Prefix: 64})
	// the API's login spent one token of the shared bucket (same key as httpapi uses)
	if ok, _ := lim.Allow(ratelimit.IPKey(netip.MustParseAddr("127.0.0.1"), 64) + " POST /v1/auth/token"); !ok {
		t.Fatal("bucket empty at start")
	}
	b := d.browser(t)
	b.get("/ui/login")
	var got []int
	for range 3 {
		got = append(got, b.post("/ui/login", url.Values{"email": {"a@example.com"}, "password": {"wrong-password-1"}}).status)
	}
	if got[0] != http.StatusUnauthorized || got[1] != http.StatusUnauthorized || got[2] != http.StatusTooManyRequests {
		t.Errorf("login statuses %v, want [401 401 429]", got)
	}
	if r := b.post("/ui/login", url.Values{"email": {"a@example.com"}, "password": {"x"}}); r.header.Get("Retry-After") == "" {
		t.Errorf("429 without Retry-After")
	}
}

// TestCSRFRefused: every POST without the token, or with another session's, is a 403 and changes nothing.
func TestCSRFRefused(t *testing.T) {
	d := newDash(t)
	w := setup(t, d)
	other := setup(t, d).b
	for _, path := range []string{"/ui/vaults", "/ui/vaults/" + w.vault + "/reveal", "/ui/vaults/" + w.vault + "/delete", "/ui/logout", "/ui/agents"} {
		for name, token := range map[string]string{"none": "", "another session's": other.csrf} {
			r := w.b.post(path, url.Values{"csrf": {token}, "name": {"x"}, "path": {w.path}, "confirm": {"v " + hostile}})
			if r.status != http.StatusForbidden || strings.Contains(r.body, w.canary) {
				t.Errorf("POST %s with %s token: %d", path, name, r.status)
			}
		}
	}
	anon := d.browser(t)
	anon.get("/ui/login")
	if r := anon.post("/ui/login", url.Values{"csrf": {""}, "email": {w.email}, "password": {w.passwrd}}); r.status != http.StatusForbidden {
		t.Errorf("login without token: %d", r.status)
	}
	must(t, "vault still there", w.b.get("/ui/vaults/"+w.vault), http.StatusOK)
}

// TestSessionEnds: idle and absolute limits, logout, password change and revocation end sessions;
// an ended session redirects to sign in, and its cookie authenticates nothing else.
func TestSessionEnds(t *testing.T) {
	clock := clavistest.NewClock()
	d := newDash(t, clavistest.Options{Clock: clock.Now})
	w := setup(t, d)
	signedOut := func(b *browser, what string) {
		t.Helper()
		r := b.get("/ui/vaults")
		if r.status != http.StatusSeeOther || !strings.HasPrefix(r.location(), "/ui/login") {
			t.Errorf("%s: still signed in (%d %q)", what, r.status, r.location())
		}
	}
	login := func() *browser {
		t.Helper()
		b := d.browser(t)
		b.get("/ui/login")
		r := must(t, "login", b.post("/ui/login", url.Values{"email": {w.email}, "password": {w.passwrd}}), http.StatusSeeOther)
		must(t, "after login", b.follow(r), http.StatusOK)
		return b
	}

	clock.Advance(29 * time.Minute)
	must(t, "within idle limit", w.b.get("/ui/vaults"), http.StatusOK)
	clock.Advance(31 * time.Minute)
	signedOut(w.b, "idle 31 min")

	b := login()
	end := clock.Now().Add(12 * time.Hour)
	for clock.Now().Add(29 * time.Minute).Before(end) { // active every 29 minutes: alive until 12 h after sign-in
		clock.Advance(29 * time.Minute)
		must(t, "active session", b.get("/ui/vaults"), http.StatusOK)
	}
	clock.Set(end)
	signedOut(b, "12 h after sign-in")

	b = login()
	must(t, "logout", b.post("/ui/logout", nil), http.StatusSeeOther)
	signedOut(b, "logout")

	b1, b2 := login(), login()
	b1.get("/ui/account")
	sessions := regexp.MustCompile(`/ui/account/sessions/([0-9a-f-]+)/revoke`).FindAllStringSubmatch(b1.get("/ui/account").body, -1)
	if len(sessions) != 2 {
		t.Fatalf("account lists %d sessions, want 2", len(sessions))
	}
	for _, s := range sessions { // end the other one
		if !strings.Contains(b1.get("/ui/account").body, s[1]+`/revoke"><input type="hidden" name="csrf" value="`+b1.csrf+`"><button type="submit" class="small">Sign out (this session)`) {
			must(t, "revoke other session", b1.post("/ui/account/sessions/"+s[1]+"/revoke", nil), http.StatusSeeOther)
		}
	}
	signedOut(b2, "revoked from the account page")
	must(t, "the revoking session", b1.get("/ui/vaults"), http.StatusOK)

	b3 := login()
	must(t, "change password", b1.post("/ui/account/password", url.Values{"current_password": {w.passwrd},
		"new_password": {w.passwrd + "-new"}, "confirm_password": {w.passwrd + "-new"}}), http.StatusSeeOther)
	signedOut(b1, "password change (this session)")
	signedOut(b3, "password change (other session)")
}

// TestCookieOnlyForUI: the session cookie does not authenticate the API.
func TestCookieOnlyForUI(t *testing.T) {
	d := newDash(t)
	w := setup(t, d)
	u, _ := url.Parse(d.url)
	var cookie string
	for _, c := range w.b.c.Jar.Cookies(&url.URL{Scheme: "http", Host: u.Host, Path: "/ui/"}) {
		if c.Name == "clavis_session" {
			cookie = c.Value
		}
	}
	if cookie == "" {
		t.Fatal("no session cookie")
	}
	for _, f := range []string{d.env.DBPath, d.env.DBPath + "-wal"} { // only its SHA-256 is stored
		if b, err := os.ReadFile(f); err == nil && strings.Contains(string(b), cookie) { // #nosec G304 -- the test's own database
			t.Errorf("%s holds the session id", f)
		}
	}
	for _, auth := range []string{"", "Bearer " + cookie} {
		req, _ := http.NewRequest(http.MethodGet, d.env.URL+"/v1/vaults", nil)
		req.AddCookie(&http.Cookie{Name: "clavis_session", Value: cookie}) // #nosec G124 -- a request cookie sent by a test
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_ = res.Body.Close()
		if res.StatusCode != http.StatusUnauthorized {
			t.Errorf("/v1/vaults with the session cookie (bearer too: %v): %d, want 401", auth != "", res.StatusCode)
		}
	}
}

// TestRequestChecks: a foreign Host is 400, next= stays on /ui/, another tenant's vault is 404, a
// failed login says the same whether or not the account exists, and signed-out pages redirect.
func TestRequestChecks(t *testing.T) {
	d := newDash(t)
	w := setup(t, d)
	req, _ := http.NewRequest(http.MethodGet, d.url+"/ui/login", nil)
	req.Host = "evil.example"
	if r := w.b.do(req); r.status != http.StatusBadRequest {
		t.Errorf("foreign Host: %d, want 400", r.status)
	}
	anon := d.browser(t)
	if r := anon.get("/ui/vaults/" + w.vault); r.status != http.StatusSeeOther || !strings.HasPrefix(r.location(), "/ui/login?next=") {
		t.Errorf("signed out: %d %q", r.status, r.location())
	}
	for _, next := range []string{"//evil.example/ui/", "https://evil.example/ui/x", "/v1/vaults", "/ui/../v1", `/\evil.example`} {
		b := d.browser(t)
		b.get("/ui/login")
		r := b.post("/ui/login", url.Values{"email": {w.email}, "password": {w.passwrd}, "next": {next}})
		if r.location() != "/ui/vaults" {
			t.Errorf("next=%q: went to %q", next, r.location())
		}
	}
	b := d.browser(t)
	b.get("/ui/login")
	r := b.post("/ui/login", url.Values{"email": {w.email}, "password": {w.passwrd}, "next": {"/ui/agents"}})
	if r.location() != "/ui/agents" {
		t.Errorf("next=/ui/agents: went to %q", r.location())
	}
	anon.get("/ui/login")
	wrong := anon.post("/ui/login", url.Values{"csrf": {anon.csrf}, "email": {w.email}, "password": {"nope-nope-nope"}})
	anon.get("/ui/login")
	missing := anon.post("/ui/login", url.Values{"email": {"nobody@example.com"}, "password": {"nope-nope-nope"}})
	errRE := regexp.MustCompile(`<p class="error" role="alert">([^<]*)</p>`)
	if a, b := errRE.FindStringSubmatch(wrong.body), errRE.FindStringSubmatch(missing.body); a == nil || b == nil || a[1] != b[1] || wrong.status != missing.status {
		t.Errorf("login failures differ: %v %v", a, b)
	}
	intruder := setup(t, d).b
	for _, p := range []string{"/ui/vaults/" + w.vault, "/ui/vaults/" + w.vault + "/policies", "/ui/vaults/" + w.vault + "/secret?path=" + w.path} {
		if r := intruder.get(p); r.status != http.StatusNotFound || strings.Contains(r.body, escaped) {
			t.Errorf("another tenant's %s: %d", p, r.status)
		}
	}
	if r := intruder.post("/ui/vaults/"+w.vault+"/reveal", url.Values{"path": {w.path}}); r.status != http.StatusNotFound || strings.Contains(r.body, w.canary) {
		t.Errorf("another tenant's reveal: %d", r.status)
	}
}

// TestMFALogin: MFA set up on the account page (with its QR image), then sign-in asks for the code.
func TestMFALogin(t *testing.T) {
	d := newDash(t)
	w := setup(t, d)
	r := must(t, "mfa setup", w.b.post("/ui/account/mfa/setup", nil), http.StatusOK)
	m := regexp.MustCompile(`<code id="totp-secret" class="value">([A-Z2-7]+)</code>`).FindStringSubmatch(r.body)
	if m == nil {
		t.Fatalf("no secret on the setup page: %s", snippet(r.body))
	}
	if qr := w.b.get("/ui/account/mfa/qr.png"); qr.status != http.StatusOK || qr.header.Get("Content-Type") != "image/png" ||
		qr.header.Get("Cache-Control") != "no-store" {
		t.Errorf("QR image: %d %q", qr.status, qr.header.Get("Content-Type"))
	}
	key, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(m[1])
	if err != nil {
		t.Fatal(err)
	}
	step := time.Now().Unix() / 30
	r = must(t, "mfa verify", w.b.post("/ui/account/mfa/verify", url.Values{"code": {totp.Code(key, step)}}), http.StatusOK)
	if !strings.Contains(r.body, "recovery codes") {
		t.Errorf("no recovery codes: %s", snippet(r.body))
	}
	b := d.browser(t)
	b.get("/ui/login")
	r = must(t, "password step", b.post("/ui/login", url.Values{"email": {w.email}, "password": {w.passwrd}}), http.StatusSeeOther)
	if !strings.HasPrefix(r.location(), "/ui/login/mfa") {
		t.Fatalf("password step went to %q", r.location())
	}
	if r := b.get("/ui/vaults"); r.status != http.StatusSeeOther {
		t.Errorf("signed in before the code: %d", r.status)
	}
	b.follow(r)
	must(t, "wrong code", b.post("/ui/login/mfa", url.Values{"code": {"000000"}}), http.StatusUnauthorized)
	r = must(t, "code step", b.post("/ui/login/mfa", url.Values{"code": {totp.Code(key, step+1)}}), http.StatusSeeOther)
	must(t, "signed in", b.follow(r), http.StatusOK)
}
