package token

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
)

// SigningKey is one Ed25519 token-signing key with its key id (the JOSE "kid").
//
// The private key never leaves the value by accident: String, Format (every fmt verb), LogValue and
// MarshalJSON show the ID only. To persist a key, store Private.Seed() explicitly and rebuild it with
// SigningKeyFromSeed.
type SigningKey struct {
	ID      string
	Private ed25519.PrivateKey
}

// NewSigningKey returns a fresh random key whose ID is KeyID of its public key.
// The error is non-nil only if the system's random source fails.
func NewSigningKey() (SigningKey, error) {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return SigningKey{}, fmt.Errorf("token: generate signing key: %w", err)
	}
	return SigningKey{ID: KeyID(priv.Public().(ed25519.PublicKey)), Private: priv}, nil
}

// SigningKeyFromSeed rebuilds the key stored as its 32-byte seed (ed25519.PrivateKey.Seed), with the same
// ID that NewSigningKey gave it. It panics if len(seed) != ed25519.SeedSize, like ed25519.NewKeyFromSeed.
func SigningKeyFromSeed(seed []byte) SigningKey {
	priv := ed25519.NewKeyFromSeed(seed)
	return SigningKey{ID: KeyID(priv.Public().(ed25519.PublicKey)), Private: priv}
}

// KeyID is the stable fingerprint used as a key's "kid": base64url without padding of the first 12 bytes
// of SHA-256 of the public key (16 characters).
func KeyID(pub ed25519.PublicKey) string {
	sum := sha256.Sum256(pub)
	return base64.RawURLEncoding.EncodeToString(sum[:12])
}

// Public returns the public half of the key, or nil if Private is not a well-formed Ed25519 private key.
func (k SigningKey) Public() ed25519.PublicKey {
	if len(k.Private) != ed25519.PrivateKeySize {
		return nil
	}
	return k.Private.Public().(ed25519.PublicKey)
}

// check reports why k cannot be used to sign and verify, or nil.
func (k SigningKey) check() error {
	if k.ID == "" {
		return errors.New("signing key has an empty ID")
	}
	if len(k.Private) != ed25519.PrivateKeySize {
		return fmt.Errorf("signing key %q is not an Ed25519 private key", k.ID)
	}
	// The second half of an ed25519.PrivateKey is the public key; a mismatch would make every
	// signature invalid.
	if !ed25519.NewKeyFromSeed(k.Private.Seed()).Equal(k.Private) {
		return fmt.Errorf("signing key %q has an inconsistent public half", k.ID)
	}
	return nil
}

// String names the key by its ID only.
func (k SigningKey) String() string { return "SigningKey{ID:" + k.ID + " Private:REDACTED}" }

// Format prints String for every verb, so that no fmt verb (%x, %d, %#v …) can print the private key.
func (k SigningKey) Format(f fmt.State, _ rune) { _, _ = fmt.Fprint(f, k.String()) }

// LogValue logs the key ID only.
func (k SigningKey) LogValue() slog.Value { return slog.GroupValue(slog.String("id", k.ID)) }

// MarshalJSON encodes the key ID only: {"id":"…"}.
func (k SigningKey) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		ID string `json:"id"`
	}{k.ID})
}
