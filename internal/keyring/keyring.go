// Package keyring is the key hierarchy and envelope encryption of Clavis.
//
// A root key (a RootKey provider: keyring/file, later keyring/pkcs11) wraps one random 256-bit key per
// vault. A vault key wraps one random 256-bit data key per secret version, and the data key encrypts the
// value with AES-256-GCM. Every layer authenticates what it belongs to:
//
//   - a wrapped vault key is bound to (root key ID, org, vault);
//   - a wrapped data key and a ciphertext are bound to (org, vault, secret id, path, version) and to the
//     envelope format version,
//
// so a stored blob moved to another vault, secret, path or version, or altered in any byte, fails to open.
//
// Unwrapped vault keys are cached in memory (bounded LRU with a TTL, keyed by org, vault and a hash of the
// wrapped key), so the root-key provider — possibly an HSM — is called on a cache miss, not per read.
// Forget drops a vault key from the cache when its vault is deleted.
//
// Errors: every failure is a *clavis.Error. A value, data key or vault key that fails to authenticate
// (wrong key, wrong AAD, corrupted or truncated bytes) is an error of kind clavis.KindInternal whose
// caller-facing message is "internal error". An error from the RootKey that is already a *clavis.Error
// keeps its kind (an HSM reporting clavis.KindUnavailable stays unavailable); any other is KindInternal.
// No error ever carries key material or plaintext.
package keyring

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"clavis.dev/clavis"
)

// RootKey is a root-key provider. The root key never leaves it. Implementations: keyring/file, later
// keyring/pkcs11; every implementation runs the keyringtest conformance suite.
//
// Wrap encrypts plaintext and binds aad (authenticated, not encrypted); Unwrap returns an error, never
// partial output, unless wrapped was produced by Wrap of the same key with the same aad. Two wraps of the
// same plaintext differ. Implementations are safe for concurrent use.
type RootKey interface {
	Wrap(ctx context.Context, plaintext, aad []byte) ([]byte, error)
	Unwrap(ctx context.Context, wrapped, aad []byte) ([]byte, error)
	// ID names the root key version (stored with every wrapped vault key so rotation can tell keys apart).
	// It is short, stable for a given key, non-empty and reveals nothing about the key.
	ID() string
}

// AAD names what a secret version ciphertext belongs to. Every field is bound into the ciphertext and
// the wrapped data key; opening under an AAD that differs in any field fails.
type AAD struct {
	OrgID, VaultID, SecretID, Path string
	Version                        int
	// KeyVersion is the version of the vault key the value is sealed under; 0 means 1. Versions above 1
	// are bound into the AAD and recorded in the wrapped data key (see KeyVersionOf).
	KeyVersion int
}

// keyVersion returns the effective vault key version of a.
func (a AAD) keyVersion() int {
	if a.KeyVersion < 1 {
		return 1
	}
	return a.KeyVersion
}

// Sealed is a stored value: Ciphertext (a one-byte format header, then nonce||GCM output) and WrappedDEK
// (the data key wrapped by the vault key, same layout). Neither reveals the plaintext; both are opaque to
// everything but the keyring.
type Sealed struct{ Ciphertext, WrappedDEK []byte }

// String reports sizes only, so that logging a Sealed never dumps stored blobs.
func (s Sealed) String() string {
	return fmt.Sprintf("keyring.Sealed{ciphertext: %d bytes, wrapped_dek: %d bytes}", len(s.Ciphertext), len(s.WrappedDEK))
}

// GoString is String, for %#v.
func (s Sealed) GoString() string { return s.String() }

// LogValue reports sizes only.
func (s Sealed) LogValue() slog.Value {
	return slog.GroupValue(slog.Int("ciphertext_bytes", len(s.Ciphertext)), slog.Int("wrapped_dek_bytes", len(s.WrappedDEK)))
}

// Options tunes a Keyring. The zero value is valid.
type Options struct {
	// CacheSize bounds the number of unwrapped vault keys held in memory (least recently used are
	// evicted first). 0 means 1024; a negative value disables the cache, so every operation unwraps.
	CacheSize int
	// CacheTTL is how long an unwrapped vault key stays cached after it was unwrapped. 0 (or negative)
	// means 10 minutes.
	CacheTTL time.Duration
	// Now is the clock used for cache expiry; nil means time.Now. For tests.
	Now func() time.Time
	// Previous are earlier root keys that still unwrap what they wrapped, during a root-key rotation
	// or a move to another provider; new keys are always wrapped by the current root key.
	Previous []RootKey
}

const (
	defaultCacheSize = 1024
	defaultCacheTTL  = 10 * time.Minute
	keySize          = 32 // AES-256
)

// Keyring performs envelope encryption under one root key. It is safe for concurrent use.
type Keyring struct {
	root     RootKey
	previous []RootKey
	cache    *vaultKeyCache
}

// New returns a Keyring over root. The Keyring does not own root and never closes it.
func New(root RootKey, opt Options) *Keyring {
	if opt.CacheSize == 0 {
		opt.CacheSize = defaultCacheSize
	}
	if opt.CacheTTL <= 0 {
		opt.CacheTTL = defaultCacheTTL
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	return &Keyring{root: root, previous: opt.Previous, cache: newVaultKeyCache(opt.CacheSize, opt.CacheTTL, opt.Now)}
}

// String names the root key only.
func (k *Keyring) String() string { return "keyring(root " + k.root.ID() + ")" }

// GoString is String, for %#v: it never prints the cache.
func (k *Keyring) GoString() string { return k.String() }

// LogValue names the root key only.
func (k *Keyring) LogValue() slog.Value { return slog.StringValue(k.String()) }

// NewVaultKey makes a random vault key and returns it wrapped by the root key with AAD bound to
// (root key ID, orgID, vaultID). The result is what Seal and Open take as wrappedVaultKey; store it with
// the vault. orgID and vaultID must be non-empty.
func (k *Keyring) NewVaultKey(ctx context.Context, orgID, vaultID string) ([]byte, error) {
	return k.NewVaultKeyVersion(ctx, orgID, vaultID, 1)
}

// NewVaultKeyVersion is NewVaultKey for a later key version of the vault (rotation): the wrap is also
// bound to the version, so a wrapped key cannot stand in for another version.
func (k *Keyring) NewVaultKeyVersion(ctx context.Context, orgID, vaultID string, version int) ([]byte, error) {
	if orgID == "" || vaultID == "" {
		return nil, clavis.Internal(errors.New("keyring: new vault key: empty org or vault id"))
	}
	key := make([]byte, keySize)
	defer clear(key)
	rand.Read(key) // never fails (crypto/rand since Go 1.24)
	return k.wrapUnderRoot(ctx, key, func(id string) []byte { return vaultKeyAAD(id, orgID, vaultID, version) })
}

// Seal encrypts plaintext for one secret version: a fresh random data key per call encrypts the value,
// and is itself wrapped by the vault key (unwrapped through the cache). aad.OrgID and aad.VaultID must
// be the ids wrappedVaultKey was made for.
func (k *Keyring) Seal(ctx context.Context, wrappedVaultKey []byte, aad AAD, plaintext []byte) (Sealed, error) {
	vault, err := k.vaultKey(ctx, aad.OrgID, aad.VaultID, aad.keyVersion(), wrappedVaultKey)
	if err != nil {
		return Sealed{}, err
	}
	dek := make([]byte, keySize)
	defer clear(dek)
	rand.Read(dek)
	data, err := newAEAD(dek)
	if err != nil {
		return Sealed{}, clavis.Internal(fmt.Errorf("keyring: seal: %w", err))
	}
	// #nosec G407 -- newAEAD is NewGCMWithRandomNonce: each Seal draws a random nonce; the argument must be nil.
	s := Sealed{
		Ciphertext: data.Seal(make([]byte, 1, 1+len(plaintext)+data.Overhead()), nil, plaintext, valueAAD(aad)),
		WrappedDEK: vault.Seal(dekHeader(aad.keyVersion()), nil, dek, dekAAD(aad)),
	}
	s.Ciphertext[0] = formatV1
	return s, nil
}

// Open decrypts a value sealed by Seal. It fails — never panics, never returns partial output — when
// wrappedVaultKey, aad or any byte of s differs from what Seal was given and returned.
func (k *Keyring) Open(ctx context.Context, wrappedVaultKey []byte, aad AAD, s Sealed) ([]byte, error) {
	vault, err := k.vaultKey(ctx, aad.OrgID, aad.VaultID, aad.keyVersion(), wrappedVaultKey)
	if err != nil {
		return nil, err
	}
	kv, body, ok := cutDEKHeader(s.WrappedDEK)
	if !ok || kv != aad.keyVersion() || len(body) != keySize+vault.Overhead() {
		return nil, openError("data key", aad, errors.New("malformed"))
	}
	dek, err := vault.Open(make([]byte, 0, keySize), nil, body, dekAAD(aad))
	if err != nil {
		return nil, openError("data key", aad, err)
	}
	defer clear(dek)
	body, ok = cutFormat(s.Ciphertext)
	if !ok {
		return nil, openError("value", aad, errors.New("malformed"))
	}
	data, err := newAEAD(dek)
	if err != nil {
		return nil, clavis.Internal(fmt.Errorf("keyring: open: %w", err))
	}
	if len(body) < data.Overhead() {
		return nil, openError("value", aad, errors.New("truncated"))
	}
	plaintext, err := data.Open(nil, nil, body, valueAAD(aad))
	if err != nil {
		return nil, openError("value", aad, err)
	}
	if plaintext == nil {
		plaintext = []byte{}
	}
	return plaintext, nil
}

// KeyVersionOf returns the vault key version a value was sealed under, so the caller can fetch that
// version's wrapped key before Open.
func KeyVersionOf(s Sealed) (int, error) {
	kv, _, ok := cutDEKHeader(s.WrappedDEK)
	if !ok {
		return 0, clavis.Internal(errors.New("keyring: malformed wrapped data key"))
	}
	return kv, nil
}

// Forget drops every key version of (orgID, vaultID) from the cache, so that a deleted vault's key no longer
// lives in memory (crypto-shredding, together with deleting the wrapped key from storage). An unwrap
// already in flight when Forget is called does not repopulate the cache.
func (k *Keyring) Forget(orgID, vaultID string) { k.cache.forget(orgID, vaultID) }

// WrapServerSecret protects a server-level secret (JWT signing key, API-key pepper, audit key) under the
// root key, bound to purpose (non-empty, e.g. "jwt-signing-key"). Store the result; only
// UnwrapServerSecret with the same purpose and root key recovers secret.
func (k *Keyring) WrapServerSecret(ctx context.Context, purpose string, secret []byte) ([]byte, error) {
	if purpose == "" {
		return nil, clavis.Internal(errors.New("keyring: wrap server secret: empty purpose"))
	}
	id := k.root.ID()
	header, err := rootHeader(id)
	if err != nil {
		return nil, clavis.Internal(fmt.Errorf("keyring: wrap server secret: %w", err))
	}
	out, err := k.root.Wrap(ctx, secret, serverSecretAAD(id, purpose))
	if err != nil {
		return nil, rootError(fmt.Errorf("keyring: wrap server secret %q: %w", purpose, err))
	}
	return append(header, out...), nil
}

// UnwrapServerSecret recovers a secret wrapped by WrapServerSecret. It fails when purpose differs, when
// wrapped was made under another root key, or when any byte of wrapped was changed. The caller owns the
// returned slice and should clear it when done.
func (k *Keyring) UnwrapServerSecret(ctx context.Context, purpose string, wrapped []byte) ([]byte, error) {
	root, body, err := k.cutRootHeader(wrapped)
	if err != nil {
		return nil, clavis.Internal(fmt.Errorf("keyring: unwrap server secret %q: %w", purpose, err))
	}
	secret, err := root.Unwrap(ctx, body, serverSecretAAD(root.ID(), purpose))
	if err != nil {
		return nil, rootError(fmt.Errorf("keyring: unwrap server secret %q: %w", purpose, err))
	}
	return secret, nil
}

// vaultKey returns the AEAD of the vault key wrapped in wrapped, from the cache or the root key.
func (k *Keyring) vaultKey(ctx context.Context, orgID, vaultID string, keyVersion int, wrapped []byte) (cipher.AEAD, error) {
	if orgID == "" || vaultID == "" {
		return nil, clavis.Internal(errors.New("keyring: empty org or vault id"))
	}
	ck := cacheKey{orgID: orgID, vaultID: vaultID, keyVersion: keyVersion, sum: sha256.Sum256(wrapped)}
	return k.cache.get(ctx, ck, func() (cipher.AEAD, error) { return k.unwrapVaultKey(ctx, ck, wrapped) })
}

func (k *Keyring) unwrapVaultKey(ctx context.Context, ck cacheKey, wrapped []byte) (cipher.AEAD, error) {
	root, body, err := k.cutRootHeader(wrapped)
	if err != nil {
		return nil, clavis.Internal(fmt.Errorf("keyring: unwrap vault key of %s/%s: %w", ck.orgID, ck.vaultID, err))
	}
	key, err := root.Unwrap(ctx, body, vaultKeyAAD(root.ID(), ck.orgID, ck.vaultID, ck.keyVersion))
	if err != nil {
		return nil, rootError(fmt.Errorf("keyring: unwrap vault key of %s/%s: %w", ck.orgID, ck.vaultID, err))
	}
	defer clear(key)
	if len(key) != keySize {
		return nil, clavis.Internal(fmt.Errorf("keyring: unwrap vault key of %s/%s: got %d bytes, want %d", ck.orgID, ck.vaultID, len(key), keySize))
	}
	aead, err := newAEAD(key)
	if err != nil {
		return nil, clavis.Internal(fmt.Errorf("keyring: unwrap vault key: %w", err))
	}
	return aead, nil
}

// cutRootHeader finds the root key (current or previous) that made wrapped and returns it with the
// provider's part of wrapped.
func (k *Keyring) cutRootHeader(wrapped []byte) (RootKey, []byte, error) {
	id, body, ok := parseRootHeader(wrapped)
	if !ok {
		return nil, nil, errors.New("malformed wrapped key")
	}
	if id == k.root.ID() {
		return k.root, body, nil
	}
	for _, r := range k.previous {
		if id == r.ID() {
			return r, body, nil
		}
	}
	return nil, nil, fmt.Errorf("wrapped under root key %q, keyring has root key %q", id, k.root.ID())
}

// RootID names the current root key.
func (k *Keyring) RootID() string { return k.root.ID() }

// WrappedUnder reports the ID of the root key that wrapped a vault key or server secret.
func WrappedUnder(wrapped []byte) (string, bool) {
	id, _, ok := parseRootHeader(wrapped)
	return id, ok
}

// RewrapVaultKey unwraps a vault key version with this keyring's root keys and wraps the same key under
// to's current root key (root-key rotation or a move to another provider). The vault key itself, and so
// every value sealed under it, is unchanged.
func (k *Keyring) RewrapVaultKey(ctx context.Context, to *Keyring, orgID, vaultID string, version int, wrapped []byte) ([]byte, error) {
	root, body, err := k.cutRootHeader(wrapped)
	if err != nil {
		return nil, clavis.Internal(fmt.Errorf("keyring: rewrap vault key of %s/%s: %w", orgID, vaultID, err))
	}
	key, err := root.Unwrap(ctx, body, vaultKeyAAD(root.ID(), orgID, vaultID, version))
	if err != nil {
		return nil, rootError(fmt.Errorf("keyring: rewrap vault key of %s/%s: %w", orgID, vaultID, err))
	}
	defer clear(key)
	return to.wrapUnderRoot(ctx, key, func(id string) []byte { return vaultKeyAAD(id, orgID, vaultID, version) })
}

// RewrapServerSecret is RewrapVaultKey for a server secret of the given purpose.
func (k *Keyring) RewrapServerSecret(ctx context.Context, to *Keyring, purpose string, wrapped []byte) ([]byte, error) {
	secret, err := k.UnwrapServerSecret(ctx, purpose, wrapped)
	if err != nil {
		return nil, err
	}
	defer clear(secret)
	return to.WrapServerSecret(ctx, purpose, secret)
}

// wrapUnderRoot wraps plaintext under the current root key with the AAD for its ID, behind the root
// header.
func (k *Keyring) wrapUnderRoot(ctx context.Context, plaintext []byte, aad func(rootID string) []byte) ([]byte, error) {
	id := k.root.ID()
	header, err := rootHeader(id)
	if err != nil {
		return nil, clavis.Internal(fmt.Errorf("keyring: wrap: %w", err))
	}
	out, err := k.root.Wrap(ctx, plaintext, aad(id))
	if err != nil {
		return nil, rootError(fmt.Errorf("keyring: wrap: %w", err))
	}
	return append(header, out...), nil
}

// newAEAD returns AES-256-GCM with random 96-bit nonces prepended to the output. The key schedule is
// copied into the cipher, so key may be cleared afterwards.
func newAEAD(key []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCMWithRandomNonce(block)
}

var errOpen = errors.New("keyring: authentication failed (wrong key, wrong context or corrupted data)")

// openError reports a value or data key that does not authenticate. It names the version it was opening
// (ids, path and version number are not secret) but nothing of the key or the data.
func openError(what string, aad AAD, cause error) error {
	return clavis.Internal(fmt.Errorf("%w: %s of %s/%s secret %s version %d: %v", errOpen, what, aad.OrgID, aad.VaultID, aad.SecretID, aad.Version, cause))
}

// rootError keeps the kind of a *clavis.Error from the root-key provider (an HSM may say "unavailable")
// and makes anything else internal.
func rootError(err error) error {
	var ce *clavis.Error
	if errors.As(err, &ce) {
		return &clavis.Error{Kind: ce.Kind, Message: ce.Message, Err: err, RetryAfter: ce.RetryAfter}
	}
	return clavis.Internal(err)
}
