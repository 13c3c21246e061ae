package policy

import "strconv"

// quote renders user input for an error message: Go-quoted and cut to at most 64 bytes, so that messages
// stay short whatever the request held.
func quote(s string) string {
	if len(s) > 64 {
		return strconv.Quote(s[:64]) + "…"
	}
	return strconv.Quote(s)
}
