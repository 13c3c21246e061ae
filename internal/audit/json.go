package audit

import "clavis.dev/clavis"

// JSON is the one JSON form of an AuditEvent (spec §5.1): the HTTP API's AuditEvent model and each line a
// JSONLines sink writes. Details is never null and prev_event_id is null for the first event of an org.
type JSON struct {
	ID            string         `json:"id"`
	Action        string         `json:"action"`
	ActorID       string         `json:"actor_id"`
	ActorType     string         `json:"actor_type"`
	ResourceType  string         `json:"resource_type"`
	ResourceID    string         `json:"resource_id"`
	OrgID         string         `json:"org_id"`
	Details       map[string]any `json:"details"`
	IPAddress     string         `json:"ip_address"`
	CreatedAt     string         `json:"created_at"`
	PrevEventID   *string        `json:"prev_event_id"`
	IntegrityHash string         `json:"integrity_hash"`
}

// JSONOf returns the JSON form of e.
func JSONOf(e *clavis.AuditEvent) JSON {
	j := JSON{ID: e.ID, Action: e.Action, ActorID: e.ActorID, ActorType: string(e.ActorType),
		ResourceType: e.ResourceType, ResourceID: e.ResourceID, OrgID: e.OrgID, Details: e.Details,
		IPAddress: e.IPAddress, CreatedAt: clavis.FormatTime(e.CreatedAt), IntegrityHash: e.IntegrityHash}
	if j.Details == nil {
		j.Details = map[string]any{}
	}
	if e.PrevEventID != "" {
		p := e.PrevEventID
		j.PrevEventID = &p
	}
	return j
}
