package clavis_test

import (
	"errors"
	"fmt"
	"testing"

	"clavis.dev/clavis"
)

// A Sentinel reads as the *Error it describes, also when wrapped, and stays comparable by value.
func TestSentinelReadsAsError(t *testing.T) {
	for _, tt := range []struct {
		s    clavis.Sentinel
		kind clavis.Kind
		msg  string
	}{
		{clavis.ErrNotFound, clavis.KindNotFound, "Not found"},
		{clavis.ErrForbidden, clavis.KindForbidden, "Insufficient permissions"},
		{clavis.ErrUnauthorized, clavis.KindUnauthorized, "Invalid or expired token"},
		{clavis.ErrBadCredential, clavis.KindUnauthorized, "Invalid credentials"},
		{"conflict: Conflict", clavis.KindConflict, "Conflict"},
	} {
		for _, err := range []error{tt.s, fmt.Errorf("%w: context", tt.s), fmt.Errorf("outer: %w", fmt.Errorf("%w", tt.s))} {
			var e *clavis.Error
			if !errors.As(err, &e) || e.Kind != tt.kind || e.Message != tt.msg || e.Err != nil {
				t.Errorf("errors.As(%q) = %+v, want kind %v message %q", err, e, tt.kind, tt.msg)
			}
			if !clavis.IsKind(err, tt.kind) || !errors.Is(err, tt.s) {
				t.Errorf("%q: IsKind/Is failed", err)
			}
		}
		if got, want := tt.s.Error(), (&clavis.Error{Kind: tt.kind, Message: tt.msg}).Error(); got != want {
			t.Errorf("Error() = %q, want the *Error form %q", got, want)
		}
	}
	if clavis.KindOf(clavis.Sentinel("no such kind: x")) != clavis.KindInternal {
		t.Error("a malformed sentinel must read as an internal error")
	}
	var s clavis.Sentinel
	if !errors.As(fmt.Errorf("wrapped: %w", clavis.ErrNotFound), &s) || s != clavis.ErrNotFound {
		t.Error("errors.As to a Sentinel must still find it")
	}
}
