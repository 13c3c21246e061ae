package web_test

import (
	"context"
	"encoding/json"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"clavis.dev/clavis"
)

// chromium is Debian's browser, which .ci/run installs.
const chromium = "/usr/bin/chromium"

// newChrome starts a headless chromium for the test, or skips (fails with CLAVIS_REQUIRE_BROWSER=1)
// when there is none.
func newChrome(t *testing.T) context.Context {
	t.Helper()
	if _, err := exec.LookPath(chromium); err != nil {
		if os.Getenv("CLAVIS_REQUIRE_BROWSER") == "1" {
			t.Fatalf("CLAVIS_REQUIRE_BROWSER=1 but %s is missing", chromium)
		}
		t.Skipf("no %s (apt-get install chromium); set CLAVIS_REQUIRE_BROWSER=1 to fail instead", chromium)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(chromium), chromedp.NoSandbox,
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.NoFirstRun, chromedp.Flag("disable-quic", true),
		chromedp.WindowSize(1200, 900), chromedp.UserDataDir(t.TempDir()))
	actx, cancelAlloc := chromedp.NewExecAllocator(t.Context(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	ctx, cancelTimeout := context.WithTimeout(ctx, 3*time.Minute) // a loaded machine is slow; a hung browser is not
	t.Cleanup(func() { cancelTimeout(); cancel(); cancelAlloc() })
	return ctx
}

// TestBrowserWalkthrough drives the dashboard in chromium: sign up → create a vault → add a secret →
// register an agent (key shown once) → create a policy → explain → reveal → the audit log shows the
// read and the chain verifies; then the destination config of use without read, a share by link and
// one received (accepted, opened), an agent's approval request and an enrolment (decided from their
// deep links), an invitation, an IP rule refused for locking the user out and one added; the new
// screens at 360 px. It saves a full-page screenshot of each screen in the directory it logs
// (CLAVIS_SCREENSHOTS, else the test's artifact directory: go test -artifacts keeps it).
func TestBrowserWalkthrough(t *testing.T) {
	ctx := newChrome(t)
	d := newDash(t)
	dir := os.Getenv("CLAVIS_SCREENSHOTS")
	if dir == "" {
		dir = t.ArtifactDir()
	}
	if err := os.MkdirAll(dir, 0o750); err != nil { // #nosec G703 -- the directory the tester names
		t.Fatal(err)
	}
	t.Logf("screenshots in %s", dir)
	do := func(what string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, steps...); err != nil {
			loc, _ := chromedp.Run(ctx, chromedp.Location())
			t.Fatalf("%s (at %s): %v", what, loc, err)
		}
	}
	text := func(sel string) string {
		t.Helper()
		s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
		if err != nil {
			t.Fatalf("text of %s: %v", sel, err)
		}
		return s
	}
	shot := func(name string) {
		t.Helper()
		png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatalf("screenshot %s: %v", name, err)
		}
		if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o600); err != nil { // #nosec G703 -- a file in the directory the tester names
			t.Fatal(err)
		}
	}
	css := func(s string) chromedp.CSS { return chromedp.CSS(s) }

	do("open signup", chromedp.Navigate(d.url+"/ui/signup"), chromedp.WaitVisible(css("#email")))
	shot("01-signup")
	do("sign up", chromedp.SendKeys(css("#email"), "ada@example.com"), chromedp.SendKeys(css("#display_name"), "Ada"),
		chromedp.SendKeys(css("#password"), "correct horse battery staple"), chromedp.Click(css("form button[type=submit]")),
		chromedp.WaitVisible(css("#name")))
	do("create vault", chromedp.SendKeys(css("#name"), "production"), chromedp.SendKeys(css("#description"), "Keys for prod <b>services</b>"),
		chromedp.Click(css("form[action='/ui/vaults'] button")), chromedp.WaitVisible(css("#path")))
	do("add secret", chromedp.SendKeys(css("#path"), "db/password"), chromedp.SendKeys(css("#value"), "s3cr3t-canary-value"),
		chromedp.SetValue(css("#type"), "password"), chromedp.SendKeys(css("#max_access_count"), "10"),
		chromedp.Click(css("form[action$='/secrets'] button")), chromedp.WaitVisible(css("#reveal")))
	vaultURL, _ := chromedp.Run(ctx, chromedp.Location())
	shot("03-secret")
	vaultURL = vaultURL[:strings.Index(vaultURL, "/secret?")]
	do("add another secret", chromedp.Navigate(vaultURL), chromedp.WaitVisible(css("#path")),
		chromedp.SendKeys(css("#path"), "api/stripe"), chromedp.SendKeys(css("#value"), "sk-canary-two"),
		chromedp.Click(css("form[action$='/secrets'] button")), chromedp.WaitVisible(css("#reveal")),
		chromedp.Navigate(vaultURL), chromedp.WaitVisible(css("table")))
	shot("02-secrets")
	if body := text("main"); strings.Contains(body, "canary") {
		t.Errorf("the secrets browser shows a value")
	}

	do("register agent", chromedp.Navigate(d.url+"/ui/agents"), chromedp.WaitVisible(css("#name")),
		chromedp.SendKeys(css("#name"), "deploy-bot"), chromedp.Click(css("input[name=vault_ids]")),
		chromedp.Click(css("form[action='/ui/agents'] button")), chromedp.WaitVisible(css("#agent-key")))
	shot("04-agent-key")
	key, agentID := text("#agent-key"), text("#agent-id")
	if !strings.HasPrefix(key, "ocv_") || !strings.Contains(text("#mcp-config"), key) {
		t.Errorf("agent key %q not shown with its MCP config", key)
	}
	do("agents", chromedp.Navigate(d.url+"/ui/agents"), chromedp.WaitVisible(css("table")))
	shot("05-agents")
	if strings.Contains(text("main"), key) {
		t.Errorf("the key is shown again on the agents list")
	}

	do("live validation", chromedp.Navigate(vaultURL+"/policies"), chromedp.WaitVisible(css("#conditions")),
		chromedp.SendKeys(css("#conditions"), `{"ip_allowlist": [`), chromedp.WaitVisible(css("#conditions-msg")))
	if msg := text("#conditions-msg"); !strings.HasPrefix(msg, "Not valid JSON") {
		t.Errorf("conditions message while typing: %q", msg)
	}
	do("fix conditions", chromedp.SendKeys(css("#conditions"), `"10.0.0.0/8", "127.0.0.0/8"]}`), chromedp.WaitNotVisible(css("#conditions-msg")))
	do("create policy", chromedp.Navigate(vaultURL+"/policies"), chromedp.WaitVisible(css("#pattern")),
		chromedp.SendKeys(css("#pattern"), "db/**"), chromedp.SetValue(css("#principal"), "agent:"+agentID),
		chromedp.Click(css("form[action$='/policies'] button")), chromedp.WaitVisible(css("table")))
	do("explain", chromedp.SetValue(css("#ex-principal"), "agent:"+agentID), chromedp.SendKeys(css("#ex-path"), "db/password"),
		chromedp.Click(css("#explain button")), chromedp.WaitVisible(css(".verdict")))
	shot("06-policies-explain")
	if v := text(".verdict"); !strings.HasPrefix(v, "Allowed") {
		t.Errorf("explain: %q", v)
	}

	do("reveal", chromedp.Navigate(vaultURL+"/secret?path=db/password"), chromedp.WaitVisible(css("#reveal")),
		chromedp.Click(css("#reveal")), chromedp.WaitVisible(css("#secret-value")))
	shot("07-reveal")
	if v := text("#secret-value"); v != "s3cr3t-canary-value" {
		t.Errorf("revealed %q", v)
	}

	do("audit", chromedp.Navigate(d.url+"/ui/audit"), chromedp.WaitVisible(css("#verify")),
		chromedp.Click(css("#verify")), chromedp.WaitVisible(css(".verdict")))
	shot("08-audit")
	if v := text(".verdict"); !strings.HasPrefix(v, "Chain verified") {
		t.Errorf("verify: %q", v)
	}
	if body := text("table.audit"); !strings.Contains(body, "secret.read") || strings.Contains(body, "canary") {
		t.Errorf("the audit log lacks the read or shows a value")
	}

	do("account", chromedp.Navigate(d.url+"/ui/account"), chromedp.WaitVisible(css("#display_name")))
	shot("09-account")

	// use without read: the destination config on the secret page
	do("use config", chromedp.Navigate(vaultURL+"/secret?path=db/password"), chromedp.WaitVisible(css("#allowed_hosts")),
		chromedp.SendKeys(css("#allowed_hosts"), "api.stripe.com"), chromedp.SendKeys(css("#allowed_path_prefixes"), "/v1/charges"),
		chromedp.SetValue(css("#inject_as"), "header"), chromedp.SendKeys(css("#inject_name"), "X-Api-Key"),
		chromedp.Click(css("#use-save")), chromedp.WaitVisible(css(".flash")))
	shot("11-secret-use-share")
	if v, _ := chromedp.Run(ctx, chromedp.Value(css("#allowed_hosts"))); v != "api.stripe.com" {
		t.Errorf("saved destination shows hosts %q", v)
	}

	// shares: one by link from the secret page, one received from a user of another org
	ctxb := context.Background()
	tok, err := d.env.Client().Login(ctxb, "ada@example.com", "correct horse battery staple")
	if err != nil {
		t.Fatal(err)
	}
	ada, err := d.env.Client().WithToken(string(tok.AccessToken)).Me(ctxb)
	if err != nil {
		t.Fatal(err)
	}
	bo := d.env.Signup(t)
	bv, err := bo.C.CreateVault(ctxb, clavis.VaultInput{Name: "bo-team"})
	if err != nil {
		t.Fatal(err)
	}
	bm, err := bo.C.PutSecret(ctxb, bv.ID, "stripe/webhook-secret", clavis.SecretInput{Value: "whsec-canary-from-bo"})
	if err != nil {
		t.Fatal(err)
	}
	exp := time.Now().Add(48 * time.Hour)
	if _, err := bo.C.CreateShare(ctxb, bm.Secret.ID, clavis.ShareInput{RecipientType: clavis.ShareToUser, RecipientID: ada.ID, ExpiresAt: &exp}); err != nil {
		t.Fatal(err)
	}
	do("share by link", chromedp.Navigate(vaultURL+"/secret?path=db/password"), chromedp.WaitVisible(css("#share-create")),
		chromedp.SetValue(css("#recipient_type"), "anyone_with_link"), chromedp.SetValue(css("#share_max_access_count"), "3"),
		chromedp.Click(css("#share-create")), chromedp.WaitVisible(css(".flash")))
	do("accept share", chromedp.Click(css("form[action$='/accept'] button")), chromedp.WaitVisible(css("form[action$='/open'] button")))
	shot("12-shares")
	do("open share", chromedp.Click(css("form[action$='/open'] button")), chromedp.WaitVisible(css("#secret-value")))
	if v := text("#secret-value"); v != "whsec-canary-from-bo" {
		t.Errorf("opened share shows %q", v)
	}

	// approvals and enrolments: an agent asks for a policy, another asks to be enrolled
	atok, err := d.env.Client().AgentToken(ctxb, key, agentID)
	if err != nil {
		t.Fatal(err)
	}
	vaultID := vaultURL[strings.LastIndex(vaultURL, "/")+1:]
	ap, err := d.env.Client().WithToken(string(atok.AccessToken)).RequestApproval(ctxb, clavis.ApprovalInput{Action: clavis.ApprovalPolicyChange,
		TargetType: "vault", TargetID: vaultID, Summary: json.RawMessage(`{"secret_path_pattern":"api/**","permissions":["read","use"]}`),
		Reason: "deploy needs the Stripe key", RiskTier: 2})
	if err != nil {
		t.Fatal(err)
	}
	en, err := d.env.Engine.Enroll(ctxb, clavis.EnrollInput{Name: "ci-runner", HumanEmail: "ada@example.com",
		Description: "GitHub Actions runner for the deploy pipeline"}, netip.MustParseAddr("192.0.2.10"))
	if err != nil {
		t.Fatal(err)
	}
	do("inbox", chromedp.Navigate(d.url+"/ui/approvals"), chromedp.WaitVisible(css("table")))
	shot("13-approvals")
	do("approval deep link", chromedp.Navigate(d.url+"/ui/approvals/"+ap.ID), chromedp.WaitVisible(css("#approve")))
	shot("14-approval")
	do("approve", chromedp.SendKeys(css("#reason"), "fine for this sprint"), chromedp.Click(css("#approve")), chromedp.WaitVisible(css(".flash")))
	if s := text(".tag"); s != "approved" {
		t.Errorf("approval state after approving: %q", s)
	}
	do("enrolment deep link", chromedp.Navigate(d.url+"/ui/enrollments/"+en.EnrollmentID), chromedp.WaitVisible(css("#approve")))
	shot("15-enrollment")
	do("approve enrolment", chromedp.Click(css("input[name=vault_ids]")), chromedp.Click(css("#approve")), chromedp.WaitVisible(css(".flash")))
	if h := text("h1"); !strings.HasPrefix(h, "ci-runner") {
		t.Errorf("approved enrolment leads to %q", h)
	}

	// members and IP rules
	do("invite", chromedp.Navigate(d.url+"/ui/account/members"), chromedp.WaitVisible(css("#invite-email")),
		chromedp.SendKeys(css("#invite-email"), "bo@example.com"), chromedp.SetValue(css("#invite-role"), "admin"),
		chromedp.Click(css("form[action$='/invite'] button")), chromedp.WaitVisible(css(".flash")))
	shot("16-members")
	do("lockout", chromedp.Navigate(d.url+"/ui/account/ip-rules"), chromedp.WaitVisible(css("#cidr")),
		chromedp.SendKeys(css("#cidr"), "10.0.0.0/8"), chromedp.Click(css("form[action='/ui/account/ip-rules'] button")),
		chromedp.WaitVisible(css(".error")))
	shot("17-ip-rules-lockout")
	do("ip rule", chromedp.SetValue(css("#rule_type"), "deny"), chromedp.SetValue(css("#cidr"), "192.0.2.0/24"),
		chromedp.SendKeys(css("#label"), "TEST-NET-1"), chromedp.Click(css("form[action='/ui/account/ip-rules'] button")),
		chromedp.WaitVisible(css("table")))
	shot("18-ip-rules")

	do("narrow", chromedp.EmulateViewport(360, 740), chromedp.Navigate(vaultURL), chromedp.WaitVisible(css("table")))
	shot("10-secrets-360px")
	for _, p := range []struct{ name, url string }{
		{"", vaultURL}, {"19-secret-360px", vaultURL + "/secret?path=db/password"}, {"20-approvals-360px", d.url + "/ui/approvals"},
		{"21-shares-360px", d.url + "/ui/shares"}, {"22-members-360px", d.url + "/ui/account/members"}, {"", d.url + "/ui/account/ip-rules"},
	} {
		do("narrow "+p.url, chromedp.Navigate(p.url), chromedp.WaitVisible(css("main")))
		if w, err := chromedp.Run(ctx, chromedp.Evaluate[int]("document.documentElement.scrollWidth")); err != nil || w > 360 {
			t.Errorf("at 360 px %s is %d px wide (%v)", p.url, w, err)
		}
		if p.name != "" {
			shot(p.name)
		}
	}
	do("logout", chromedp.Click(css(".logout button")), chromedp.WaitVisible(css("#password")))
	shot("00-login")
}
