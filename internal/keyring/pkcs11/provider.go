//go:build cgo

package pkcs11

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"sync"

	p11 "github.com/miekg/pkcs11"
)

const (
	formatV1    byte = 1  // leads every Wrap output
	ivSize      int  = 12 // 96-bit GCM IV
	tagSize          = 16 // 128-bit GCM tag
	keyBytes         = 32 // AES-256
	maxSessions      = 8  // session pool bound (lowered to the token's own limit if smaller)

	// createAttempts bounds the rounds of Open waiting for, or racing with, other creators of the key.
	createAttempts = 8
	// pendingSuffix marks a key object that its creator has not yet confirmed as the only one.
	pendingSuffix = "~clavis-pending"
)

var errClosed = errors.New("pkcs11 root key: provider is closed")

// serializeCreate makes the creators of one process take turns (tests turn it off to race them as if
// they were separate processes).
var serializeCreate = true

// Provider implements keyring.RootKey with an AES-256 key held in a PKCS#11 token. It is safe for
// concurrent use: operations run on a pool of sessions (see the package documentation). Close it when
// done. Its String, GoString and LogValue name the token and object labels only.
type Provider struct {
	mod        *module
	uri        URI // PINFile for re-logins, Object and ID for re-finding the key
	slot       uint
	tokenLabel string
	ckaID      []byte // the key's CKA_ID as found
	id         string

	sem       chan struct{} // one element per session in use; capacity is the pool bound
	done      chan struct{} // closed by Close
	closeOnce sync.Once

	mu       sync.Mutex
	idle     []p11.SessionHandle
	key      p11.ObjectHandle
	keyStale bool // the token rejected key as invalid: find the object again before using it
	closed   bool
}

// Open parses a PKCS#11 URI (see the package documentation), loads the module, opens a session on the
// token, logs in as user, and finds the AES-256 secret key object with the URI's label (and CKA_ID, if
// given) — generating it inside the token when create is true and no such object exists. It then wraps
// and unwraps a random value once, so that a token lacking CKM_AES_GCM fails here rather than on the
// first request. Errors never include the PIN.
func Open(uri string, create bool) (*Provider, error) {
	u, err := ParseURI(uri)
	if err != nil {
		return nil, fmt.Errorf("pkcs11 root key: %w", err)
	}
	p, err := open(u, create)
	if err != nil {
		return nil, fmt.Errorf("pkcs11 root key %q: %w", u.Object, err)
	}
	return p, nil
}

func open(u *URI, create bool) (_ *Provider, err error) {
	pin, err := readPIN(u.PINFile) // always, so that a broken PIN file shows at start, not at a re-login
	if err != nil {
		return nil, err
	}
	mod, err := loadModule(u.ModulePath)
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			mod.release()
		}
	}()
	slot, ti, err := findToken(mod.ctx, u)
	if err != nil {
		return nil, err
	}
	n := maxSessions
	if mc := ti.MaxSessionCount; mc != 0 && mc != p11.CK_UNAVAILABLE_INFORMATION && mc < uint(n) {
		n = max(1, int(mc))
	}
	p := &Provider{
		mod:        mod,
		uri:        *u,
		slot:       slot,
		tokenLabel: trimPadding(ti.Label),
		sem:        make(chan struct{}, n),
		done:       make(chan struct{}),
	}
	s, _, err := p.newSession(pin)
	if err != nil {
		return nil, err
	}
	p.idle = []p11.SessionHandle{s} // kept open: it holds the login
	defer func() {
		if err != nil {
			p.flush()
		}
	}()
	key, ckaID, err := p.findOrCreateKey(s, create)
	if err != nil {
		return nil, err
	}
	p.key, p.ckaID, p.id = key, ckaID, keyID(u.Object, ckaID)
	if err := p.selfTest(); err != nil {
		return nil, err
	}
	return p, nil
}

// selfTest wraps and unwraps a random value once.
func (p *Provider) selfTest() error {
	ctx := context.Background()
	v := make([]byte, keyBytes)
	rand.Read(v)
	w, err := p.Wrap(ctx, v, []byte("clavis pkcs11 self-test"))
	if err != nil {
		return fmt.Errorf("self-test: %w", err)
	}
	got, err := p.Unwrap(ctx, w, []byte("clavis pkcs11 self-test"))
	if err != nil {
		return fmt.Errorf("self-test: %w", err)
	}
	if !bytes.Equal(got, v) {
		return errors.New("self-test: unwrap returned other bytes than were wrapped")
	}
	return nil
}

// ID is "p11-" and 16 hex digits of SHA-256 over the key's label and CKA_ID. It reveals nothing about the
// key value and does not change when the key is replicated to another token.
func (p *Provider) ID() string { return p.id }

// keyID derives the ID from the label and CKA_ID of the key object.
func keyID(label string, ckaID []byte) string {
	h := sha256.New()
	h.Write([]byte("clavis pkcs11 root key id\x00"))
	h.Write(binary.BigEndian.AppendUint32(nil, uint32(len(label)))) // #nosec G115 -- a token attribute: bytes, not gigabytes
	h.Write([]byte(label))
	h.Write(binary.BigEndian.AppendUint32(nil, uint32(len(ckaID)))) // #nosec G115 -- a token attribute: bytes, not gigabytes
	h.Write(ckaID)
	return "p11-" + hex.EncodeToString(h.Sum(nil)[:8])
}

// String names the token and object labels only.
func (p *Provider) String() string {
	return fmt.Sprintf("pkcs11 root key %q on token %q", p.uri.Object, p.tokenLabel)
}

// GoString is String, for %#v.
func (p *Provider) GoString() string { return p.String() }

// LogValue names the token and object labels only.
func (p *Provider) LogValue() slog.Value { return slog.StringValue(p.String()) }

// Wrap encrypts plaintext with CKM_AES_GCM inside the token under a fresh random IV, binding aad. Output:
// 0x01 | IV(12) | ciphertext | tag(16). ctx bounds the wait for a free session, not the token operation.
func (p *Provider) Wrap(ctx context.Context, plaintext, aad []byte) ([]byte, error) {
	var out []byte
	err := p.do(ctx, "wrap", func(c *p11.Ctx, s p11.SessionHandle, key p11.ObjectHandle) error {
		iv := make([]byte, ivSize)
		rand.Read(iv) // never fails (crypto/rand since Go 1.24)
		params := p11.NewGCMParams(iv, additional(aad), tagSize*8)
		defer params.Free()
		if err := c.EncryptInit(s, []*p11.Mechanism{p11.NewMechanism(p11.CKM_AES_GCM, params)}, key); err != nil {
			return &initError{err}
		}
		ct, err := c.Encrypt(s, plaintext)
		if err != nil {
			return err
		}
		if used := params.IV(); used != nil { // some HSMs write back an IV of their own choosing
			if len(used) != ivSize {
				return fmt.Errorf("token used a %d-byte GCM IV, want %d", len(used), ivSize)
			}
			iv = used
		}
		if len(ct) != len(plaintext)+tagSize {
			return fmt.Errorf("token returned %d bytes for %d bytes of plaintext, want %d", len(ct), len(plaintext), len(plaintext)+tagSize)
		}
		out = make([]byte, 0, 1+ivSize+len(ct))
		out = append(append(append(out, formatV1), iv...), ct...)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// Unwrap decrypts what Wrap returned for the same aad, inside the token. Any other input — another aad,
// another key, a changed or truncated byte — is an error, with no partial output.
func (p *Provider) Unwrap(ctx context.Context, wrapped, aad []byte) ([]byte, error) {
	if len(wrapped) < 1+ivSize+tagSize || wrapped[0] != formatV1 {
		return nil, errors.New("pkcs11 root key: unwrap: malformed input")
	}
	iv, ct := wrapped[1:1+ivSize], wrapped[1+ivSize:]
	var out []byte
	err := p.do(ctx, "unwrap", func(c *p11.Ctx, s p11.SessionHandle, key p11.ObjectHandle) error {
		params := p11.NewGCMParams(bytes.Clone(iv), additional(aad), tagSize*8)
		defer params.Free()
		if err := c.DecryptInit(s, []*p11.Mechanism{p11.NewMechanism(p11.CKM_AES_GCM, params)}, key); err != nil {
			return &initError{err}
		}
		pt, err := c.Decrypt(s, ct)
		if err != nil {
			return &decryptError{err}
		}
		if len(pt) != len(ct)-tagSize {
			clear(pt)
			return fmt.Errorf("token returned %d bytes for %d bytes of ciphertext, want %d", len(pt), len(ct), len(ct)-tagSize)
		}
		out = pt
		return nil
	})
	if err != nil {
		return nil, err
	}
	if out == nil {
		out = []byte{}
	}
	return out, nil
}

// additional binds the format byte along with the caller's aad.
func additional(aad []byte) []byte { return append([]byte{formatV1}, aad...) }

// Close waits for operations in flight, closes the provider's sessions and releases the module (the last
// Provider of a module finalizes and unloads it). Later calls of Wrap and Unwrap fail. Close is
// idempotent.
func (p *Provider) Close() error {
	var errs []error
	p.closeOnce.Do(func() {
		p.mu.Lock()
		p.closed = true
		p.mu.Unlock()
		close(p.done)
		for range cap(p.sem) { // every slot: no operation is in flight afterwards
			p.sem <- struct{}{}
		}
		p.mu.Lock()
		idle := p.idle
		p.idle = nil
		p.mu.Unlock()
		for _, s := range idle {
			if err := p.mod.ctx.CloseSession(s); err != nil {
				errs = append(errs, err)
			}
		}
		p.mod.release()
	})
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("pkcs11 root key: close: %w", err)
	}
	return nil
}
