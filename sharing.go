package clavis

import (
	"net/netip"
	"time"
)

// Share recipient types (spec §4.11).
const (
	ShareToUser          = "user"
	ShareToAgent         = "agent"
	ShareToExternalEmail = "external_email"
	ShareToAnyone        = "anyone_with_link"
	ShareToCreator       = "creator"
)

// Share hands the latest value of one secret to a recipient, a limited number of times until it expires
// (spec §4.11). It never holds the value or the passphrase.
type Share struct {
	ID            string
	OrgID         string
	SecretID      string
	VaultID       string
	SecretPath    string
	CreatedBy     string // bare uuid of the creating principal
	CreatedByType PrincipalType
	RecipientType string
	// RecipientID is the addressed user or agent (user, agent and creator shares), or the user who
	// claimed an external_email share ("" until then).
	RecipientID    string
	RecipientEmail string // external_email shares
	ExpiresAt      time.Time
	MaxAccessCount int
	AccessCount    int
	IPAllowlist    []string
	HasPassphrase  bool
	Accepted       bool
	Declined       bool
	// Expired is set when the share is read: past its expiry, or every access used.
	Expired   bool
	CreatedAt time.Time
	// URL is the share's public address (<public base URL>/v1/share/<id>).
	URL string
}

// IsAccepted is the list view's is_accepted: accepted, or a link share (which needs no acceptance).
func (s *Share) IsAccepted() bool { return s.Accepted || s.RecipientType == ShareToAnyone }

// ShareInput creates a share.
type ShareInput struct {
	RecipientType  string
	RecipientID    string // user and agent shares
	Email          string // external_email shares
	ExpiresAt      *time.Time
	MaxAccessCount *int // nil = 1
	Passphrase     Sensitive
	IPAllowlist    []string
}

// SharedSecret is a secret's latest value as a share hands it out; the value redacts itself in fmt,
// slog and JSON output.
type SharedSecret struct {
	ShareID        string
	Path           string
	Type           string
	Value          Sensitive
	AccessCount    int
	MaxAccessCount int
}

// IP rule types and scopes (spec §4.12).
const (
	IPRuleAllow = "allow"
	IPRuleDeny  = "deny"

	IPRulesForAll    = "all"
	IPRulesForUsers  = "users"
	IPRulesForAgents = "agents"
)

// IPRule allows or denies client addresses for the authenticated requests of an org.
type IPRule struct {
	ID        string
	OrgID     string
	RuleType  string // allow | deny
	CIDR      string // canonical prefix form
	Label     string
	AppliesTo string // all | users | agents
	CreatedBy string // bare uuid of the creating user
	CreatedAt time.Time
}

// Applies reports whether the rule concerns principals of kind t.
func (r *IPRule) Applies(t PrincipalType) bool {
	switch r.AppliesTo {
	case IPRulesForAll:
		return true
	case IPRulesForUsers:
		return t == PrincipalUser
	case IPRulesForAgents:
		return t == PrincipalAgent
	}
	return false
}

// IPAllowed decides the org's rules for a principal of kind t at address ip: a matching deny rule
// refuses; if any allow rule applies to t, ip must match one of them. Rules whose CIDR does not parse
// match nothing.
func IPAllowed(rules []*IPRule, t PrincipalType, ip netip.Addr) bool {
	ip = ip.Unmap()
	anyAllow, allowed := false, false
	for _, r := range rules {
		if !r.Applies(t) {
			continue
		}
		p, err := netip.ParsePrefix(r.CIDR)
		match := err == nil && ip.IsValid() && p.Contains(ip)
		switch r.RuleType {
		case IPRuleDeny:
			if match {
				return false
			}
		case IPRuleAllow:
			anyAllow = true
			allowed = allowed || match
		}
	}
	return !anyAllow || allowed
}

// IPRuleInput creates an IP rule.
type IPRuleInput struct {
	RuleType  string // allow | deny (block is deny)
	CIDR      string
	Label     string
	AppliesTo string // "" = all
}

// Invite is an invitation of an email address into an org with a role (spec §4.12).
type Invite struct {
	Email     string
	OrgID     string
	Role      Role
	InvitedBy string
	ExpiresAt time.Time
	CreatedAt time.Time
}
