package clavistest_test

import (
	"math"
	"net/http"
	"strconv"
	"sync"
	"testing"
	"time"

	"clavis.dev/clavis"
	"clavis.dev/clavis/internal/clavistest"
)

// TestLoginBurstShareOf429 floods POST /v1/auth/token from one address with wrong passwords: two waves
// of 100 concurrent requests, the second right after the first. The bucket (spec §6.2: 30, 10/s) lets
// 30 + 10/s × elapsed through at most; every request beyond that must be answered 429 with an integer
// Retry-After ≥ 1, and every other answer is the wrong-password 401.
func TestLoginBurstShareOf429(t *testing.T) {
	const (
		burst = 30
		rate  = 10.0 // tokens per second
		wave  = 100
	)
	env := clavistest.New(t, clavistest.Options{RateLimits: true})
	u := env.Signup(t)

	var mu sync.Mutex
	counts := map[int]int{}
	var badRetry []string
	send := func() {
		var wg sync.WaitGroup
		for range wave {
			wg.Add(1)
			go func() {
				defer wg.Done()
				ans := secLogin(t, env.URL, u.Email, "Wrong-password-"+clavistest.RandHex(4))
				mu.Lock()
				defer mu.Unlock()
				counts[ans.Status]++
				if ans.Status == http.StatusTooManyRequests {
					ra := ans.Header.Get("Retry-After")
					if n, err := strconv.Atoi(ra); err != nil || n < 1 {
						badRetry = append(badRetry, strconv.Quote(ra))
					}
					if p, _, err := secProblemOf(ans); err != nil || p.Status != http.StatusTooManyRequests {
						badRetry = append(badRetry, "body "+string(ans.Body))
					}
				}
			}()
		}
		wg.Wait()
	}
	start := time.Now()
	send()
	send()
	elapsed := time.Since(start)

	total := 2 * wave
	allowance := burst + int(math.Floor(rate*elapsed.Seconds()))
	overLimit := max(total-allowance, 0)
	got429, got401 := counts[http.StatusTooManyRequests], counts[http.StatusUnauthorized]
	// The allowance is an upper bound (the refill is counted over the whole elapsed time, client side
	// included), so a limiter may refuse a little more than total − allowance; those extra 429s fall
	// within the allowance and are not counted as over-limit answers.
	over429 := min(got429, overLimit)
	share := 100.0
	if overLimit > 0 {
		share = 100 * float64(over429) / float64(overLimit)
	}
	t.Logf("burst: %d of %d over-limit requests answered 429 (%.0f%%)", over429, overLimit, share)
	t.Logf("burst detail: %d requests in %v, allowance %d, answers %v", total, elapsed.Round(time.Millisecond), allowance, counts)

	if got401+got429 != total {
		t.Errorf("answers %v, want only 401 and 429", counts)
	}
	if got401 > allowance {
		t.Errorf("%d requests got through, want at most the allowance %d (burst %d + %.0f/s × %v)", got401, allowance, burst, rate, elapsed)
	}
	if got401 < burst {
		t.Errorf("%d requests got through, want at least the burst of %d", got401, burst)
	}
	if len(badRetry) > 0 {
		t.Errorf("429 answers without an integer Retry-After ≥ 1 or a 429 problem: %v", badRetry)
	}
}

// TestLockout: 5 consecutive wrong passwords lock the account for 15 minutes; while locked, the right
// password gets exactly the wrong-password answer; tokens and API keys issued before keep working; a
// successful login resets the counter (spec §6.3).
func TestLockout(t *testing.T) {
	t.Run("locks after 5", func(t *testing.T) {
		env := clavistest.New(t)
		u := env.Signup(t)
		tok := bearer(t, env, u)
		_, key, err := u.C.CreateAPIKey(ctx, clavis.APIKeyInput{Name: "before-lockout"})
		if err != nil {
			t.Fatal(err)
		}
		unknown := secLogin(t, env.URL, "nobody-"+clavistest.RandHex(4)+"@example.com", "Wrong-password-123")
		wantP, _, err := secProblemOf(unknown)
		if err != nil || unknown.Status != http.StatusUnauthorized {
			t.Fatalf("unknown email: %d %s", unknown.Status, unknown.Body)
		}
		for i := 1; i <= 5; i++ {
			ans := secLogin(t, env.URL, u.Email, "Wrong-password-"+strconv.Itoa(i))
			if p, _, err := secProblemOf(ans); err != nil || p != wantP {
				t.Fatalf("wrong password %d: %d %s, want the unknown-email answer %+v", i, ans.Status, ans.Body, wantP)
			}
		}
		cases := []struct{ name, email, password string }{
			{"right password while locked", u.Email, u.Password},
			{"wrong password while locked", u.Email, "Wrong-password-6"},
		}
		for _, c := range cases {
			ans := secLogin(t, env.URL, c.email, c.password)
			p, extra, err := secProblemOf(ans)
			if err != nil || p != wantP || len(extra) > 0 {
				t.Errorf("%s: got %d %s, want exactly %+v", c.name, ans.Status, ans.Body, wantP)
			}
		}
		if me, err := env.Client().WithToken(tok).Me(ctx); err != nil || me.ID != u.ID {
			t.Errorf("token issued before the lockout: %v, want it to keep working", err)
		}
		if me, err := env.Client().WithToken(string(key)).Me(ctx); err != nil || me.ID != u.ID {
			t.Errorf("API key created before the lockout: %v, want it to keep working", err)
		}
		if _, err := env.Client().APIKeyToken(ctx, string(key)); err != nil {
			t.Errorf("API key exchange while locked: %v, want it to keep working", err)
		}
		evs, err := env.Client().WithToken(tok).ListAudit(ctx, clavis.AuditQuery{Action: "auth.lockout"})
		if err != nil || len(evs) != 1 || evs[0].ResourceID != u.ID {
			t.Errorf("auth.lockout events: %+v, %v; want exactly one for the user", evs, err)
		}
	})
	t.Run("success resets the counter", func(t *testing.T) {
		env := clavistest.New(t)
		u := env.Signup(t)
		for round := range 2 {
			for i := range 4 {
				if ans := secLogin(t, env.URL, u.Email, "Wrong-password-"+strconv.Itoa(i)); ans.Status != http.StatusUnauthorized {
					t.Fatalf("round %d, wrong password %d: %d", round, i, ans.Status)
				}
			}
			if ans := secLogin(t, env.URL, u.Email, u.Password); ans.Status != http.StatusOK {
				t.Fatalf("round %d: right password after 4 failures = %d %s, want 200", round, ans.Status, ans.Body)
			}
		}
	})
}
