package policy

import (
	"encoding/json"
	"strconv"
	"testing"
	"time"

	"clavis.dev/clavis"
)

// benchInput is a read of "team-<n-1>/prod/key" by a principal holding n policies: n-1 that never apply
// (other teams, a few with conditions or expiry) and, newest, the allow that decides — so every rule is
// looked at.
func benchInput(n int) Input {
	cond, err := ParseConditions(json.RawMessage(
		`{"ip_allowlist":["10.0.0.0/8"],"time_window":{"after":"08:00","before":"20:00","timezone":"Europe/Berlin"}}`))
	if err != nil {
		panic(err)
	}
	past := evalNow.Add(-time.Hour)
	rules := make([]Rule, 0, n)
	for i := range n - 1 {
		r := Rule{ID: "p" + strconv.Itoa(i), Pattern: "team-" + strconv.Itoa(i) + "/**",
			Permissions: []clavis.Permission{clavis.PermRead, clavis.PermWrite}}
		switch i % 4 {
		case 1:
			r.Pattern = "team-" + strconv.Itoa(i) + "/*/key"
			r.Conditions = cond
		case 2:
			r.Pattern = "**/team-" + strconv.Itoa(i)
			r.Effect = clavis.EffectDeny
		case 3:
			r.ExpiresAt = &past
		}
		rules = append(rules, r)
	}
	last := "team-" + strconv.Itoa(n-1)
	rules = append(rules, Rule{ID: "deciding", Pattern: last + "/**", Permissions: []clavis.Permission{clavis.PermRead}, Conditions: cond})
	return Input{Path: last + "/prod/key", Permission: clavis.PermRead, ClientIP: evalIP, Now: evalNow,
		Scopes: []string{"vaults:read", "**"}, Rules: rules}
}

func BenchmarkEvaluate(b *testing.B) {
	for _, n := range []int{1, 10, 1000} {
		in := benchInput(n)
		if d := Evaluate(in); !d.Allowed || d.PolicyID != "deciding" {
			b.Fatalf("benchmark input with %d rules: got %+v", n, d)
		}
		b.Run("rules="+strconv.Itoa(n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				Evaluate(in)
			}
		})
	}
}
