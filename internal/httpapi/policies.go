package httpapi

import (
	"encoding/json"
	"net/http"
	"net/netip"

	"clavis.dev/clavis"
)

// policyBody is the request body of policy create and update.
type policyBody struct {
	Pattern             nullable[string]         `json:"secret_path_pattern"`
	PrincipalType       nullable[string]         `json:"principal_type"`
	PrincipalID         nullable[string]         `json:"principal_id"`
	Permissions         nullable[[]string]       `json:"permissions"`
	Conditions          nullable[map[string]any] `json:"conditions"`
	ExpiresAt           nullable[reqTime]        `json:"expires_at"`
	Effect              nullable[string]         `json:"effect"`
	Priority            nullable[int64]          `json:"priority"`
	RequireApproval     nullable[bool]           `json:"require_approval"`
	AttributeConditions nullable[any]            `json:"attribute_conditions"`
	ConsensusTrigger    nullable[any]            `json:"consensus_trigger"`
	TxConditions        nullable[any]            `json:"tx_conditions"`
	SchemaVersion       nullable[int64]          `json:"policy_schema_version"`
}

// check rejects the wire options Clavis does not support (spec §3.6): fields with no place in
// clavis.PolicyInput, so the engine never sees them. Every other field is the engine's to judge.
func (b *policyBody) check() error {
	for name, v := range map[string]nullable[any]{"attribute_conditions": b.AttributeConditions,
		"consensus_trigger": b.ConsensusTrigger, "tx_conditions": b.TxConditions} {
		if x := v.value(); x != nil && !emptyJSON(*x) {
			return clavis.Invalid(name, name+" is not supported")
		}
	}
	if v := b.SchemaVersion.value(); v != nil && *v != 1 && *v != 2 {
		return clavis.Invalid("policy_schema_version", "policy_schema_version must be 1 or 2")
	}
	return nil
}

func (b *policyBody) conditions() []byte {
	if v := b.Conditions.value(); v != nil {
		return mustMarshal(*v)
	}
	return nil
}

func emptyJSON(v any) bool {
	switch x := v.(type) {
	case map[string]any:
		return len(x) == 0
	case []any:
		return len(x) == 0
	case string:
		return x == ""
	case bool:
		return !x
	}
	return false
}

func createPolicy(s *server, w http.ResponseWriter, r *http.Request, c *clavis.Caller) error {
	vid := r.PathValue("vault_id")
	var b policyBody
	if err := decode(r, &b); err != nil {
		return err
	}
	if err := b.check(); err != nil {
		return err
	}
	in := clavis.PolicyInput{Conditions: b.conditions()}
	if v := b.Pattern.value(); v != nil {
		in.Pattern = *v
	}
	if v := b.PrincipalType.value(); v != nil {
		in.PrincipalType = clavis.PrincipalType(*v)
	}
	if v := b.PrincipalID.value(); v != nil {
		in.PrincipalID = *v
	}
	if v := b.Permissions.value(); v != nil {
		in.Permissions = *v
	}
	if v := b.ExpiresAt.value(); v != nil {
		in.ExpiresAt = v.ptr()
	}
	if v := b.Effect.value(); v != nil {
		in.Effect = new(clavis.Effect(*v))
	}
	if v := b.Priority.value(); v != nil {
		in.Priority = toInt(*v)
	}
	if v := b.RequireApproval.value(); v != nil {
		in.RequireApproval = *v
	}
	p, err := s.svc.CreatePolicy(r.Context(), c, vid, in)
	if err != nil {
		return err
	}
	writeJSON(w, 201, policyOf(p))
	return nil
}

func listPolicies(s *server, w http.ResponseWriter, r *http.Request, c *clavis.Caller) error {
	vid := r.PathValue("vault_id")
	ps, err := s.svc.ListPolicies(r.Context(), c, vid)
	if err != nil {
		return err
	}
	writeJSON(w, 200, policyList{mapList(ps, policyOf)})
	return nil
}

func updatePolicy(s *server, w http.ResponseWriter, r *http.Request, c *clavis.Caller) error {
	vid := r.PathValue("vault_id")
	pid := r.PathValue("policy_id")
	var b policyBody
	if err := decode(r, &b); err != nil {
		return err
	}
	if err := b.check(); err != nil {
		return err
	}
	p := clavis.PolicyPatch{Pattern: b.Pattern.value(), PrincipalID: b.PrincipalID.value(), Permissions: b.Permissions.value(),
		ClearExpiresAt: b.ExpiresAt.Null, RequireApproval: b.RequireApproval.value()}
	if v := b.PrincipalType.value(); v != nil {
		pt := clavis.PrincipalType(*v)
		p.PrincipalType = &pt
	}
	if b.Conditions.Set {
		raw := json.RawMessage(b.conditions())
		if raw == nil {
			raw = json.RawMessage("{}")
		}
		p.Conditions = &raw
	}
	if v := b.ExpiresAt.value(); v != nil {
		p.ExpiresAt = v.ptr()
	}
	if v := b.Effect.value(); v != nil {
		p.Effect = new(clavis.Effect(*v))
	}
	if v := b.Priority.value(); v != nil {
		p.Priority = new(toInt(*v))
	}
	out, err := s.svc.UpdatePolicy(r.Context(), c, vid, pid, p)
	if err != nil {
		return err
	}
	writeJSON(w, 200, policyOf(out))
	return nil
}

func deletePolicy(s *server, w http.ResponseWriter, r *http.Request, c *clavis.Caller) error {
	vid := r.PathValue("vault_id")
	pid := r.PathValue("policy_id")
	if err := s.svc.DeletePolicy(r.Context(), c, vid, pid); err != nil {
		return err
	}
	w.WriteHeader(204)
	return nil
}

func explain(s *server, w http.ResponseWriter, r *http.Request, c *clavis.Caller) error {
	vid := r.PathValue("vault_id")
	q := r.URL.Query()
	eq := clavis.ExplainQuery{PrincipalType: clavis.PrincipalType(q.Get("principal_type")), PrincipalID: q.Get("principal_id"),
		Path: q.Get("path"), Permission: clavis.Permission(q.Get("permission"))}
	if ip := q.Get("ip"); ip != "" {
		a, err := netip.ParseAddr(ip)
		if err != nil {
			return clavis.Invalid("ip", "ip must be an IPv4 or IPv6 address")
		}
		eq.IP = a
	}
	ex, err := s.svc.Explain(r.Context(), c, vid, eq)
	if err != nil {
		return err
	}
	writeJSON(w, 200, explainModel{Allowed: ex.Allowed, Reason: ex.Reason, PolicyID: ex.PolicyID})
	return nil
}
