package clavistest_test

import (
	"slices"
	"testing"
	"time"

	"clavis.dev/clavis"
	"clavis.dev/clavis/internal/clavistest"
)

// TestLoginTimingDoesNotRevealAccounts: a wrong password for an existing account and any password for
// an unknown email cost the same password hash, so their answer times are comparable (no enumeration by
// timing, spec §4.2).
func TestLoginTimingDoesNotRevealAccounts(t *testing.T) {
	if testing.Short() {
		t.Skip("times production-cost password hashing")
	}
	env := clavistest.New(t, clavistest.Options{ProductionHashing: true})
	u := env.Signup(t)
	c := env.Client()
	median := func(email string) time.Duration {
		var ds []time.Duration
		for range 15 {
			start := time.Now()
			_, err := c.Login(ctx, email, "Wrong-password-"+clavistest.RandHex(3))
			ds = append(ds, time.Since(start))
			if kindOf(err) != clavis.KindUnauthorized {
				t.Fatalf("login: %v, want 401", err)
			}
		}
		slices.Sort(ds)
		return ds[len(ds)/2]
	}
	known, unknown := median(u.Email), median("nobody-"+clavistest.RandHex(4)+"@example.com")
	ratio := float64(known) / float64(unknown)
	t.Logf("login medians: existing account %v, unknown email %v (ratio %.2f)", known, unknown, ratio)
	if ratio < 0.67 || ratio > 1.5 {
		t.Fatalf("existing and unknown emails answer in %v vs %v: an attacker can tell accounts apart", known, unknown)
	}
}
