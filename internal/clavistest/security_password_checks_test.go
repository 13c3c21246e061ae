package clavistest_test

import (
	"encoding/base32"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"clavis.dev/clavis"
	"clavis.dev/clavis/internal/clavistest"
	"clavis.dev/clavis/internal/totp"
)

// Every password check — login, change-password, MFA disable with X-Auth-Confirm — shares the login
// lockout of spec §6.3 and is audited, so that a stolen token or personal key cannot guess the password.

// pwCheck is one way to present the account password besides login: the status of a request with
// password as the proof.
type pwCheck struct {
	name  string
	setup func(t *testing.T, env *clavistest.Env, tok string) // e.g. enable MFA
	check func(t *testing.T, env *clavistest.Env, tok, password string) secAnswer
}

var pwChecks = []pwCheck{
	{"change-password", nil, func(t *testing.T, env *clavistest.Env, tok, password string) secAnswer {
		body, _ := json.Marshal(map[string]string{"current_password": password, "new_password": "Brand-new-pw-" + clavistest.RandHex(4)})
		return pwDo(t, "POST", env.URL+"/v1/auth/change-password", tok, string(body), nil)
	}},
	{"MFA disable with X-Auth-Confirm", pwEnableMFA, func(t *testing.T, env *clavistest.Env, tok, password string) secAnswer {
		return pwDo(t, "DELETE", env.URL+"/v1/auth/mfa", tok, "", map[string]string{"X-Auth-Confirm": password})
	}},
}

// TestPasswordChecksCountTowardLockout: wrong passwords at change-password and MFA disable count toward
// the login lockout and are audited; once locked, the right password there gets the wrong-password
// answer, and login is locked too.
func TestPasswordChecksCountTowardLockout(t *testing.T) {
	for _, pc := range pwChecks {
		t.Run(pc.name, func(t *testing.T) {
			env := clavistest.New(t)
			u := env.Signup(t)
			tok := bearer(t, env, u)
			if pc.setup != nil {
				pc.setup(t, env, tok)
			}
			var wrong secProblem
			for i := 1; i <= 5; i++ {
				ans := pc.check(t, env, tok, "Wrong-password-"+strconv.Itoa(i))
				p, _, err := secProblemOf(ans)
				if err != nil || ans.Status != http.StatusForbidden || (i > 1 && p != wrong) {
					t.Fatalf("wrong password %d: %d %s, want 403 like the first", i, ans.Status, ans.Body)
				}
				wrong = p
			}
			if ans := secLogin(t, env.URL, u.Email, u.Password); ans.Status != http.StatusUnauthorized {
				t.Errorf("login with the right password after 5 wrong ones at %s: %d, want 401 (locked)", pc.name, ans.Status)
			}
			ans := pc.check(t, env, tok, u.Password)
			if p, extra, err := secProblemOf(ans); err != nil || p != wrong || len(extra) > 0 || ans.Header.Get("Retry-After") != "" {
				t.Errorf("right password while locked: %d %s, want exactly the wrong-password answer %+v", ans.Status, ans.Body, wrong)
			}
			c := env.Client().WithToken(tok)
			fails, err := c.ListAudit(ctx, clavis.AuditQuery{Action: "auth.failure", ResourceID: u.ID})
			if err != nil {
				t.Fatal(err)
			}
			reasons := map[string]int{}
			for _, e := range fails {
				if e.Details["method"] == "password" {
					reasons[e.Details["reason"].(string)]++
				}
			}
			if reasons["wrong_password"] != 5 || reasons["locked"] < 2 {
				t.Errorf("auth.failure reasons of password checks = %v, want 5 wrong_password and 2 locked", reasons)
			}
			if evs, err := c.ListAudit(ctx, clavis.AuditQuery{Action: "auth.lockout"}); err != nil || len(evs) != 1 || evs[0].ResourceID != u.ID {
				t.Errorf("auth.lockout events: %+v, %v; want exactly one for the user", evs, err)
			}
		})
	}
}

// TestLoginLockoutRefusesPasswordChecks: an account locked by failed logins refuses the right password at
// change-password and MFA disable with their wrong-password answer, and changes nothing.
func TestLoginLockoutRefusesPasswordChecks(t *testing.T) {
	for _, pc := range pwChecks {
		t.Run(pc.name, func(t *testing.T) {
			env := clavistest.New(t)
			u := env.Signup(t)
			tok := bearer(t, env, u)
			if pc.setup != nil {
				pc.setup(t, env, tok)
			}
			wrong := pc.check(t, env, tok, "Wrong-password-0") // one failure of this kind, then 4 logins
			wantP, _, _ := secProblemOf(wrong)
			for i := 1; i <= 4; i++ {
				secLogin(t, env.URL, u.Email, "Wrong-password-"+strconv.Itoa(i))
			}
			ans := pc.check(t, env, tok, u.Password)
			if p, _, err := secProblemOf(ans); err != nil || p != wantP {
				t.Errorf("right password while locked: %d %s, want the wrong-password answer %d %+v", ans.Status, ans.Body, wrong.Status, wantP)
			}
			me, err := env.Client().WithToken(tok).Me(ctx)
			if err != nil || (pc.setup != nil && !pwMFAEnabled(t, env, tok)) {
				t.Errorf("the refused check changed the account: %+v, %v", me, err)
			}
		})
	}
}

// TestPasswordCheckRoutesAreRateLimited: the routes that check a password have the login routes'
// per-IP bucket (spec §6.2: 30, 10/s).
func TestPasswordCheckRoutesAreRateLimited(t *testing.T) {
	env := clavistest.New(t, clavistest.Options{RateLimits: true})
	u := env.Signup(t)
	tok := bearer(t, env, u)
	for _, r := range []struct{ method, path, body string }{
		{"POST", "/v1/auth/change-password", `{"current_password":"x","new_password":"short"}`}, // 400 past the limit
		{"DELETE", "/v1/auth/mfa", `{}`}, // 400 past the limit
	} {
		t.Run(r.method+" "+r.path, func(t *testing.T) {
			var mu sync.Mutex
			counts := map[int]int{}
			var retry string
			var wg sync.WaitGroup
			for range 100 {
				wg.Go(func() {
					ans := secDo(t, r.method, env.URL+r.path, tok, r.body)
					mu.Lock()
					defer mu.Unlock()
					counts[ans.Status]++
					if ans.Status == http.StatusTooManyRequests {
						retry = ans.Header.Get("Retry-After")
					}
				})
			}
			wg.Wait()
			if counts[http.StatusTooManyRequests] == 0 || counts[http.StatusBadRequest]+counts[http.StatusTooManyRequests] != 100 {
				t.Errorf("100 concurrent requests: %v, want the per-IP limit to answer some with 429", counts)
			}
			if n, err := strconv.Atoi(retry); counts[http.StatusTooManyRequests] > 0 && (err != nil || n < 1) {
				t.Errorf("429 with Retry-After %q, want integer seconds ≥ 1", retry)
			}
		})
	}
}

// TestMFADisableCodesThrottled: codes given to MFA disable are limited per user (5, then one a minute)
// and wrong ones are audited, so that a stolen token or key cannot guess the 6-digit TOTP code.
func TestMFADisableCodesThrottled(t *testing.T) {
	env := clavistest.New(t)
	u := env.Signup(t)
	tok := bearer(t, env, u)
	pwEnableMFA(t, env, tok)
	for i := 1; i <= 5; i++ {
		if ans := pwDo(t, "DELETE", env.URL+"/v1/auth/mfa", tok, `{"code":"00000`+strconv.Itoa(i)+`"}`, nil); ans.Status != http.StatusForbidden {
			t.Fatalf("wrong code %d: %d %s, want 403", i, ans.Status, ans.Body)
		}
	}
	ans := pwDo(t, "DELETE", env.URL+"/v1/auth/mfa", tok, `{"code":"000006"}`, nil)
	if n, err := strconv.Atoi(ans.Header.Get("Retry-After")); ans.Status != http.StatusTooManyRequests || err != nil || n < 1 {
		t.Errorf("6th code within a minute: %d Retry-After %q, want 429 with integer seconds ≥ 1", ans.Status, ans.Header.Get("Retry-After"))
	}
	if !pwMFAEnabled(t, env, tok) {
		t.Errorf("MFA was disabled by wrong codes")
	}
	if ans := secLogin(t, env.URL, u.Email, u.Password); ans.Status != http.StatusOK {
		t.Errorf("login after wrong MFA codes: %d, want 200 (codes do not count toward the lockout)", ans.Status)
	}
	fails, err := env.Client().WithToken(tok).ListAudit(ctx, clavis.AuditQuery{Action: "auth.failure", ResourceID: u.ID})
	n := 0
	for _, e := range fails {
		if e.Details["method"] == "mfa" && e.Details["reason"] == "wrong_code" {
			n++
		}
	}
	if err != nil || n != 5 {
		t.Errorf("auth.failure wrong_code events = %d (%v), want 5", n, err)
	}
}

// pwDo is secDo with extra request headers.
func pwDo(t *testing.T, method, url, bearer, body string, hdr map[string]string) secAnswer {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+bearer)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	res, err := secHTTP.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return secAnswer{Status: res.StatusCode, Header: res.Header, Body: b}
}

// pwEnableMFA turns TOTP on for the user of tok.
func pwEnableMFA(t *testing.T, env *clavistest.Env, tok string) {
	t.Helper()
	ans := pwDo(t, "POST", env.URL+"/v1/auth/mfa/setup", tok, "", nil)
	var setup struct{ Secret string }
	if err := json.Unmarshal(ans.Body, &setup); err != nil || ans.Status != http.StatusOK {
		t.Fatalf("mfa setup: %d %s", ans.Status, ans.Body)
	}
	key, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(setup.Secret)
	if err != nil {
		t.Fatal(err)
	}
	code := totp.Code(key, time.Now().Unix()/totp.Period)
	if ans := pwDo(t, "POST", env.URL+"/v1/auth/mfa/verify-setup", tok, `{"code":"`+code+`"}`, nil); ans.Status != http.StatusOK {
		t.Fatalf("mfa verify-setup: %d %s", ans.Status, ans.Body)
	}
}

func pwMFAEnabled(t *testing.T, env *clavistest.Env, tok string) bool {
	t.Helper()
	ans := pwDo(t, "GET", env.URL+"/v1/auth/mfa/status", tok, "", nil)
	var st struct{ Enabled bool }
	if err := json.Unmarshal(ans.Body, &st); err != nil || ans.Status != http.StatusOK {
		t.Fatalf("mfa status: %d %s", ans.Status, ans.Body)
	}
	return st.Enabled
}
