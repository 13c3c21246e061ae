package token

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"strings"
)

// API-key prefixes (spec §2.2).
const (
	AgentKeyPrefix = "ocv_" // agent key, exchanged for an agent token
	UserKeyPrefix  = "1ck_" // personal API key of a user
)

// apiKeyBody is the length of the base64url (no padding) encoding of an API key's 32 random bytes.
const apiKeyBody = 43

// NewAPIKey returns prefix followed by base64url without padding of 32 random bytes (47 characters for
// the 4-character prefixes above). The error is non-nil only if the system's random source fails.
// The key is shown to its owner once; only HashKey of it is stored.
func NewAPIKey(prefix string) (string, error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("token: new API key: %w", err)
	}
	return prefix + base64.RawURLEncoding.EncodeToString(b[:]), nil
}

// WellFormedKey reports whether raw is prefix followed by exactly 43 base64url characters: the shape of
// a key from NewAPIKey. It says nothing about whether the key exists.
func WellFormedKey(raw, prefix string) bool {
	body, ok := strings.CutPrefix(raw, prefix)
	return ok && len(body) == apiKeyBody && isBase64URL(body)
}

// HashKey returns HMAC-SHA256(pepper, raw), the stored and indexed form of an API key (spec §2.5).
func HashKey(pepper []byte, raw string) []byte {
	m := hmac.New(sha256.New, pepper)
	m.Write([]byte(raw))
	return m.Sum(nil)
}

// EqualHash compares two key hashes in constant time (for equal lengths). Empty hashes never match, so a
// missing stored hash cannot equal a missing computed one.
func EqualHash(a, b []byte) bool {
	return len(a) > 0 && subtle.ConstantTimeCompare(a, b) == 1
}
