package token_test

import (
	"bytes"
	"crypto"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"strings"
	"testing"
	"time"

	"clavis.dev/clavis"
	"clavis.dev/clavis/internal/token"
)

const testIssuer = "https://vault.example.test"

// t0 is the fixed clock of these tests.
var t0 = time.Unix(1_770_000_000, 0)

// seededKey returns a deterministic signing key, so that fuzz workers rebuild the same issuer.
func seededKey(b byte) token.SigningKey {
	seed := make([]byte, ed25519.SeedSize)
	for n := range seed {
		seed[n] = b
	}
	return token.SigningKeyFromSeed(seed)
}

func newIssuer(t testing.TB, keys ...token.SigningKey) *token.Issuer {
	t.Helper()
	if len(keys) == 0 {
		keys = []token.SigningKey{seededKey(1)}
	}
	return token.NewIssuer(testIssuer, keys, 5*time.Second)
}

func ptr[T any](v T) *T { return &v }

func userClaims() token.Claims {
	return token.Claims{
		Subject: "user:0d2bbdcf-0000-4000-8000-000000000001", Org: "ffe10341-0000-4000-8000-000000000002",
		IssuedAt: t0.Unix(), Expires: t0.Add(900 * time.Second).Unix(),
		ID: "7f26e7ba-03ea-4a51-b2bb-85fa7fd56418", Gen: 3,
	}
}

func agentClaims() token.Claims {
	c := userClaims()
	c.Subject = "agent:0d2bbdcf-0000-4000-8000-000000000009"
	c.Scopes = ptr([]string{"api-keys/*", "vaults:read"})
	c.VaultIDs = ptr([]string{"e857f7ea-0000-4000-8000-000000000003"})
	return c
}

func mint(t testing.TB, iss *token.Issuer, kind token.Kind, c token.Claims) string {
	t.Helper()
	raw, err := iss.Mint(kind, c)
	if err != nil {
		t.Fatalf("Mint(%q): %v", kind, err)
	}
	return raw
}

func enc(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func encJSON(t testing.TB, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return enc(b)
}

// signed joins header and payload (already encoded) and appends sign's signature of them.
func signed(h, p string, sign func(input []byte) []byte) string {
	input := h + "." + p
	return input + "." + enc(sign([]byte(input)))
}

func edSigner(k ed25519.PrivateKey) func([]byte) []byte {
	return func(in []byte) []byte { return ed25519.Sign(k, in) }
}

func hsSigner(key []byte) func([]byte) []byte {
	return func(in []byte) []byte {
		m := hmac.New(sha256.New, key)
		m.Write(in)
		return m.Sum(nil)
	}
}

// validPayload is the claim set of a valid user token, as a map so cases can remove or change claims.
func validPayload() map[string]any {
	return map[string]any{
		"iss": testIssuer, "sub": "user:0d2bbdcf-0000-4000-8000-000000000001",
		"org": "ffe10341-0000-4000-8000-000000000002", "iat": t0.Unix(), "exp": t0.Unix() + 900,
		"jti": "7f26e7ba-03ea-4a51-b2bb-85fa7fd56418", "gen": 3,
	}
}

func with(m map[string]any, kv ...any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	for n := 0; n+1 < len(kv); n += 2 {
		if kv[n+1] == nil {
			delete(out, kv[n].(string))
		} else {
			out[kv[n].(string)] = kv[n+1]
		}
	}
	return out
}

func decodePart(t *testing.T, part string) map[string]any {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(part)
	if err != nil {
		t.Fatalf("decode %q: %v", part, err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("unmarshal %s: %v", b, err)
	}
	return m
}

func TestMintVerifyRoundTrip(t *testing.T) {
	key := seededKey(1)
	iss := newIssuer(t, key)
	withNbf := userClaims()
	withNbf.NotBefore = t0.Unix() - 1
	fromAPIKey := userClaims()
	fromAPIKey.Scopes = ptr([]string{"prod/**"})
	fromAPIKey.APIKeyID = "a1b2c3d4-0000-4000-8000-000000000005"
	emptyAgent := agentClaims()
	emptyAgent.Scopes = ptr([]string{})
	emptyAgent.VaultIDs = ptr([]string{})

	tests := []struct {
		name        string
		kind        token.Kind
		claims      token.Claims
		wantPresent []string // payload keys that must be present
		wantAbsent  []string // payload keys that must be absent
	}{
		{"user access token", token.KindAccess, userClaims(),
			[]string{"iss", "sub", "org", "iat", "exp", "jti", "gen"}, []string{"scopes", "vault_ids", "nbf", "akid"}},
		{"agent token", token.KindAccess, agentClaims(), []string{"scopes", "vault_ids"}, []string{"akid"}},
		{"agent token with empty arrays", token.KindAccess, emptyAgent, []string{"scopes", "vault_ids"}, nil},
		{"user token from scoped 1ck_ key", token.KindAccess, fromAPIKey, []string{"scopes", "akid"}, []string{"vault_ids"}},
		{"token with nbf", token.KindAccess, withNbf, []string{"nbf"}, nil},
		{"mfa challenge token", token.KindMFA, userClaims(), nil, []string{"scopes", "vault_ids"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			raw := mint(t, iss, tt.kind, tt.claims)
			parts := strings.Split(raw, ".")
			if len(parts) != 3 {
				t.Fatalf("got %d parts, want 3", len(parts))
			}
			hb, _ := base64.RawURLEncoding.DecodeString(parts[0])
			if got, want := string(hb), `{"alg":"EdDSA","typ":"`+string(tt.kind)+`","kid":"`+key.ID+`"}`; got != want {
				t.Errorf("header = %s, want %s", got, want)
			}
			payload := decodePart(t, parts[1])
			for _, k := range tt.wantPresent {
				if _, ok := payload[k]; !ok {
					t.Errorf("payload lacks %q: %v", k, payload)
				}
			}
			for _, k := range tt.wantAbsent {
				if _, ok := payload[k]; ok {
					t.Errorf("payload has %q: %v", k, payload)
				}
			}
			if got, want := payload["iss"], testIssuer; got != want {
				t.Errorf("iss = %v, want %v", got, want)
			}

			got, err := iss.Verify(raw, tt.kind, t0)
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			want := tt.claims
			want.Issuer = testIssuer
			if !reflect.DeepEqual(*got, want) {
				t.Errorf("claims = %+v, want %+v", *got, want)
			}
		})
	}
}

func TestVerifyEmptyArraysStayDistinctFromAbsent(t *testing.T) {
	iss := newIssuer(t)
	c := userClaims()
	c.Scopes = ptr([]string{})
	got, err := iss.Verify(mint(t, iss, token.KindAccess, c), token.KindAccess, t0)
	if err != nil {
		t.Fatal(err)
	}
	if got.Scopes == nil || len(*got.Scopes) != 0 {
		t.Errorf("Scopes = %v, want pointer to empty slice", got.Scopes)
	}
	if got.VaultIDs != nil {
		t.Errorf("VaultIDs = %v, want nil (absent)", *got.VaultIDs)
	}
}

// TestVerifyRejects is the forgery table: every case must be refused with exactly clavis.ErrUnauthorized.
// The "control" cases build tokens with the same helpers and must verify, so that a broken helper cannot
// make the rejections pass vacuously.
func TestVerifyRejects(t *testing.T) {
	key := seededKey(1)
	iss := newIssuer(t, key)
	attacker := seededKey(66)
	good := mint(t, iss, token.KindAccess, userClaims())
	goodParts := strings.Split(good, ".")
	mfa := mint(t, iss, token.KindMFA, userClaims())
	hdr := func(kv ...any) string {
		return encJSON(t, with(map[string]any{"alg": "EdDSA", "typ": "JWT", "kid": key.ID}, kv...))
	}
	ours := edSigner(key.Private)
	pl := func(kv ...any) string { return encJSON(t, with(validPayload(), kv...)) }
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	rsSigner := func(in []byte) []byte {
		sum := sha256.Sum256(in)
		sig, err := rsa.SignPKCS1v15(rand.Reader, rsaKey, crypto.SHA256, sum[:])
		if err != nil {
			t.Fatal(err)
		}
		return sig
	}
	attackerJWK := map[string]any{"kty": "OKP", "crv": "Ed25519", "x": enc(attacker.Public()), "kid": attacker.ID}
	flipSig := func(raw string, bit int) string {
		p := strings.Split(raw, ".")
		sig, _ := base64.RawURLEncoding.DecodeString(p[2])
		sig[bit/8] ^= 1 << (bit % 8)
		return p[0] + "." + p[1] + "." + enc(sig)
	}
	// The last of the 86 signature characters carries 2 data bits and 4 zero bits; setting one of
	// those gives a different string that a lax decoder maps to the same signature.
	nonCanonicalSig := func(raw string) string {
		last := raw[len(raw)-1]
		const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
		out := raw[:len(raw)-1] + string(alphabet[strings.IndexByte(alphabet, last)|1])
		a, errA := base64.RawURLEncoding.DecodeString(raw[strings.LastIndexByte(raw, '.')+1:])
		b, errB := base64.RawURLEncoding.DecodeString(out[strings.LastIndexByte(out, '.')+1:])
		if out == raw || errA != nil || errB != nil || string(a) != string(b) {
			t.Fatalf("nonCanonicalSig: %q does not decode laxly to the same signature", out)
		}
		return out
	}

	tests := []struct {
		name   string
		raw    string
		want   token.Kind
		now    time.Time
		wantOK bool
	}{
		{name: "control: minted token", raw: good, want: token.KindAccess, wantOK: true},
		{name: "control: hand-built token signed by our key", raw: signed(hdr(), pl(), ours), want: token.KindAccess, wantOK: true},
		{name: "control: hand-built mfa token", raw: signed(hdr("typ", "mfa+jwt"), pl(), ours), want: token.KindMFA, wantOK: true},
		{name: "control: unknown header params ignored", raw: signed(hdr("x-extra", 1), pl(), ours), want: token.KindAccess, wantOK: true},

		{name: "alg none, empty signature", raw: hdr("alg", "none") + "." + pl() + "."},
		{name: "alg none, our valid signature", raw: hdr("alg", "none") + "." + goodParts[1] + "." + goodParts[2]},
		{name: "alg None", raw: signed(hdr("alg", "None"), pl(), ours)},
		{name: "alg eddsa lower case", raw: signed(hdr("alg", "eddsa"), pl(), ours)},
		{name: "alg Ed25519", raw: signed(hdr("alg", "Ed25519"), pl(), ours)},
		{name: "alg missing", raw: signed(hdr("alg", nil), pl(), ours)},
		{name: "alg not a string", raw: signed(hdr("alg", 1), pl(), ours)},
		{name: "alg array", raw: signed(hdr("alg", []string{"EdDSA"}), pl(), ours)},
		{name: "HS256 keyed with raw public key", raw: signed(hdr("alg", "HS256"), pl(), hsSigner(key.Public()))},
		{name: "HS256 keyed with JWKS JSON", raw: signed(hdr("alg", "HS256"), pl(), hsSigner(iss.JWKS()))},
		{name: "HS256 keyed with base64url x", raw: signed(hdr("alg", "HS256"), pl(), hsSigner([]byte(enc(key.Public()))))},
		{name: "RS256", raw: signed(hdr("alg", "RS256"), pl(), rsSigner)},

		{name: "tampered payload", raw: goodParts[0] + "." + pl("sub", "user:ffffffff-0000-4000-8000-000000000000") + "." + goodParts[2]},
		{name: "tampered payload, one bit", raw: goodParts[0] + "." + flipPart(goodParts[1]) + "." + goodParts[2]},
		{name: "tampered header", raw: hdr("x-extra", 1) + "." + goodParts[1] + "." + goodParts[2]},
		{name: "tampered signature, first bit", raw: flipSig(good, 0)},
		{name: "tampered signature, last bit", raw: flipSig(good, 511)},
		{name: "signature encoded non-canonically", raw: nonCanonicalSig(good)},
		{name: "signature truncated", raw: good[:len(good)-2]},
		{name: "signature empty", raw: goodParts[0] + "." + goodParts[1] + "."},

		{name: "wrong kid", raw: signed(hdr("kid", "not-a-key"), pl(), ours)},
		{name: "kid of a foreign key", raw: signed(hdr("kid", attacker.ID), pl(), edSigner(attacker.Private))},
		{name: "missing kid", raw: signed(hdr("kid", nil), pl(), ours)},
		{name: "empty kid", raw: signed(hdr("kid", ""), pl(), ours)},
		{name: "kid not a string", raw: signed(hdr("kid", 7), pl(), ours)},
		{name: "foreign Ed25519 key with our kid", raw: signed(hdr(), pl(), edSigner(attacker.Private))},
		{name: "jwk header with attacker key, our kid", raw: signed(hdr("jwk", attackerJWK), pl(), edSigner(attacker.Private))},
		{name: "jwk header with attacker key and kid", raw: signed(hdr("jwk", attackerJWK, "kid", attacker.ID), pl(), edSigner(attacker.Private))},
		{name: "jku header to attacker JWKS", raw: signed(hdr("jku", "https://attacker.test/jwks.json"), pl(), edSigner(attacker.Private))},
		{name: "x5u header to attacker cert", raw: signed(hdr("x5u", "https://attacker.test/cert.pem"), pl(), edSigner(attacker.Private))},
		{name: "crit header, even signed by us", raw: signed(hdr("crit", []string{"exp"}, "exp", 1), pl(), ours)},

		{name: "wrong iss", raw: signed(hdr(), pl("iss", "https://evil.test"), ours)},
		{name: "iss with trailing slash", raw: signed(hdr(), pl("iss", testIssuer+"/"), ours)},
		{name: "missing iss", raw: signed(hdr(), pl("iss", nil), ours)},
		{name: "missing exp", raw: signed(hdr(), pl("exp", nil), ours)},
		{name: "exp as string", raw: signed(hdr(), pl("exp", "9999999999"), ours)},
		{name: "exp as fraction", raw: signed(hdr(), pl("exp", 1e10+0.5), ours)},
		{name: "exp zero", raw: signed(hdr(), pl("exp", 0), ours)},
		{name: "exp min int64", raw: signed(hdr(), pl("exp", int64(-1<<63)), ours)},
		{name: "expired beyond leeway", raw: good, now: t0.Add(906 * time.Second)},
		{name: "nbf in the future", raw: signed(hdr(), pl("nbf", t0.Unix()+6), ours)},
		{name: "nbf max int64", raw: signed(hdr(), pl("nbf", int64(1<<63-1)), ours)},
		{name: "missing sub", raw: signed(hdr(), pl("sub", nil), ours)},
		{name: "empty sub", raw: signed(hdr(), pl("sub", ""), ours)},
		{name: "missing jti", raw: signed(hdr(), pl("jti", nil), ours)},
		{name: "payload not an object", raw: signed(hdr(), enc([]byte(`["iss"]`)), ours)},
		{name: "payload null", raw: signed(hdr(), enc([]byte(`null`)), ours)},

		{name: "mfa token as access token", raw: mfa, want: token.KindAccess},
		{name: "access token as mfa token", raw: good, want: token.KindMFA},
		{name: "typ missing", raw: signed(hdr("typ", nil), pl(), ours)},
		{name: "typ lower case", raw: signed(hdr("typ", "jwt"), pl(), ours)},
		{name: "typ at+jwt", raw: signed(hdr("typ", "at+jwt"), pl(), ours)},

		{name: "empty", raw: ""},
		{name: "two parts", raw: goodParts[0] + "." + goodParts[1]},
		{name: "one part", raw: goodParts[0]},
		{name: "four parts", raw: good + "." + goodParts[2]},
		{name: "four parts, empty fourth", raw: good + "."},
		{name: "empty header", raw: "." + goodParts[1] + "." + goodParts[2]},
		{name: "empty payload", raw: goodParts[0] + ".." + goodParts[2]},
		{name: "standard base64 '+' in payload", raw: goodParts[0] + ".+" + goodParts[1][1:] + "." + goodParts[2]},
		{name: "standard base64 '/' in signature", raw: goodParts[0] + "." + goodParts[1] + "./" + goodParts[2][1:]},
		{name: "non-base64 header", raw: "!!!." + goodParts[1] + "." + goodParts[2]},
		{name: "non-base64 signature", raw: goodParts[0] + "." + goodParts[1] + "." + strings.Repeat("*", 86)},
		{name: "padding in header, signed by us", raw: signed(padded(t, hdr()), pl(), ours)},
		{name: "padding in payload, signed by us", raw: signed(hdr(), padded(t, pl()), ours)},
		{name: "padding on signature", raw: good + "=="},
		{name: "newline inside, which base64 decoders skip", raw: good[:10] + "\n" + good[10:]},
		{name: "newline in header, signed by us", raw: signed(hdr()[:10]+"\n"+hdr()[10:], pl(), ours)},
		{name: "carriage return in payload, signed by us", raw: signed(hdr(), pl()[:10]+"\r"+pl()[10:], ours)},
		{name: "leading space", raw: " " + good},
		{name: "Bearer prefix", raw: "Bearer " + good},
		{name: "header not JSON", raw: signed(enc([]byte("EdDSA")), pl(), ours)},
		{name: "header null", raw: signed(enc([]byte("null")), pl(), ours)},
		{name: "header array", raw: signed(enc([]byte(`[{"alg":"EdDSA"}]`)), pl(), ours)},
		{name: "header with trailing data", raw: signed(enc([]byte(`{"alg":"EdDSA","typ":"JWT","kid":"`+key.ID+`"}x`)), pl(), ours)},
		{name: "oversized", raw: signed(hdr(), pl("pad", strings.Repeat("a", 70<<10)), ours)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := tt.want
			if want == "" {
				want = token.KindAccess
			}
			now := tt.now
			if now.IsZero() {
				now = t0
			}
			got, err := iss.Verify(tt.raw, want, now)
			if tt.wantOK {
				if err != nil || got == nil {
					t.Fatalf("Verify = %v, %v; want claims", got, err)
				}
				return
			}
			if got != nil {
				t.Errorf("Verify returned claims %+v, want nil", *got)
			}
			if err != clavis.ErrUnauthorized {
				t.Errorf("Verify error = %v, want clavis.ErrUnauthorized", err)
			}
		})
	}
}

// padded re-encodes a base64url JSON part with '=' padding, adding JSON whitespace so that there is some.
func padded(t *testing.T, part string) string {
	t.Helper()
	b, _ := base64.RawURLEncoding.DecodeString(part)
	for len(b)%3 == 0 {
		b = append(b, ' ')
	}
	out := base64.URLEncoding.EncodeToString(b)
	if !strings.HasSuffix(out, "=") {
		t.Fatalf("padded(%q) = %q has no padding", part, out)
	}
	return out
}

// flipPart flips one bit in the middle of an encoded part.
func flipPart(part string) string {
	b, _ := base64.RawURLEncoding.DecodeString(part)
	b[len(b)/2] ^= 0x01
	return enc(b)
}

func TestVerifyClock(t *testing.T) {
	key := seededKey(1)
	exp := t0.Add(900 * time.Second)
	nbf := t0.Add(100 * time.Second)
	c := userClaims()
	c.NotBefore = nbf.Unix()
	tests := []struct {
		name   string
		leeway time.Duration
		now    time.Time
		wantOK bool
	}{
		{"between nbf and exp", 5 * time.Second, nbf.Add(time.Minute), true},
		{"exactly exp", 5 * time.Second, exp, true},
		{"within leeway after exp", 5 * time.Second, exp.Add(5 * time.Second), true},
		{"just beyond leeway after exp", 5 * time.Second, exp.Add(5*time.Second + time.Nanosecond), false},
		{"far after exp", 5 * time.Second, exp.Add(24 * time.Hour), false},
		{"exactly nbf", 5 * time.Second, nbf, true},
		{"within leeway before nbf", 5 * time.Second, nbf.Add(-5 * time.Second), true},
		{"beyond leeway before nbf", 5 * time.Second, nbf.Add(-5*time.Second - time.Nanosecond), false},
		{"zero leeway, 1ns after exp", 0, exp.Add(time.Nanosecond), false},
		{"negative leeway clamped to 0, at exp", -time.Hour, exp, true},
		{"negative leeway clamped to 0, 1ns after exp", -time.Hour, exp.Add(time.Nanosecond), false},
		{"leeway clamped to 60s: 60s after exp", time.Hour, exp.Add(60 * time.Second), true},
		{"leeway clamped to 60s: 61s after exp", time.Hour, exp.Add(61 * time.Second), false},
		{"leeway clamped to 60s: 61s before nbf", time.Hour, nbf.Add(-61 * time.Second), false},
		{"zero time", 5 * time.Second, time.Time{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			iss := token.NewIssuer(testIssuer, []token.SigningKey{key}, tt.leeway)
			raw := mint(t, iss, token.KindAccess, c)
			_, err := iss.Verify(raw, token.KindAccess, tt.now)
			if got := err == nil; got != tt.wantOK {
				t.Errorf("accepted = %v (err %v), want %v", got, err, tt.wantOK)
			}
		})
	}
}

func TestRotation(t *testing.T) {
	oldKey, newKey := seededKey(1), seededKey(2)
	before := newIssuer(t, oldKey)
	oldToken := mint(t, before, token.KindAccess, userClaims())

	after := newIssuer(t, newKey, oldKey)
	if _, err := after.Verify(oldToken, token.KindAccess, t0); err != nil {
		t.Errorf("token of the previous key after rotation: %v, want accepted", err)
	}
	newToken := mint(t, after, token.KindAccess, userClaims())
	if got, want := decodePart(t, strings.Split(newToken, ".")[0])["kid"], newKey.ID; got != want {
		t.Errorf("kid of a token minted after rotation = %v, want %v", got, want)
	}
	if _, err := after.Verify(newToken, token.KindAccess, t0); err != nil {
		t.Errorf("new token: %v", err)
	}
	if _, err := before.Verify(newToken, token.KindAccess, t0); err == nil {
		t.Error("issuer without the new key accepted a token signed by it")
	}
	retired := newIssuer(t, newKey)
	if _, err := retired.Verify(oldToken, token.KindAccess, t0); err == nil {
		t.Error("token of a retired key accepted")
	}
	keys := after.Keys()
	if len(keys) != 2 || keys[0].ID != newKey.ID || keys[1].ID != oldKey.ID {
		t.Errorf("Keys() ids = %v, want [%s %s]", keys, newKey.ID, oldKey.ID)
	}
	keys[0].Private[0] ^= 0xff // the copy is the caller's
	if _, err := after.Verify(mint(t, after, token.KindAccess, userClaims()), token.KindAccess, t0); err != nil {
		t.Errorf("mutating Keys() result changed the issuer: %v", err)
	}
}

func TestJWKS(t *testing.T) {
	k1, k2 := seededKey(1), seededKey(2)
	iss := newIssuer(t, k1, k2)
	var got struct {
		Keys []map[string]string `json:"keys"`
	}
	if err := json.Unmarshal(iss.JWKS(), &got); err != nil {
		t.Fatalf("JWKS is not JSON: %v", err)
	}
	want := []map[string]string{
		{"kty": "OKP", "crv": "Ed25519", "x": enc(k1.Public()), "kid": k1.ID, "alg": "EdDSA", "use": "sig"},
		{"kty": "OKP", "crv": "Ed25519", "x": enc(k2.Public()), "kid": k2.ID, "alg": "EdDSA", "use": "sig"},
	}
	if !reflect.DeepEqual(got.Keys, want) {
		t.Errorf("JWKS keys = %v, want %v", got.Keys, want)
	}
	if strings.Contains(string(iss.JWKS()), enc(k1.Private.Seed())) {
		t.Error("JWKS contains a private key")
	}
	if got, want := iss.IssuerURL(), testIssuer; got != want {
		t.Errorf("IssuerURL() = %q, want %q", got, want)
	}
}

func TestMintRefuses(t *testing.T) {
	iss := newIssuer(t)
	noSub, noJTI, noExp := userClaims(), userClaims(), userClaims()
	noSub.Subject, noJTI.ID, noExp.Expires = "", "", 0
	tests := []struct {
		name string
		kind token.Kind
		c    token.Claims
	}{
		{"unknown kind", token.Kind("refresh+jwt"), userClaims()},
		{"empty kind", token.Kind(""), userClaims()},
		{"no sub", token.KindAccess, noSub},
		{"no jti", token.KindAccess, noJTI},
		{"no exp", token.KindAccess, noExp},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			raw, err := iss.Mint(tt.kind, tt.c)
			if err == nil || raw != "" {
				t.Errorf("Mint = %q, %v; want an error", raw, err)
			}
			if got, want := clavis.KindOf(err), clavis.KindInternal; got != want {
				t.Errorf("error kind = %v, want %v", got, want)
			}
		})
	}
}

func TestNewIssuerPanicsOnBadKeys(t *testing.T) {
	good := seededKey(1)
	inconsistent := seededKey(2)
	inconsistent.Private = append(ed25519.PrivateKey(nil), inconsistent.Private...)
	copy(inconsistent.Private[32:], seededKey(3).Public())
	tests := []struct {
		name string
		keys []token.SigningKey
	}{
		{"no keys", nil},
		{"empty id", []token.SigningKey{{ID: "", Private: good.Private}}},
		{"short private key", []token.SigningKey{{ID: "k", Private: good.Private[:32]}}},
		{"nil private key", []token.SigningKey{{ID: "k"}}},
		{"inconsistent public half", []token.SigningKey{inconsistent}},
		{"duplicate id", []token.SigningKey{good, {ID: good.ID, Private: seededKey(2).Private}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Error("NewIssuer did not panic")
				}
			}()
			token.NewIssuer(testIssuer, tt.keys, 0)
		})
	}
}

func TestSigningKey(t *testing.T) {
	k, err := token.NewSigningKey()
	if err != nil {
		t.Fatal(err)
	}
	if got, want := k.ID, token.KeyID(k.Public()); got != want {
		t.Errorf("ID = %q, want KeyID(public) %q", got, want)
	}
	if got, want := len(k.ID), 16; got != want {
		t.Errorf("len(ID) = %d, want %d", got, want)
	}
	back := token.SigningKeyFromSeed(k.Private.Seed())
	if back.ID != k.ID || !back.Private.Equal(k.Private) {
		t.Errorf("SigningKeyFromSeed(seed) = %v, want the same key %v", back, k)
	}
	other, err := token.NewSigningKey()
	if err != nil {
		t.Fatal(err)
	}
	if other.ID == k.ID {
		t.Errorf("two random keys share ID %q", k.ID)
	}
	if got := (token.SigningKey{ID: "x", Private: []byte{1, 2}}).Public(); got != nil {
		t.Errorf("Public() of a malformed key = %x, want nil", got)
	}
}

func TestKeysDoNotLeak(t *testing.T) {
	k, err := token.NewSigningKey()
	if err != nil {
		t.Fatal(err)
	}
	iss := newIssuer(t, k)
	secrets := leakForms(k.Private)
	outputs := map[string]string{}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%x", "%X", "%q", "%d"} {
		outputs["key "+verb] = sprintf(verb, k)
		outputs["*key "+verb] = sprintf(verb, &k)
		outputs["issuer "+verb] = sprintf(verb, iss)
		outputs["*issuer value "+verb] = sprintf(verb, *iss)
		outputs["[]key "+verb] = sprintf(verb, iss.Keys())
	}
	outputs["key String"] = k.String()
	outputs["issuer String"] = iss.String()
	outputs["slog key"] = slogJSON(k)
	outputs["slog issuer"] = slogJSON(iss)
	var j []byte
	j, err = json.Marshal(struct{ K token.SigningKey }{k})
	if err != nil {
		t.Fatal(err)
	}
	outputs["json"] = string(j)
	for name, out := range outputs {
		if !strings.Contains(out, k.ID) {
			t.Errorf("%s = %q, want it to name the key id %q", name, out, k.ID)
		}
		for _, s := range secrets {
			if strings.Contains(strings.ToLower(out), strings.ToLower(s)) {
				t.Errorf("%s = %q leaks the private key (%q)", name, out, s)
			}
		}
	}
}

// TestVerifyUnknownKind: only KindAccess and KindMFA can ever be verified, even when the header's typ
// matches the kind asked for.
func TestVerifyUnknownKind(t *testing.T) {
	key := seededKey(1)
	iss := newIssuer(t, key)
	for _, kind := range []token.Kind{"", "x", "jwt", "JWT ", "at+jwt"} {
		h := encJSON(t, map[string]any{"alg": "EdDSA", "typ": string(kind), "kid": key.ID})
		raw := signed(h, encJSON(t, validPayload()), edSigner(key.Private))
		if got, err := iss.Verify(raw, kind, t0); err != clavis.ErrUnauthorized || got != nil {
			t.Errorf("Verify(typ %q, want %q) = %v, %v; want nil, clavis.ErrUnauthorized", kind, kind, got, err)
		}
	}
}

func TestErrorsAreTheSentinel(t *testing.T) {
	iss := newIssuer(t)
	_, err := iss.Verify("garbage", token.KindAccess, t0)
	if !errors.Is(err, clavis.ErrUnauthorized) || !clavis.IsKind(err, clavis.KindUnauthorized) {
		t.Errorf("err = %v, want clavis.ErrUnauthorized", err)
	}
}

func BenchmarkVerify(b *testing.B) {
	iss := newIssuer(b)
	raw := mint(b, iss, token.KindAccess, agentClaims())
	b.ReportAllocs()
	for b.Loop() {
		if _, err := iss.Verify(raw, token.KindAccess, t0); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkMint(b *testing.B) {
	iss := newIssuer(b)
	c := agentClaims()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := iss.Mint(token.KindAccess, c); err != nil {
			b.Fatal(err)
		}
	}
}

// leakForms are renderings of a private key that must never appear in output.
func leakForms(priv ed25519.PrivateKey) []string {
	seed := priv.Seed()
	dec := fmt.Sprint(seed[:6]) // "[12 34 …"
	return []string{
		hex.EncodeToString(seed)[:16],
		base64.StdEncoding.EncodeToString(seed)[:16], base64.RawURLEncoding.EncodeToString(seed)[:16],
		base64.StdEncoding.EncodeToString(priv)[:16], dec[1 : len(dec)-1],
	}
}

func sprintf(verb string, v any) string { return fmt.Sprintf(verb, v) }

func slogJSON(v any) string {
	var buf bytes.Buffer
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("msg", "v", v)
	return buf.String()
}
