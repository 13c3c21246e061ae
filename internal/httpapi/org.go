package httpapi

import (
	"net/http"

	"clavis.dev/clavis"
)

// memberModel is OrgMember.
type memberModel struct {
	ID          string `json:"id"`
	Email       string `json:"email"`
	DisplayName string `json:"display_name"`
	Role        string `json:"role"`
	AuthMethod  string `json:"auth_method"`
	CreatedAt   string `json:"created_at"`
}

func memberOf(u *clavis.User) memberModel {
	return memberModel{ID: u.ID, Email: u.Email, DisplayName: u.DisplayName, Role: string(u.Role), AuthMethod: "password",
		CreatedAt: ts(u.CreatedAt)}
}

type memberList struct {
	Members []memberModel `json:"members"`
}

type inviteBody struct {
	Email string `json:"email"`
	Role  string `json:"role"`
}

// inviteModel is Invite.
type inviteModel struct {
	Message   string `json:"message"`
	Email     string `json:"email"`
	Role      string `json:"role"`
	ExpiresAt string `json:"expires_at"`
}

type roleBody struct {
	Role string `json:"role"`
}

type agentKeysVaultModel struct {
	VaultID string `json:"vault_id"`
}

type ipRuleBody struct {
	RuleType    string  `json:"rule_type"`
	CIDR        string  `json:"cidr"`
	Label       *string `json:"label"`
	Description *string `json:"description"` // alias of label
	AppliesTo   string  `json:"applies_to"`
}

// ipRuleModel is IpRule.
type ipRuleModel struct {
	ID        string `json:"id"`
	OrgID     string `json:"org_id"`
	RuleType  string `json:"rule_type"`
	CIDR      string `json:"cidr"`
	Label     string `json:"label"`
	AppliesTo string `json:"applies_to"`
	CreatedBy string `json:"created_by"`
	CreatedAt string `json:"created_at"`
}

func ipRuleOf(r *clavis.IPRule) ipRuleModel {
	return ipRuleModel{ID: r.ID, OrgID: r.OrgID, RuleType: r.RuleType, CIDR: r.CIDR, Label: r.Label,
		AppliesTo: r.AppliesTo, CreatedBy: r.CreatedBy, CreatedAt: ts(r.CreatedAt)}
}

type ipRuleList struct {
	Rules []ipRuleModel `json:"rules"`
}

func listMembers(s *server, w http.ResponseWriter, r *http.Request, c *clavis.Caller) error {
	us, err := s.svc.ListMembers(r.Context(), c)
	if err != nil {
		return err
	}
	writeJSON(w, 200, memberList{mapList(us, memberOf)})
	return nil
}

func inviteMember(s *server, w http.ResponseWriter, r *http.Request, c *clavis.Caller) error {
	var b inviteBody
	if err := decode(r, &b); err != nil {
		return err
	}
	inv, err := s.svc.InviteMember(r.Context(), c, b.Email, clavis.Role(b.Role))
	if err != nil {
		return err
	}
	writeJSON(w, 200, inviteModel{Message: "Invitation created", Email: inv.Email, Role: string(inv.Role), ExpiresAt: ts(inv.ExpiresAt)})
	return nil
}

func setMemberRole(s *server, w http.ResponseWriter, r *http.Request, c *clavis.Caller) error {
	var b roleBody
	if err := decode(r, &b); err != nil {
		return err
	}
	u, err := s.svc.SetMemberRole(r.Context(), c, r.PathValue("user_id"), clavis.Role(b.Role))
	if err != nil {
		return err
	}
	writeJSON(w, 200, memberOf(u))
	return nil
}

func removeMember(s *server, w http.ResponseWriter, r *http.Request, c *clavis.Caller) error {
	if err := s.svc.RemoveMember(r.Context(), c, r.PathValue("user_id")); err != nil {
		return err
	}
	w.WriteHeader(204)
	return nil
}

func agentKeysVault(s *server, w http.ResponseWriter, r *http.Request, c *clavis.Caller) error {
	id, err := s.svc.AgentKeysVault(r.Context(), c)
	if err != nil {
		return err
	}
	writeJSON(w, 200, agentKeysVaultModel{id})
	return nil
}

func listIPRules(s *server, w http.ResponseWriter, r *http.Request, c *clavis.Caller) error {
	rs, err := s.svc.ListIPRules(r.Context(), c)
	if err != nil {
		return err
	}
	writeJSON(w, 200, ipRuleList{mapList(rs, ipRuleOf)})
	return nil
}

func createIPRule(s *server, w http.ResponseWriter, r *http.Request, c *clavis.Caller) error {
	var b ipRuleBody
	if err := decode(r, &b); err != nil {
		return err
	}
	in := clavis.IPRuleInput{RuleType: b.RuleType, CIDR: b.CIDR, AppliesTo: b.AppliesTo}
	switch {
	case b.Label != nil:
		in.Label = *b.Label
	case b.Description != nil:
		in.Label = *b.Description
	}
	rule, err := s.svc.CreateIPRule(r.Context(), c, in)
	if err != nil {
		return err
	}
	writeJSON(w, 201, ipRuleOf(rule))
	return nil
}

func deleteIPRule(s *server, w http.ResponseWriter, r *http.Request, c *clavis.Caller) error {
	if err := s.svc.DeleteIPRule(r.Context(), c, r.PathValue("rule_id")); err != nil {
		return err
	}
	w.WriteHeader(204)
	return nil
}
