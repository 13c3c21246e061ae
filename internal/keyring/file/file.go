// Package file is a root-key provider that keeps a 32-byte AES-256 key in a file readable by the
// server's user only. It implements keyring.RootKey.
//
// The file holds the raw 32 key bytes and nothing else. Back it up: losing it loses every secret.
package file

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
)

// KeySize is the size of the root key file in bytes.
const KeySize = 32

// formatV1 leads every Wrap output so that a later format can be told apart.
const formatV1 byte = 1

// Provider implements keyring.RootKey with AES-256-GCM and random 96-bit nonces. Wrap output is
// 0x01 | nonce(12) | ciphertext | tag(16). It holds no file open and needs no closing. It is safe for
// concurrent use. Its String, GoString and LogValue name the key by ID and never reveal it.
type Provider struct {
	aead cipher.AEAD // the raw key is cleared once this and id are derived
	id   string
}

// Open loads the 32-byte root key from path, generating it (crypto/rand, file mode 0600, parent dir 0700,
// written atomically: temp file + fsync + link/rename + directory fsync) when the file does not exist and
// create is true. It refuses (error) a key file readable or writable by group/others (mode & 0o077 != 0),
// a wrong size, or a directory or other non-regular file. Errors name the path but never key bytes.
//
// If several processes create the same path at once, all of them end up with the key that was linked
// first; an existing key file is never replaced.
func Open(path string, create bool) (*Provider, error) {
	key, err := readKey(path)
	if errors.Is(err, fs.ErrNotExist) && create {
		key, err = createKey(path)
	}
	if err != nil {
		return nil, err
	}
	defer clear(key)
	return newProvider(key)
}

func newProvider(key []byte) (*Provider, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("file root key: %w", err)
	}
	aead, err := cipher.NewGCMWithRandomNonce(block)
	if err != nil {
		return nil, fmt.Errorf("file root key: %w", err)
	}
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte("clavis root key id"))
	return &Provider{aead: aead, id: hex.EncodeToString(mac.Sum(nil)[:8])}, nil
}

// readKey reads and checks an existing key file. A missing file is an error wrapping fs.ErrNotExist.
func readKey(path string) ([]byte, error) {
	f, err := os.Open(path) // #nosec G304 -- the operator's root key path
	if err != nil {
		return nil, fmt.Errorf("file root key: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("file root key: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("file root key %s: not a regular file (mode %v)", path, fi.Mode())
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 && runtime.GOOS != "windows" {
		return nil, fmt.Errorf("file root key %s: mode %04o lets group or others access it; want 0600 (chmod 600 %s)", path, perm, path)
	}
	if fi.Size() != KeySize {
		return nil, fmt.Errorf("file root key %s: %d bytes, want %d", path, fi.Size(), KeySize)
	}
	key := make([]byte, KeySize+1) // one spare byte detects a file that grew after Stat
	n, err := io.ReadFull(f, key)
	switch {
	case n == KeySize && errors.Is(err, io.ErrUnexpectedEOF):
		// exactly KeySize bytes
	case err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF):
		clear(key)
		return nil, fmt.Errorf("file root key: %w", err)
	default:
		clear(key)
		return nil, fmt.Errorf("file root key %s: size changed while reading, want %d bytes", path, KeySize)
	}
	return key[:KeySize], nil
}

// createKey generates a key and publishes it at path without ever exposing a partial or world-readable
// file. If another process publishes first, its key wins and is returned.
func createKey(path string) (key []byte, err error) {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("file root key: %w", err)
	}
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*") // mode 0600
	if err != nil {
		return nil, fmt.Errorf("file root key: %w", err)
	}
	tmpName := tmp.Name()
	defer func() {
		// Cleanup only: the error that matters is the one returned; a stray temp file holds no usable key
		// once its name is gone, and is only left when removal fails.
		if tmp != nil {
			_ = tmp.Close()
		}
		_ = os.Remove(tmpName) // after a link, the key stays reachable at path
	}()
	key = make([]byte, KeySize)
	rand.Read(key) // never fails (crypto/rand since Go 1.24)
	fail := func(err error) ([]byte, error) {
		clear(key)
		return nil, fmt.Errorf("file root key: %w", err)
	}
	if err := tmp.Chmod(0o600); err != nil {
		return fail(err)
	}
	if _, err := tmp.Write(key); err != nil {
		return fail(err)
	}
	if err := tmp.Sync(); err != nil {
		return fail(err)
	}
	err = tmp.Close()
	tmp = nil
	if err != nil {
		return fail(err)
	}
	// Link refuses to replace an existing file, so a concurrent creator's key is never overwritten.
	// Where hard links are unsupported, fall back to rename.
	switch err := os.Link(tmpName, path); {
	case errors.Is(err, fs.ErrExist):
		clear(key)
		return readKey(path)
	case err != nil:
		if err := os.Rename(tmpName, path); err != nil {
			return fail(err)
		}
	}
	if err := syncDir(dir); err != nil {
		return fail(err)
	}
	return key, nil
}

// syncDir makes a new directory entry durable.
func syncDir(dir string) error {
	if runtime.GOOS == "windows" {
		return nil
	}
	d, err := os.Open(dir) // #nosec G304 -- the directory of the operator's root key path
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// ID is a short stable fingerprint of the key: the first 8 bytes of HMAC-SHA256(key, "clavis root key
// id"), in hex. It reveals nothing about the key.
func (p *Provider) ID() string { return p.id }

// Wrap encrypts plaintext under the root key, binding aad. ctx is unused: the operation is local.
func (p *Provider) Wrap(_ context.Context, plaintext, aad []byte) ([]byte, error) {
	out := make([]byte, 1, 1+len(plaintext)+p.aead.Overhead())
	out[0] = formatV1
	return p.aead.Seal(out, nil, plaintext, p.additional(aad)), nil // #nosec G407 -- NewGCMWithRandomNonce draws a random nonce per Seal
}

// Unwrap decrypts what Wrap returned for the same aad. Any other input — another aad, another key, a
// changed or truncated byte — is an error, with no partial output.
func (p *Provider) Unwrap(_ context.Context, wrapped, aad []byte) ([]byte, error) {
	if len(wrapped) < 1+p.aead.Overhead() || wrapped[0] != formatV1 {
		return nil, errors.New("file root key: unwrap: malformed input")
	}
	out, err := p.aead.Open(nil, nil, wrapped[1:], p.additional(aad))
	if err != nil {
		return nil, errors.New("file root key: unwrap: authentication failed (wrong key, wrong aad or corrupted data)")
	}
	if out == nil {
		out = []byte{}
	}
	return out, nil
}

// additional binds the format byte along with the caller's aad.
func (p *Provider) additional(aad []byte) []byte {
	return append([]byte{formatV1}, aad...)
}

// String names the key by ID only.
func (p *Provider) String() string { return "file root key " + p.id }

// GoString is String, for %#v.
func (p *Provider) GoString() string { return p.String() }

// LogValue names the key by ID only.
func (p *Provider) LogValue() slog.Value { return slog.StringValue(p.String()) }
