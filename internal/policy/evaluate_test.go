package policy

import (
	"net/netip"
	"testing"
	"time"

	"clavis.dev/clavis"
)

var (
	evalNow = time.Date(2026, time.March, 2, 12, 0, 0, 0, time.UTC) // a Monday, midday UTC
	evalIP  = netip.MustParseAddr("10.1.2.3")
)

// rule is a terse Rule constructor for tables: allow, priority 0, no expiry, no conditions.
func rule(id, pattern string, perms ...clavis.Permission) Rule {
	return Rule{ID: id, Pattern: pattern, Permissions: perms}
}

func (r Rule) deny() Rule                  { r.Effect = clavis.EffectDeny; return r }
func (r Rule) effect(e clavis.Effect) Rule { r.Effect = e; return r }
func (r Rule) prio(p int) Rule             { r.Priority = p; return r }
func (r Rule) approval() Rule              { r.RequireApproval = true; return r }
func (r Rule) expires(at time.Time) Rule   { r.ExpiresAt = &at; return r }
func (r Rule) when(c *Conditions) Rule     { r.Conditions = c; return r }

func TestEvaluate(t *testing.T) {
	fromHere := mustConditions(t, `{"ip_allowlist":["10.0.0.0/8"]}`)
	fromElsewhere := mustConditions(t, `{"ip_allowlist":["192.0.2.0/24"]}`)
	nightOnly := mustConditions(t, `{"time_window":{"after":"22:00","before":"06:00"}}`)
	const (
		read, write, del, rotate, share, use = clavis.PermRead, clavis.PermWrite, clavis.PermDelete, clavis.PermRotate, clavis.PermShare, clavis.PermUse
	)
	allowed := func(id string) Decision { return Decision{Allowed: true, Reason: ReasonPolicyAllow, PolicyID: id} }
	denied := func(id string) Decision { return Decision{Reason: ReasonPolicyDeny, PolicyID: id} }
	approval := func(id string) Decision { return Decision{Reason: ReasonApprovalRequired, PolicyID: id} }
	noMatch := Decision{Reason: ReasonNoMatchingPolicy}
	outside := Decision{Reason: ReasonOutsideScopes}
	owner := Decision{Allowed: true, Reason: ReasonOwner}

	tests := []struct {
		name   string
		path   string
		perm   clavis.Permission
		scopes []string
		owner  bool
		rules  []Rule
		want   Decision
	}{
		// §3.3 step 2: the scope ceiling comes first, even for owners.
		{"outside scopes", "db/x", read, []string{"api-keys/**"}, false, []Rule{rule("a", "**", read)}, outside},
		{"outside scopes beats owner", "db/x", read, []string{"api-keys/**"}, true, nil, outside},
		{"inside one of the scopes", "db/x", read, []string{"api-keys/**", "db/*"}, false, []Rule{rule("a", "**", read)}, allowed("a")},
		{"a scope grants nothing by itself", "db/x", read, []string{"db/**"}, false, nil, noMatch},
		{"labels are no ceiling", "db/x", read, []string{"vaults:read"}, false, []Rule{rule("a", "**", read)}, allowed("a")},
		{"labels beside a path scope are ignored", "db/x", read, []string{"vaults:read", "api-keys/**"}, false, []Rule{rule("a", "**", read)}, outside},
		// step 3: owners and owner-equivalents have every permission.
		{"owner", "any/path", write, nil, true, nil, owner},
		{"owner despite a deny", "any/path", share, nil, true, []Rule{rule("d", "**", share).deny().prio(1000)}, owner},
		{"owner inside scopes", "mine/k", del, []string{"mine/**"}, true, nil, owner},
		// step 5: no candidates.
		{"no policies", "k", read, nil, false, nil, noMatch},
		{"pattern does not match", "db/x", read, nil, false, []Rule{rule("a", "app/**", read)}, noMatch},
		{"permission not listed", "app/key", write, nil, false, []Rule{rule("a", "app/**", read)}, noMatch},
		{"no permission asked", "app/key", "", nil, false, []Rule{rule("a", "app/**", read)}, noMatch},
		{"unknown permission asked", "app/key", "admin", nil, false, []Rule{rule("a", "**", read, write, del, rotate, share)}, noMatch},
		// step 6: a single allow.
		{"allow", "app/key", read, nil, false, []Rule{rule("a", "app/**", read)}, allowed("a")},
		{"effect allow spelled out", "app/key", read, nil, false, []Rule{rule("a", "app/**", read).effect(clavis.EffectAllow)}, allowed("a")},
		// §3.2 implications, for allow rules
		{"write allows delete", "k", del, nil, false, []Rule{rule("w", "**", write)}, allowed("w")},
		{"write allows rotate", "k", rotate, nil, false, []Rule{rule("w", "**", write)}, allowed("w")},
		{"write does not allow read", "k", read, nil, false, []Rule{rule("w", "**", write)}, noMatch},
		{"write does not allow share", "k", share, nil, false, []Rule{rule("w", "**", write)}, noMatch},
		{"delete does not allow write", "k", write, nil, false, []Rule{rule("d", "**", read, del)}, noMatch},
		// ... and for deny rules: a deny listing write also denies delete and rotate
		{"deny write denies write", "k", write, nil, false, []Rule{rule("a", "**", read, write, del, rotate), rule("d", "**", write).deny()}, denied("d")},
		{"deny write denies delete", "k", del, nil, false, []Rule{rule("a", "**", read, write, del, rotate), rule("d", "**", write).deny()}, denied("d")},
		{"deny write denies rotate", "k", rotate, nil, false, []Rule{rule("a", "**", read, write, del, rotate), rule("d", "**", write).deny()}, denied("d")},
		{"deny write leaves read", "k", read, nil, false, []Rule{rule("a", "**", read, write, del, rotate), rule("d", "**", write).deny()}, allowed("a")},
		// use.md §1: read implies use, and a deny of read denies use; use never gives read
		{"read allows use", "k", use, nil, false, []Rule{rule("a", "**", read)}, allowed("a")},
		{"use does not allow read", "k", read, nil, false, []Rule{rule("a", "**", use)}, noMatch},
		{"deny read denies use", "k", use, nil, false, []Rule{rule("a", "**", use), rule("d", "**", read).deny()}, denied("d")},
		{"deny use leaves read", "k", read, nil, false, []Rule{rule("a", "**", read), rule("d", "**", use).deny()}, allowed("a")},
		{"use needs approval like read", "k", use, nil, false, []Rule{rule("a", "**", use).approval()}, approval("a")},
		{"use outside scopes", "x/k", use, []string{"app/**"}, false, []Rule{rule("a", "**", use)}, outside},
		{"use under conditions", "k", use, nil, false, []Rule{rule("a", "**", use).when(fromElsewhere)}, noMatch},
		{"deny delete leaves write", "k", write, nil, false, []Rule{rule("a", "**", write), rule("d", "**", del).deny()}, allowed("a")},
		// §3.5 examples
		{"deny wins at equal priority", "prod/db", read, nil, false, []Rule{rule("a", "**", read), rule("d", "prod/**", read).deny()}, denied("d")},
		{"deny elsewhere does not matter", "app/key", read, nil, false, []Rule{rule("a", "**", read), rule("d", "prod/**", read).deny()}, allowed("a")},
		{"higher priority allow beats deny", "prod/db", read, nil, false,
			[]Rule{rule("a", "prod/db", read).prio(10), rule("a2", "prod/**", read), rule("d", "prod/**", read).deny().prio(5)}, allowed("a")},
		{"the lower deny still applies where the high allow does not", "prod/other", read, nil, false,
			[]Rule{rule("a", "prod/db", read).prio(10), rule("a2", "prod/**", read), rule("d", "prod/**", read).deny().prio(5)}, denied("d")},
		{"raising the deny flips it", "prod/db", read, nil, false,
			[]Rule{rule("a", "prod/db", read).prio(1), rule("d", "prod/**", read).deny().prio(5)}, denied("d")},
		{"priority order does not depend on rule order", "prod/db", read, nil, false,
			[]Rule{rule("d", "prod/**", read).deny().prio(5), rule("a", "prod/db", read).prio(10)}, allowed("a")},
		{"priority 1000 deny", "k", read, nil, false, []Rule{rule("a", "**", read).prio(999), rule("d", "**", read).deny().prio(1000)}, denied("d")},
		// ties
		{"two denies at the top: the oldest decides", "k", read, nil, false,
			[]Rule{rule("a", "**", read).prio(3), rule("d1", "k", read).deny().prio(3), rule("d2", "**", read).deny().prio(3)}, denied("d1")},
		{"an older deny below the top does not decide", "k", read, nil, false,
			[]Rule{rule("d0", "**", read).deny(), rule("d1", "k", read).deny().prio(3), rule("d2", "**", read).deny().prio(3)}, denied("d1")},
		{"two allows at the top: the oldest decides", "k", read, nil, false,
			[]Rule{rule("a1", "**", read), rule("a2", "k", read)}, allowed("a1")},
		{"the oldest allow at the top, not the oldest overall", "k", read, nil, false,
			[]Rule{rule("a0", "**", read), rule("a1", "**", read).prio(2), rule("a2", "k", read).prio(2)}, allowed("a1")},
		// step 7: approval follows the deciding allow only.
		{"approval required", "k", read, nil, false, []Rule{rule("a", "**", read).approval()}, approval("a")},
		{"oldest allow requires approval, a newer one does not", "k", read, nil, false,
			[]Rule{rule("a1", "**", read).approval(), rule("a2", "**", read)}, approval("a1")},
		{"oldest allow needs no approval, a newer one does", "k", read, nil, false,
			[]Rule{rule("a1", "**", read), rule("a2", "**", read).approval()}, allowed("a1")},
		{"a higher allow without approval decides", "k", read, nil, false,
			[]Rule{rule("a1", "**", read).approval(), rule("a2", "**", read).prio(1)}, allowed("a2")},
		{"deny beats an approval allow", "k", read, nil, false,
			[]Rule{rule("a", "**", read).approval(), rule("d", "**", read).deny()}, denied("d")},
		// expiry: a rule is ignored from ExpiresAt on
		{"expired allow", "k", read, nil, false, []Rule{rule("a", "**", read).expires(evalNow.Add(-time.Second))}, noMatch},
		{"allow expiring right now", "k", read, nil, false, []Rule{rule("a", "**", read).expires(evalNow)}, noMatch},
		{"allow expiring later", "k", read, nil, false, []Rule{rule("a", "**", read).expires(evalNow.Add(time.Nanosecond))}, allowed("a")},
		{"expired deny", "k", read, nil, false, []Rule{rule("a", "**", read), rule("d", "**", read).deny().expires(evalNow.Add(-time.Hour))}, allowed("a")},
		{"expired high allow does not hide a deny", "k", read, nil, false,
			[]Rule{rule("a", "**", read).prio(10).expires(evalNow), rule("d", "**", read).deny()}, denied("d")},
		{"expired high deny does not hide an allow", "k", read, nil, false,
			[]Rule{rule("d", "**", read).deny().prio(10).expires(evalNow), rule("a", "**", read)}, allowed("a")},
		// conditions, for allow and deny rules
		{"allow whose conditions hold", "k", read, nil, false, []Rule{rule("a", "**", read).when(fromHere)}, allowed("a")},
		{"allow whose conditions fail", "k", read, nil, false, []Rule{rule("a", "**", read).when(fromElsewhere)}, noMatch},
		{"allow outside its time window", "k", read, nil, false, []Rule{rule("a", "**", read).when(nightOnly)}, noMatch},
		{"deny whose conditions hold", "k", read, nil, false, []Rule{rule("a", "**", read), rule("d", "**", read).deny().when(fromHere)}, denied("d")},
		{"deny whose conditions fail does not apply", "k", read, nil, false,
			[]Rule{rule("a", "**", read), rule("d", "**", read).deny().when(fromElsewhere)}, allowed("a")},
		{"high deny whose conditions fail does not hide a lower deny", "k", read, nil, false,
			[]Rule{rule("a", "**", read), rule("d1", "**", read).deny().prio(9).when(nightOnly), rule("d2", "**", read).deny()}, denied("d2")},
		// effects other than allow fail closed
		{"unknown effect counts as deny", "k", read, nil, false, []Rule{rule("a", "**", read), rule("x", "**", read).effect("maybe")}, denied("x")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := Input{Path: tt.path, Permission: tt.perm, ClientIP: evalIP, Now: evalNow, Scopes: tt.scopes, Owner: tt.owner, Rules: tt.rules}
			if got := Evaluate(in); got != tt.want {
				t.Fatalf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestEvaluateDoesNotAllocate(t *testing.T) {
	in := benchInput(100)
	got := testing.AllocsPerRun(100, func() { Evaluate(in) })
	if got != 0 {
		t.Fatalf("Evaluate allocations: got %v, want 0", got)
	}
}
