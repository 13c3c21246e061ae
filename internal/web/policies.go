package web

import (
	"encoding/json"
	"net/url"
	"strconv"
	"strings"

	"clavis.dev/clavis"
)

// Policies of a vault with the explain panel (docs/dashboard.md §2.6). The engine validates; the page
// shows its verdict next to the form.

type principalOption struct {
	Value, Label string
}

type explainResult struct {
	Principal, Path, Permission string
	*clavis.Explanation
}

type policiesPage struct {
	Vault       *clavis.Vault
	Policies    []*clavis.Policy
	Principals  []principalOption
	Names       map[string]string // principal "type:id" → a readable name
	Permissions []clavis.Permission
	Explain     *explainResult
	ExplainErr  string
	Q           map[string]string // the explain query, filled back in
}

func policiesView(h *Handler, q *req) (string, any, error) {
	ctx := q.r.Context()
	v, err := q.svc.GetVault(ctx, q.r.PathValue("vault"))
	if err != nil {
		return "", nil, err
	}
	ps, err := q.svc.ListPolicies(ctx, v.ID)
	if err != nil {
		return "", nil, err
	}
	p := policiesPage{Vault: v, Policies: ps, Permissions: clavis.Permissions(), Names: map[string]string{},
		Principals: []principalOption{{Value: "user:" + q.caller.ID, Label: "me (user)"}}}
	p.Names["user:"+q.caller.ID] = "me"
	if as, err := q.svc.ListAgents(ctx); err == nil { // members see no agent list: the id field remains
		for _, a := range as {
			key := "agent:" + a.ID
			p.Principals = append(p.Principals, principalOption{Value: key, Label: a.Name + " (agent)"})
			p.Names[key] = a.Name
		}
	}
	query := q.r.URL.Query()
	if path := query.Get("explain_path"); path != "" {
		p.Q = map[string]string{"principal": query.Get("principal"), "explain_path": path, "permission": query.Get("permission")}
		typ, id, _ := strings.Cut(query.Get("principal"), ":")
		perm := query.Get("permission")
		ex, err := q.svc.Explain(ctx, v.ID, clavis.ExplainQuery{PrincipalType: clavis.PrincipalType(typ), PrincipalID: id,
			Path: path, Permission: clavis.Permission(perm)})
		if err != nil {
			_, p.ExplainErr = h.describe(q, err)
		} else {
			p.Explain = &explainResult{Principal: query.Get("principal"), Path: path, Permission: perm, Explanation: ex}
		}
	}
	return "policies", p, nil
}

func policiesURL(vault string) string { return "/ui/vaults/" + url.PathEscape(vault) + "/policies" }

// policyForm reads the fields shared by the create and edit forms.
func policyForm(q *req) (perms []string, cond json.RawMessage, effect clavis.Effect, priority int, err error) {
	f := q.r.PostForm
	perms = append([]string{}, f["permissions"]...)
	if c := strings.TrimSpace(f.Get("conditions")); c != "" {
		cond = json.RawMessage(c)
	}
	effect = clavis.Effect(f.Get("effect"))
	if s := strings.TrimSpace(f.Get("priority")); s != "" {
		if priority, err = strconv.Atoi(s); err != nil {
			return nil, nil, "", 0, clavis.Invalid("priority", "priority must be a whole number")
		}
	}
	return perms, cond, effect, priority, nil
}

func createPolicy(h *Handler, q *req) error {
	vault := q.r.PathValue("vault")
	perms, cond, effect, prio, err := policyForm(q)
	if err != nil {
		return again(policiesView, err)
	}
	exp, err := formTime(q, "expires_at")
	if err != nil {
		return again(policiesView, err)
	}
	principal := q.r.PostFormValue("principal")
	if other := strings.TrimSpace(q.r.PostFormValue("principal_other")); other != "" {
		principal = other
	}
	typ, id, _ := strings.Cut(principal, ":")
	in := clavis.PolicyInput{Pattern: strings.TrimSpace(q.r.PostFormValue("pattern")), PrincipalType: clavis.PrincipalType(typ),
		PrincipalID: id, Permissions: perms, Conditions: cond, ExpiresAt: exp, Priority: prio}
	if effect != "" {
		in.Effect = &effect
	}
	if _, err := q.svc.CreatePolicy(q.r.Context(), vault, in); err != nil {
		return again(policiesView, err)
	}
	return redirect(q, policiesURL(vault), "policy-created")
}

func updatePolicy(h *Handler, q *req) error {
	vault := q.r.PathValue("vault")
	perms, cond, effect, prio, err := policyForm(q)
	if err != nil {
		return again(policiesView, err)
	}
	pattern := strings.TrimSpace(q.r.PostFormValue("pattern"))
	p := clavis.PolicyPatch{Pattern: &pattern, Permissions: &perms, Priority: &prio}
	if cond != nil {
		p.Conditions = &cond
	}
	if effect != "" {
		p.Effect = &effect
	}
	exp, err := formTime(q, "expires_at")
	if err != nil {
		return again(policiesView, err)
	}
	if exp != nil {
		p.ExpiresAt = exp
	} else {
		p.ClearExpiresAt = true
	}
	if _, err := q.svc.UpdatePolicy(q.r.Context(), vault, q.r.PathValue("policy"), p); err != nil {
		return again(policiesView, err)
	}
	return redirect(q, policiesURL(vault), "policy-updated")
}

func deletePolicy(h *Handler, q *req) error {
	vault := q.r.PathValue("vault")
	if err := q.svc.DeletePolicy(q.r.Context(), vault, q.r.PathValue("policy")); err != nil {
		return again(policiesView, err)
	}
	return redirect(q, policiesURL(vault), "policy-deleted")
}
