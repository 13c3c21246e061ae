package policy

import (
	"math"
	"strings"

	"clavis.dev/clavis"
)

// Limits shared by secret paths (§4.5.1) and globs (§3.4), spec §6.1.
const (
	MaxPathBytes    = 512
	MaxPathSegments = 32
)

// ValidatePath checks a secret path against §4.5.1: ^[A-Za-z0-9]([A-Za-z0-9_\-/]*[A-Za-z0-9])?$, no empty
// segments, at most MaxPathBytes bytes and MaxPathSegments segments. Paths are case-sensitive and never
// cleaned: ".", "..", spaces and leading or trailing "/" are invalid. The error is KindInvalid, field "path".
func ValidatePath(path string) error {
	if path == "" {
		return invalidPath("must not be empty")
	}
	if len(path) > MaxPathBytes {
		return invalidPath("longer than 512 bytes")
	}
	segments := 1
	for i := 0; i < len(path); i++ {
		c := path[i]
		switch {
		case c == '/':
			if i > 0 && path[i-1] == '/' {
				return invalidPath("empty segment")
			}
			segments++
		case !isSegmentByte(c):
			return invalidPath("only letters, digits, '_', '-' and '/' are allowed")
		}
	}
	if !isAlnum(path[0]) {
		return invalidPath("must start with a letter or digit")
	}
	if !isAlnum(path[len(path)-1]) {
		return invalidPath("must end with a letter or digit")
	}
	if segments > MaxPathSegments {
		return invalidPath("more than 32 segments")
	}
	return nil
}

// SplitVersionPath splits a decoded URL tail such as "a/b/c/2" into the secret path "a/b/c" and the version 2
// (§4.5.1). The last segment must be a positive decimal integer in canonical form (digits only, no sign, no
// leading zero) that fits in an int32; otherwise the error is KindInvalid, field "version". The path before it
// must pass ValidatePath (field "path").
func SplitVersionPath(tail string) (path string, version int, err error) {
	i := strings.LastIndexByte(tail, '/')
	if i < 0 {
		return "", 0, clavis.Invalid("version", "expected a secret path followed by /<version>")
	}
	path, v := tail[:i], tail[i+1:]
	version, ok := parseVersion(v)
	if !ok {
		return "", 0, clavis.Invalid("version", "version must be a positive integer")
	}
	if err := ValidatePath(path); err != nil {
		return "", 0, err
	}
	return path, version, nil
}

// parseVersion parses a canonical positive decimal integer no larger than math.MaxInt32.
func parseVersion(s string) (int, bool) {
	if s == "" || len(s) > 10 || s[0] == '0' {
		return 0, false
	}
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	if n > math.MaxInt32 {
		return 0, false
	}
	return n, true
}

func invalidPath(reason string) error {
	return clavis.Invalid("path", "invalid secret path: "+reason)
}

func isAlnum(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
}

// isSegmentByte reports whether c may appear inside a path segment or a literal glob segment.
func isSegmentByte(c byte) bool { return isAlnum(c) || c == '_' || c == '-' }
