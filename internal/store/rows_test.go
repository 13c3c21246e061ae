package store_test

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"clavis.dev/clavis"
	"clavis.dev/clavis/internal/store"
)

// canary stands for a password hash; no output may contain it.
const canary = "$argon2id$canary-4d1f8b"

// TestUserRowRedactsPasswordHash checks a user row under every fmt verb and both slog handlers, alone and
// nested, and that it keeps what identifies the user.
func TestUserRowRedactsPasswordHash(t *testing.T) {
	u := store.User{User: clavis.User{ID: "user-7", Email: "ada@example.com"}, PasswordHash: canary}
	leaks := func(out string) bool {
		return strings.Contains(out, canary) || strings.Contains(strings.ToLower(out), hex.EncodeToString([]byte(canary)))
	}
	for name, v := range map[string]any{
		"User":   u,
		"*User":  &u,
		"[]User": []*store.User{&u},
		"struct": struct{ U *store.User }{&u},
	} {
		for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d", "%10.3s"} {
			if out := fmt.Sprintf(verb, v); leaks(out) {
				t.Errorf("fmt %s of %s = %s, reveals the hash", verb, name, out)
			}
		}
		if b, err := json.Marshal(v); err != nil || leaks(string(b)) {
			t.Errorf("json.Marshal of %s = %s, %v; reveals the hash", name, b, err)
		}
		for handler, newHandler := range map[string]func(*bytes.Buffer) slog.Handler{
			"JSON": func(b *bytes.Buffer) slog.Handler { return slog.NewJSONHandler(b, nil) },
			"text": func(b *bytes.Buffer) slog.Handler { return slog.NewTextHandler(b, nil) },
		} {
			var buf bytes.Buffer
			log := slog.New(newHandler(&buf))
			log.Info("msg", "v", v)
			log.Info("msg", slog.Any("v", v), slog.Group("g", "v", v))
			if leaks(buf.String()) {
				t.Errorf("slog %s handler of %s: %s reveals the hash", handler, name, buf.String())
			}
		}
	}
	if out := fmt.Sprintf("%+v", u); !strings.Contains(out, "ada@example.com") || !strings.Contains(out, "[redacted]") {
		t.Errorf("fmt %%+v = %s, want the email and [redacted]", out)
	}
}
