package clavis_test

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"clavis.dev/clavis"
)

// canary stands for a secret value, key, token or password; no output may contain it.
const canary = "ocv_canary-4d1f8b"

// redactionCases are values that carry the canary, alone and nested in slices, pointers, maps and structs.
func redactionCases() map[string]any {
	tok := clavis.Token{AccessToken: canary, MFAToken: canary, ExpiresIn: 900, AgentID: "agent-7"}
	val := clavis.SecretValue{
		SecretMeta: clavis.SecretMeta{Secret: &clavis.Secret{ID: "secret-7", Path: "db/pg"}, Version: &clavis.Version{Version: 3}},
		Value:      canary,
	}
	key := clavis.AgentKey{Agent: &clavis.Agent{ID: "agent-7", Name: "bot"}, Key: canary}
	return map[string]any{
		"Sensitive":    clavis.Sensitive(canary),
		"[]Sensitive":  []clavis.Sensitive{canary, canary},
		"*Sensitive":   func() *clavis.Sensitive { s := clavis.Sensitive(canary); return &s }(),
		"map":          map[string]clavis.Sensitive{"k": canary},
		"Token":        tok,
		"*Token":       &tok,
		"[]Token":      []clavis.Token{tok},
		"SecretValue":  val,
		"*SecretValue": &val,
		"AgentKey":     key,
		"*AgentKey":    &key,
		"SecretInput":  clavis.SecretInput{Value: canary, Type: "password"},
		"SignupInput":  clavis.SignupInput{Email: "ada@example.com", Password: canary},
		"struct": struct {
			Token  clavis.Token
			Values []clavis.SecretValue
			Key    *clavis.AgentKey
		}{tok, []clavis.SecretValue{val}, &key},
	}
}

// TestSecretBearingTypesRedact checks every secret-bearing type of the vocabulary under every fmt verb
// and both slog handlers, alone and nested.
func TestSecretBearingTypesRedact(t *testing.T) {
	leaks := func(out string) bool {
		return strings.Contains(out, canary) || strings.Contains(strings.ToLower(out), hex.EncodeToString([]byte(canary)))
	}
	for name, v := range redactionCases() {
		for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d", "%10.3s"} {
			if out := fmt.Sprintf(verb, v); leaks(out) {
				t.Errorf("fmt %s of %s = %s, reveals the secret", verb, name, out)
			}
		}
		if out := fmt.Sprint(v); leaks(out) {
			t.Errorf("fmt.Sprint of %s = %s, reveals the secret", name, out)
		}
		if b, err := json.Marshal(v); err != nil || leaks(string(b)) {
			t.Errorf("json.Marshal of %s = %s, %v; reveals the secret", name, b, err)
		}
		for handler, newHandler := range map[string]func(*bytes.Buffer) slog.Handler{
			"JSON": func(b *bytes.Buffer) slog.Handler { return slog.NewJSONHandler(b, nil) },
			"text": func(b *bytes.Buffer) slog.Handler { return slog.NewTextHandler(b, nil) },
		} {
			var buf bytes.Buffer
			log := slog.New(newHandler(&buf))
			log.Info("msg", "v", v)
			log.Info("msg", slog.Any("v", v), slog.Group("g", "v", v))
			log.With("v", v).Info("msg")
			if leaks(buf.String()) {
				t.Errorf("slog %s handler of %s: %s reveals the secret", handler, name, buf.String())
			}
		}
	}
}

// TestSensitiveRevealsOnlyByConversion checks the ways a Sensitive does give up its value: an explicit
// string conversion, and decoding (a client reads a token from the wire into a Sensitive).
func TestSensitiveRevealsOnlyByConversion(t *testing.T) {
	s := clavis.Sensitive(canary)
	if got := string(s); got != canary {
		t.Errorf("string(s) = %q, want %q", got, canary)
	}
	var tok struct {
		AccessToken clavis.Sensitive `json:"access_token"`
	}
	if err := json.Unmarshal([]byte(`{"access_token":"`+canary+`"}`), &tok); err != nil {
		t.Fatal(err)
	}
	if got := string(tok.AccessToken); got != canary {
		t.Errorf("decoded access_token = %q, want %q", got, canary)
	}
	if got, want := fmt.Sprintf("%q|%v|%8s", s, s, s), `"[redacted]"|[redacted]|[redacted]`; got != want {
		t.Errorf("fmt = %s, want %s", got, want)
	}
}

// TestSecretBearingTypesLogTheirIdentity checks that the redacting LogValues keep what identifies the
// object, so that logs stay useful.
func TestSecretBearingTypesLogTheirIdentity(t *testing.T) {
	var buf bytes.Buffer
	cases := redactionCases()
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("msg", "token", cases["Token"], "value", cases["SecretValue"],
		"key", cases["AgentKey"], "signup", cases["SignupInput"])
	for _, want := range []string{`"agent_id":"agent-7"`, `"secret_id":"secret-7"`, `"path":"db/pg"`, `"version":3`,
		`"name":"bot"`, `"email":"ada@example.com"`, `"value":"[redacted]"`} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("log %s lacks %s", buf.String(), want)
		}
	}
}
