package clavistest_test

import (
	"bytes"
	"crypto"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	_ "modernc.org/sqlite"

	"clavis.dev/clavis"
	"clavis.dev/clavis/internal/clavistest"
	"clavis.dev/clavis/internal/keyring"
	"clavis.dev/clavis/internal/keyring/file"
	"clavis.dev/clavis/internal/token"
)

// jws is a decoded compact JWS: header and claims as generic objects (numbers kept exact), and the
// signing input and signature as sent.
type jws struct {
	header, claims map[string]any
	sig            string
}

func parseJWS(t *testing.T, raw string) jws {
	t.Helper()
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		t.Fatalf("token %q has %d parts, want 3", raw, len(parts))
	}
	obj := func(s string) map[string]any {
		b, err := base64.RawURLEncoding.DecodeString(s)
		if err != nil {
			t.Fatalf("token part %q: %v", s, err)
		}
		d := json.NewDecoder(bytes.NewReader(b))
		d.UseNumber()
		var m map[string]any
		if err := d.Decode(&m); err != nil {
			t.Fatalf("token part %s: %v", b, err)
		}
		return m
	}
	return jws{header: obj(parts[0]), claims: obj(parts[1]), sig: parts[2]}
}

// with returns a copy of j whose header and claims have the given keys set (a nil value deletes it).
func (j jws) with(header, claims map[string]any) jws {
	cp := func(m, set map[string]any) map[string]any {
		out := map[string]any{}
		for k, v := range m {
			out[k] = v
		}
		for k, v := range set {
			if v == nil {
				delete(out, k)
			} else {
				out[k] = v
			}
		}
		return out
	}
	return jws{header: cp(j.header, header), claims: cp(j.claims, claims), sig: j.sig}
}

func (j jws) signingInput() string {
	enc := func(m map[string]any) string {
		b, _ := json.Marshal(m)
		return base64.RawURLEncoding.EncodeToString(b)
	}
	return enc(j.header) + "." + enc(j.claims)
}

// keepSig serialises j with the signature it came with (a tampered token).
func (j jws) keepSig() string { return j.signingInput() + "." + j.sig }

// signed serialises j signed by sign (nil sign: an empty signature).
func (j jws) signed(sign func(msg []byte) []byte) string {
	in := j.signingInput()
	if sign == nil {
		return in + "."
	}
	return in + "." + base64.RawURLEncoding.EncodeToString(sign([]byte(in)))
}

func edSigner(k ed25519.PrivateKey) func([]byte) []byte {
	return func(m []byte) []byte { return ed25519.Sign(k, m) }
}

func hsSigner(key []byte) func([]byte) []byte {
	return func(m []byte) []byte {
		h := hmac.New(sha256.New, key)
		h.Write(m)
		return h.Sum(nil)
	}
}

// serverSigningKey recovers the server's own token-signing key from its database and root key file, as
// an insider with both would. It lets the suite sign tokens whose only fault is a claim, so that the
// claim checks are tested and not only the signature.
func serverSigningKey(t *testing.T, env *clavistest.Env) token.SigningKey {
	t.Helper()
	db, err := sql.Open("sqlite", env.DBPath)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var wrapped []byte
	if err := db.QueryRow(`SELECT value FROM server_keys WHERE name = ?`, "jwt-signing-key").Scan(&wrapped); err != nil {
		t.Fatalf("reading the wrapped signing key: %v", err)
	}
	root, err := file.Open(filepath.Join(env.DataDir, "root.key"), false)
	if err != nil {
		t.Fatal(err)
	}
	seed, err := keyring.New(root, keyring.Options{}).UnwrapServerSecret(ctx, "jwt-signing-key", wrapped)
	if err != nil {
		t.Fatalf("unwrapping the signing key: %v", err)
	}
	return token.SigningKeyFromSeed(seed)
}

// flipChar changes one character in the middle of a key to another base64url character.
func flipChar(s string) string {
	b := []byte(s)
	i := len(b) / 2
	if b[i] == 'A' {
		b[i] = 'B'
	} else {
		b[i] = 'A'
	}
	return string(b)
}

func TestTokenForgery(t *testing.T) {
	env := clavistest.New(t)
	victim := env.Signup(t)
	other := env.Signup(t) // another org
	agent := env.NewAgent(t, victim, clavis.AgentInput{})
	userTok := bearer(t, env, victim)
	otherTok := bearer(t, env, other)
	agentTok := secAgentToken(t, env, agent)

	// What the server publishes.
	var pub struct {
		Alg string `json:"alg"`
		Key string `json:"public_key_base64"`
	}
	if err := json.Unmarshal(secDo(t, "GET", env.URL+"/v1/auth/jwt-public-key", "", "").Body, &pub); err != nil {
		t.Fatal(err)
	}
	rawPub, err := base64.StdEncoding.DecodeString(pub.Key)
	if err != nil || len(rawPub) != ed25519.PublicKeySize {
		t.Fatalf("jwt-public-key %q: %v", pub.Key, err)
	}
	jwksBody := secDo(t, "GET", env.URL+"/.well-known/jwks.json", "", "").Body
	var set struct {
		Keys []map[string]string `json:"keys"`
	}
	if err := json.Unmarshal(jwksBody, &set); err != nil || len(set.Keys) == 0 {
		t.Fatalf("jwks %s: %v", jwksBody, err)
	}
	kid := set.Keys[0]["kid"]
	singleJWK, _ := json.Marshal(set.Keys[0])

	// Controls: genuine tokens pass, so every 401 below is the forgery's doing.
	for _, c := range []struct{ name, bearer, path string }{
		{"user token", userTok, "/v1/auth/me"}, {"agent token", agentTok, "/v1/agents/me"},
	} {
		if got := secDo(t, "GET", env.URL+c.path, c.bearer, "").Status; got != http.StatusOK {
			t.Fatalf("control: genuine %s on %s = %d, want 200", c.name, c.path, got)
		}
	}
	serverKey := serverSigningKey(t, env)
	if serverKey.ID != kid || !bytes.Equal(serverKey.Public(), rawPub) {
		t.Fatalf("recovered signing key %s does not match the published one %s", serverKey.ID, kid)
	}
	insider := edSigner(serverKey.Private)
	user := parseJWS(t, userTok)
	now := time.Now().Unix()
	fresh := map[string]any{"jti": secUUID(), "iat": now, "exp": now + 600}
	if got := secDo(t, "GET", env.URL+"/v1/auth/me", user.with(nil, fresh).signed(insider), "").Status; got != http.StatusOK {
		t.Fatalf("control: genuine claims re-signed with the server key = %d, want 200", got)
	}

	// The attacker's keys, and a JWKS server that must never be fetched.
	attackerPub, attackerKey, _ := ed25519.GenerateKey(rand.Reader)
	attacker := edSigner(attackerKey)
	attackerKid := token.KeyID(attackerPub)
	attackerJWK := map[string]any{"kty": "OKP", "crv": "Ed25519", "x": base64.RawURLEncoding.EncodeToString(attackerPub),
		"kid": attackerKid, "alg": "EdDSA", "use": "sig"}
	var fetches atomic.Int64
	jku := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		fetches.Add(1)
		w.Header().Set("Content-Type", "application/jwk-set+json")
		_ = json.NewEncoder(w).Encode(map[string]any{"keys": []any{attackerJWK}})
	}))
	t.Cleanup(jku.Close)
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	rs256 := func(m []byte) []byte {
		d := sha256.Sum256(m)
		s, err := rsa.SignPKCS1v15(rand.Reader, rsaKey, crypto.SHA256, d[:])
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	rsaJWK := map[string]any{"kty": "RSA", "n": base64.RawURLEncoding.EncodeToString(rsaKey.N.Bytes()), "e": "AQAB"}

	// Credentials that were good once: each is killed by the action the spec names (§2.7).
	rotated := env.NewAgent(t, victim, clavis.AgentInput{})
	rotatedTok := secAgentToken(t, env, rotated)
	if _, err := victim.C.RotateAgentKey(ctx, rotated.ID); err != nil {
		t.Fatal(err)
	}
	deactivated := env.NewAgent(t, victim, clavis.AgentInput{})
	deactivatedTok := secAgentToken(t, env, deactivated)
	if _, err := victim.C.UpdateAgent(ctx, deactivated.ID, clavis.AgentPatch{Active: new(false)}); err != nil {
		t.Fatal(err)
	}
	deleted := env.NewAgent(t, victim, clavis.AgentInput{})
	deletedTok := secAgentToken(t, env, deleted)
	if err := victim.C.DeleteAgent(ctx, deleted.ID); err != nil {
		t.Fatal(err)
	}
	revokedUserTok := bearer(t, env, victim)
	if err := env.Client().WithToken(revokedUserTok).RevokeToken(ctx); err != nil {
		t.Fatal(err)
	}
	revokedAgentTok := secAgentToken(t, env, agent)
	if err := env.Client().WithToken(revokedAgentTok).RevokeToken(ctx); err != nil {
		t.Fatal(err)
	}
	ck, ckRaw, err := victim.C.CreateAPIKey(ctx, clavis.APIKeyInput{Name: "to-revoke"})
	if err != nil {
		t.Fatal(err)
	}
	ckTok, err := env.Client().APIKeyToken(ctx, string(ckRaw))
	if err != nil {
		t.Fatal(err)
	}
	if err := victim.C.RevokeAPIKey(ctx, ck.ID); err != nil {
		t.Fatal(err)
	}
	_, liveCK, err := victim.C.CreateAPIKey(ctx, clavis.APIKeyInput{Name: "live"})
	if err != nil {
		t.Fatal(err)
	}

	agentJ := parseJWS(t, agentTok)
	otherJ := parseJWS(t, otherTok)
	flippedSig := func() string {
		s, _ := base64.RawURLEncoding.DecodeString(user.sig)
		s[10] ^= 0x01
		return user.signingInput() + "." + base64.RawURLEncoding.EncodeToString(s)
	}()
	past := now - 120 // beyond the default 5 s leeway

	cases := []struct {
		name, bearer string
	}{
		// Without the server's key.
		{"alg none, empty signature", user.with(map[string]any{"alg": "none"}, nil).signed(nil)},
		{"alg none, original signature", user.with(map[string]any{"alg": "none"}, nil).keepSig()},
		{"alg None, empty signature", user.with(map[string]any{"alg": "None"}, nil).signed(nil)},
		{"alg absent", user.with(map[string]any{"alg": nil}, nil).keepSig()},
		{"HS256 keyed with the raw public key", user.with(map[string]any{"alg": "HS256"}, nil).signed(hsSigner(rawPub))},
		{"HS256 keyed with the base64 public key", user.with(map[string]any{"alg": "HS256"}, nil).signed(hsSigner([]byte(pub.Key)))},
		{"HS256 keyed with the JWKS JSON", user.with(map[string]any{"alg": "HS256"}, nil).signed(hsSigner(jwksBody))},
		{"HS256 keyed with the JWK JSON", user.with(map[string]any{"alg": "HS256"}, nil).signed(hsSigner(singleJWK))},
		{"HS256 keyed with the JWK x", user.with(map[string]any{"alg": "HS256"}, nil).signed(hsSigner([]byte(set.Keys[0]["x"])))},
		{"RS256 with an embedded RSA jwk", user.with(map[string]any{"alg": "RS256", "jwk": rsaJWK}, nil).signed(rs256)},
		{"RS256 header, original signature", user.with(map[string]any{"alg": "RS256"}, nil).keepSig()},
		{"payload: sub changed to another org's user", user.with(nil, map[string]any{"sub": "user:" + other.ID}).keepSig()},
		{"payload: sub and org changed to another org's", user.with(nil, map[string]any{"sub": "user:" + other.ID, "org": other.OrgID}).keepSig()},
		{"payload: exp extended", user.with(nil, map[string]any{"exp": now + 86400*365}).keepSig()},
		{"signature: one bit flipped", flippedSig},
		{"signature: stripped", user.signingInput() + "."},
		{"signature: two parts only", user.signingInput()},
		{"signature: another token's", user.signingInput() + "." + otherJ.sig},
		{"attacker Ed25519 key with the server's kid", user.with(nil, fresh).signed(attacker)},
		{"attacker key, kid unknown", user.with(map[string]any{"kid": attackerKid}, fresh).signed(attacker)},
		{"attacker key, kid missing", user.with(map[string]any{"kid": nil}, fresh).signed(attacker)},
		{"attacker key in a jwk header", user.with(map[string]any{"kid": attackerKid, "jwk": attackerJWK}, fresh).signed(attacker)},
		{"attacker key behind a jku header", user.with(map[string]any{"kid": attackerKid, "jku": jku.URL}, fresh).signed(attacker)},
		{"attacker key behind an x5u header", user.with(map[string]any{"kid": attackerKid, "x5u": jku.URL}, fresh).signed(attacker)},
		{"attacker key, jku with the server's kid", user.with(map[string]any{"jku": jku.URL}, fresh).signed(attacker)},
		{"user token with sub swapped to an agent", user.with(nil, map[string]any{"sub": "agent:" + agent.ID}).keepSig()},
		{"other org's token with org altered", otherJ.with(nil, map[string]any{"org": victim.OrgID}).keepSig()},
		{"agent token with sub swapped to another agent", agentJ.with(nil, map[string]any{"sub": "agent:" + rotated.ID}).keepSig()},
		{"agent token with vault_ids emptied", agentJ.with(nil, map[string]any{"vault_ids": []string{}, "scopes": []string{"**"}}).keepSig()},
		{"agent token after rotate-key", rotatedTok},
		{"agent token after deactivation", deactivatedTok},
		{"agent token after the agent's deletion", deletedTok},
		{"user token after DELETE /v1/auth/token", revokedUserTok},
		{"agent token after DELETE /v1/auth/token", revokedAgentTok},
		{"token minted from a revoked 1ck_ key", string(ckTok.AccessToken)},
		{"ocv_ key with one character changed", flipChar(agent.Key)},
		{"ocv_ key replaced by rotate-key", rotated.Key},
		{"ocv_ key of a deactivated agent", deactivated.Key},
		{"ocv_ key of a deleted agent", deleted.Key},
		{"1ck_ key revoked", string(ckRaw)},
		{"1ck_ key with one character changed", flipChar(string(liveCK))},
		{"ocv_ prefix on a 1ck_ key", "ocv_" + strings.TrimPrefix(string(liveCK), "1ck_")},

		// With the server's own key: the claim checks must refuse on their own (§2.3).
		{"insider: iss wrong", user.with(nil, map[string]any{"iss": "http://evil.example", "jti": secUUID()}).signed(insider)},
		{"insider: iss missing", user.with(nil, map[string]any{"iss": nil, "jti": secUUID()}).signed(insider)},
		{"insider: exp in the past beyond leeway", user.with(nil, map[string]any{"exp": past, "iat": past - 900, "jti": secUUID()}).signed(insider)},
		{"insider: exp missing", user.with(nil, map[string]any{"exp": nil, "jti": secUUID()}).signed(insider)},
		{"insider: exp not a number", user.with(nil, map[string]any{"exp": "9999999999", "jti": secUUID()}).signed(insider)},
		{"insider: nbf in the future beyond leeway", user.with(nil, map[string]any{"nbf": now + 300, "exp": now + 900, "jti": secUUID()}).signed(insider)},
		{"insider: typ mfa+jwt", user.with(map[string]any{"typ": "mfa+jwt"}, fresh).signed(insider)},
		{"insider: typ missing", user.with(map[string]any{"typ": nil}, fresh).signed(insider)},
		{"insider: kid unknown", user.with(map[string]any{"kid": attackerKid}, fresh).signed(insider)},
		{"insider: kid missing", user.with(map[string]any{"kid": nil}, fresh).signed(insider)},
		{"insider: alg Ed25519", user.with(map[string]any{"alg": "Ed25519"}, fresh).signed(insider)},
		{"insider: crit header", user.with(map[string]any{"crit": []string{"exp"}}, fresh).signed(insider)},
		{"insider: sub without a type", user.with(nil, map[string]any{"sub": victim.ID, "jti": secUUID()}).signed(insider)},
		{"insider: sub of one org, org of another", user.with(nil, map[string]any{"org": other.OrgID, "jti": secUUID()}).signed(insider)},
		{"insider: revoked jti with a fresh exp", parseJWS(t, revokedUserTok).with(nil, map[string]any{"exp": now + 900}).signed(insider)},
		{"insider: rotated agent's claims with a fresh exp", parseJWS(t, rotatedTok).with(nil, map[string]any{"exp": now + 900, "jti": secUUID()}).signed(insider)},
		{"insider: deactivated agent's claims with a fresh exp", parseJWS(t, deactivatedTok).with(nil, map[string]any{"exp": now + 900, "jti": secUUID()}).signed(insider)},
	}
	accepted := 0
	for _, c := range cases {
		ok := true
		for _, path := range []string{"/v1/auth/me", "/v1/agents/me"} {
			ans := secDo(t, "GET", env.URL+path, c.bearer, "")
			if ans.Status != http.StatusUnauthorized {
				ok = false
				t.Errorf("%s: GET %s = %d %s, want 401", c.name, path, ans.Status, ans.Body)
			}
		}
		if !ok {
			accepted++
		}
	}
	t.Logf("forgery variants: %d, accepted: %d", len(cases), accepted)
	if n := fetches.Load(); n != 0 {
		t.Errorf("the server fetched the attacker's jku/x5u URL %d times, want never", n)
	}
	// The genuine credentials still work: the refusals above were about the forgeries only.
	for _, c := range []struct{ name, bearer, path string }{
		{"user token", userTok, "/v1/auth/me"}, {"agent token", agentTok, "/v1/agents/me"},
		{"live 1ck_ key", string(liveCK), "/v1/auth/me"}, {"live ocv_ key", agent.Key, "/v1/agents/me"},
	} {
		if got := secDo(t, "GET", env.URL+c.path, c.bearer, "").Status; got != http.StatusOK {
			t.Errorf("after the forgeries, genuine %s on %s = %d, want 200", c.name, c.path, got)
		}
	}
}
