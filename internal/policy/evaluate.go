package policy

import (
	"net/netip"
	"time"

	"clavis.dev/clavis"
)

// Reason says why Evaluate decided as it did; it is the `reason` of the explain endpoint (§4.9).
type Reason string

const (
	ReasonOwner            Reason = "owner"
	ReasonPolicyAllow      Reason = "policy_allow"
	ReasonPolicyDeny       Reason = "policy_deny"
	ReasonNoMatchingPolicy Reason = "no_matching_policy"
	ReasonOutsideScopes    Reason = "outside_scopes"
	ReasonApprovalRequired Reason = "approval_required"
)

// Rule is one policy as the evaluator sees it. Pattern is a valid glob (ValidatePattern) and Permissions
// come from ParsePermissions.
type Rule struct {
	ID              string
	Pattern         string
	Permissions     []clavis.Permission
	Effect          clavis.Effect // "" means allow; any value other than "", allow and deny counts as deny
	Priority        int
	RequireApproval bool
	ExpiresAt       *time.Time  // nil = never; the rule is ignored from this instant on
	Conditions      *Conditions // nil = none
}

// Input is one authorization question: may the principal do Permission on Path of a vault it can see?
type Input struct {
	Path       string
	Permission clavis.Permission
	ClientIP   netip.Addr
	Now        time.Time
	// Scopes is the path-scope ceiling (PathScopes of the agent's or API key's scopes); empty means no
	// ceiling. Labels (entries containing ":") are ignored here too, so unfiltered scopes are safe.
	Scopes []string
	Owner  bool   // the caller is the owner or owner-equivalent of the vault (§3.1)
	Rules  []Rule // the principal's policies on the vault, oldest first
}

// Decision is the outcome of Evaluate.
type Decision struct {
	Allowed bool
	Reason  Reason
	// PolicyID is the deciding policy for policy_allow, policy_deny and approval_required; "" otherwise.
	PolicyID string
}

// Evaluate applies steps 2–7 of §3.3 to in; step 1 (vault visibility, 404) and the vault_ids binding are
// the caller's. In order:
//
//  1. Scopes has a path scope and none matches Path → denied, outside_scopes.
//  2. Owner → allowed, owner.
//  3. Candidates are the rules that are unexpired at Now (Now < ExpiresAt), whose Pattern matches Path,
//     whose Permissions satisfy Permission (Satisfies: write covers delete and rotate, for deny rules too)
//     and whose Conditions hold for ClientIP at Now. None → denied, no_matching_policy.
//  4. m = the highest Priority among candidates. A deny candidate at m → denied, policy_deny, decided by the
//     oldest such deny. Otherwise the oldest allow candidate at m decides: allowed, policy_allow — unless it
//     has RequireApproval, which gives not allowed, approval_required (the caller then looks for an
//     approved grant, §4.14).
//
// Evaluate is pure: the same Input always gives the same Decision. It does not allocate.
func Evaluate(in Input) Decision {
	if !InScopes(in.Scopes, in.Path) {
		return Decision{Reason: ReasonOutsideScopes}
	}
	if in.Owner {
		return Decision{Allowed: true, Reason: ReasonOwner}
	}
	var deny, allow *Rule // the oldest deny and allow candidates at priority top
	top := 0
	for i := range in.Rules {
		r := &in.Rules[i]
		if (deny != nil || allow != nil) && r.Priority < top {
			continue // cannot change the outcome
		}
		if !applies(r, &in) {
			continue
		}
		if deny == nil && allow == nil || r.Priority > top {
			top, deny, allow = r.Priority, nil, nil
		}
		if isDeny(r.Effect) {
			if deny == nil {
				deny = r
			}
		} else if allow == nil {
			allow = r
		}
	}
	switch {
	case deny != nil:
		return Decision{Reason: ReasonPolicyDeny, PolicyID: deny.ID}
	case allow == nil:
		return Decision{Reason: ReasonNoMatchingPolicy}
	case allow.RequireApproval:
		return Decision{Reason: ReasonApprovalRequired, PolicyID: allow.ID}
	default:
		return Decision{Allowed: true, Reason: ReasonPolicyAllow, PolicyID: allow.ID}
	}
}

// applies reports whether r is a candidate for in (step 4 of §3.3), cheapest tests first.
func applies(r *Rule, in *Input) bool {
	return Satisfies(r.Permissions, in.Permission) &&
		(r.ExpiresAt == nil || in.Now.Before(*r.ExpiresAt)) &&
		Match(r.Pattern, in.Path) &&
		r.Conditions.Holds(in.ClientIP, in.Now)
}

// isDeny fails closed: only the allow effect (or its default, "") allows.
func isDeny(e clavis.Effect) bool { return e != "" && e != clavis.EffectAllow }

// InScopes reports whether path is under the ceiling: true when scopes has no path scope, else when one
// path scope matches.
func InScopes(scopes []string, path string) bool {
	ceiling := false
	for _, s := range scopes {
		if IsLabel(s) {
			continue
		}
		if Match(s, path) {
			return true
		}
		ceiling = true
	}
	return !ceiling
}
