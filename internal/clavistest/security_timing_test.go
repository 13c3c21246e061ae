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
	nobody := "nobody-" + clavistest.RandHex(4) + "@example.com"
	var known, unknown []time.Duration
	// Alternate the two kinds of attempt, so that load on the machine affects both alike.
	for range 21 {
		for _, x := range []struct {
			email string
			into  *[]time.Duration
		}{{u.Email, &known}, {nobody, &unknown}} {
			start := time.Now()
			_, err := c.Login(ctx, x.email, "Wrong-password-"+clavistest.RandHex(3))
			*x.into = append(*x.into, time.Since(start))
			if kindOf(err) != clavis.KindUnauthorized {
				t.Fatalf("login: %v, want 401", err)
			}
		}
	}
	median := func(ds []time.Duration) time.Duration { slices.Sort(ds); return ds[len(ds)/2] }
	known1, unknown1 := median(known), median(unknown)
	ratio := float64(known1) / float64(unknown1)
	t.Logf("login medians: existing account %v, unknown email %v (ratio %.2f)", known1, unknown1, ratio)
	if ratio < 0.67 || ratio > 1.5 {
		t.Fatalf("existing and unknown emails answer in %v vs %v: an attacker can tell accounts apart", known1, unknown1)
	}
}
