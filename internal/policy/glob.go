package policy

import (
	"strconv"
	"strings"

	"clavis.dev/clavis"
)

// ValidatePattern checks a glob against §3.4: it is split on "/" into at most MaxPathSegments non-empty
// segments and is at most MaxPathBytes bytes; each segment is "*", "**" or a literal of [A-Za-z0-9_-]
// ("key-*", "a.b" and "a b" are invalid). The error is KindInvalid, field "secret_path_pattern".
func ValidatePattern(pattern string) error {
	if reason := patternProblem(pattern); reason != "" {
		return clavis.Invalid("secret_path_pattern", reason)
	}
	return nil
}

// patternProblem returns why pattern is not a valid glob, or "" when it is.
func patternProblem(pattern string) string {
	if pattern == "" {
		return "invalid glob: must not be empty"
	}
	if len(pattern) > MaxPathBytes {
		return "invalid glob: longer than 512 bytes"
	}
	n := 0
	for rest, more := pattern, true; more; {
		var seg string
		seg, rest, more = strings.Cut(rest, "/")
		n++
		if n > MaxPathSegments {
			return "invalid glob: more than 32 segments"
		}
		if reason := globSegmentProblem(seg); reason != "" {
			return "invalid glob: segment " + strconv.Itoa(n) + " " + reason
		}
	}
	return ""
}

func globSegmentProblem(seg string) string {
	if seg == "" {
		return "is empty"
	}
	if seg == "*" || seg == "**" {
		return ""
	}
	for i := 0; i < len(seg); i++ {
		c := seg[i]
		if c == '*' {
			return "mixes '*' with other characters; '*' and '**' must be whole segments"
		}
		if !isSegmentByte(c) {
			return "has a character other than letters, digits, '_' and '-'"
		}
	}
	return ""
}

// Match reports whether path matches pattern (§3.4): both are split on "/"; a "**" segment matches zero or
// more segments, a "*" segment exactly one, any other segment itself, case-sensitively. pattern is assumed
// valid (ValidatePattern); for any other input Match still terminates and never panics, treating every
// segment other than "*" and "**" as a literal (so "" is a single empty segment).
//
// Match does not allocate. It runs in O(len(pattern)·len(path)) time in the worst case and in linear time
// for patterns with at most one "**".
func Match(pattern, path string) bool {
	// p and s are the start offsets of the current pattern and path segments; an offset past the end of
	// its string means every segment has been consumed.
	p, s := 0, 0
	// After the latest "**": where the pattern resumes, and the path segment it would resume on.
	starP, starS := -1, -1
	for s <= len(path) {
		if p <= len(pattern) {
			pseg, pnext := segmentAt(pattern, p)
			if pseg == "**" {
				starP, starS = pnext, s
				p = pnext
				continue
			}
			sseg, snext := segmentAt(path, s)
			if pseg == "*" || pseg == sseg {
				p, s = pnext, snext
				continue
			}
		}
		if starP < 0 {
			return false
		}
		// Backtrack: let the latest "**" absorb one more path segment.
		_, starS = segmentAt(path, starS)
		p, s = starP, starS
	}
	// The path is consumed; what is left of the pattern must match zero segments.
	for p <= len(pattern) {
		pseg, pnext := segmentAt(pattern, p)
		if pseg != "**" {
			return false
		}
		p = pnext
	}
	return true
}

// segmentAt returns the segment of x that starts at offset i (0 ≤ i ≤ len(x)) and the offset of the next
// one, which is len(x)+1 after the last segment.
func segmentAt(x string, i int) (seg string, next int) {
	j := strings.IndexByte(x[i:], '/')
	if j < 0 {
		return x[i:], len(x) + 1
	}
	return x[i : i+j], i + j + 1
}
