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
		w := JSONOf(e)
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
