package policy

import (
	"strings"
	"testing"
)

// TestMatch is the table of §3.4, every row, plus the cases around it.
func TestMatch(t *testing.T) {
	tests := []struct {
		pattern string
		matches []string
		not     []string
	}{
		// §3.4
		{"**", []string{"a", "token", "a/b", "a/b/c/d/e"}, nil},
		{"*", []string{"token"}, []string{"a/token"}},
		{"api-keys/*", []string{"api-keys/openai"}, []string{"api-keys", "api-keys/a/b", "api-keysx/a"}},
		{"api-keys/**", []string{"api-keys", "api-keys/openai", "api-keys/a/b/c"}, []string{"api-keysx/a", "x/api-keys/a"}},
		{"**/db", []string{"db", "prod/db", "a/b/db"}, []string{"db/x", "prod/dbx"}},
		{"prod/*/password", []string{"prod/pg/password"}, []string{"prod/password", "prod/a/b/password"}},
		{"Prod/db", []string{"Prod/db"}, []string{"prod/db", "PROD/db"}},
		// around it
		{"a/b", []string{"a/b"}, []string{"a", "a/b/c", "b", "a/bb", "aa/b"}},
		{"a/**/b", []string{"a/b", "a/x/b", "a/x/y/z/b"}, []string{"a", "b", "a/b/c", "x/a/b"}},
		{"**/x/**", []string{"x", "a/x", "x/a", "a/b/x/c/d"}, []string{"a", "xa/b", "a/xx"}},
		{"*/**", []string{"a", "a/b", "a/b/c"}, nil},
		{"**/*", []string{"a", "a/b"}, nil},
		{"*/*", []string{"a/b"}, []string{"a", "a/b/c"}},
		{"**/**", []string{"a", "a/b/c"}, nil},
		{"**/a/*/c", []string{"a/b/c", "x/a/b/c", "a/a/b/c"}, []string{"a/c", "a/b/c/d"}},
		{"**/a/**/a", []string{"a/a", "a/x/a", "x/a/a", "a/a/a"}, []string{"a", "a/b"}},
	}
	for _, tt := range tests {
		if err := ValidatePattern(tt.pattern); err != nil {
			t.Fatalf("table pattern %q is invalid: %v", tt.pattern, err)
		}
		for _, p := range tt.matches {
			if !Match(tt.pattern, p) {
				t.Errorf("Match(%q, %q): got false, want true", tt.pattern, p)
			}
		}
		for _, p := range tt.not {
			if Match(tt.pattern, p) {
				t.Errorf("Match(%q, %q): got true, want false", tt.pattern, p)
			}
		}
	}
}

func TestMatchDoesNotAllocate(t *testing.T) {
	got := testing.AllocsPerRun(100, func() {
		Match("**/a/*/**/c", "x/y/a/b/z/z/c")
	})
	if got != 0 {
		t.Fatalf("Match allocations: got %v, want 0", got)
	}
}

func TestValidatePattern(t *testing.T) {
	valid := []string{
		"**", "*", "a", "api-keys/*", "api-keys/**", "**/db", "prod/*/password", "Prod/db", "a/**/b",
		"*/*/*", "_x", "-", "snake_case/kebab-case/123",
		strings.Repeat("a", 512), segments("*", 32),
	}
	invalid := []string{
		// the cases of the conformance suite
		"key-*", "a//b", "/a", "a/", "a/**b", "a.b", "", "a/ b",
		// and the rest of §3.4
		"***", "*a", "a*", "a*b", "**a", "a/*b/c", "/", "//", "a/./b", "..", "a\\b", "a?b", "[ab]", "é", "a:b",
		strings.Repeat("a", 513), segments("*", 33),
	}
	for _, p := range valid {
		t.Run("valid/"+clipName(p), func(t *testing.T) { checkInvalid(t, ValidatePattern(p), "") })
	}
	for _, p := range invalid {
		t.Run("invalid/"+clipName(p), func(t *testing.T) { checkInvalid(t, ValidatePattern(p), "secret_path_pattern") })
	}
}

// referenceMatch is §3.4 written plainly: split both on "/" and match segment lists recursively, with a memo
// so that many "**" stay polynomial. It shares no code with Match.
func referenceMatch(pattern, path string) bool {
	p, s := strings.Split(pattern, "/"), strings.Split(path, "/")
	memo := map[[2]int]bool{}
	var match func(i, j int) bool // does p[i:] match s[j:]?
	match = func(i, j int) bool {
		key := [2]int{i, j}
		if v, ok := memo[key]; ok {
			return v
		}
		var ok bool
		switch {
		case i == len(p):
			ok = j == len(s)
		case p[i] == "**":
			ok = match(i+1, j) || j < len(s) && match(i, j+1)
		case j == len(s):
			ok = false
		case p[i] == "*" || p[i] == s[j]:
			ok = match(i+1, j+1)
		}
		memo[key] = ok
		return ok
	}
	return match(0, 0)
}

func FuzzMatch(f *testing.F) {
	seeds := [][2]string{
		{"**", "a/b/c"}, {"*", "token"}, {"*", "a/token"},
		{"api-keys/*", "api-keys/openai"}, {"api-keys/*", "api-keys"}, {"api-keys/*", "api-keys/a/b"},
		{"api-keys/**", "api-keys"}, {"api-keys/**", "x/api-keys/a"}, {"**/db", "db"}, {"**/db", "prod/dbx"},
		{"prod/*/password", "prod/pg/password"}, {"prod/*/password", "prod/a/b/password"}, {"Prod/db", "prod/db"},
		{"a/**/b/**/c", "a/x/b/y/b/c"}, {"**/**/**", ""}, {"", ""}, {"a/", "a/"}, {"a//b", "a//b"}, {"*", ""},
	}
	for _, s := range seeds {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, pattern, path string) {
		if len(pattern) > 1024 || len(path) > 1024 {
			return // beyond the limits; keeps the reference quick
		}
		if got, want := Match(pattern, path), referenceMatch(pattern, path); got != want {
			t.Fatalf("Match(%q, %q): got %v, reference says %v", pattern, path, got, want)
		}
	})
}

func BenchmarkMatch(b *testing.B) {
	cases := []struct{ name, pattern, path string }{
		{"literal", "prod/pg/password", "prod/pg/password"},
		{"star", "prod/*/password", "prod/pg/password"},
		{"doublestar-prefix", "api-keys/**", "api-keys/a/b/c"},
		{"doublestar-suffix", "**/db", "a/b/c/d/e/f/db"},
		{"doublestar-miss", "**/a/**/z", segments("a", 32)},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				Match(c.pattern, c.path)
			}
		})
	}
}

func TestValidatePatternMessage(t *testing.T) {
	tests := []struct{ pattern, want string }{
		{"key-*", "invalid glob: segment 1 mixes '*' with other characters"},
		{"a/**b", "invalid glob: segment 2 mixes '*'"},
		{"a//b", "invalid glob: segment 2 is empty"},
		{"a/", "invalid glob: segment 2 is empty"},
		{"a.b", "invalid glob: segment 1 has a character other than letters, digits, '_' and '-'"},
		{"", "invalid glob: must not be empty"},
		{strings.Repeat("a", 513), "invalid glob: longer than 512 bytes"},
		{segments("*", 33), "invalid glob: more than 32 segments"},
	}
	for _, tt := range tests {
		err := ValidatePattern(tt.pattern)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("ValidatePattern(%q): got %v, want a message containing %q", clipName(tt.pattern), err, tt.want)
		}
	}
}
