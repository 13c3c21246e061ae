package store

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"time"

	"clavis.dev/clavis"
)

// Rows: the domain types as stored. Each embeds the vocabulary type a caller of the services sees and adds
// what only the server keeps (hashes, wrapped keys, ciphertext, counters); the engine hands callers the
// embedded value.

// User is a user row: the account plus its credential and lockout state.
type User struct {
	clavis.User
	PasswordHash string // argon2id encoded hash; "" for none
	// TokenGen is the credential generation: tokens carrying an older generation are revoked.
	TokenGen     int64
	FailedLogins int
	LockedUntil  *time.Time
}

// WebSession is a dashboard sign-in of a user (docs/dashboard.md §1). The cookie holds a random id of
// which only the SHA-256 is stored; ID is a separate public handle that names the session in lists.
type WebSession struct {
	ID     string
	IDHash []byte
	UserID string
	OrgID  string
	// TokenGen is the user's credential generation at sign-in: a password change ends the session.
	TokenGen   int64
	IP         string
	CreatedAt  time.Time
	LastSeenAt time.Time
}

// MFA is a user's TOTP state (spec §4.13). Secret and Pending are wrapped by the root key; recovery
// codes are kept only as keyed hashes.
type MFA struct {
	UserID        string
	Secret        []byte   // the enabled TOTP key (wrapped); nil while MFA is off
	Pending       []byte   // a key from setup awaiting verify-setup (wrapped); nil if none
	LastStep      int64    // the last time step whose code was accepted (replay protection)
	RecoveryCodes []string // hex keyed hashes of the unused recovery codes
}

// APIKey is a personal API key (1ck_) row. Only the key's keyed hash is stored.
type APIKey struct {
	clavis.APIKey
	Hash []byte
}

// Agent is an agent row: the agent plus the keyed hash of its current key and its token generation.
type Agent struct {
	clavis.Agent
	KeyHash  []byte
	TokenGen int64 // tokens with an older generation are revoked
}

// Vault is a vault row: the vault plus its version-1 key wrapped by the root key.
type Vault struct {
	clavis.Vault
	WrappedKey []byte
}

// VaultKey is one version of a vault's key. A vault starts with version 1 (the key created with it); a
// rotation adds the next version, which new writes use, while values sealed under older versions still
// open with theirs.
type VaultKey struct {
	VaultID     string
	Version     int
	Wrapped     []byte // the key wrapped by the root key
	Encryptions int64  // values sealed under this version so far (nonce hygiene: rotate before 2^32)
	CreatedAt   time.Time
}

// Version is a version row: the version's metadata plus its sealed value. Ciphertext and WrappedDEK are
// opaque to everything but the keyring. The embedded field hides clavis.Version's Version number: it
// reads v.Version.Version.
type Version struct {
	clavis.Version
	Ciphertext []byte
	WrappedDEK []byte
}

// The password hash is a verifier open to offline guessing: a User prints, logs and marshals with it
// replaced by "[redacted]" when set.

const redacted = "[redacted]"

func redactedUser(u User) any {
	type fields = User
	type User fields
	out := User(u)
	if out.PasswordHash != "" {
		out.PasswordHash = redacted
	}
	return out
}

// Format prints the user with its password hash redacted.
func (u User) Format(f fmt.State, verb rune) {
	fmt.Fprintf(f, fmt.FormatString(f, verb), redactedUser(u))
}

// LogValue logs the user with its password hash redacted.
func (u User) LogValue() slog.Value { return slog.AnyValue(redactedUser(u)) }

// MarshalJSON encodes the user's fields with its password hash redacted.
func (u User) MarshalJSON() ([]byte, error) { return json.Marshal(redactedUser(u)) }

// Approval is an approval row. For a secret_access approval, VaultID, Path and Permission name the
// access it grants once, and UsedAt is set when a request has used that grant.
type Approval struct {
	clavis.Approval
	Path       string // secret_access only
	Permission string // secret_access only
	UsedAt     *time.Time
}

// Enrollment is an enrolment row. SecretHash is the keyed hash of the secret the agent polls with; OrgID
// and DecidedBy are set by the decision; KeyDelivered is set by the poll that hands out the agent's key.
type Enrollment struct {
	clavis.Enrollment
	SecretHash   []byte
	OrgID        string
	DecidedBy    string
	KeyDelivered bool
}

// Share is a share row: the share plus the argon2id hash of its passphrase ("" for none).
type Share struct {
	clavis.Share
	PassphraseHash string
}
