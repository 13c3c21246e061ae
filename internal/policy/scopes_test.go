package policy

import (
	"slices"
	"testing"
)

func TestValidateScopes(t *testing.T) {
	tests := []struct {
		name   string
		scopes []string
		field  string // "" when valid
	}{
		{"none", nil, ""},
		{"empty", []string{}, ""},
		{"labels are never checked", []string{"vaults:read", "a:b:c", ":", "x y:z"}, ""},
		{"path scopes", []string{"api-keys/**", "*", "prod/*/password"}, ""},
		{"labels and path scopes", []string{"vaults:read", "db/**"}, ""},
		{"bad glob", []string{"key-*"}, "scopes"},
		{"empty entry", []string{""}, "scopes"},
		{"bad glob after a good one", []string{"db/**", "vaults:read", "a//b"}, "scopes"},
		{"dot", []string{"a.b"}, "scopes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { checkInvalid(t, ValidateScopes(tt.scopes), tt.field) })
	}
}

func TestPathScopes(t *testing.T) {
	tests := []struct {
		scopes []string
		want   []string
	}{
		{nil, nil},
		{[]string{"vaults:read"}, nil},
		{[]string{"api-keys/**"}, []string{"api-keys/**"}},
		{[]string{"vaults:read", "db/**", "secrets:write", "*"}, []string{"db/**", "*"}},
	}
	for _, tt := range tests {
		if got := PathScopes(tt.scopes); !slices.Equal(got, tt.want) {
			t.Errorf("PathScopes(%q): got %q, want %q", tt.scopes, got, tt.want)
		}
	}
}
