// Package keyringtest is the conformance suite for keyring.RootKey providers. Every provider's tests
// call Run; a provider that passes may back a keyring.Keyring.
package keyringtest

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"

	"clavis.dev/clavis/internal/keyring"
)

// Run checks the keyring.RootKey contract against providers made by newProvider. newProvider is called
// once per subtest and must return a usable provider (registering any cleanup with t.Cleanup); two
// calls within one Run may return the same key or different keys.
//
// It checks: a wrap/unwrap round trip for several sizes; that the wrapped output hides the plaintext;
// that a wrong AAD, a single flipped bit at every byte position, a truncation to every shorter length and
// an appended byte all fail to unwrap, with no output; that two wraps of one plaintext differ; that
// concurrent wraps and unwraps work (run with -race); and that ID is non-empty and stable.
// It is long on purpose: one list of subtests that every provider runs, each case a few lines.
func Run(t *testing.T, newProvider func(t *testing.T) keyring.RootKey) {
	t.Helper()
	ctx := context.Background()
	canary := []byte("CANARY-keyringtest-6b1f0e5d-plaintext")

	t.Run("RoundTrip", func(t *testing.T) {
		p := newProvider(t)
		tests := []struct {
			name      string
			plaintext []byte
			aad       []byte
		}{
			{"empty plaintext", []byte{}, []byte("aad")},
			{"empty aad", canary, nil},
			{"32-byte key", bytes.Repeat([]byte{0xa5}, 32), []byte("vault key aad")},
			{"canary", canary, []byte("canary aad")},
			{"64 KiB", bytes.Repeat([]byte("0123456789abcdef"), 4096), []byte("big")},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				wrapped := mustWrap(t, p, tt.plaintext, tt.aad)
				if len(tt.plaintext) >= 8 && bytes.Contains(wrapped, tt.plaintext[:8]) {
					t.Errorf("wrapped output contains the plaintext")
				}
				got, err := p.Unwrap(ctx, wrapped, tt.aad)
				if err != nil {
					t.Fatalf("Unwrap: %v", err)
				}
				if !bytes.Equal(got, tt.plaintext) {
					t.Errorf("Unwrap = %d bytes %x…, want %d bytes", len(got), head(got), len(tt.plaintext))
				}
			})
		}
	})

	t.Run("WrongAADFails", func(t *testing.T) {
		p := newProvider(t)
		aad := []byte("org-1/vault-1")
		wrapped := mustWrap(t, p, canary, aad)
		tests := []struct {
			name string
			aad  []byte
		}{
			{"nil", nil},
			{"other", []byte("org-1/vault-2")},
			{"prefix", aad[:len(aad)-1]},
			{"extended", append(bytes.Clone(aad), 0)},
			{"one bit", flip(aad, 0)},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				mustNotUnwrap(t, p, wrapped, tt.aad, canary)
			})
		}
	})

	t.Run("EveryFlippedByteFails", func(t *testing.T) {
		p := newProvider(t)
		aad := []byte("flip")
		wrapped := mustWrap(t, p, canary, aad)
		for i := range wrapped {
			for _, mask := range []byte{0x01, 0x80} {
				bad := bytes.Clone(wrapped)
				bad[i] ^= mask
				if _, err := p.Unwrap(ctx, bad, aad); err == nil {
					t.Errorf("Unwrap with byte %d of %d xor %#02x: no error", i, len(wrapped), mask)
				}
			}
		}
		// The original still opens: the flips above were on copies.
		if _, err := p.Unwrap(ctx, wrapped, aad); err != nil {
			t.Fatalf("Unwrap original after flips: %v", err)
		}
	})

	t.Run("TruncatedOrExtendedFails", func(t *testing.T) {
		p := newProvider(t)
		aad := []byte("truncate")
		wrapped := mustWrap(t, p, canary, aad)
		for n := range len(wrapped) {
			if _, err := p.Unwrap(ctx, bytes.Clone(wrapped[:n]), aad); err == nil {
				t.Errorf("Unwrap of the first %d of %d bytes: no error", n, len(wrapped))
			}
			if _, err := p.Unwrap(ctx, bytes.Clone(wrapped[n+1:]), aad); err == nil {
				t.Errorf("Unwrap without the first %d bytes: no error", n+1)
			}
		}
		mustNotUnwrap(t, p, append(bytes.Clone(wrapped), 0), aad, canary)
		mustNotUnwrap(t, p, nil, aad, canary)
	})

	t.Run("WrapsDiffer", func(t *testing.T) {
		p := newProvider(t)
		seen := make(map[string]bool)
		for i := range 16 {
			w := string(mustWrap(t, p, canary, []byte("same")))
			if seen[w] {
				t.Fatalf("wrap %d repeated an earlier output for the same plaintext and aad", i)
			}
			seen[w] = true
		}
	})

	t.Run("WrongKeyFails", func(t *testing.T) {
		p, q := newProvider(t), newProvider(t)
		if p.ID() == q.ID() {
			t.Skip("newProvider returned the same key twice")
		}
		mustNotUnwrap(t, q, mustWrap(t, p, canary, []byte("x")), []byte("x"), canary)
	})

	t.Run("Concurrent", func(t *testing.T) {
		p := newProvider(t)
		const goroutines, rounds = 16, 50
		var wg sync.WaitGroup
		errs := make(chan error, goroutines)
		shared := mustWrap(t, p, canary, []byte("shared"))
		for g := range goroutines {
			wg.Go(func() {
				for r := range rounds {
					pt := fmt.Appendf(nil, "value %d/%d", g, r)
					aad := fmt.Appendf(nil, "aad %d/%d", g, r)
					w, err := p.Wrap(ctx, pt, aad)
					if err != nil {
						errs <- fmt.Errorf("goroutine %d round %d: Wrap: %v", g, r, err)
						return
					}
					got, err := p.Unwrap(ctx, w, aad)
					if err != nil || !bytes.Equal(got, pt) {
						errs <- fmt.Errorf("goroutine %d round %d: Unwrap = %q, %v; want %q", g, r, got, err, pt)
						return
					}
					if got, err := p.Unwrap(ctx, shared, []byte("shared")); err != nil || !bytes.Equal(got, canary) {
						errs <- fmt.Errorf("goroutine %d round %d: Unwrap shared: %v", g, r, err)
						return
					}
					_ = p.ID()
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
	})

	t.Run("IDStableAndNonEmpty", func(t *testing.T) {
		p := newProvider(t)
		id := p.ID()
		if id == "" {
			t.Fatal("ID() is empty")
		}
		if len(id) > 64 {
			t.Errorf("ID() is %d bytes, want a short fingerprint (at most 64)", len(id))
		}
		if strings.ContainsFunc(id, func(r rune) bool { return r < 0x21 || r > 0x7e }) {
			t.Errorf("ID() = %q, want printable ASCII without spaces", id)
		}
		mustWrap(t, p, canary, nil)
		if got := p.ID(); got != id {
			t.Errorf("ID() = %q after a wrap, want %q as before", got, id)
		}
	})
}

func mustWrap(t *testing.T, p keyring.RootKey, plaintext, aad []byte) []byte {
	t.Helper()
	w, err := p.Wrap(context.Background(), plaintext, aad)
	if err != nil {
		t.Fatalf("Wrap: %v", err)
	}
	return w
}

func mustNotUnwrap(t *testing.T, p keyring.RootKey, wrapped, aad, plaintext []byte) {
	t.Helper()
	got, err := p.Unwrap(context.Background(), wrapped, aad)
	if err == nil {
		t.Fatalf("Unwrap = %d bytes, nil error; want an error", len(got))
	}
	if len(got) != 0 {
		t.Errorf("Unwrap returned %d bytes with its error, want none", len(got))
	}
	if bytes.Contains([]byte(err.Error()), plaintext) {
		t.Errorf("Unwrap error %q contains the plaintext", err)
	}
}

func flip(b []byte, i int) []byte {
	b = bytes.Clone(b)
	b[i] ^= 1
	return b
}

func head(b []byte) []byte { return b[:min(len(b), 8)] }
