package policy

import (
	"encoding/json"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"clavis.dev/clavis"
)

// The fuzz universe: small enough that random rules often match, overlap and tie.
var (
	fuzzPatterns = []string{"**", "*", "a/**", "a/*", "**/b", "a/b", "a/*/c", "b", "x/**", "**/a/**"}
	fuzzPaths    = []string{"a", "a/b", "a/b/c", "b", "x/y", "a/x/c", "c/a/b"}
	fuzzPerms    = []clavis.Permission{clavis.PermRead, clavis.PermWrite, clavis.PermDelete, clavis.PermRotate,
		clavis.PermShare, "", "bogus"}
	fuzzScopes = [][]string{nil, {"vaults:read"}, {"a/**"}, {"**/b", "x:y"}, {"*"}}
	fuzzIPs    = []netip.Addr{{}, netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("::ffff:10.9.9.9"),
		netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("2001:db8::1")}
)

func fuzzConditions(t testing.TB) []*Conditions {
	var out []*Conditions
	for _, raw := range []string{
		`{}`,
		`{"ip_allowlist":["10.0.0.0/8"]}`,
		`{"ip_allowlist":["2001:db8::/32","192.0.2.1"]}`,
		`{"time_window":{"after":"08:00","before":"20:00"}}`,
		`{"time_window":{"start_hour":22,"end_hour":6,"days_of_week":[1,3,5],"timezone":"Asia/Tokyo"}}`,
	} {
		c, err := ParseConditions(json.RawMessage(raw))
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, c)
	}
	return out
}

// fuzzRules turns every 4 bytes of spec into a rule:
//
//	b0: pattern; b1: permission bits (5) | deny (bit 5) | require_approval (bit 6);
//	b2: priority (b2 % 4, so ties are common; 1000 when b2 == 255);
//	b3: expiry (b3 % 4: none, past, exactly now, future) and conditions (b3 / 4).
func fuzzRules(spec []byte, now time.Time, conds []*Conditions) []Rule {
	var rules []Rule
	for i := 0; i+4 <= len(spec) && len(rules) < 64; i += 4 {
		b0, b1, b2, b3 := spec[i], spec[i+1], spec[i+2], spec[i+3]
		r := Rule{ID: "r" + strconv.Itoa(len(rules)), Pattern: fuzzPatterns[int(b0)%len(fuzzPatterns)]}
		for j, p := range clavis.Permissions() {
			if b1&(1<<j) != 0 {
				r.Permissions = append(r.Permissions, p)
			}
		}
		if b1&(1<<5) != 0 {
			r.Effect = clavis.EffectDeny
		} else if b1&(1<<7) != 0 {
			r.Effect = clavis.EffectAllow
		}
		r.RequireApproval = b1&(1<<6) != 0
		r.Priority = int(b2 % 4)
		if b2 == 255 {
			r.Priority = 1000
		}
		var exp time.Time
		switch b3 % 4 {
		case 1:
			exp = now.Add(-time.Minute)
		case 2:
			exp = now
		case 3:
			exp = now.Add(time.Minute)
		}
		if !exp.IsZero() {
			r.ExpiresAt = &exp
		}
		r.Conditions = conds[int(b3/4)%len(conds)]
		rules = append(rules, r)
	}
	return rules
}

// referenceEvaluate is §3.3 steps 2–7 written plainly, sharing no code with Evaluate.
func referenceEvaluate(in Input) Decision {
	var ceiling []string
	for _, s := range in.Scopes {
		if !strings.Contains(s, ":") {
			ceiling = append(ceiling, s)
		}
	}
	if len(ceiling) > 0 && !slices.ContainsFunc(ceiling, func(s string) bool { return referenceMatch(s, in.Path) }) {
		return Decision{Reason: ReasonOutsideScopes}
	}
	if in.Owner {
		return Decision{Allowed: true, Reason: ReasonOwner}
	}
	var candidates []Rule
	for _, r := range in.Rules {
		if r.ExpiresAt != nil && !r.ExpiresAt.After(in.Now) {
			continue
		}
		if !referenceMatch(r.Pattern, in.Path) {
			continue
		}
		need := in.Permission
		covered := slices.Contains(r.Permissions, need) ||
			(need == clavis.PermDelete || need == clavis.PermRotate) && slices.Contains(r.Permissions, clavis.PermWrite)
		if !covered || !r.Conditions.Holds(in.ClientIP, in.Now) {
			continue
		}
		candidates = append(candidates, r)
	}
	if len(candidates) == 0 {
		return Decision{Reason: ReasonNoMatchingPolicy}
	}
	m := candidates[0].Priority
	for _, c := range candidates {
		m = max(m, c.Priority)
	}
	for _, c := range candidates {
		if c.Priority == m && c.Effect == clavis.EffectDeny {
			return Decision{Reason: ReasonPolicyDeny, PolicyID: c.ID}
		}
	}
	for _, c := range candidates {
		if c.Priority == m {
			if c.RequireApproval {
				return Decision{Reason: ReasonApprovalRequired, PolicyID: c.ID}
			}
			return Decision{Allowed: true, Reason: ReasonPolicyAllow, PolicyID: c.ID}
		}
	}
	panic("unreachable: a candidate at the top priority exists")
}

func FuzzEvaluate(f *testing.F) {
	f.Add([]byte{}, uint8(0), uint8(0), uint8(0), false, uint16(720))
	f.Add([]byte{0, 1, 0, 0}, uint8(1), uint8(0), uint8(1), false, uint16(720))                 // allow ** read
	f.Add([]byte{0, 1, 0, 0, 2, 0x21, 0, 0}, uint8(1), uint8(0), uint8(1), false, uint16(720))  // + deny a/** read
	f.Add([]byte{5, 1, 3, 0, 2, 0x21, 1, 0}, uint8(1), uint8(0), uint8(1), false, uint16(720))  // allow 3 beats deny 1
	f.Add([]byte{0, 0x02, 0, 0, 0, 0x22, 0, 0}, uint8(2), uint8(2), uint8(0), false, uint16(0)) // deny write vs delete
	f.Add([]byte{0, 0x41, 0, 4, 0, 0x01, 0, 1}, uint8(0), uint8(0), uint8(1), false, uint16(600))
	f.Add([]byte{0, 0x21, 255, 2, 0, 1, 0, 3}, uint8(3), uint8(0), uint8(2), true, uint16(1439))
	f.Add([]byte{9, 0x1f, 1, 8, 3, 0x3f, 1, 12}, uint8(6), uint8(3), uint8(4), false, uint16(1380))
	conds := fuzzConditions(f)
	f.Fuzz(func(t *testing.T, spec []byte, pathIdx, permIdx, scopeIdx uint8, owner bool, minute uint16) {
		now := time.Date(2026, time.March, 2, 0, 0, 0, 0, time.UTC).Add(time.Duration(minute%(7*1440)) * time.Minute)
		in := Input{
			Path:       fuzzPaths[int(pathIdx)%len(fuzzPaths)],
			Permission: fuzzPerms[int(permIdx)%len(fuzzPerms)],
			ClientIP:   fuzzIPs[int(minute/7)%len(fuzzIPs)],
			Now:        now,
			Scopes:     fuzzScopes[int(scopeIdx)%len(fuzzScopes)],
			Owner:      owner,
			Rules:      fuzzRules(spec, now, conds),
		}
		got := Evaluate(in)

		// The decision is self-consistent.
		switch got.Reason {
		case ReasonOwner, ReasonPolicyAllow:
			if !got.Allowed {
				t.Fatalf("%+v: reason %s must allow", got, got.Reason)
			}
		case ReasonPolicyDeny, ReasonNoMatchingPolicy, ReasonOutsideScopes, ReasonApprovalRequired:
			if got.Allowed {
				t.Fatalf("%+v: reason %s must not allow", got, got.Reason)
			}
		default:
			t.Fatalf("%+v: unknown reason", got)
		}
		hasPolicy := got.Reason == ReasonPolicyAllow || got.Reason == ReasonPolicyDeny || got.Reason == ReasonApprovalRequired
		if hasPolicy != (got.PolicyID != "") {
			t.Fatalf("%+v: PolicyID must be set exactly for policy decisions", got)
		}

		// Allowed only for an owner or through an applicable allow rule.
		applicable := func(r Rule) bool {
			return (r.ExpiresAt == nil || in.Now.Before(*r.ExpiresAt)) && referenceMatch(r.Pattern, in.Path) &&
				Satisfies(r.Permissions, in.Permission) && r.Conditions.Holds(in.ClientIP, in.Now)
		}
		if got.Allowed && !in.Owner {
			i := slices.IndexFunc(in.Rules, func(r Rule) bool { return r.ID == got.PolicyID })
			if i < 0 || in.Rules[i].Effect == clavis.EffectDeny || !applicable(in.Rules[i]) {
				t.Fatalf("%+v: allowed without an applicable allow rule", got)
			}
		}

		// An applicable deny at a priority ≥ every applicable allow always denies (unless the ceiling already
		// did, or the caller is the owner).
		if !in.Owner && got.Reason != ReasonOutsideScopes {
			topAllow, topDeny := -1, -1
			for _, r := range in.Rules {
				if !applicable(r) {
					continue
				}
				if r.Effect == clavis.EffectDeny {
					topDeny = max(topDeny, r.Priority)
				} else {
					topAllow = max(topAllow, r.Priority)
				}
			}
			if topDeny >= 0 && topDeny >= topAllow && got.Reason != ReasonPolicyDeny {
				t.Fatalf("%+v: an applicable deny at priority %d ≥ %d must deny", got, topDeny, topAllow)
			}
		}

		// And it agrees with the plain reading of §3.3.
		if want := referenceEvaluate(in); got != want {
			t.Fatalf("Evaluate: got %+v, reference says %+v (input %+v)", got, want, in)
		}
	})
}
