package keyring

import (
	"encoding/binary"
	"fmt"
)

// Stored layouts (all integers big-endian):
//
//	wrapped vault key / server secret:  0x01 | len(rootID) u8 | rootID | RootKey.Wrap output
//	Sealed.WrappedDEK:                  0x01 | nonce(12) | GCM(vault key, data key)     | tag(16)
//	Sealed.Ciphertext:                  0x01 | nonce(12) | GCM(data key, value)         | tag(16)
//
// The leading byte is the envelope format version; it is bound into every AAD below, so a blob cannot be
// reinterpreted under another format. AADs are a domain label followed by length-prefixed fields, so no
// two different field lists encode the same bytes and no AAD of one kind equals one of another kind.

const formatV1 byte = 1

// cutFormat returns b without its format header, and whether the header names a known format.
func cutFormat(b []byte) ([]byte, bool) {
	if len(b) < 1 || b[0] != formatV1 {
		return nil, false
	}
	return b[1:], true
}

// rootHeader is the prefix the keyring stores before a RootKey's wrap output. It fails for an ID that
// is empty or longer than 255 bytes (IDs are short fingerprints).
func rootHeader(rootID string) ([]byte, error) {
	n := len(rootID)
	if n == 0 || n > 255 {
		return nil, fmt.Errorf("root key ID of %d bytes, want 1 to 255", n)
	}
	h := make([]byte, 0, 2+n+64)
	h = append(h, formatV1, byte(n))
	return append(h, rootID...), nil
}

// parseRootHeader splits a wrapped vault key or server secret into the root key ID and the provider's
// wrap output.
func parseRootHeader(b []byte) (rootID string, body []byte, ok bool) {
	if len(b) < 2 || b[0] != formatV1 {
		return "", nil, false
	}
	n := int(b[1])
	if n == 0 || len(b) < 2+n {
		return "", nil, false
	}
	return string(b[2 : 2+n]), b[2+n:], true
}

// Domain labels, one per kind of AAD.
const (
	labelVaultKey     = "clavis/vault-key"
	labelServerSecret = "clavis/server-secret" // #nosec G101 -- a domain label, not a credential
	labelDEK          = "clavis/data-key"
	labelValue        = "clavis/value"
)

func vaultKeyAAD(rootID, orgID, vaultID string, keyVersion int) []byte {
	b := appendFields(newAAD(labelVaultKey), rootID, orgID, vaultID)
	if keyVersion > 1 { // version 1 keeps the original encoding
		b = binary.BigEndian.AppendUint64(b, uint64(keyVersion))
	}
	return b
}

// formatV2 marks a wrapped data key sealed under a vault key version above 1: 0x02, the version as a
// uvarint, then the AEAD output. Version 1 keeps formatV1 (0x01, then the AEAD output).
const formatV2 byte = 2

// dekHeader starts a wrapped data key for keyVersion.
func dekHeader(keyVersion int) []byte {
	if keyVersion <= 1 {
		return append(make([]byte, 0, 64), formatV1)
	}
	return binary.AppendUvarint(append(make([]byte, 0, 64), formatV2), uint64(keyVersion))
}

// cutDEKHeader parses a wrapped data key's header into its key version and AEAD output.
func cutDEKHeader(b []byte) (int, []byte, bool) {
	if len(b) < 1 {
		return 0, nil, false
	}
	switch b[0] {
	case formatV1:
		return 1, b[1:], true
	case formatV2:
		v, n := binary.Uvarint(b[1:])
		if n <= 0 || v < 2 || v > 1<<31-1 {
			return 0, nil, false
		}
		return int(v), b[1+n:], true
	}
	return 0, nil, false
}

func serverSecretAAD(rootID, purpose string) []byte {
	return appendFields(newAAD(labelServerSecret), rootID, purpose)
}

func dekAAD(a AAD) []byte { return appendVersionAAD(newAAD(labelDEK), a) }

func valueAAD(a AAD) []byte { return appendVersionAAD(newAAD(labelValue), a) }

func appendVersionAAD(b []byte, a AAD) []byte {
	b = appendFields(b, a.OrgID, a.VaultID, a.SecretID, a.Path)
	// #nosec G115 -- the two's complement bits: an encoding, not arithmetic
	b = binary.BigEndian.AppendUint64(b, uint64(int64(a.Version)))
	if kv := a.keyVersion(); kv > 1 { // version 1 keeps the original encoding
		b = binary.BigEndian.AppendUint64(b, uint64(kv))
	}
	return b
}

// newAAD starts an AAD with the format version and a domain label.
func newAAD(label string) []byte {
	return appendFields(append(make([]byte, 0, 128), formatV1), label)
}

// appendFields appends each field as a 4-byte length followed by its bytes.
func appendFields(b []byte, fields ...string) []byte {
	for _, f := range fields {
		b = binary.BigEndian.AppendUint32(b, uint32(len(f))) // #nosec G115 -- ids and paths, bounded by request limits far below 4 GiB
		b = append(b, f...)
	}
	return b
}
