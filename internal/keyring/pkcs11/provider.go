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
	mrand "math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	p11 "github.com/miekg/pkcs11"

	"clavis.dev/clavis"
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

// do runs fn on a pooled session with the key handle. A session the token no longer knows (closed,
// logged out, device removed) is discarded with every idle session, and fn is retried on a fresh
// session; a key handle the token no longer knows is looked up again before the retry.
func (p *Provider) do(ctx context.Context, op string, fn func(*p11.Ctx, p11.SessionHandle, p11.ObjectHandle) error) error {
	var err error
	// Up to three attempts: a lost session, then (after the new login) a key handle that changed.
	for range 3 {
		var s p11.SessionHandle
		var key p11.ObjectHandle
		s, key, err = p.acquire(ctx)
		if err != nil {
			break
		}
		err = fn(p.mod.ctx, s, key)
		// Keep the session unless it is lost or an operation may still be active on it: PKCS#11 ends
		// the operation on every error of C_Encrypt and C_Decrypt but CKR_BUFFER_TOO_SMALL (which the
		// library's size query never triggers), while a failed C_*Init leaves the session suspect.
		var ie *initError
		p.release(s, err == nil || !isSessionLost(err) && !errors.As(err, &ie))
		switch {
		case isSessionLost(err):
			p.flush()
		case isCode(err, p11.CKR_KEY_HANDLE_INVALID, p11.CKR_OBJECT_HANDLE_INVALID):
			p.mu.Lock()
			p.keyStale = true
			p.mu.Unlock()
		default:
			return p.opError(op, err)
		}
	}
	return p.opError(op, err)
}

// opError gives an operation's error its context and kind: a token that cannot be reached or logged in
// to is clavis.KindUnavailable; anything else is a plain error (the keyring makes it internal).
func (p *Provider) opError(op string, err error) error {
	if err == nil {
		return nil
	}
	var ce *clavis.Error
	if errors.As(err, &ce) || errors.Is(err, errClosed) {
		return err
	}
	var de *decryptError
	if errors.As(err, &de) && !isUnavailable(err) {
		// SoftHSM reports a GCM tag mismatch as CKR_GENERAL_ERROR; HSMs use CKR_ENCRYPTED_DATA_INVALID
		// or CKR_AEAD_DECRYPT_FAILED. The code is kept for the logs.
		return fmt.Errorf("pkcs11 root key %q on token %q: %s: authentication failed (wrong key, wrong aad or corrupted data): %w", p.uri.Object, p.tokenLabel, op, err)
	}
	wrapped := fmt.Errorf("pkcs11 root key %q on token %q: %s: %w", p.uri.Object, p.tokenLabel, op, err)
	if isUnavailable(err) {
		return &clavis.Error{Kind: clavis.KindUnavailable, Message: "root key unavailable", Err: wrapped}
	}
	return wrapped
}

// sessionError marks a failure to obtain a working session (open, log in, find the key): the token is
// unavailable.
type sessionError struct{ err error }

func (e *sessionError) Error() string { return e.err.Error() }
func (e *sessionError) Unwrap() error { return e.err }

// initError marks a failed C_EncryptInit or C_DecryptInit.
type initError struct{ err error }

func (e *initError) Error() string { return e.err.Error() }
func (e *initError) Unwrap() error { return e.err }

// decryptError marks a failed C_Decrypt: in the absence of a session or device error, the input did not
// authenticate.
type decryptError struct{ err error }

func (e *decryptError) Error() string { return e.err.Error() }
func (e *decryptError) Unwrap() error { return e.err }

// acquire takes a pool slot (waiting for one, for ctx, or for Close) and returns an idle session or a new
// one, logged in, with the current key handle.
func (p *Provider) acquire(ctx context.Context) (p11.SessionHandle, p11.ObjectHandle, error) {
	if err := ctx.Err(); err != nil {
		return 0, 0, err
	}
	select {
	case p.sem <- struct{}{}:
	case <-p.done:
		return 0, 0, errClosed
	case <-ctx.Done():
		return 0, 0, ctx.Err()
	}
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		<-p.sem
		return 0, 0, errClosed
	}
	var s p11.SessionHandle
	have := len(p.idle) > 0
	if have {
		s = p.idle[len(p.idle)-1]
		p.idle = p.idle[:len(p.idle)-1]
	}
	p.mu.Unlock()
	if !have {
		s2, loggedIn, err := p.newSession("")
		if err != nil {
			<-p.sem
			return 0, 0, &sessionError{err}
		}
		s = s2
		if loggedIn { // handles of private objects may change across a logout and login (SoftHSM's do)
			p.mu.Lock()
			p.keyStale = true
			p.mu.Unlock()
		}
	}
	p.mu.Lock()
	key, stale := p.key, p.keyStale
	p.mu.Unlock()
	if stale {
		var err error
		if key, err = p.refindKey(s); err != nil {
			p.release(s, !isSessionLost(err))
			return 0, 0, &sessionError{err}
		}
	}
	return s, key, nil
}

// release returns s to the pool (keep) or closes it, and frees the pool slot.
func (p *Provider) release(s p11.SessionHandle, keep bool) {
	p.mu.Lock()
	if keep && !p.closed {
		p.idle = append(p.idle, s)
	} else {
		keep = false
	}
	p.mu.Unlock()
	if !keep {
		_ = p.mod.ctx.CloseSession(s) // best effort: the token may have dropped it already
	}
	<-p.sem
}

// flush closes every idle session, after one turned out to be dead (the others likely are too).
func (p *Provider) flush() {
	p.mu.Lock()
	idle := p.idle
	p.idle = nil
	p.mu.Unlock()
	for _, s := range idle {
		_ = p.mod.ctx.CloseSession(s) // best effort: the session is likely dead already
	}
}

// newSession opens a read-only session on the token and logs in as user unless the process is logged in
// already (loggedIn reports that it did log in). pin "" means read it from the PIN file.
func (p *Provider) newSession(pin string) (_ p11.SessionHandle, loggedIn bool, _ error) {
	c := p.mod.ctx
	s, err := c.OpenSession(p.slot, p11.CKF_SERIAL_SESSION)
	if err != nil {
		return 0, false, fmt.Errorf("open session on token %q: %w", p.tokenLabel, err)
	}
	loggedIn, err = p.login(s, pin)
	if err != nil {
		_ = c.CloseSession(s) // best effort: the login error is the one to report
		return 0, false, err
	}
	return s, loggedIn, nil
}

func (p *Provider) login(s p11.SessionHandle, pin string) (loggedIn bool, _ error) {
	c := p.mod.ctx
	info, err := c.GetSessionInfo(s)
	if err != nil {
		return false, fmt.Errorf("session info on token %q: %w", p.tokenLabel, err)
	}
	if info.State == p11.CKS_RO_USER_FUNCTIONS || info.State == p11.CKS_RW_USER_FUNCTIONS {
		return false, nil // login state is per process and token: another session logged in already
	}
	if pin == "" {
		if pin, err = readPIN(p.uri.PINFile); err != nil {
			return false, err
		}
	}
	switch err := c.Login(s, p11.CKU_USER, pin); {
	case isCode(err, p11.CKR_USER_ALREADY_LOGGED_IN): // another goroutine logged in meanwhile
		return false, nil
	case err != nil:
		return false, fmt.Errorf("log in to token %q as user: %w", p.tokenLabel, err)
	}
	return true, nil
}

// findOrCreateKey finds the key object, generating it if create is set and it does not exist.
//
// PKCS#11 has no atomic create-if-absent, and several replicas may start at once, so creation is a
// protocol. A creator generates the key under a provisional label (the label + "~clavis-pending"),
// then lists the objects under both labels: if its own is the only one, it relabels it to the final
// label; otherwise it destroys its own (never used) and retries after a random pause. Only objects
// under the final label are ever used, and one is given that label only by a creator that saw no other
// object after generating its own, so there is never more than one and none is destroyed once final.
// A provider that must not create (or finds provisional objects only) waits for a creator to finish.
func (p *Provider) findOrCreateKey(s p11.SessionHandle, create bool) (p11.ObjectHandle, []byte, error) {
	if serializeCreate {
		p.mod.createMu.Lock()
		defer p.mod.createMu.Unlock()
	}
	pending := p.uri.Object + pendingSuffix
	var genErr error // the last failure to generate, reported if no round succeeds
	for attempt := range createAttempts {
		if attempt > 0 {
			time.Sleep(time.Duration(5+mrand.IntN(20*attempt)) * time.Millisecond) // #nosec G404 -- backoff jitter, not security-relevant
		}
		final, err := p.findKeys(s, p.uri.Object)
		if err != nil {
			return 0, nil, err
		}
		switch {
		case len(final) == 1:
			ckaID, err := p.checkKey(s, final[0])
			return final[0], ckaID, err
		case len(final) > 1:
			return 0, nil, p.ambiguous(len(final))
		}
		if !create {
			others, err := p.findKeys(s, pending)
			if err != nil {
				return 0, nil, err
			}
			if len(others) == 0 {
				return 0, nil, fmt.Errorf("no secret key object labelled %q%s on token %q", p.uri.Object, p.idHint(), p.tokenLabel)
			}
			continue // another process is creating it
		}
		h, settled, err := p.generate(pending)
		if err != nil {
			// Retried: SoftHSM fails some generations with CKR_GENERAL_ERROR or
			// CKR_TEMPLATE_INCONSISTENT when threads create and destroy objects on one token at once.
			genErr = err
			continue
		}
		if settled {
			ckaID, err := p.checkKey(s, h)
			return h, ckaID, err
		}
	}
	if genErr != nil {
		return 0, nil, genErr
	}
	return 0, nil, fmt.Errorf("no key labelled %q on token %q after %d rounds: another process is creating it, or a crashed one left objects labelled %q (delete them)",
		p.uri.Object, p.tokenLabel, createAttempts, pending)
}

// generate creates a key under the pending label in a read-write session and, if it is the only
// object under either label, gives it the final label (settled). Otherwise it destroys it again.
func (p *Provider) generate(pending string) (_ p11.ObjectHandle, settled bool, _ error) {
	c := p.mod.ctx
	rw, err := c.OpenSession(p.slot, p11.CKF_SERIAL_SESSION|p11.CKF_RW_SESSION)
	if err != nil {
		return 0, false, fmt.Errorf("open read-write session on token %q to create the key: %w", p.tokenLabel, err)
	}
	defer c.CloseSession(rw)
	id := p.uri.ID
	if id == nil {
		id = make([]byte, 16)
		rand.Read(id)
	}
	h, err := c.GenerateKey(rw, []*p11.Mechanism{p11.NewMechanism(p11.CKM_AES_KEY_GEN, nil)}, []*p11.Attribute{
		p11.NewAttribute(p11.CKA_CLASS, p11.CKO_SECRET_KEY),
		p11.NewAttribute(p11.CKA_KEY_TYPE, p11.CKK_AES),
		p11.NewAttribute(p11.CKA_VALUE_LEN, keyBytes),
		p11.NewAttribute(p11.CKA_LABEL, pending),
		p11.NewAttribute(p11.CKA_ID, id),
		p11.NewAttribute(p11.CKA_TOKEN, true),
		p11.NewAttribute(p11.CKA_PRIVATE, true),
		p11.NewAttribute(p11.CKA_SENSITIVE, true),
		p11.NewAttribute(p11.CKA_EXTRACTABLE, false),
		p11.NewAttribute(p11.CKA_ENCRYPT, true),
		p11.NewAttribute(p11.CKA_DECRYPT, true),
		p11.NewAttribute(p11.CKA_WRAP, false),
		p11.NewAttribute(p11.CKA_UNWRAP, false),
		p11.NewAttribute(p11.CKA_SIGN, false),
		p11.NewAttribute(p11.CKA_VERIFY, false),
		p11.NewAttribute(p11.CKA_DERIVE, false),
	})
	if err != nil {
		return 0, false, fmt.Errorf("generate AES-256 key %q on token %q: %w", p.uri.Object, p.tokenLabel, err)
	}
	destroy := func(cause error) (p11.ObjectHandle, bool, error) {
		if err := c.DestroyObject(rw, h); err != nil {
			return 0, false, errors.Join(cause, fmt.Errorf("destroy the provisional key %q just created on token %q: %w", pending, p.tokenLabel, err))
		}
		return 0, false, cause
	}
	final, err := p.findKeys(rw, p.uri.Object)
	if err != nil {
		return destroy(err)
	}
	others, err := p.findKeys(rw, pending)
	if err != nil {
		return destroy(err)
	}
	if len(final) != 0 || len(others) != 1 || others[0] != h {
		return destroy(nil)
	}
	if err := c.SetAttributeValue(rw, h, []*p11.Attribute{p11.NewAttribute(p11.CKA_LABEL, p.uri.Object)}); err != nil {
		return destroy(fmt.Errorf("label the new key %q on token %q: %w", p.uri.Object, p.tokenLabel, err))
	}
	return h, true, nil
}

// findKeys lists the token's secret key objects with the label (and the URI's CKA_ID, if given).
func (p *Provider) findKeys(s p11.SessionHandle, label string) ([]p11.ObjectHandle, error) {
	c := p.mod.ctx
	tmpl := []*p11.Attribute{
		p11.NewAttribute(p11.CKA_CLASS, p11.CKO_SECRET_KEY),
		p11.NewAttribute(p11.CKA_TOKEN, true),
		p11.NewAttribute(p11.CKA_LABEL, label),
	}
	if p.uri.ID != nil {
		tmpl = append(tmpl, p11.NewAttribute(p11.CKA_ID, p.uri.ID))
	}
	if err := c.FindObjectsInit(s, tmpl); err != nil {
		return nil, fmt.Errorf("find key on token %q: %w", p.tokenLabel, err)
	}
	hs, _, err := c.FindObjects(s, 16)
	if ferr := c.FindObjectsFinal(s); err == nil && ferr != nil {
		err = ferr
	}
	if err != nil {
		return nil, fmt.Errorf("find key on token %q: %w", p.tokenLabel, err)
	}
	return hs, nil
}

// checkKey checks that h is an AES-256 key usable for encrypt and decrypt whose value cannot be read,
// and returns its CKA_ID.
func (p *Provider) checkKey(s p11.SessionHandle, h p11.ObjectHandle) ([]byte, error) {
	attrs, err := p.mod.ctx.GetAttributeValue(s, h, []*p11.Attribute{
		p11.NewAttribute(p11.CKA_KEY_TYPE, nil),
		p11.NewAttribute(p11.CKA_VALUE_LEN, nil),
		p11.NewAttribute(p11.CKA_SENSITIVE, nil),
		p11.NewAttribute(p11.CKA_ENCRYPT, nil),
		p11.NewAttribute(p11.CKA_DECRYPT, nil),
		p11.NewAttribute(p11.CKA_ID, nil),
	})
	if err != nil {
		return nil, fmt.Errorf("read attributes of key %q on token %q: %w", p.uri.Object, p.tokenLabel, err)
	}
	v := map[uint][]byte{}
	for _, a := range attrs {
		v[a.Type] = a.Value
	}
	what := fmt.Sprintf("key %q on token %q", p.uri.Object, p.tokenLabel)
	switch {
	case ulong(v[p11.CKA_KEY_TYPE]) != p11.CKK_AES:
		return nil, fmt.Errorf("%s is not an AES key", what)
	case ulong(v[p11.CKA_VALUE_LEN]) != keyBytes:
		return nil, fmt.Errorf("%s is not an AES-256 key (CKA_VALUE_LEN %x, want 32 bytes)", what, v[p11.CKA_VALUE_LEN])
	case !boolean(v[p11.CKA_SENSITIVE]):
		return nil, fmt.Errorf("%s is not sensitive (its value can be read out); refusing it as root key", what)
	case !boolean(v[p11.CKA_ENCRYPT]) || !boolean(v[p11.CKA_DECRYPT]):
		return nil, fmt.Errorf("%s does not allow both encrypt and decrypt", what)
	}
	return bytes.Clone(v[p11.CKA_ID]), nil
}

// refindKey looks the key object up again after the token rejected its handle, and checks it is the same
// key (same CKA_ID, so the same ID).
func (p *Provider) refindKey(s p11.SessionHandle) (p11.ObjectHandle, error) {
	hs, err := p.findKeys(s, p.uri.Object)
	if err != nil {
		return 0, err
	}
	switch {
	case len(hs) == 0:
		return 0, fmt.Errorf("key %q is gone from token %q", p.uri.Object, p.tokenLabel)
	case len(hs) > 1:
		return 0, p.ambiguous(len(hs))
	}
	ckaID, err := p.checkKey(s, hs[0])
	if err != nil {
		return 0, err
	}
	if !bytes.Equal(ckaID, p.ckaID) {
		return 0, fmt.Errorf("key %q on token %q was replaced by another object (CKA_ID differs)", p.uri.Object, p.tokenLabel)
	}
	p.mu.Lock()
	p.key, p.keyStale = hs[0], false
	p.mu.Unlock()
	return hs[0], nil
}

func (p *Provider) ambiguous(n int) error {
	return fmt.Errorf("%d secret key objects labelled %q%s on token %q; add id=<CKA_ID> to the URI or remove the extra ones", n, p.uri.Object, p.idHint(), p.tokenLabel)
}

func (p *Provider) idHint() string {
	if p.uri.ID == nil {
		return ""
	}
	return " with id=" + escapeBytes(p.uri.ID)
}

// findToken returns the one slot whose initialized token matches the URI's token label, serial and
// slot-id.
func findToken(c *p11.Ctx, u *URI) (uint, p11.TokenInfo, error) {
	slots, err := c.GetSlotList(true)
	if err != nil {
		return 0, p11.TokenInfo{}, fmt.Errorf("list slots: %w", err)
	}
	var (
		match  []uint
		info   p11.TokenInfo
		labels []string
	)
	for _, slot := range slots {
		if u.HasSlotID && slot != u.SlotID {
			continue
		}
		ti, err := c.GetTokenInfo(slot)
		if err != nil || ti.Flags&p11.CKF_TOKEN_INITIALIZED == 0 {
			continue
		}
		labels = append(labels, trimPadding(ti.Label))
		if u.Token != "" && trimPadding(ti.Label) != u.Token || u.Serial != "" && trimPadding(ti.SerialNumber) != u.Serial {
			continue
		}
		match = append(match, slot)
		info = ti
	}
	switch len(match) {
	case 1:
		return match[0], info, nil
	case 0:
		slices.Sort(labels)
		if len(labels) > 10 {
			labels = append(labels[:10], "…")
		}
		return 0, p11.TokenInfo{}, fmt.Errorf("no initialized token matches %s (tokens present: %s)", u.tokenSelector(), quoteAll(labels))
	default:
		return 0, p11.TokenInfo{}, fmt.Errorf("%d tokens match %s; add serial= or slot-id= to the URI", len(match), u.tokenSelector())
	}
}

func (u *URI) tokenSelector() string {
	var parts []string
	if u.Token != "" {
		parts = append(parts, fmt.Sprintf("token=%q", u.Token))
	}
	if u.Serial != "" {
		parts = append(parts, fmt.Sprintf("serial=%q", u.Serial))
	}
	if u.HasSlotID {
		parts = append(parts, fmt.Sprintf("slot-id=%d", u.SlotID))
	}
	return strings.Join(parts, " ")
}

func quoteAll(ss []string) string {
	if len(ss) == 0 {
		return "none"
	}
	q := make([]string, len(ss))
	for i, s := range ss {
		q[i] = fmt.Sprintf("%q", s)
	}
	return strings.Join(q, ", ")
}

// trimPadding drops the blank (or NUL) padding of a fixed-size PKCS#11 string field.
func trimPadding(s string) string { return strings.TrimRight(s, " \x00") }

// ulong decodes a CK_ULONG attribute value (native byte order, 4 or 8 bytes); anything else is ^0.
func ulong(b []byte) uint {
	switch len(b) {
	case 8:
		return uint(binary.NativeEndian.Uint64(b))
	case 4:
		return uint(binary.NativeEndian.Uint32(b))
	}
	return ^uint(0)
}

// boolean decodes a CK_BBOOL attribute value.
func boolean(b []byte) bool { return len(b) == 1 && b[0] != 0 }

// isCode reports whether err is a PKCS#11 error with one of the codes.
func isCode(err error, codes ...uint) bool {
	var e p11.Error
	return errors.As(err, &e) && slices.Contains(codes, uint(e))
}

// isSessionLost reports an error after which the session (and likely every session) is unusable.
func isSessionLost(err error) bool {
	return isCode(err, p11.CKR_SESSION_HANDLE_INVALID, p11.CKR_SESSION_CLOSED, p11.CKR_USER_NOT_LOGGED_IN,
		p11.CKR_DEVICE_REMOVED, p11.CKR_TOKEN_NOT_PRESENT, p11.CKR_DEVICE_ERROR)
}

// isUnavailable reports an error that means the token cannot serve requests right now.
func isUnavailable(err error) bool {
	var se *sessionError
	return errors.As(err, &se) || isSessionLost(err) ||
		isCode(err, p11.CKR_DEVICE_MEMORY, p11.CKR_SESSION_COUNT, p11.CKR_CRYPTOKI_NOT_INITIALIZED, p11.CKR_TOKEN_NOT_RECOGNIZED)
}

// module is a loaded and initialized PKCS#11 library, shared by every Provider of the process that uses
// it: C_Initialize may run only once per process.
type module struct {
	path     string // resolved, the registry key
	ctx      *p11.Ctx
	refs     int  // guarded by modules
	finalize bool // this package initialized the library, so it finalizes it
	createMu sync.Mutex
}

var modules = struct {
	sync.Mutex
	m map[string]*module
}{m: map[string]*module{}}

// loadModule returns the module at path, loading and initializing it on first use.
func loadModule(path string) (*module, error) {
	real, err := filepath.EvalSymlinks(path)
	if err != nil {
		return nil, fmt.Errorf("PKCS#11 module: %w", err)
	}
	fi, err := os.Stat(real)
	if err != nil {
		return nil, fmt.Errorf("PKCS#11 module: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("PKCS#11 module %s: not a regular file", path)
	}
	modules.Lock()
	defer modules.Unlock()
	if m := modules.m[real]; m != nil {
		m.refs++
		return m, nil
	}
	c := p11.New(real)
	if c == nil {
		return nil, fmt.Errorf("PKCS#11 module %s: cannot load it (not a shared library for this platform, or no C_GetFunctionList)", path)
	}
	finalize := true
	if err := c.Initialize(); err != nil {
		if !isCode(err, p11.CKR_CRYPTOKI_ALREADY_INITIALIZED) {
			c.Destroy()
			return nil, fmt.Errorf("PKCS#11 module %s: C_Initialize: %w", path, err)
		}
		finalize = false // initialized by other code in this process, which owns finalizing it
	}
	m := &module{path: real, ctx: c, refs: 1, finalize: finalize}
	modules.m[real] = m
	return m, nil
}

// release drops one reference; the last one finalizes and unloads the module.
func (m *module) release() {
	modules.Lock()
	defer modules.Unlock()
	if m.refs--; m.refs > 0 {
		return
	}
	delete(modules.m, m.path)
	if m.finalize {
		_ = m.ctx.Finalize() // best effort: the module is unloaded next, which releases it either way
	}
	m.ctx.Destroy()
}
