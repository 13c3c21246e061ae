package policy

import (
	"slices"
	"testing"

	"clavis.dev/clavis"
)

func TestParsePermissions(t *testing.T) {
	tests := []struct {
		in    []string
		want  []clavis.Permission
		field string // "" when valid
	}{
		{[]string{"read"}, []clavis.Permission{"read"}, ""},
		{[]string{"read", "write", "delete", "rotate", "share"}, []clavis.Permission{"read", "write", "delete", "rotate", "share"}, ""},
		{[]string{"share", "read"}, []clavis.Permission{"share", "read"}, ""},
		{[]string{"use"}, []clavis.Permission{"use"}, ""},
		{[]string{"use", "read", "use"}, []clavis.Permission{"use", "read"}, ""},
		{[]string{"Use"}, nil, "permissions"},                                                  // order kept
		{[]string{"write", "read", "write", "read"}, []clavis.Permission{"write", "read"}, ""}, // duplicates dropped
		{nil, nil, "permissions"},
		{[]string{}, nil, "permissions"},
		{[]string{"admin"}, nil, "permissions"},
		{[]string{"read", "Read"}, nil, "permissions"}, // case-sensitive
		{[]string{""}, nil, "permissions"},
		{[]string{"read", "fly"}, nil, "permissions"},
	}
	for _, tt := range tests {
		got, err := ParsePermissions(tt.in)
		checkInvalid(t, err, tt.field)
		if !slices.Equal(got, tt.want) {
			t.Errorf("ParsePermissions(%q): got %q, want %q", tt.in, got, tt.want)
		}
	}
}

// TestSatisfies is the table of §3.2: a permission is satisfied by itself, delete and rotate also by write,
// use also by read.
func TestSatisfies(t *testing.T) {
	p := func(s ...clavis.Permission) []clavis.Permission { return s }
	tests := []struct {
		perms []clavis.Permission
		need  clavis.Permission
		want  bool
	}{
		{p("read"), "read", true},
		{p("read"), "write", false},
		{p("write"), "write", true},
		{p("write"), "delete", true},
		{p("write"), "rotate", true},
		{p("write"), "read", false},
		{p("write"), "share", false},
		{p("delete"), "delete", true},
		{p("delete"), "write", false}, // implication goes one way only
		{p("rotate"), "write", false},
		{p("delete"), "rotate", false},
		{p("share"), "share", true},
		{p("read", "share"), "share", true},
		{p("read", "write", "delete", "rotate", "share"), "rotate", true},
		{p("use"), "use", true},
		{p("read"), "use", true}, // read implies use (use.md §1)
		{p("use"), "read", false},
		{p("write"), "use", false},
		{p("share"), "use", false},
		{p("use"), "delete", false},
		{nil, "read", false},
		{p("read"), "", false},
	}
	for _, tt := range tests {
		if got := Satisfies(tt.perms, tt.need); got != tt.want {
			t.Errorf("Satisfies(%q, %q): got %v, want %v", tt.perms, tt.need, got, tt.want)
		}
	}
}
