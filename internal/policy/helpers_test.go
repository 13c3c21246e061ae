package policy

import (
	"errors"
	"testing"

	"clavis.dev/clavis"
)

// checkInvalid fails unless err is nil when field is "", or a KindInvalid *clavis.Error naming field.
func checkInvalid(t *testing.T, err error, field string) {
	t.Helper()
	if field == "" {
		if err != nil {
			t.Fatalf("got error %v, want none", err)
		}
		return
	}
	var e *clavis.Error
	if !errors.As(err, &e) {
		t.Fatalf("got error %v (%T), want a *clavis.Error", err, err)
	}
	if e.Kind != clavis.KindInvalid {
		t.Fatalf("got kind %v, want %v", e.Kind, clavis.KindInvalid)
	}
	if got := e.Fields[field]; got == "" || got != e.Message {
		t.Fatalf("got fields %v, want field %q with the message %q", e.Fields, field, e.Message)
	}
}

// invalidField returns the single field a KindInvalid error names, "" for nil, and fails otherwise.
func invalidField(t *testing.T, err error) string {
	t.Helper()
	if err == nil {
		return ""
	}
	var e *clavis.Error
	if !errors.As(err, &e) || e.Kind != clavis.KindInvalid || len(e.Fields) != 1 {
		t.Fatalf("got error %#v, want a KindInvalid *clavis.Error with one field", err)
	}
	for f := range e.Fields {
		return f
	}
	return ""
}
