package token_test

import (
	"encoding/base64"
	"encoding/hex"
	"strings"
	"testing"

	"clavis.dev/clavis/internal/token"
)

func TestNewAPIKey(t *testing.T) {
	for _, prefix := range []string{token.AgentKeyPrefix, token.UserKeyPrefix} {
		t.Run(prefix, func(t *testing.T) {
			seen := map[string]bool{}
			for range 100 {
				k, err := token.NewAPIKey(prefix)
				if err != nil {
					t.Fatal(err)
				}
				if got, want := len(k), 47; got != want {
					t.Fatalf("len(%q) = %d, want %d", k, got, want)
				}
				body, ok := strings.CutPrefix(k, prefix)
				if !ok {
					t.Fatalf("%q lacks prefix %q", k, prefix)
				}
				raw, err := base64.RawURLEncoding.Strict().DecodeString(body)
				if err != nil || len(raw) != 32 {
					t.Fatalf("body %q decodes to %d bytes (%v), want 32", body, len(raw), err)
				}
				if !token.WellFormedKey(k, prefix) {
					t.Fatalf("WellFormedKey(%q, %q) = false, want true", k, prefix)
				}
				if seen[k] {
					t.Fatalf("duplicate key %q", k)
				}
				seen[k] = true
			}
		})
	}
}

func TestWellFormedKey(t *testing.T) {
	body := "AbCdEfGhIjKlMnOpQrStUvWxYz0123456789-_abcd" + "Q" // 43 characters
	tests := []struct {
		name   string
		raw    string
		prefix string
		want   bool
	}{
		{"agent key", "ocv_" + body, token.AgentKeyPrefix, true},
		{"user key", "1ck_" + body, token.UserKeyPrefix, true},
		{"agent key as user key", "ocv_" + body, token.UserKeyPrefix, false},
		{"user key as agent key", "1ck_" + body, token.AgentKeyPrefix, false},
		{"no prefix", body, token.AgentKeyPrefix, false},
		{"upper-case prefix", "OCV_" + body, token.AgentKeyPrefix, false},
		{"42 characters", "ocv_" + body[1:], token.AgentKeyPrefix, false},
		{"44 characters", "ocv_" + body + "A", token.AgentKeyPrefix, false},
		{"padding", "ocv_" + body[1:] + "=", token.AgentKeyPrefix, false},
		{"standard base64 '+'", "ocv_+" + body[1:], token.AgentKeyPrefix, false},
		{"standard base64 '/'", "ocv_/" + body[1:], token.AgentKeyPrefix, false},
		{"space", "ocv_ " + body[1:], token.AgentKeyPrefix, false},
		{"non-ASCII", "ocv_é" + body[2:], token.AgentKeyPrefix, false},
		{"empty", "", token.AgentKeyPrefix, false},
		{"prefix only", "ocv_", token.AgentKeyPrefix, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := token.WellFormedKey(tt.raw, tt.prefix); got != tt.want {
				t.Errorf("WellFormedKey(%q, %q) = %v, want %v", tt.raw, tt.prefix, got, tt.want)
			}
		})
	}
}

func TestHashKey(t *testing.T) {
	// RFC 4231 test case 2: HMAC-SHA256(key "Jefe", "what do ya want for nothing?").
	got := hex.EncodeToString(token.HashKey([]byte("Jefe"), "what do ya want for nothing?"))
	if want := "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"; got != want {
		t.Errorf("HashKey(RFC 4231 #2) = %s, want %s", got, want)
	}
	pepper := []byte("pepper-0123456789abcdef0123456789")
	k := "ocv_" + strings.Repeat("A", 43)
	if !token.EqualHash(token.HashKey(pepper, k), token.HashKey(pepper, k)) {
		t.Error("HashKey is not deterministic")
	}
	if token.EqualHash(token.HashKey(pepper, k), token.HashKey([]byte("other pepper"), k)) {
		t.Error("HashKey ignores the pepper")
	}
	if token.EqualHash(token.HashKey(pepper, k), token.HashKey(pepper, k[:46]+"B")) {
		t.Error("HashKey ignores the key's last character")
	}
}

func TestEqualHash(t *testing.T) {
	a := token.HashKey([]byte("p"), "a")
	b := token.HashKey([]byte("p"), "b")
	tests := []struct {
		name string
		x, y []byte
		want bool
	}{
		{"same", a, append([]byte(nil), a...), true},
		{"different", a, b, false},
		{"prefix", a, a[:16], false},
		{"longer", a, append(append([]byte(nil), a...), 0), false},
		{"both empty", []byte{}, []byte{}, false},
		{"both nil", nil, nil, false},
		{"one nil", a, nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := token.EqualHash(tt.x, tt.y); got != tt.want {
				t.Errorf("EqualHash = %v, want %v", got, tt.want)
			}
		})
	}
}
