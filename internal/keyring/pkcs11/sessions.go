//go:build cgo

package pkcs11

import (
	"context"
	"errors"
	"fmt"

	p11 "github.com/miekg/pkcs11"

	"clavis.dev/clavis"
)

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
