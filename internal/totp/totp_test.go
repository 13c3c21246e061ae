package totp

import (
	"strings"
	"testing"
)

// RFC 6238 Appendix B test vectors (SHA-1, key "12345678901234567890"), truncated to 6 digits.
func TestTOTPCodeRFC6238(t *testing.T) {
	key := []byte("12345678901234567890")
	for _, c := range []struct {
		unix int64
		want string
	}{{59, "287082"}, {1111111109, "081804"}, {1111111111, "050471"}, {1234567890, "005924"}, {2000000000, "279037"}, {20000000000, "353130"}} {
		if got := Code(key, c.unix/Period); got != c.want {
			t.Errorf("Code at %d = %s, want %s", c.unix, got, c.want)
		}
	}
}

func TestMatchTOTP(t *testing.T) {
	key := []byte("12345678901234567890")
	const now = 1000
	for _, c := range []struct {
		name     string
		step     int64
		last     int64
		wantOK   bool
		wantStep int64
	}{
		{"current step", now, 0, true, now},
		{"one step early", now - 1, 0, true, now - 1},
		{"one step late", now + 1, 0, true, now + 1},
		{"two steps early", now - 2, 0, false, 0},
		{"replay of the accepted step", now, now, false, 0},
		{"an earlier step after a later one was accepted", now - 1, now, false, 0},
	} {
		got, ok := Match(key, Code(key, c.step), now, c.last)
		if ok != c.wantOK || got != c.wantStep {
			t.Errorf("%s: Match = %d, %v; want %d, %v", c.name, got, ok, c.wantStep, c.wantOK)
		}
	}
	if _, ok := Match(key, "12345", now, 0); ok {
		t.Errorf("a 5-digit code matched")
	}
}

func TestRecoveryCodes(t *testing.T) {
	codes, err := NewRecoveryCodes(8)
	if err != nil || len(codes) != 8 {
		t.Fatalf("NewRecoveryCodes = %v, %v", codes, err)
	}
	seen := map[string]bool{}
	for _, c := range codes {
		if len(c) != 9 || c[4] != '-' || strings.Trim(strings.ReplaceAll(c, "-", ""), recoveryAlphabet) != "" || seen[c] {
			t.Errorf("bad or repeated recovery code %q", c)
		}
		seen[c] = true
		if got := NormalizeRecoveryCode(strings.ToUpper(strings.ReplaceAll(c, "-", ""))); got != strings.ReplaceAll(c, "-", "") {
			t.Errorf("NormalizeRecoveryCode = %q for %q", got, c)
		}
	}
}
