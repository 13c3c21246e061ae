package token

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// The test vectors of RFC 8037 Appendix A: the Ed25519 key pair of A.1 (private, "d") and A.2 (public,
// "x"), and the JWS of A.4, "Example of Ed25519 signing" signed under the protected header
// {"alg":"EdDSA"}. Ed25519 signatures are deterministic, so a correct signer reproduces A.4 exactly.
const (
	rfc8037D         = "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A"
	rfc8037X         = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"
	rfc8037Header    = "eyJhbGciOiJFZERTQSJ9"
	rfc8037Payload   = "Example of Ed25519 signing"
	rfc8037PayloadB  = "RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc"
	rfc8037Signature = "hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg"
	rfc8037JWS       = rfc8037Header + "." + rfc8037PayloadB + "." + rfc8037Signature
)

func rfc8037Key(t *testing.T) (SigningKey, ed25519.PublicKey) {
	t.Helper()
	d, err := base64.RawURLEncoding.DecodeString(rfc8037D)
	if err != nil {
		t.Fatal(err)
	}
	x, err := base64.RawURLEncoding.DecodeString(rfc8037X)
	if err != nil {
		t.Fatal(err)
	}
	return SigningKeyFromSeed(d), ed25519.PublicKey(x)
}

// TestRFC8037KeyPair checks that the A.1 private key rebuilt from its seed has the A.2 public key, and
// that JWKS publishes it as A.2 writes it.
func TestRFC8037KeyPair(t *testing.T) {
	k, x := rfc8037Key(t)
	if got := k.Public(); !got.Equal(x) {
		t.Fatalf("public key of A.1 = %x, want A.2's %x", got, x)
	}
	var set struct {
		Keys []map[string]string `json:"keys"`
	}
	if err := json.Unmarshal(NewIssuer("https://rfc8037.example", []SigningKey{k}, 0).JWKS(), &set); err != nil {
		t.Fatal(err)
	}
	if len(set.Keys) != 1 {
		t.Fatalf("JWKS has %d keys, want 1", len(set.Keys))
	}
	for name, want := range map[string]string{"kty": "OKP", "crv": "Ed25519", "x": rfc8037X, "alg": "EdDSA", "kid": k.ID} {
		if got := set.Keys[0][name]; got != want {
			t.Errorf("JWKS %s = %q, want %q", name, got, want)
		}
	}
}

// TestRFC8037SignReproducesA4 checks that the signer, given A.4's header and payload and A.1's key,
// produces A.4's JWS byte for byte.
func TestRFC8037SignReproducesA4(t *testing.T) {
	k, _ := rfc8037Key(t)
	if got := string(appendCompact(nil, rfc8037Header, []byte(rfc8037Payload), k.Private)); got != rfc8037JWS {
		t.Errorf("appendCompact =\n%s\nwant A.4\n%s", got, rfc8037JWS)
	}
	// Appending keeps what dst held and signs only the new token.
	if got := string(appendCompact([]byte("prefix "), rfc8037Header, []byte(rfc8037Payload), k.Private)); got != "prefix "+rfc8037JWS {
		t.Errorf("appendCompact after a prefix = %q", got)
	}
}

// TestRFC8037VerifyA4 checks that the JWS layer of the verifier accepts A.4 with A.2's key and returns its
// header and payload.
func TestRFC8037VerifyA4(t *testing.T) {
	_, x := rfc8037Key(t)
	var sawHeader []byte
	header, payload, ok := verifyCompact(rfc8037JWS, func(h []byte) ed25519.PublicKey {
		sawHeader = h
		return x
	})
	if !ok {
		t.Fatal("verifyCompact refused RFC 8037 A.4")
	}
	if got, want := string(header), `{"alg":"EdDSA"}`; got != want || string(sawHeader) != want {
		t.Errorf("header = %s (keyFor saw %s), want %s", got, sawHeader, want)
	}
	if got := string(payload); got != rfc8037Payload {
		t.Errorf("payload = %q, want %q", got, rfc8037Payload)
	}
}

// TestRFC8037VerifyRejectsTamperedA4 checks that every alteration of A.4, and A.4 under another key, is
// refused by the JWS layer.
func TestRFC8037VerifyRejectsTamperedA4(t *testing.T) {
	_, x := rfc8037Key(t)
	other := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{7}, ed25519.SeedSize)).Public().(ed25519.PublicKey)
	// The last of the signature's 86 characters carries 2 bits of the signature and 4 that must be zero:
	// A.4 ends in "g" (32 = 0b100000); "h" (0b100001) decodes to the same bytes but is not canonical.
	sig := rfc8037Signature
	nonCanonicalSig := sig[:len(sig)-1] + "h"
	replace := func(s string, n int, c byte) string { return s[:n] + string(c) + s[n+1:] }
	flip := func(s string, n int) string {
		if s[n] == 'A' {
			return replace(s, n, 'B')
		}
		return replace(s, n, 'A')
	}
	otherHeader := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"EdDSA","typ":"JWT"}`))
	otherPayload := base64.RawURLEncoding.EncodeToString([]byte("Example of Ed25519 signinG"))
	tests := []struct {
		name string
		raw  string
		key  ed25519.PublicKey
	}{
		{"another key", rfc8037JWS, other},
		{"header changed", otherHeader + "." + rfc8037PayloadB + "." + sig, x},
		{"payload changed", rfc8037Header + "." + otherPayload + "." + sig, x},
		{"header character flipped", flip(rfc8037Header, 3) + "." + rfc8037PayloadB + "." + sig, x},
		{"payload character flipped", rfc8037Header + "." + flip(rfc8037PayloadB, 10) + "." + sig, x},
		{"signature first character flipped", rfc8037Header + "." + rfc8037PayloadB + "." + flip(sig, 0), x},
		{"signature middle character flipped", rfc8037Header + "." + rfc8037PayloadB + "." + flip(sig, 40), x},
		{"signature not canonical", rfc8037Header + "." + rfc8037PayloadB + "." + nonCanonicalSig, x},
		{"signature truncated", rfc8037Header + "." + rfc8037PayloadB + "." + sig[:85], x},
		{"signature extended", rfc8037Header + "." + rfc8037PayloadB + "." + sig + "A", x},
		{"signature padded", rfc8037Header + "." + rfc8037PayloadB + "." + sig + "==", x},
		{"signature empty", rfc8037Header + "." + rfc8037PayloadB + ".", x},
		{"signature in standard base64", rfc8037Header + "." + rfc8037PayloadB + "." + strings.NewReplacer("-", "+", "_", "/").Replace(sig), x},
		{"payload padded", rfc8037Header + "." + rfc8037PayloadB + "=." + sig, x},
		{"header empty", "." + rfc8037PayloadB + "." + sig, x},
		{"payload empty (detached)", rfc8037Header + ".." + sig, x},
		{"fourth part", rfc8037JWS + "." + rfc8037PayloadB, x},
		{"two parts", rfc8037Header + "." + rfc8037PayloadB, x},
		{"parts swapped", rfc8037PayloadB + "." + rfc8037Header + "." + sig, x},
		{"whitespace", rfc8037Header + ". " + rfc8037PayloadB + "." + sig, x},
		{"no key for the header", rfc8037JWS, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, _, ok := verifyCompact(tt.raw, func([]byte) ed25519.PublicKey { return tt.key }); ok {
				t.Errorf("verifyCompact accepted %s", tt.raw)
			}
		})
	}
}

// TestRFC8037KeyThroughIssuer runs A.1's key through the public API: Verify refuses A.4 itself (its
// header has no "typ" or "kid" and its payload is no claim set), while a token that Mint signs with the
// key carries exactly the signature crypto/ed25519 makes over its first two parts with A.1, verifies with
// A.2 and passes Verify.
func TestRFC8037KeyThroughIssuer(t *testing.T) {
	k, x := rfc8037Key(t)
	iss := NewIssuer("https://rfc8037.example", []SigningKey{k}, 0)
	now := time.Unix(1_770_000_000, 0)
	if _, err := iss.Verify(rfc8037JWS, KindAccess, now); err == nil {
		t.Error("Verify accepted A.4, whose header has neither typ nor kid")
	}
	raw, err := iss.Mint(KindAccess, Claims{Subject: "user:rfc8037", ID: "jti-rfc8037", IssuedAt: now.Unix(), Expires: now.Unix() + 60})
	if err != nil {
		t.Fatal(err)
	}
	dot := strings.LastIndexByte(raw, '.')
	want := base64.RawURLEncoding.EncodeToString(ed25519.Sign(k.Private, []byte(raw[:dot])))
	if got := raw[dot+1:]; got != want {
		t.Errorf("minted signature = %s, want crypto/ed25519's %s", got, want)
	}
	sig, err := base64.RawURLEncoding.DecodeString(raw[dot+1:])
	if err != nil || !ed25519.Verify(x, []byte(raw[:dot]), sig) {
		t.Errorf("minted token does not verify with A.2's public key (decode error %v)", err)
	}
	if c, err := iss.Verify(raw, KindAccess, now); err != nil || c.Subject != "user:rfc8037" {
		t.Errorf("Verify(minted) = %+v, %v; want the claims", c, err)
	}
}
