package policy

import (
	"strconv"
	"strings"

	"clavis.dev/clavis"
)

// IsLabel reports whether a scope entry is a label (§2.8): it contains ":" (for example "vaults:read") and
// is stored and echoed but never enforced.
func IsLabel(scope string) bool { return strings.IndexByte(scope, ':') >= 0 }

// ValidateScopes checks agent or API-key scopes (§2.8): labels are accepted as they are; every other entry
// must be a valid glob (ValidatePattern). The error is KindInvalid, field "scopes", naming the first bad
// entry by index.
func ValidateScopes(scopes []string) error {
	for i, s := range scopes {
		if IsLabel(s) {
			continue
		}
		if reason := patternProblem(s); reason != "" {
			return clavis.Invalid("scopes", "scopes["+strconv.Itoa(i)+"]: "+reason)
		}
	}
	return nil
}

// PathScopes returns the path scopes among scopes (the entries that are not labels), in order. It returns
// nil when there are none, which means no ceiling.
func PathScopes(scopes []string) []string {
	var out []string
	for _, s := range scopes {
		if !IsLabel(s) {
			out = append(out, s)
		}
	}
	return out
}
