package token_test

import (
	"testing"
	"time"

	"clavis.dev/clavis"
	"clavis.dev/clavis/internal/token"
)

// FuzzVerify checks that Verify never panics, fails only with clavis.ErrUnauthorized, and accepts
// exactly the tokens the issuer minted, each only as its own kind. Keys and clock are fixed so that
// every fuzz worker process rebuilds the same issuer and the same minted tokens.
func FuzzVerify(f *testing.F) {
	current, previous := seededKey(1), seededKey(2)
	iss := newIssuer(f, current, previous)
	old := newIssuer(f, previous) // signed before the rotation to current

	minted := map[string]token.Kind{}
	add := func(by *token.Issuer, kind token.Kind, c token.Claims) {
		raw := mint(f, by, kind, c)
		minted[raw] = kind
		f.Add(raw, kind == token.KindMFA)
		f.Add(raw, kind != token.KindMFA)
	}
	add(iss, token.KindAccess, userClaims())
	add(iss, token.KindAccess, agentClaims())
	add(iss, token.KindMFA, userClaims())
	add(old, token.KindAccess, agentClaims())
	f.Add("eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.eyJzdWIiOiJ1c2VyOngifQ.", false)
	f.Add("", false)
	f.Add("..", true)

	f.Fuzz(func(t *testing.T, raw string, mfa bool) {
		want := token.KindAccess
		if mfa {
			want = token.KindMFA
		}
		c, err := iss.Verify(raw, want, t0.Add(time.Minute))
		if err != nil {
			if err != clavis.ErrUnauthorized || c != nil {
				t.Fatalf("Verify failed with %v, %v; want nil, clavis.ErrUnauthorized", c, err)
			}
			return
		}
		if kind, ok := minted[raw]; !ok || kind != want || c == nil {
			t.Fatalf("Verify accepted %q as %q, which the issuer never minted as that kind", raw, want)
		}
	})
}
