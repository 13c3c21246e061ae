package clavistest_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"clavis.dev/clavis/internal/clavistest"
)

// TestEnrollAnswerDoesNotRevealAccounts: an enrolment addressed to a user's email and one addressed to
// an unknown email get the same answer — status, header names and values (but the request id and the
// date), body keys and every value but the ids, secret and times — in the same time class (spec §4.8).
func TestEnrollAnswerDoesNotRevealAccounts(t *testing.T) {
	env := clavistest.New(t)
	enroll := func(email string) (*http.Response, map[string]any, time.Duration) {
		t.Helper()
		body := `{"name":"bot","human_email":"` + email + `","description":"d"}`
		start := time.Now()
		res, err := http.Post(env.URL+"/v1/agents/enroll", "application/json", strings.NewReader(body))
		took := time.Since(start)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		raw, _ := io.ReadAll(res.Body)
		var m map[string]any
		if err := json.NewDecoder(bytes.NewReader(raw)).Decode(&m); err != nil {
			t.Fatalf("%d %s", res.StatusCode, raw)
		}
		return res, m, took
	}
	// ids, secrets and times differ from answer to answer; everything else must not.
	variable := regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|"enrollment_secret":"[^"]*"|"expires_at":"[^"]*"`)
	shape := func(res *http.Response, m map[string]any) string {
		h := res.Header.Clone()
		h.Del("X-Request-Id")
		h.Del("Date")
		b, _ := json.Marshal(m)
		hb, _ := json.Marshal(h)
		return res.Status + " " + string(hb) + " " + variable.ReplaceAllString(string(b), "<v>")
	}
	var known, unknown []time.Duration
	var want string
	for i := range 15 {
		u := env.Signup(t)
		nobody := "nobody-" + clavistest.RandHex(6) + "@example.com"
		// Alternate which goes first, so that load on the machine affects both alike.
		order := []string{u.Email, nobody}
		if i%2 == 1 {
			order = []string{nobody, u.Email}
		}
		for _, email := range order {
			res, m, took := enroll(email)
			if res.StatusCode != 201 {
				t.Fatalf("enroll %s: %d %v", email, res.StatusCode, m)
			}
			got := shape(res, m)
			if want == "" {
				want = got
			}
			if got != want {
				t.Fatalf("enrolment answers differ:\n%s\n%s", want, got)
			}
			if email == u.Email {
				known = append(known, took)
			} else {
				unknown = append(unknown, took)
			}
		}
	}
	median := func(ds []time.Duration) time.Duration { slices.Sort(ds); return ds[len(ds)/2] }
	k, n := median(known), median(unknown)
	t.Logf("enrolment medians: known email %v, unknown email %v", k, n)
	// Same time class: neither kind is consistently slower by more than the noise of a loaded machine.
	if diff := k - n; diff > 20*time.Millisecond+n || -diff > 20*time.Millisecond+k {
		t.Fatalf("known and unknown emails answer in %v vs %v: an attacker can tell accounts apart", k, n)
	}
}

// TestEnrollCooldownIsPerEmail: a second enrolment for one email (in any case) within the cooldown is
// 429 with the remaining cooldown, for known and unknown emails alike; another email is not affected.
func TestEnrollCooldownIsPerEmail(t *testing.T) {
	env := clavistest.New(t)
	post := func(email string) *http.Response {
		t.Helper()
		res, err := http.Post(env.URL+"/v1/agents/enroll", "application/json",
			strings.NewReader(`{"name":"bot","human_email":"`+email+`"}`))
		if err != nil {
			t.Fatal(err)
		}
		_ = res.Body.Close()
		return res
	}
	u := env.Signup(t)
	for _, email := range []string{u.Email, "nobody-" + clavistest.RandHex(6) + "@example.com"} {
		if res := post(email); res.StatusCode != 201 {
			t.Fatalf("first enrolment for %s: %d", email, res.StatusCode)
		}
		res := post(strings.ToUpper(email))
		if res.StatusCode != 429 || res.Header.Get("Retry-After") == "" {
			t.Fatalf("second enrolment for %s: %d Retry-After %q, want 429 with the cooldown left", email, res.StatusCode, res.Header.Get("Retry-After"))
		}
	}
}
