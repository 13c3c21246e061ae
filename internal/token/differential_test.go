package token_test

import (
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"clavis.dev/clavis/internal/token"
)

// The differential test checks Verify against an independent JWS implementation, golang-jwt/jwt/v5 (a
// test-only dependency: it is not linked into the binary). golang-jwt does the JWS work on its own — split,
// base64url decoding (strict), header JSON, alg lookup (WithValidMethods EdDSA), Ed25519 signature — and
// judges iss, exp and nbf with its own validator (issuer, leeway, expiration required, a fixed clock).
// Clavis's further rules are applied on golang-jwt's side exactly as Verify applies them:
//
//   - the header: "typ" must be the wanted kind, "kid" a string naming a held key, no "crit" (keyFunc);
//   - the claim set's JSON types: golang-jwt decodes into refClaims, which has the Go types of Verify's
//     wire form, so an integer NumericDate, string claims and string arrays are one rule on both sides;
//   - "sub" and "jti" non-empty; the token at most 64 KiB.
//
// Intended differences, which the test accepts and names when it meets them:
//
//   - exp at the exact instant exp+leeway: spec §2.3 accepts now ≤ exp+leeway; golang-jwt follows RFC 7519
//     §4.1.4 ("before") and accepts only now < exp+leeway.
//   - CR or LF inside the signature part: Go's base64 decoder skips them even in strict mode, so
//     golang-jwt accepts a valid token with line breaks inserted in its (unsigned) signature part; Verify
//     accepts base64url characters only, so that each token has exactly one encoding. (Found by this fuzz
//     test, whose input is kept in testdata/fuzz/FuzzVerifyDifferential. In the header or payload they
//     are part of the signing input, so both sides refuse them there.)
//   - exp or nbf so far from 1970 that time.Time cannot hold it with the leeway added (beyond ±2^62 s):
//     golang-jwt's comparisons overflow there; Verify compares Unix seconds without overflowing.
//
// "iat" is informational on both sides: spec §2.3 sets no rule for it and golang-jwt checks it only with
// WithIssuedAt, which is not set; Verify still requires it to be an integer when present (the shared types).

// refClaims is the Clavis claim set as golang-jwt decodes it: the Go types of the verifier's wire form.
type refClaims struct {
	Issuer    *string   `json:"iss"`
	Subject   string    `json:"sub"`
	Org       string    `json:"org"`
	Scopes    *[]string `json:"scopes"`
	VaultIDs  *[]string `json:"vault_ids"`
	IssuedAt  int64     `json:"iat"`
	Expires   *int64    `json:"exp"`
	NotBefore *int64    `json:"nbf"`
	ID        string    `json:"jti"`
	Gen       int64     `json:"gen"`
	APIKeyID  string    `json:"akid"`
}

var _ jwt.Claims = (*refClaims)(nil)

func numericDate(v *int64) *jwt.NumericDate {
	if v == nil {
		return nil
	}
	return jwt.NewNumericDate(time.Unix(*v, 0))
}

func (c *refClaims) GetExpirationTime() (*jwt.NumericDate, error) { return numericDate(c.Expires), nil }
func (c *refClaims) GetNotBefore() (*jwt.NumericDate, error)      { return numericDate(c.NotBefore), nil }
func (c *refClaims) GetIssuedAt() (*jwt.NumericDate, error)       { return nil, nil } // informational
func (c *refClaims) GetAudience() (jwt.ClaimStrings, error)       { return nil, nil }
func (c *refClaims) GetSubject() (string, error)                  { return c.Subject, nil }
func (c *refClaims) GetIssuer() (string, error) {
	if c.Issuer == nil {
		return "", nil
	}
	return *c.Issuer, nil
}

// refLeeway is the leeway of newIssuer's issuers.
const refLeeway = 5 * time.Second

// refVerify verifies raw with golang-jwt under Clavis's rules; pubs are the held keys by kid.
func refVerify(raw string, want token.Kind, now time.Time, pubs map[string]ed25519.PublicKey) (c *refClaims, err error) {
	if len(raw) > 64<<10 {
		return nil, errors.New("token over 64 KiB")
	}
	defer func() {
		if r := recover(); r != nil {
			c, err = nil, fmt.Errorf("golang-jwt panicked: %v", r)
		}
	}()
	p := jwt.NewParser(jwt.WithValidMethods([]string{"EdDSA"}), jwt.WithIssuer(testIssuer), jwt.WithLeeway(refLeeway),
		jwt.WithExpirationRequired(), jwt.WithStrictDecoding(), jwt.WithTimeFunc(func() time.Time { return now }))
	c = new(refClaims)
	_, err = p.ParseWithClaims(raw, c, func(t *jwt.Token) (any, error) {
		if _, crit := t.Header["crit"]; crit {
			return nil, errors.New("crit present")
		}
		if typ, ok := t.Header["typ"].(string); !ok || typ != string(want) {
			return nil, fmt.Errorf("typ %v, want %q", t.Header["typ"], want)
		}
		kid, ok := t.Header["kid"].(string)
		if !ok {
			return nil, errors.New("kid not a string")
		}
		pub, ok := pubs[kid]
		if !ok {
			return nil, fmt.Errorf("unknown kid %q", kid)
		}
		return pub, nil
	})
	if err != nil {
		return nil, err
	}
	if c.Subject == "" || c.ID == "" {
		return nil, errors.New("sub and jti are required")
	}
	return c, nil
}

// intendedDifference names the documented difference that explains why exactly one side accepted raw,
// or returns "". verify is Verify with the token's kind and clock.
func intendedDifference(ours error, ref *refClaims, refErr error, raw string, now time.Time, verify func(string) error) string {
	if ours != nil && refErr == nil && strings.ContainsAny(raw, "\r\n") &&
		verify(strings.NewReplacer("\r", "", "\n", "").Replace(raw)) == nil {
		return "CR/LF inside the signature"
	}
	c := ref
	if c == nil {
		c = decodeRefClaims(raw)
	}
	if c == nil {
		return ""
	}
	if ours == nil && errors.Is(refErr, jwt.ErrTokenExpired) && c.Expires != nil &&
		now.Equal(time.Unix(*c.Expires, 0).Add(refLeeway)) {
		return "exp+leeway boundary"
	}
	for _, v := range []*int64{c.Expires, c.NotBefore} {
		if v != nil && (*v > math.MaxInt64>>1 || *v < math.MinInt64>>1) {
			return "NumericDate beyond time.Time's range"
		}
	}
	return ""
}

// decodeRefClaims decodes raw's payload as refClaims without verifying anything, or returns nil.
func decodeRefClaims(raw string) *refClaims {
	c := new(refClaims)
	if _, _, err := jwt.NewParser().ParseUnverified(raw, c); err != nil {
		return nil
	}
	return c
}

// mutate replaces, inserts or deletes (op%4: none, replace, insert, delete) the byte at pos%len(s).
func mutate(s string, op uint8, pos uint16, b byte) string {
	if len(s) == 0 {
		return s
	}
	n := int(pos) % len(s)
	switch op % 4 {
	case 1:
		return s[:n] + string([]byte{b}) + s[n+1:]
	case 2:
		return s[:n] + string([]byte{b}) + s[n:]
	case 3:
		return s[:n] + s[n+1:]
	}
	return s
}

// FuzzVerifyDifferential checks that Verify and golang-jwt (under the same rules, see above) accept
// exactly the same tokens, and decode the same claims from those they accept. A token is either raw (a
// mutation of a real minted token) or, when raw is empty, hdr and payload (JSON texts) signed by signer:
// 0 the current key, 1 the previous key, 2 a key the issuer does not hold, 3 a signature of zeros. The
// result may then be mutated by one byte; the clock is t0 + skewMs milliseconds.
func FuzzVerifyDifferential(f *testing.F) {
	current, previous, stranger := seededKey(1), seededKey(2), seededKey(3)
	iss := newIssuer(f, current, previous)
	old := newIssuer(f, previous)
	pubs := map[string]ed25519.PublicKey{current.ID: current.Public(), previous.ID: previous.Public()}
	signers := []func([]byte) []byte{edSigner(current.Private), edSigner(previous.Private), edSigner(stranger.Private),
		func([]byte) []byte { return make([]byte, ed25519.SignatureSize) }}

	add := func(raw, hdr, payload string, signer uint8, mfa bool, skewMs int64) {
		f.Add(raw, hdr, payload, signer, mfa, skewMs, uint8(0), uint16(0), byte(0))
	}
	for _, m := range []struct {
		by   *token.Issuer
		kind token.Kind
		c    token.Claims
	}{
		{iss, token.KindAccess, userClaims()}, {iss, token.KindAccess, agentClaims()},
		{iss, token.KindMFA, userClaims()}, {old, token.KindAccess, agentClaims()},
	} {
		raw := mint(f, m.by, m.kind, m.c)
		mfa := m.kind == token.KindMFA
		parts := strings.Split(raw, ".")
		h, _ := base64.RawURLEncoding.DecodeString(parts[0])
		p, _ := base64.RawURLEncoding.DecodeString(parts[1])
		signer := uint8(0)
		if m.by == old {
			signer = 1
		}
		add(raw, "", "", 0, mfa, 0)
		add(raw, "", "", 0, !mfa, 0)
		add(raw, "", "", 0, mfa, 901_000)   // expired but for the leeway
		add(raw, "", "", 0, mfa, 905_000)   // exactly exp+leeway
		add(raw, "", "", 0, mfa, 905_001)   // just past it
		add(raw, "", "", 0, mfa, -3600_000) // before iat
		add("", string(h), string(p), signer, mfa, 0)
		add("", string(h), string(p), 2, mfa, 0)
		add("", string(h), string(p), 3, mfa, 0)
		// #nosec G115 -- offsets into a seed token of a few hundred bytes.
		f.Add(raw, "", "", uint8(0), mfa, int64(0), uint8(1), uint16(len(raw)-1), byte('B'))
		f.Add(raw, "", "", uint8(0), mfa, int64(0), uint8(2), uint16(len(parts[0])), byte('=')) // #nosec G115 -- as above
	}
	kid := current.ID
	for _, hdr := range []string{
		`{"alg":"EdDSA","typ":"JWT","kid":"` + kid + `"}`,
		`{"alg":"none","typ":"JWT","kid":"` + kid + `"}`,
		`{"alg":"HS256","typ":"JWT","kid":"` + kid + `"}`,
		`{"alg":"Ed25519","typ":"JWT","kid":"` + kid + `"}`,
		`{"alg":"eddsa","typ":"JWT","kid":"` + kid + `"}`,
		`{"typ":"JWT","kid":"` + kid + `"}`,
		`{"alg":"EdDSA","kid":"` + kid + `"}`,
		`{"alg":"EdDSA","typ":"JWT"}`,
		`{"alg":"EdDSA","typ":"JWT","kid":7}`,
		`{"alg":"EdDSA","typ":"JWT","kid":"` + kid + `","crit":["exp"]}`,
		`{"alg":"EdDSA","typ":"jwt","kid":"` + kid + `"}`,
		`{"alg":"EdDSA","typ":"JWT","kid":"` + kid + `","alg":"none"}`,
		`{"ALG":"EdDSA","typ":"JWT","kid":"` + kid + `"}`,
		`{"alg":"EdDSA","typ":"JWT","kid":"` + kid + `","jwk":{"kty":"OKP"}}`,
		`null`, `[]`, `"EdDSA"`, ``,
	} {
		add("", hdr, `{"iss":"`+testIssuer+`","sub":"user:x","jti":"j","iat":1770000000,"exp":1770000900}`, 0, false, 0)
	}
	hdr := `{"alg":"EdDSA","typ":"JWT","kid":"` + kid + `"}`
	for _, payload := range []string{
		`{"iss":"` + testIssuer + `","sub":"user:x","jti":"j","exp":1770000900}`,
		`{"iss":"` + testIssuer + `","sub":"user:x","jti":"j","exp":1769999995}`,
		`{"iss":"` + testIssuer + `","sub":"user:x","jti":"j","exp":1769999994}`,
		`{"iss":"` + testIssuer + `","sub":"user:x","jti":"j","exp":1770000900,"nbf":1770000005}`,
		`{"iss":"` + testIssuer + `","sub":"user:x","jti":"j","exp":1770000900,"nbf":1770000006}`,
		`{"iss":"` + testIssuer + `","sub":"user:x","jti":"j","exp":1770000900,"nbf":null}`,
		`{"iss":"` + testIssuer + `","sub":"user:x","jti":"j","exp":1770000900.5}`,
		`{"iss":"` + testIssuer + `","sub":"user:x","jti":"j","exp":"1770000900"}`,
		`{"iss":"` + testIssuer + `","sub":"user:x","jti":"j","exp":9223372036854775807}`,
		`{"iss":"` + testIssuer + `","sub":"user:x","jti":"j","exp":1770000900,"nbf":-9223372036854775808}`,
		`{"iss":"` + testIssuer + `","sub":"user:x","jti":"j"}`,
		`{"iss":"` + testIssuer + `","sub":"","jti":"j","exp":1770000900}`,
		`{"iss":"` + testIssuer + `","sub":"user:x","exp":1770000900}`,
		`{"iss":"https://evil.example","sub":"user:x","jti":"j","exp":1770000900}`,
		`{"sub":"user:x","jti":"j","exp":1770000900}`,
		`{"ISS":"` + testIssuer + `","sub":"user:x","jti":"j","exp":1770000900}`,
		`{"iss":"` + testIssuer + `","sub":"user:x","jti":"j","exp":1770000900,"iat":9999999999,"aud":5}`,
		`{"iss":"` + testIssuer + `","sub":"user:x","jti":"j","exp":1770000900,"scopes":[],"vault_ids":null}`,
		`{"iss":"` + testIssuer + `","sub":"user:x","jti":"j","exp":1770000900} `,
		`{"iss":"` + testIssuer + `","sub":"user:x","jti":"j","exp":1770000900}{}`,
		`null`, `[]`, `{}`, ``,
	} {
		add("", hdr, payload, 0, false, 0)
	}

	f.Fuzz(func(t *testing.T, raw, hdr, payload string, signer uint8, mfa bool, skewMs int64, op uint8, pos uint16, b byte) {
		kind := token.KindAccess
		if mfa {
			kind = token.KindMFA
		}
		if raw == "" {
			raw = signed(enc([]byte(hdr)), enc([]byte(payload)), signers[int(signer)%len(signers)])
		}
		raw = mutate(raw, op, pos, b)
		now := t0.Add(time.Duration(skewMs%(1<<40)) * time.Millisecond)

		ours, ourErr := iss.Verify(raw, kind, now)
		ref, refErr := refVerify(raw, kind, now, pubs)
		if refErr != nil && strings.Contains(refErr.Error(), "panicked") {
			t.Logf("golang-jwt: %v", refErr)
		}
		if (ourErr == nil) != (refErr == nil) {
			verify := func(raw string) error { _, err := iss.Verify(raw, kind, now); return err }
			if why := intendedDifference(ourErr, ref, refErr, raw, now, verify); why != "" {
				return
			}
			t.Fatalf("Verify and golang-jwt disagree on %q as %s at %v:\n  Verify: %v\n  golang-jwt: %v",
				raw, kind, now.UTC().Format(time.RFC3339Nano), ourErr, refErr)
		}
		if ourErr != nil {
			return
		}
		got := fmt.Sprintf("%s %s %s %v %v %d %d %s %d %s", *ref.Issuer, ref.Subject, ref.Org, deref(ref.Scopes),
			deref(ref.VaultIDs), ref.IssuedAt, *ref.Expires, ref.ID, ref.Gen, ref.APIKeyID)
		want := fmt.Sprintf("%s %s %s %v %v %d %d %s %d %s", ours.Issuer, ours.Subject, ours.Org, deref(ours.Scopes),
			deref(ours.VaultIDs), ours.IssuedAt, ours.Expires, ours.ID, ours.Gen, ours.APIKeyID)
		if got != want {
			t.Fatalf("claims of %q differ:\n  golang-jwt: %s\n  Verify:     %s", raw, got, want)
		}
	})
}

func deref(p *[]string) any {
	if p == nil {
		return "absent"
	}
	return *p
}

// TestDifferentialIntendedDifferences checks that each documented difference between Verify and
// golang-jwt is real and is recognised by intendedDifference, so that the list stays true.
func TestDifferentialIntendedDifferences(t *testing.T) {
	k := seededKey(1)
	iss := newIssuer(t, k)
	pubs := map[string]ed25519.PublicKey{k.ID: k.Public()}
	hdr := enc([]byte(`{"alg":"EdDSA","typ":"JWT","kid":"` + k.ID + `"}`))
	valid := mint(t, iss, token.KindAccess, userClaims())
	tests := []struct {
		name       string
		raw        string
		now        time.Time
		oursAccept bool
		want       string
	}{
		{"exp+leeway boundary", valid, time.Unix(userClaims().Expires, 0).Add(refLeeway), true, "exp+leeway boundary"},
		{"CR/LF inside the signature", valid[:len(valid)-10] + "\r\n" + valid[len(valid)-10:], t0, false, "CR/LF inside the signature"},
		{"NumericDate beyond time.Time's range",
			signed(hdr, enc([]byte(`{"iss":"`+testIssuer+`","sub":"user:x","jti":"j","exp":9223372036854775807}`)), edSigner(k.Private)),
			t0, true, "NumericDate beyond time.Time's range"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, ourErr := iss.Verify(tt.raw, token.KindAccess, tt.now)
			ref, refErr := refVerify(tt.raw, token.KindAccess, tt.now, pubs)
			if got := ourErr == nil; got != tt.oursAccept || (refErr == nil) == tt.oursAccept {
				t.Fatalf("Verify err = %v, golang-jwt err = %v; want Verify accepting = %v and golang-jwt the opposite",
					ourErr, refErr, tt.oursAccept)
			}
			verify := func(raw string) error { _, err := iss.Verify(raw, token.KindAccess, tt.now); return err }
			if got := intendedDifference(ourErr, ref, refErr, tt.raw, tt.now, verify); got != tt.want {
				t.Errorf("intendedDifference = %q, want %q", got, tt.want)
			}
		})
	}
}
