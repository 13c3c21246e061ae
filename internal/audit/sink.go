package audit

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sync"

	"clavis.dev/clavis"
)

// Sink receives audit events after they are committed. Write must be safe for concurrent use.
type Sink interface {
	Write(events []*clavis.AuditEvent) error
}

// event is the wire shape of an AuditEvent (spec §5.1), one JSON object per line.
type event struct {
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

// JSONLines writes events as JSON lines to w (a file or stdout).
type JSONLines struct {
	mu sync.Mutex
	w  io.Writer
}

// NewJSONLines returns a sink writing to w.
func NewJSONLines(w io.Writer) *JSONLines { return &JSONLines{w: w} }

// OpenSink opens a sink by spec: "stdout" or "file:<path>" (appended, created 0600).
func OpenSink(spec string) (Sink, io.Closer, error) {
	switch {
	case spec == "stdout":
		return NewJSONLines(os.Stdout), io.NopCloser(nil), nil
	case len(spec) > 5 && spec[:5] == "file:":
		f, err := os.OpenFile(spec[5:], os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
		if err != nil {
			return nil, nil, err
		}
		return NewJSONLines(f), f, nil
	}
	return nil, nil, fmt.Errorf("audit sink %q: want stdout or file:<path>", spec)
}

// Write appends one line per event. Lines of one call are written together.
func (s *JSONLines) Write(events []*clavis.AuditEvent) error {
	var buf []byte
	for _, e := range events {
		w := event{ID: e.ID, Action: e.Action, ActorID: e.ActorID, ActorType: string(e.ActorType),
			ResourceType: e.ResourceType, ResourceID: e.ResourceID, OrgID: e.OrgID, Details: e.Details,
			IPAddress: e.IPAddress, CreatedAt: clavis.FormatTime(e.CreatedAt), IntegrityHash: e.IntegrityHash}
		if w.Details == nil {
			w.Details = map[string]any{}
		}
		if e.PrevEventID != "" {
			p := e.PrevEventID
			w.PrevEventID = &p
		}
		line, err := json.Marshal(w)
		if err != nil {
			return err
		}
		buf = append(append(buf, line...), '\n')
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	_, err := s.w.Write(buf)
	return err
}
