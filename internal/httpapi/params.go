package httpapi

import (
	"math"
	"net/http"
)

// setInt converts an integer the client sent for an input field whose zero value means "not set"
// (SecretInput.MaxAccessCount, RotateInput.Length, AgentInput.TokenTTL). An explicit 0 is not "not set":
// it goes down as -1, which lies below each such field's range, so that the engine refuses it as it
// refuses any value out of range. Other values go down as sent (see toInt). This is encoding, not a rule:
// the root input types cannot say "set to 0" (an *int there would make it unnecessary).
func setInt(n int64) int {
	if n == 0 {
		return -1
	}
	return toInt(n)
}

// toInt converts a JSON integer to int, saturating where int is narrower than int64, so that an
// out-of-range value stays out of range for the engine to refuse.
func toInt(n int64) int {
	return int(max(min(n, math.MaxInt), math.MinInt))
}

// secretPath returns the decoded {path...} tail (spec §4.5.1: decoded once, then validated by the engine).
func secretPath(r *http.Request) string { return r.PathValue("path") }
