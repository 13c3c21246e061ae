package web

import (
	"encoding/json"
	"net/url"
	"strings"
	"time"

	"clavis.dev/clavis"
)

// Agents (docs/dashboard.md §2.5): list, register (the key shown once, with a ready MCP config and a
// token request that reads the key from the environment), edit, rotate the key, deactivate, delete.

type agentRow struct {
	*clavis.Agent
	State string // active, inactive or expired
}

func agentState(a *clavis.Agent, now time.Time) string {
	switch {
	case !a.Active:
		return "inactive"
	case a.ExpiresAt != nil && !now.Before(*a.ExpiresAt):
		return "expired"
	}
	return "active"
}

type agentsPage struct {
	Agents []agentRow
	Vaults []*clavis.Vault
}

func agentsView(h *Handler, q *req) (string, any, error) {
	ctx := q.r.Context()
	as, err := q.svc.ListAgents(ctx)
	if err != nil {
		return "", nil, err
	}
	vs, err := q.svc.ListVaults(ctx)
	if err != nil {
		return "", nil, err
	}
	p := agentsPage{Vaults: vs}
	now := time.Now()
	for _, a := range as {
		p.Agents = append(p.Agents, agentRow{Agent: a, State: agentState(a, now)})
	}
	return "agents", p, nil
}

// fields splits a comma- or space-separated list field.
func fields(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' || r == '\n' || r == '\r' || r == '\t' })
}

type agentKeyPage struct {
	Agent     *clavis.Agent
	Key       string
	MCPConfig string
	Curl      string
	Rotated   bool
}

// keyPage is the one page that shows an agent's key, with what an operator pastes next.
func (h *Handler) keyPage(q *req, k *clavis.AgentKey, rotated bool) {
	cfg := map[string]any{"mcpServers": map[string]any{"clavis": map[string]any{
		"command": "clavis", "args": []string{"mcp"},
		"env": map[string]string{"CLAVIS_URL": h.opt.PublicURL, "CLAVIS_API_KEY": string(k.Key)},
	}}}
	if len(k.Agent.VaultIDs) == 1 {
		cfg["mcpServers"].(map[string]any)["clavis"].(map[string]any)["env"].(map[string]string)["CLAVIS_VAULT_ID"] = k.Agent.VaultIDs[0]
	}
	js, _ := json.MarshalIndent(cfg, "", "  ")
	curl := "# with the key in CLAVIS_API_KEY (printf is a shell builtin: the key never reaches a command line)\n" +
		"printf '{\"agent_id\":\"%s\",\"api_key\":\"%s\"}' '" + k.Agent.ID + "' \"$CLAVIS_API_KEY\" |\n" +
		"  curl -s -X POST " + h.opt.PublicURL + "/v1/auth/agent-token -H 'Content-Type: application/json' --data @-"
	h.render(q, 200, "agentkey", agentKeyPage{Agent: k.Agent, Key: string(k.Key), MCPConfig: string(js), Curl: curl, Rotated: rotated}, "")
}

func createAgent(h *Handler, q *req) error {
	exp, err := formTime(q, "expires_at")
	if err != nil {
		return again(agentsView, err)
	}
	ttl, err := formInt(q, "token_ttl")
	if err != nil {
		return again(agentsView, err)
	}
	in := clavis.AgentInput{Name: strings.TrimSpace(q.r.PostFormValue("name")), Description: strings.TrimSpace(q.r.PostFormValue("description")),
		Scopes: fields(q.r.PostFormValue("scopes")), VaultIDs: q.r.PostForm["vault_ids"], ExpiresAt: exp, TokenTTL: ttl}
	k, err := q.svc.CreateAgent(q.r.Context(), in)
	if err != nil {
		return again(agentsView, err)
	}
	h.keyPage(q, k, false)
	return nil
}

type agentPage struct {
	Agent  agentRow
	Vaults []*clavis.Vault
	Bound  map[string]bool
}

func agentView(h *Handler, q *req) (string, any, error) {
	ctx := q.r.Context()
	a, err := q.svc.GetAgent(ctx, q.r.PathValue("agent"))
	if err != nil {
		return "", nil, err
	}
	vs, err := q.svc.ListVaults(ctx)
	if err != nil {
		return "", nil, err
	}
	p := agentPage{Agent: agentRow{Agent: a, State: agentState(a, time.Now())}, Vaults: vs, Bound: map[string]bool{}}
	for _, id := range a.VaultIDs {
		p.Bound[id] = true
	}
	return "agent", p, nil
}

func agentURL(id string) string { return "/ui/agents/" + url.PathEscape(id) }

// updateAgent saves the edit form: name, description, scopes, vault binding, expiry and token lifetime.
func updateAgent(h *Handler, q *req) error {
	id := q.r.PathValue("agent")
	name, desc := strings.TrimSpace(q.r.PostFormValue("name")), strings.TrimSpace(q.r.PostFormValue("description"))
	scopes, vaults := fields(q.r.PostFormValue("scopes")), append([]string{}, q.r.PostForm["vault_ids"]...)
	p := clavis.AgentPatch{Name: &name, Description: &desc, Scopes: &scopes, VaultIDs: &vaults}
	exp, err := formTime(q, "expires_at")
	if err != nil {
		return again(agentView, err)
	}
	if exp != nil {
		p.ExpiresAt = exp
	} else {
		p.ClearExpiresAt = true
	}
	ttl, err := formInt(q, "token_ttl")
	if err != nil {
		return again(agentView, err)
	}
	if ttl != nil {
		p.TokenTTL = ttl
	} else {
		p.ClearTokenTTL = true
	}
	if _, err := q.svc.UpdateAgent(q.r.Context(), id, p); err != nil {
		return again(agentView, err)
	}
	return redirect(q, agentURL(id), "agent-updated")
}

// setAgentActive deactivates or reactivates an agent.
func setAgentActive(active bool) action {
	return func(h *Handler, q *req) error {
		id := q.r.PathValue("agent")
		if _, err := q.svc.UpdateAgent(q.r.Context(), id, clavis.AgentPatch{Active: &active}); err != nil {
			return again(agentView, err)
		}
		return redirect(q, agentURL(id), "agent-updated")
	}
}

func rotateAgentKey(h *Handler, q *req) error {
	k, err := q.svc.RotateAgentKey(q.r.Context(), q.r.PathValue("agent"))
	if err != nil {
		return again(agentView, err)
	}
	h.keyPage(q, k, true)
	return nil
}

func deleteAgent(h *Handler, q *req) error {
	if err := q.svc.DeleteAgent(q.r.Context(), q.r.PathValue("agent")); err != nil {
		return again(agentView, err)
	}
	return redirect(q, "/ui/agents", "agent-deleted")
}
