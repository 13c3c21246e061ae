package httpapi

import (
	"net/http"

	"clavis.dev/clavis"
)

// agentBody is the request body of agent create and patch.
type agentBody struct {
	Name          nullable[string]   `json:"name"`
	Description   nullable[string]   `json:"description"`
	AuthMethod    nullable[string]   `json:"auth_method"`
	Scopes        nullable[[]string] `json:"scopes"`
	VaultIDs      nullable[[]string] `json:"vault_ids"`
	IsActive      nullable[bool]     `json:"is_active"`
	ExpiresAt     nullable[reqTime]  `json:"expires_at"`
	TokenTTL      nullable[int64]    `json:"token_ttl_seconds"`
	IntentsAPI    nullable[bool]     `json:"intents_api_enabled"`
	ShroudEnabled nullable[bool]     `json:"shroud_enabled"`
}

// check rejects the wire options Clavis does not support (spec §4.7): fields with no place in
// clavis.AgentInput, so the engine never sees them. Every other field is the engine's to judge.
func (b *agentBody) check() error {
	if m := b.AuthMethod.value(); m != nil && *m != "api_key" {
		return clavis.Invalid("auth_method", "only auth_method api_key is supported")
	}
	if v := b.IntentsAPI.value(); v != nil && *v {
		return clavis.Invalid("intents_api_enabled", "intents_api_enabled is not supported")
	}
	if v := b.ShroudEnabled.value(); v != nil && *v {
		return clavis.Invalid("shroud_enabled", "shroud_enabled is not supported")
	}
	return nil
}

func createAgent(s *server, w http.ResponseWriter, r *http.Request, c *clavis.Caller) error {
	var b agentBody
	if err := decode(r, &b); err != nil {
		return err
	}
	if err := b.check(); err != nil {
		return err
	}
	in := clavis.AgentInput{}
	if v := b.Name.value(); v != nil {
		in.Name = *v
	}
	if v := b.Description.value(); v != nil {
		in.Description = *v
	}
	if v := b.Scopes.value(); v != nil {
		in.Scopes = *v
	}
	if v := b.VaultIDs.value(); v != nil {
		in.VaultIDs = *v
	}
	if v := b.ExpiresAt.value(); v != nil {
		in.ExpiresAt = v.ptr()
	}
	if v := b.TokenTTL.value(); v != nil {
		in.TokenTTL = new(toInt(*v))
	}
	ak, err := s.svc.CreateAgent(r.Context(), c, in)
	if err != nil {
		return err
	}
	writeJSON(w, 201, agentKeyModel{Agent: agentOf(ak.Agent), APIKey: string(ak.Key)})
	return nil
}

func listAgents(s *server, w http.ResponseWriter, r *http.Request, c *clavis.Caller) error {
	as, err := s.svc.ListAgents(r.Context(), c)
	if err != nil {
		return err
	}
	writeJSON(w, 200, agentList{mapList(as, agentOf)})
	return nil
}

func agentMe(s *server, w http.ResponseWriter, r *http.Request, c *clavis.Caller) error {
	a, err := s.svc.AgentMe(r.Context(), c)
	if err != nil {
		return err
	}
	writeJSON(w, 200, agentSelfOf(a))
	return nil
}

func getAgent(s *server, w http.ResponseWriter, r *http.Request, c *clavis.Caller) error {
	aid := r.PathValue("agent_id")
	a, err := s.svc.GetAgent(r.Context(), c, aid)
	if err != nil {
		return err
	}
	writeJSON(w, 200, agentOf(a))
	return nil
}

func patchAgent(s *server, w http.ResponseWriter, r *http.Request, c *clavis.Caller) error {
	aid := r.PathValue("agent_id")
	var b agentBody
	if err := decode(r, &b); err != nil {
		return err
	}
	if err := b.check(); err != nil {
		return err
	}
	p := clavis.AgentPatch{Name: b.Name.value(), Description: b.Description.value(), Scopes: b.Scopes.value(),
		VaultIDs: b.VaultIDs.value(), Active: b.IsActive.value(), ClearExpiresAt: b.ExpiresAt.Null, ClearTokenTTL: b.TokenTTL.Null}
	if v := b.ExpiresAt.value(); v != nil {
		p.ExpiresAt = v.ptr()
	}
	if v := b.TokenTTL.value(); v != nil {
		p.TokenTTL = new(toInt(*v))
	}
	a, err := s.svc.UpdateAgent(r.Context(), c, aid, p)
	if err != nil {
		return err
	}
	writeJSON(w, 200, agentOf(a))
	return nil
}

func deleteAgent(s *server, w http.ResponseWriter, r *http.Request, c *clavis.Caller) error {
	aid := r.PathValue("agent_id")
	if err := s.svc.DeleteAgent(r.Context(), c, aid); err != nil {
		return err
	}
	w.WriteHeader(204)
	return nil
}

func rotateAgentKey(s *server, w http.ResponseWriter, r *http.Request, c *clavis.Caller) error {
	aid := r.PathValue("agent_id")
	ak, err := s.svc.RotateAgentKey(r.Context(), c, aid)
	if err != nil {
		return err
	}
	writeJSON(w, 200, agentKeyModel{Agent: agentOf(ak.Agent), APIKey: string(ak.Key)})
	return nil
}
