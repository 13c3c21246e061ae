package policy

import (
	"math"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// segments returns n copies of seg joined by "/".
func segments(seg string, n int) string { return strings.Repeat(seg+"/", n-1) + seg }

func TestValidatePath(t *testing.T) {
	valid := []string{
		"a", "Z", "0", "token", "api-keys/openai", "prod/pg/password", "a/b/c/d/e", "Prod/DB",
		"snake_case-name", "a/_hidden/b", "a/-/b", "a1/2b/3",
		strings.Repeat("a", 512), // 512 bytes
		segments("a", 32),        // 32 segments
		segments(strings.Repeat("a", 15), 32),
	}
	invalid := []string{
		"", ".", "..", "a/./b", "a/../b", "./a", "a/..",
		"a b", " a", "a ", "a/ b", "a\tb",
		"/", "/a", "a/", "/a/", "a//b", "a///b",
		"_a", "a_", "-a", "a-", "a/b-", "a/b_",
		"a.b", "a*", "a/*", "a\\b", "a%2Fb", "a:b", "a\x00", "é", "ä/b",
		strings.Repeat("a", 513), // 513 bytes
		segments("a", 33),        // 33 segments
	}
	for _, p := range valid {
		t.Run("valid/"+clipName(p), func(t *testing.T) { checkInvalid(t, ValidatePath(p), "") })
	}
	for _, p := range invalid {
		t.Run("invalid/"+clipName(p), func(t *testing.T) { checkInvalid(t, ValidatePath(p), "path") })
	}
}

func TestSplitVersionPath(t *testing.T) {
	tests := []struct {
		tail        string
		path        string
		version     int
		invalidWhat string // "" when valid, else the field of the error
	}{
		{"a/b/c/2", "a/b/c", 2, ""},
		{"k/1", "k", 1, ""},
		{"api-keys/openai/10", "api-keys/openai", 10, ""},
		{"k/2147483647", "k", math.MaxInt32, ""},
		{"1/1", "1", 1, ""},
		{"k/2147483648", "", 0, "version"}, // does not fit in int32
		{"k/99999999999", "", 0, "version"},
		{"k/0", "", 0, "version"},  // not positive
		{"k/-1", "", 0, "version"}, // no sign
		{"k/+1", "", 0, "version"},
		{"k/01", "", 0, "version"}, // not canonical
		{"k/1.0", "", 0, "version"},
		{"k/1e3", "", 0, "version"},
		{"k/ 1", "", 0, "version"},
		{"k/v1", "", 0, "version"},
		{"k/", "", 0, "version"},
		{"k", "", 0, "version"}, // no version segment
		{"7", "", 0, "version"},
		{"", "", 0, "version"},
		{"/1", "", 0, "path"}, // empty path
		{"a//b/1", "", 0, "path"},
		{"a/../1", "", 0, "path"},
		{"a/./b/1", "", 0, "path"},
		{"a b/1", "", 0, "path"},
		{segments("a", 33) + "/1", "", 0, "path"},
		{segments("a", 32) + "/1", segments("a", 32), 1, ""},
	}
	for _, tt := range tests {
		t.Run(clipName(tt.tail), func(t *testing.T) {
			path, version, err := SplitVersionPath(tt.tail)
			if got := invalidField(t, err); got != tt.invalidWhat {
				t.Fatalf("SplitVersionPath(%q) error field: got %q (%v), want %q", tt.tail, got, err, tt.invalidWhat)
			}
			if path != tt.path || version != tt.version {
				t.Fatalf("SplitVersionPath(%q): got (%q, %d), want (%q, %d)", tt.tail, path, version, tt.path, tt.version)
			}
		})
	}
}

// pathRule is §4.5.1's regular expression; the other limits are checked by validPathReference.
var pathRule = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9_\-/]*[A-Za-z0-9])?$`)

// validPathReference is §4.5.1 written as plainly as possible.
func validPathReference(p string) bool {
	return pathRule.MatchString(p) && !strings.Contains(p, "//") && len(p) <= 512 &&
		len(strings.Split(p, "/")) <= 32
}

func FuzzValidatePath(f *testing.F) {
	for _, s := range []string{"a", "a/b", "", ".", "..", "a//b", "/a", "a/", "a b", "a/_/b", "é",
		strings.Repeat("a", 513), segments("a", 33), segments("a", 32)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, p string) {
		err := ValidatePath(p)
		if got, want := err == nil, validPathReference(p); got != want {
			t.Fatalf("ValidatePath(%q): got accepted=%v (%v), want %v", p, got, err, want)
		}
		if err != nil {
			checkInvalid(t, err, "path")
		}
	})
}

func FuzzSplitVersionPath(f *testing.F) {
	for _, s := range []string{"a/1", "a/b/c/2", "a/0", "a/01", "a/-1", "a/2147483648", "a", "/1", "a//1", "a/b/"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, tail string) {
		path, version, err := SplitVersionPath(tail)
		if err != nil {
			if f := invalidField(t, err); f != "path" && f != "version" {
				t.Fatalf("SplitVersionPath(%q): error names field %q", tail, f)
			}
			if path != "" || version != 0 {
				t.Fatalf("SplitVersionPath(%q): got (%q, %d) with an error", tail, path, version)
			}
		} else {
			if ValidatePath(path) != nil || !validPathReference(path) {
				t.Fatalf("SplitVersionPath(%q): accepted invalid path %q", tail, path)
			}
			if version < 1 || version > math.MaxInt32 {
				t.Fatalf("SplitVersionPath(%q): version %d out of range", tail, version)
			}
			if got := path + "/" + strconv.Itoa(version); got != tail {
				t.Fatalf("SplitVersionPath(%q) does not round-trip: got %q", tail, got)
			}
		}
		// Reference: last segment a canonical int32 > 0, the rest a valid path.
		i := strings.LastIndexByte(tail, '/')
		want := false
		if i >= 0 {
			n, perr := strconv.ParseInt(tail[i+1:], 10, 32)
			want = perr == nil && n > 0 && strconv.FormatInt(n, 10) == tail[i+1:] && validPathReference(tail[:i])
		}
		if got := err == nil; got != want {
			t.Fatalf("SplitVersionPath(%q): got accepted=%v (%v), want %v", tail, got, err, want)
		}
	})
}

// clipName keeps subtest names readable for long inputs.
func clipName(s string) string {
	if s == "" {
		return "empty"
	}
	if len(s) > 40 {
		return s[:20] + "…(" + strconv.Itoa(len(s)) + " bytes)"
	}
	return s
}

func TestValidatePathMessage(t *testing.T) {
	tests := []struct{ path, want string }{
		{"", "invalid secret path: must not be empty"},
		{"a//b", "invalid secret path: empty segment"},
		{"a/../b", "invalid secret path: only letters, digits, '_', '-' and '/' are allowed"},
		{"/a", "invalid secret path: must start with a letter or digit"},
		{"a/", "invalid secret path: must end with a letter or digit"},
		{strings.Repeat("a", 513), "invalid secret path: longer than 512 bytes"},
		{segments("a", 33), "invalid secret path: more than 32 segments"},
	}
	for _, tt := range tests {
		err := ValidatePath(tt.path)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("ValidatePath(%q): got %v, want a message containing %q", clipName(tt.path), err, tt.want)
		}
	}
}
