package clavistest_test

import (
	"bytes"
	"context"
	"encoding/base32"
	"net/netip"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"clavis.dev/clavis/internal/clavistest"
	"clavis.dev/clavis/internal/keyring"
	"clavis.dev/clavis/internal/keyring/file"
	"clavis.dev/clavis/internal/totp"
)

// unwrapRecorder is a real root key that remembers every plaintext it hands out, with its AAD, so that a
// test can check that the engine cleared it.
type unwrapRecorder struct {
	keyring.RootKey
	mu   sync.Mutex
	outs []unwrapped
}

type unwrapped struct {
	aad, plain []byte // plain is the slice given to the caller, not a copy
}

func (r *unwrapRecorder) Unwrap(ctx context.Context, wrapped, aad []byte) ([]byte, error) {
	plain, err := r.RootKey.Unwrap(ctx, wrapped, aad)
	if err == nil {
		r.mu.Lock()
		r.outs = append(r.outs, unwrapped{bytes.Clone(aad), plain})
		r.mu.Unlock()
	}
	return plain, err
}

// uncleared returns the AADs of the plaintexts handed out whose AAD contains purpose and that are not all
// zeros, and how many such plaintexts were handed out.
func (r *unwrapRecorder) uncleared(purpose string) (dirty []string, n int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, u := range r.outs {
		if !bytes.Contains(u.aad, []byte(purpose)) {
			continue
		}
		n++
		if len(bytes.Trim(u.plain, "\x00")) != 0 {
			dirty = append(dirty, string(u.aad))
		}
	}
	return dirty, n
}

// TestUnwrappedKeysAreCleared checks that the engine clears every key the root key unwraps for it once
// it is done with it: JWT signing seeds at each (re)load, TOTP keys after each check, and the server keys
// it holds for its lifetime when it closes.
func TestUnwrappedKeysAreCleared(t *testing.T) {
	root, err := file.Open(filepath.Join(t.TempDir(), "root.key"), true)
	if err != nil {
		t.Fatal(err)
	}
	rec := &unwrapRecorder{RootKey: root}
	t.Cleanup(func() { // runs last, after the environment has closed the engine
		if dirty, _ := rec.uncleared(""); len(dirty) > 0 {
			t.Errorf("after Close, %d unwrapped keys are not cleared: %q", len(dirty), dirty)
		}
	})
	env := clavistest.New(t, clavistest.Options{RootKey: rec})
	ctx := context.Background()
	ip := netip.MustParseAddr("127.0.0.1")

	if _, err := env.Engine.RotateSigningKey(ctx); err != nil {
		t.Fatalf("rotate signing key: %v", err)
	}
	u := env.Signup(t)
	tok, err := env.Engine.Login(ctx, u.Email, u.Password, ip)
	if err != nil {
		t.Fatalf("login: %v", err)
	}
	c, err := env.Engine.Authenticate(ctx, string(tok.AccessToken), ip)
	if err != nil {
		t.Fatalf("authenticate: %v", err)
	}
	_, secret, err := env.Engine.MFASetup(ctx, c)
	if err != nil {
		t.Fatalf("mfa setup: %v", err)
	}
	totpKey, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(string(secret))
	if err != nil {
		t.Fatalf("decode the TOTP secret: %v", err)
	}
	step := time.Now().Unix() / totp.Period
	if _, err := env.Engine.MFAVerifySetup(ctx, c, totp.Code(totpKey, step)); err != nil {
		t.Fatalf("mfa verify-setup: %v", err)
	}
	challenge, err := env.Engine.Login(ctx, u.Email, u.Password, ip)
	if err != nil {
		t.Fatalf("login with MFA: %v", err)
	}
	if _, err := env.Engine.MFAVerify(ctx, string(challenge.MFAToken), totp.Code(totpKey, step+1), ip); err != nil {
		t.Fatalf("mfa verify: %v", err)
	}

	for _, purpose := range []string{"jwt-signing-key", "totp:"} {
		dirty, n := rec.uncleared(purpose)
		if n == 0 {
			t.Errorf("no %s key was unwrapped; the test does not exercise it", purpose)
		}
		if len(dirty) > 0 {
			t.Errorf("%d of %d unwrapped %s keys are not cleared after use", len(dirty), n, purpose)
		}
	}
}

// TestMintingDuringSigningKeyRotation checks that rotations, which retire the issuer they replace and
// clear its keys, never fail or spoil a token minted at the same time.
func TestMintingDuringSigningKeyRotation(t *testing.T) {
	env := clavistest.New(t)
	ctx := context.Background()
	ip := netip.MustParseAddr("127.0.0.1")
	u := env.Signup(t)
	var wg sync.WaitGroup
	done := make(chan struct{})
	for range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-done:
					return
				default:
				}
				tok, err := env.Engine.Login(ctx, u.Email, u.Password, ip)
				if err != nil {
					t.Errorf("login during a rotation: %v", err)
					return
				}
				if _, err := env.Engine.Authenticate(ctx, string(tok.AccessToken), ip); err != nil {
					t.Errorf("a token minted during a rotation does not authenticate: %v", err)
					return
				}
			}
		}()
	}
	for range 5 {
		if _, err := env.Engine.RotateSigningKey(ctx); err != nil {
			t.Errorf("rotate: %v", err)
		}
	}
	close(done)
	wg.Wait()
}
