// Package token mints and verifies Clavis access tokens (compact JWS, EdDSA only) and mints and hashes
// API keys (spec §2.2–§2.5). Passwords are internal/password's, TOTP codes internal/totp's.
package token

import (
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"clavis.dev/clavis"
)

// Kind distinguishes token kinds; one kind is never accepted in another's place. Its value is the JOSE
// header "typ".
type Kind string

const (
	KindAccess Kind = "JWT"     // access token: every authenticated route
	KindMFA    Kind = "mfa+jwt" // MFA challenge token: only POST /v1/auth/mfa/verify
)

func (k Kind) valid() bool { return k == KindAccess || k == KindMFA }

// Claims of Clavis tokens (spec §2.3). Scopes and VaultIDs are pointers so that "absent" and "empty
// array" differ: user tokens omit vault_ids (and scopes unless minted from a scoped 1ck_ key); agent
// tokens always carry both arrays.
type Claims struct {
	Issuer    string    `json:"iss"`
	Subject   string    `json:"sub"` // "user:<uuid>" or "agent:<uuid>"
	Org       string    `json:"org"`
	Scopes    *[]string `json:"scopes,omitempty"`
	VaultIDs  *[]string `json:"vault_ids,omitempty"`
	IssuedAt  int64     `json:"iat"`
	Expires   int64     `json:"exp"`
	NotBefore int64     `json:"nbf,omitempty"`
	ID        string    `json:"jti"`            // UUID
	Gen       int64     `json:"gen"`            // private: the principal's credential generation at issuance
	APIKeyID  string    `json:"akid,omitempty"` // private: the 1ck_ key this token was minted from
}

// wireClaims is Claims as Verify decodes it: pointers tell a missing claim from a zero one.
type wireClaims struct {
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

const (
	// maxLeeway is the largest accepted clock leeway (spec §2.3: 0–60 s).
	maxLeeway = 60 * time.Second
	// maxTokenLen bounds the compact token that Verify parses and Mint produces.
	maxTokenLen = 64 << 10
	// sigLen is the length of a base64url-encoded Ed25519 signature.
	sigLen = 86
)

// b64 is the JWS encoding: base64url without padding, with non-zero trailing bits rejected so that each
// byte string has exactly one encoding.
var b64 = base64.RawURLEncoding.Strict()

// Issuer mints and verifies tokens. keys[0] is the current signing key; the others only verify, so that
// tokens signed before a rotation stay valid until they expire. An Issuer is immutable but for Retire,
// and safe for concurrent use.
type Issuer struct {
	issuer string
	// mu guards the private keys against Retire: Mint and Keys read them under RLock, Retire clears them
	// under Lock. A pointer, so that the value receivers of String, Format and LogValue copy no lock.
	mu      *sync.RWMutex
	retired bool // guarded by mu
	keys    []SigningKey
	pubs    map[string]ed25519.PublicKey // by kid
	leeway  time.Duration
	headers map[Kind]string // encoded JOSE header of keys[0], per kind
	jwks    []byte
}

// NewIssuer returns an Issuer for the iss value issuer (the public base URL). leeway is the clock skew
// allowed on exp and nbf, clamped to [0, 60s]. The keys are copied.
//
// NewIssuer panics if keys is empty or holds a key with an empty or duplicate ID or a malformed private
// key: these are wiring errors, not runtime conditions.
func NewIssuer(issuer string, keys []SigningKey, leeway time.Duration) *Issuer {
	if len(keys) == 0 {
		panic("token: NewIssuer needs at least one signing key")
	}
	i := &Issuer{
		issuer:  issuer,
		mu:      new(sync.RWMutex),
		keys:    copyKeys(keys),
		pubs:    make(map[string]ed25519.PublicKey, len(keys)),
		leeway:  min(max(leeway, 0), maxLeeway),
		headers: make(map[Kind]string, 2),
	}
	type jwk struct {
		Kty string `json:"kty"`
		Crv string `json:"crv"`
		X   string `json:"x"`
		Kid string `json:"kid"`
		Alg string `json:"alg"`
		Use string `json:"use"`
	}
	set := struct {
		Keys []jwk `json:"keys"`
	}{Keys: make([]jwk, 0, len(keys))}
	for _, k := range i.keys {
		if err := k.check(); err != nil {
			panic("token: NewIssuer: " + err.Error())
		}
		if _, dup := i.pubs[k.ID]; dup {
			panic(fmt.Sprintf("token: NewIssuer: duplicate key id %q", k.ID))
		}
		pub := k.Public()
		i.pubs[k.ID] = pub
		set.Keys = append(set.Keys, jwk{Kty: "OKP", Crv: "Ed25519", X: base64.RawURLEncoding.EncodeToString(pub),
			Kid: k.ID, Alg: "EdDSA", Use: "sig"})
	}
	for _, kind := range []Kind{KindAccess, KindMFA} {
		h, err := json.Marshal(struct {
			Alg string `json:"alg"`
			Typ Kind   `json:"typ"`
			Kid string `json:"kid"`
		}{"EdDSA", kind, i.keys[0].ID})
		if err != nil {
			panic("token: NewIssuer: " + err.Error()) // unreachable: strings always marshal
		}
		i.headers[kind] = base64.RawURLEncoding.EncodeToString(h)
	}
	jwks, err := json.Marshal(set)
	if err != nil {
		panic("token: NewIssuer: " + err.Error()) // unreachable: strings always marshal
	}
	i.jwks = jwks
	return i
}

func copyKeys(keys []SigningKey) []SigningKey {
	out := make([]SigningKey, len(keys))
	for n, k := range keys {
		out[n] = SigningKey{ID: k.ID, Private: append(ed25519.PrivateKey(nil), k.Private...)}
	}
	return out
}

// IssuerURL returns the iss value that Mint sets and Verify requires.
func (i *Issuer) IssuerURL() string { return i.issuer }

// Keys returns copies of the held keys, the current signing key first; the caller should clear their
// Private keys when done. After Retire the copies' Private keys are all zeros.
func (i *Issuer) Keys() []SigningKey {
	i.mu.RLock()
	defer i.mu.RUnlock()
	return copyKeys(i.keys)
}

// Current returns the id and public key of the current signing key; the key is the caller's.
func (i *Issuer) Current() (kid string, pub ed25519.PublicKey) {
	return i.keys[0].ID, append(ed25519.PublicKey(nil), i.pubs[i.keys[0].ID]...)
}

// ErrRetired is returned by Mint after Retire.
var ErrRetired = errors.New("token: issuer retired")

// Retire clears the Issuer's private keys, once every Mint in progress has finished. Afterwards Mint
// fails with ErrRetired while Verify, JWKS and Current keep working with the public keys. Call it on an
// Issuer that has been replaced, so that no copy of a signing key outlives its use.
func (i *Issuer) Retire() {
	i.mu.Lock()
	defer i.mu.Unlock()
	for _, k := range i.keys {
		clear(k.Private)
	}
	i.retired = true
}

// JWKS returns the JSON Web Key Set of every held key, current first:
// {"keys":[{"kty":"OKP","crv":"Ed25519","x":"…","kid":"…","alg":"EdDSA","use":"sig"}]}.
// The slice is the caller's.
func (i *Issuer) JWKS() []byte { return append([]byte(nil), i.jwks...) }

// Mint signs c with the current key as a token of the given kind, after setting c.Issuer to the
// Issuer's URL. The header is {"alg":"EdDSA","typ":<kind>,"kid":<current key id>}.
//
// Mint returns a *clavis.Error of KindInternal if kind is unknown, if c lacks sub, jti or exp (Verify
// would refuse such a token), or if the token would exceed 64 KiB; and ErrRetired after Retire.
func (i *Issuer) Mint(kind Kind, c Claims) (string, error) {
	header, ok := i.headers[kind]
	if !ok {
		return "", clavis.Internal(fmt.Errorf("token: mint: unknown kind %q", string(kind)))
	}
	if c.Subject == "" || c.ID == "" || c.Expires == 0 {
		return "", clavis.Internal(errors.New("token: mint: claims need sub, jti and exp"))
	}
	c.Issuer = i.issuer
	payload, err := json.Marshal(c)
	if err != nil {
		return "", clavis.Internal(fmt.Errorf("token: mint: %w", err))
	}
	n := len(header) + 1 + base64.RawURLEncoding.EncodedLen(len(payload)) + 1 + sigLen
	if n > maxTokenLen {
		return "", clavis.Internal(fmt.Errorf("token: mint: token of %d bytes exceeds %d", n, maxTokenLen))
	}
	i.mu.RLock()
	defer i.mu.RUnlock()
	if i.retired {
		return "", ErrRetired
	}
	return string(appendCompact(make([]byte, 0, n), header, payload, i.keys[0].Private)), nil
}

// appendCompact appends to dst the compact JWS (RFC 7515 §7.1) of payload under the already encoded
// protected header, signed with priv (EdDSA, RFC 8037 §3.1): header "." base64url(payload) "."
// base64url(signature), where the signature is over the first two parts.
func appendCompact(dst []byte, header string, payload []byte, priv ed25519.PrivateKey) []byte {
	start := len(dst)
	dst = append(dst, header...)
	dst = append(dst, '.')
	dst = base64.RawURLEncoding.AppendEncode(dst, payload)
	sig := ed25519.Sign(priv, dst[start:])
	dst = append(dst, '.')
	return base64.RawURLEncoding.AppendEncode(dst, sig)
}

// Verify checks raw as a token of kind want at instant now and returns its claims (spec §2.3, RFC 8725).
//
// It accepts only: exactly three non-empty parts of unpadded base64url; a header that is a JSON object
// with "alg" == "EdDSA" (anything else, including "none", HS256 and RS256, is refused), "typ" == want,
// a "kid" naming a held key and no "crit"; a valid Ed25519 signature by that key; then claims with
// "iss" equal to the Issuer's URL, "exp" present and now <= exp+leeway, "nbf" (if present) <=
// now+leeway, and non-empty "sub" and "jti". Header parameters jku, x5u, jwk and x5c are ignored: the
// key is chosen by kid among held keys only. Inputs over 64 KiB are refused unread.
//
// Every failure returns clavis.ErrUnauthorized and nothing else, so no detail of the reason leaks.
// Verify never panics. Live checks (principal state, revocation, generation) are the caller's.
func (i *Issuer) Verify(raw string, want Kind, now time.Time) (*Claims, error) {
	c, ok := i.verify(raw, want, now)
	if !ok {
		return nil, clavis.ErrUnauthorized
	}
	return c, nil
}

func (i *Issuer) verify(raw string, want Kind, now time.Time) (*Claims, bool) {
	if !want.valid() {
		return nil, false
	}
	_, payload, ok := verifyCompact(raw, func(header []byte) ed25519.PublicKey {
		kid, ok := checkHeader(header, want)
		if !ok {
			return nil
		}
		return i.pubs[kid]
	})
	if !ok {
		return nil, false
	}
	// Only signed bytes are parsed from here on.
	var w wireClaims
	if err := json.Unmarshal(payload, &w); err != nil {
		return nil, false
	}
	if w.Issuer == nil || *w.Issuer != i.issuer || w.Subject == "" || w.ID == "" || w.Expires == nil {
		return nil, false
	}
	if !notAfter(now, *w.Expires, i.leeway) {
		return nil, false
	}
	var nbf int64
	if w.NotBefore != nil {
		nbf = *w.NotBefore
		if !notBefore(now, nbf, i.leeway) {
			return nil, false
		}
	}
	return &Claims{
		Issuer: *w.Issuer, Subject: w.Subject, Org: w.Org, Scopes: w.Scopes, VaultIDs: w.VaultIDs,
		IssuedAt: w.IssuedAt, Expires: *w.Expires, NotBefore: nbf, ID: w.ID, Gen: w.Gen, APIKeyID: w.APIKeyID,
	}, true
}

// verifyCompact checks the JWS layer of raw (RFC 7515 compact serialization, EdDSA per RFC 8037): at
// most 64 KiB; exactly three non-empty parts of unpadded base64url, canonically encoded; a signature of
// ed25519.SignatureSize bytes that verifies over the first two parts with the key that keyFor returns for
// the decoded protected header (nil refuses the token). It returns the decoded header and payload; it
// does not interpret either beyond keyFor.
func verifyCompact(raw string, keyFor func(header []byte) ed25519.PublicKey) (header, payload []byte, ok bool) {
	if len(raw) > maxTokenLen {
		return nil, nil, false
	}
	h, rest, ok := strings.Cut(raw, ".")
	if !ok {
		return nil, nil, false
	}
	p, s, ok := strings.Cut(rest, ".")
	if !ok || h == "" || p == "" || len(s) != sigLen || !isBase64URL(h) || !isBase64URL(p) || !isBase64URL(s) {
		return nil, nil, false // also rejects a fourth part: '.' is not base64url
	}
	header, err := b64.DecodeString(h)
	if err != nil {
		return nil, nil, false
	}
	pub := keyFor(header)
	if pub == nil {
		return nil, nil, false
	}
	sig, err := b64.DecodeString(s)
	if err != nil || !ed25519.Verify(pub, []byte(raw[:len(h)+1+len(p)]), sig) {
		return nil, nil, false
	}
	payload, err = b64.DecodeString(p)
	if err != nil {
		return nil, nil, false
	}
	return header, payload, true
}

// checkHeader returns the kid of a JOSE header that may be verified as kind want. Keys are matched
// exactly (not case-folded as encoding/json does for structs).
func checkHeader(b []byte, want Kind) (string, bool) {
	var hdr map[string]json.RawMessage
	if err := json.Unmarshal(b, &hdr); err != nil || hdr == nil {
		return "", false
	}
	if _, ok := hdr["crit"]; ok {
		return "", false // no extension is understood, so none may be critical
	}
	alg, ok1 := jsonString(hdr["alg"])
	typ, ok2 := jsonString(hdr["typ"])
	kid, ok3 := jsonString(hdr["kid"])
	if !ok1 || !ok2 || !ok3 || alg != "EdDSA" || typ != string(want) {
		return "", false
	}
	return kid, true
}

func jsonString(raw json.RawMessage) (string, bool) {
	if len(raw) == 0 || raw[0] != '"' {
		return "", false
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", false
	}
	return s, true
}

// isBase64URL reports whether s holds only base64url characters (no padding, no whitespace, which the
// standard decoder would otherwise skip).
func isBase64URL(s string) bool {
	for n := 0; n < len(s); n++ {
		c := s[n]
		if !('A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// notAfter reports now <= exp+leeway without overflowing on extreme exp values.
func notAfter(now time.Time, exp int64, leeway time.Duration) bool {
	s := now.Unix()
	if exp > s {
		return true // exp >= s+1 > now
	}
	// #nosec G115 -- modular on purpose: since exp <= s the difference is exact, even beyond MaxInt64.
	if uint64(s)-uint64(exp) > uint64(2*maxLeeway/time.Second) {
		return false
	}
	return now.Sub(time.Unix(exp, 0)) <= leeway
}

// notBefore reports nbf <= now+leeway without overflowing on extreme nbf values.
func notBefore(now time.Time, nbf int64, leeway time.Duration) bool {
	s := now.Unix()
	if nbf <= s {
		return true
	}
	// #nosec G115 -- modular on purpose: since nbf > s the difference is exact, even beyond MaxInt64.
	if uint64(nbf)-uint64(s) > uint64(2*maxLeeway/time.Second) {
		return false
	}
	return time.Unix(nbf, 0).Sub(now) <= leeway
}

// String names the issuer and its key ids, never a private key.
func (i Issuer) String() string {
	ids := make([]string, len(i.keys))
	for n, k := range i.keys {
		ids[n] = k.ID
	}
	return "token.Issuer{iss:" + i.issuer + " kids:[" + strings.Join(ids, " ") + "]}"
}

// Format prints String for every verb: the struct holds private keys that fmt would otherwise print.
// It has a value receiver so that both Issuer and *Issuer are covered.
func (i Issuer) Format(f fmt.State, _ rune) { _, _ = fmt.Fprint(f, i.String()) }

// LogValue logs the issuer and key ids only.
func (i Issuer) LogValue() slog.Value { return slog.StringValue(i.String()) }
