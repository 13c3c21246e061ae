// Package totp computes and matches RFC 6238 time-based one-time codes and mints recovery codes for
// multi-factor login (spec §4.13).
package totp

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha1" // #nosec G505 -- RFC 6238 and authenticator apps use HMAC-SHA-1, which SHA-1 collisions do not break
	"crypto/subtle"
	"encoding/base32"
	"encoding/binary"
	"fmt"
	"strings"
)

// TOTP per RFC 6238 with the parameters of spec §4.13: HMAC-SHA-1, 6 digits, 30-second steps.
const (
	Period     = 30        // seconds per time step
	totpDigits = 1_000_000 // 10^6: six-digit codes
)

// b32 is RFC 4648 base32, upper case, without padding.
var b32 = base32.StdEncoding.WithPadding(base32.NoPadding)

// NewKey returns 20 random bytes and their base32 form for authenticator apps. The caller owns the
// key and clears it once it is wrapped.
func NewKey() ([]byte, string, error) {
	k := make([]byte, 20)
	if _, err := rand.Read(k); err != nil {
		return nil, "", err
	}
	return k, b32.EncodeToString(k), nil
}

// Code returns the 6-digit code of key for a time step (unix seconds / 30). It keeps no reference to
// key; the caller clears it when done.
func Code(key []byte, step int64) string {
	var msg [8]byte
	binary.BigEndian.PutUint64(msg[:], uint64(step)) // #nosec G115 -- the step's bits are the RFC 6238 counter
	mac := hmac.New(sha1.New, key)
	mac.Write(msg[:])
	sum := mac.Sum(nil)
	off := sum[len(sum)-1] & 0x0f
	v := binary.BigEndian.Uint32(sum[off:off+4]) & 0x7fffffff
	return fmt.Sprintf("%06d", v%totpDigits)
}

// Match returns the step in [now-1, now+1] whose code equals code and that is later than lastStep
// (a code of an accepted or earlier step is a replay), or false. The comparison is constant time. It keeps
// no reference to key; the caller clears it when done.
func Match(key []byte, code string, nowStep, lastStep int64) (int64, bool) {
	if len(code) != 6 {
		return 0, false
	}
	for step := nowStep - 1; step <= nowStep+1; step++ {
		if step > lastStep && subtle.ConstantTimeCompare([]byte(Code(key, step)), []byte(code)) == 1 {
			return step, true
		}
	}
	return 0, false
}

// recoveryAlphabet is the alphabet of recovery codes: lowercase letters and digits.
const recoveryAlphabet = "abcdefghijklmnopqrstuvwxyz0123456789"

// NewRecoveryCodes returns n codes of 8 characters shown as xxxx-xxxx, drawn without modulo bias.
func NewRecoveryCodes(n int) ([]string, error) {
	out := make([]string, 0, n)
	buf := make([]byte, 64)
	for len(out) < n {
		if _, err := rand.Read(buf); err != nil {
			return nil, err
		}
		var code []byte
		for _, b := range buf {
			if int(b) < 252 { // 252 = 7 × 36: no modulo bias
				code = append(code, recoveryAlphabet[int(b)%36])
				if len(code) == 8 {
					break
				}
			}
		}
		if len(code) == 8 {
			out = append(out, string(code[:4])+"-"+string(code[4:]))
		}
	}
	return out, nil
}

// NormalizeRecoveryCode lower-cases a recovery code and drops its hyphen, so "ABCD-1234", "abcd1234"
// and "abcd-1234" are one code.
func NormalizeRecoveryCode(code string) string {
	return strings.ToLower(strings.ReplaceAll(strings.TrimSpace(code), "-", ""))
}
