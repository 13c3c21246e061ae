package token_test

import (
	"errors"
	"sync"
	"testing"

	"clavis.dev/clavis/internal/token"
)

// TestRetire checks that a retired issuer clears its private keys and stops minting, while tokens it
// minted before still verify.
func TestRetire(t *testing.T) {
	iss := newIssuer(t, seededKey(1), seededKey(2))
	before := mint(t, iss, token.KindAccess, userClaims())
	kid, pub := iss.Current()
	jwks := string(iss.JWKS())

	iss.Retire()

	for _, k := range iss.Keys() {
		for _, b := range k.Private {
			if b != 0 {
				t.Fatalf("key %s still holds its private key after Retire", k.ID)
			}
		}
	}
	if _, err := iss.Mint(token.KindAccess, userClaims()); !errors.Is(err, token.ErrRetired) {
		t.Errorf("Mint after Retire: err = %v, want ErrRetired", err)
	}
	if _, err := iss.Verify(before, token.KindAccess, t0); err != nil {
		t.Errorf("Verify of a token minted before Retire: %v", err)
	}
	if gotKid, gotPub := iss.Current(); gotKid != kid || !gotPub.Equal(pub) {
		t.Errorf("Current after Retire = %s, %x; want %s, %x", gotKid, gotPub, kid, pub)
	}
	if got := string(iss.JWKS()); got != jwks {
		t.Errorf("JWKS after Retire = %s, want %s", got, jwks)
	}
}

// TestRetireWhileMinting checks under -race that Retire waits for the mints in progress: each mint
// either yields a token that verifies or fails with ErrRetired.
func TestRetireWhileMinting(t *testing.T) {
	iss := newIssuer(t, seededKey(3))
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 200 {
				raw, err := iss.Mint(token.KindAccess, userClaims())
				if errors.Is(err, token.ErrRetired) {
					return
				}
				if err != nil {
					t.Errorf("Mint: %v", err)
					return
				}
				if _, err := iss.Verify(raw, token.KindAccess, t0); err != nil {
					t.Errorf("a token minted during Retire does not verify: %v", err)
					return
				}
			}
		}()
	}
	iss.Retire()
	wg.Wait()
}
