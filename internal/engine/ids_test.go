package engine

import "testing"

func TestValidID(t *testing.T) {
	tests := []struct {
		id   string
		want bool
	}{
		{"3f2504e0-4f89-41d3-9a0c-0305e82c3301", true},
		{"00000000-0000-0000-0000-000000000000", true},
		{"3F2504E0-4F89-41D3-9A0C-0305E82C3301", false}, // uppercase: not as minted
		{"3f2504e04f8941d39a0c0305e82c3301", false},
		{"{3f2504e0-4f89-41d3-9a0c-0305e82c3301}", false},
		{"urn:uuid:3f2504e0-4f89-41d3-9a0c-0305e82c3301", false},
		{"3f2504e0-4f89-41d3-9a0c-0305e82c330g", false},
		{"3f2504e0_4f89-41d3-9a0c-0305e82c3301", false},
		{"", false},
		{"../../etc/passwd", false},
	}
	for _, tc := range tests {
		if got := validID(tc.id); got != tc.want {
			t.Errorf("validID(%q) = %v, want %v", tc.id, got, tc.want)
		}
	}
}
