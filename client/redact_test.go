package client_test

import (
	"bytes"
	"context"
	"encoding/hex"
	"fmt"
	"log/slog"
	"reflect"
	"strings"
	"testing"

	"clavis.dev/clavis"
	"clavis.dev/clavis/client"
)

// redactCanary stands for a key or token; no fmt or slog output may contain it.
const redactCanary = "ocv_canary-c1f5e0"

// checkRedacted fails t if any fmt verb, fmt.Sprint, or the JSON or text slog handler reveals
// redactCanary in any of values.
func checkRedacted(t *testing.T, values map[string]any) {
	t.Helper()
	leaks := func(out string) bool {
		return strings.Contains(out, redactCanary) || strings.Contains(strings.ToLower(out), hex.EncodeToString([]byte(redactCanary)))
	}
	for name, v := range values {
		for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%d"} {
			if out := fmt.Sprintf(verb, v); leaks(out) {
				t.Errorf("fmt %s of %s = %s, reveals the secret", verb, name, out)
			}
		}
		if out := fmt.Sprint(v); leaks(out) {
			t.Errorf("fmt.Sprint of %s = %s, reveals the secret", name, out)
		}
		var buf bytes.Buffer
		slog.New(slog.NewJSONHandler(&buf, nil)).Info("msg", "v", v)
		slog.New(slog.NewTextHandler(&buf, nil)).Info("msg", "v", v)
		if leaks(buf.String()) {
			t.Errorf("slog of %s: %s reveals the secret", name, buf.String())
		}
	}
}

// TestClientRedactsCredentials checks that a Client never shows its bearer credential, and that the keys
// and tokens it hands out redact themselves, alone and nested, while string conversion reveals them.
func TestClientRedactsCredentials(t *testing.T) {
	c := client.New("http://clavis.invalid", client.WithToken(redactCanary))
	tok := clavis.Token{AccessToken: redactCanary, MFAToken: redactCanary}
	sec := clavis.SecretValue{SecretMeta: clavis.SecretMeta{Secret: &clavis.Secret{ID: sid, Path: "k"}}, Value: redactCanary}
	in := clavis.SecretInput{Value: redactCanary}
	checkRedacted(t, map[string]any{
		"*Client":          c,
		"Client":           *c,
		"WithToken copy":   client.New("http://clavis.invalid").WithToken(redactCanary),
		"[]*Client":        []*client.Client{c},
		"struct{*Client}":  struct{ C *client.Client }{c},
		"[]Token":          []clavis.Token{tok},
		"*Token":           &tok,
		"struct{*Token}":   struct{ T *clavis.Token }{&tok},
		"[]SecretValue":    []clavis.SecretValue{sec},
		"struct{*Secret}":  struct{ S *clavis.SecretValue }{&sec},
		"map[string]Token": map[string]clavis.Token{"t": tok},
		"struct{*Input}":   struct{ In *clavis.SecretInput }{&in},
	})
	if got, want := fmt.Sprintf("%v", c), `client.Client{baseURL:"http://clavis.invalid" authenticated:true}`; got != want {
		t.Errorf("%%v of a Client = %s, want %s", got, want)
	}

	for _, tc := range []struct {
		name, resp string
		call       func(context.Context, *client.Client) (any, any, error)
	}{
		{"CreateAgent", `{"agent":{"id":"` + aid + `"},"api_key":"` + redactCanary + `"}`,
			func(ctx context.Context, c *client.Client) (any, any, error) {
				ak, err := c.CreateAgent(ctx, clavis.AgentInput{Name: "bot"})
				if err != nil {
					return nil, nil, err
				}
				return ak, ak.Key, nil
			}},
		{"RotateAgentKey", `{"agent":{"id":"` + aid + `"},"api_key":"` + redactCanary + `"}`,
			func(ctx context.Context, c *client.Client) (any, any, error) {
				ak, err := c.RotateAgentKey(ctx, aid)
				if err != nil {
					return nil, nil, err
				}
				return ak, ak.Key, nil
			}},
		{"CreateAPIKey", `{"key":{"id":"` + pid + `"},"api_key":"` + redactCanary + `"}`,
			func(ctx context.Context, c *client.Client) (any, any, error) {
				k, raw, err := c.CreateAPIKey(ctx, clavis.APIKeyInput{Name: "ci"})
				return k, raw, err
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, _ := serve(t, 201, tc.resp)
			obj, key, err := tc.call(t.Context(), c)
			if err != nil {
				t.Fatal(err)
			}
			checkRedacted(t, map[string]any{"key": key, "[]key": []any{key}, "struct{key}": struct{ K any }{key}, "result": obj})
			if got := reflect.ValueOf(key).String(); got != redactCanary { // string(key), whatever its string type
				t.Errorf("string(key) = %q, want %q", got, redactCanary)
			}
		})
	}
}
