package httpapi

import (
	"math"
	"net/http"
)

// toInt converts a JSON integer to int, saturating where int is narrower than int64, so that an
// out-of-range value stays out of range for the engine to refuse.
func toInt(n int64) int {
	return int(max(min(n, math.MaxInt), math.MinInt))
}

// secretPath returns the decoded {path...} tail (spec §4.5.1: decoded once, then validated by the engine).
func secretPath(r *http.Request) string { return r.PathValue("path") }
