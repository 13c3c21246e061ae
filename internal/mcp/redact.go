package mcp

import (
	"sort"
	"strings"
	"sync"
)

// minRedactLen is the shortest bundle value redacted from later outputs (docs/mcp.md §3); a secret's
// whole value is redacted at any length.
const minRedactLen = 8

// redactor remembers the values a session returned and replaces them in later outputs with
// "[REDACTED:<path>]". It is safe for concurrent use; a nil redactor remembers and redacts nothing.
type redactor struct {
	mu     sync.Mutex
	values map[string]string // value → path
}

// remember records value as returned for path; empty values are ignored.
func (r *redactor) remember(path, value string) {
	if r == nil || value == "" {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.values == nil {
		r.values = map[string]string{}
	}
	r.values[value] = path
}

// apply replaces every remembered value in s, longest first so that a value containing another is
// replaced whole.
func (r *redactor) apply(s string) string {
	if r == nil {
		return s
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.values) == 0 {
		return s
	}
	vals := make([]string, 0, len(r.values))
	for v := range r.values {
		vals = append(vals, v)
	}
	sort.Slice(vals, func(i, j int) bool { return len(vals[i]) > len(vals[j]) })
	for _, v := range vals {
		s = strings.ReplaceAll(s, v, "[REDACTED:"+r.values[v]+"]")
	}
	return s
}
