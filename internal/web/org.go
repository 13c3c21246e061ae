package web

import (
	"strings"

	"clavis.dev/clavis"
)

// The organisation part of the account screen (docs/dashboard.md §2.10): members (invite, change a
// role, remove) and IP rules, for owners and admins. The engine decides who may do what: a member sees
// the member list (as GET /v1/org/members shows it) without the forms, and is refused (403) every
// change and the IP rules.

type membersPage struct {
	Members []*clavis.User
	Roles   []clavis.Role
	Admin   bool // the user is an owner or admin: the forms are shown
	Me      string
}

func isAdmin(u *clavis.User) bool {
	return u != nil && (u.Role == clavis.RoleOwner || u.Role == clavis.RoleAdmin)
}

func membersView(h *Handler, q *req) (string, any, error) {
	ctx := q.r.Context()
	ms, err := q.svc.ListMembers(ctx)
	if err != nil {
		return "", nil, err
	}
	if q.user == nil {
		if q.user, err = q.svc.Me(ctx); err != nil {
			return "", nil, err
		}
	}
	return "members", membersPage{Members: ms, Roles: []clavis.Role{clavis.RoleMember, clavis.RoleAdmin, clavis.RoleOwner},
		Admin: isAdmin(q.user), Me: q.caller.ID}, nil
}

func inviteMember(h *Handler, q *req) error {
	_, err := q.svc.InviteMember(q.r.Context(), strings.TrimSpace(q.r.PostFormValue("email")), clavis.Role(q.r.PostFormValue("role")))
	if err != nil {
		return again(membersView, err)
	}
	return redirect(q, "/ui/account/members", "member-invited")
}

func setMemberRole(h *Handler, q *req) error {
	if _, err := q.svc.SetMemberRole(q.r.Context(), q.r.PathValue("user"), clavis.Role(q.r.PostFormValue("role"))); err != nil {
		return again(membersView, err)
	}
	return redirect(q, "/ui/account/members", "member-role")
}

// removeMember disables the member's account, which ends its dashboard sessions too.
func removeMember(h *Handler, q *req) error {
	if err := q.svc.RemoveMember(q.r.Context(), q.r.PathValue("user")); err != nil {
		return again(membersView, err)
	}
	return redirect(q, "/ui/account/members", "member-removed")
}

type ipRulesPage struct {
	Rules []*clavis.IPRule
	IP    string // the address this request came from, which a rule must not lock out
}

func ipRulesView(h *Handler, q *req) (string, any, error) {
	rs, err := q.svc.ListIPRules(q.r.Context())
	if err != nil {
		return "", nil, err
	}
	return "iprules", ipRulesPage{Rules: rs, IP: h.clientIP(q.r).String()}, nil
}

// createIPRule adds a rule; one that would lock the user out is refused (409) and shown as the error.
func createIPRule(h *Handler, q *req) error {
	in := clavis.IPRuleInput{RuleType: q.r.PostFormValue("rule_type"), CIDR: strings.TrimSpace(q.r.PostFormValue("cidr")),
		Label: strings.TrimSpace(q.r.PostFormValue("label")), AppliesTo: q.r.PostFormValue("applies_to")}
	if _, err := q.svc.CreateIPRule(q.r.Context(), in); err != nil {
		return again(ipRulesView, err)
	}
	return redirect(q, "/ui/account/ip-rules", "iprule-created")
}

func deleteIPRule(h *Handler, q *req) error {
	if err := q.svc.DeleteIPRule(q.r.Context(), q.r.PathValue("rule")); err != nil {
		return again(ipRulesView, err)
	}
	return redirect(q, "/ui/account/ip-rules", "iprule-deleted")
}
