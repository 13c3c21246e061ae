package httpapi

import (
	"errors"
	"net/http/httptest"
	"strings"
	"testing"
	"unicode/utf8"

	"clavis.dev/clavis"
)

func TestDecode(t *testing.T) {
	type body struct {
		Name  string             `json:"name"`
		Count nullable[int64]    `json:"count"`
		When  *reqTime           `json:"when"`
		Tags  []string           `json:"tags"`
		Meta  nullable[any]      `json:"meta"`
		Opt   nullable[string]   `json:"opt"`
		Ids   nullable[[]string] `json:"ids"`
	}
	for _, c := range []struct {
		name, in string
		want     clavis.Kind // -1: success
	}{
		{"empty body is {}", "", -1},
		{"whitespace body is {}", " \n ", -1},
		{"object", `{"name":"x","count":3,"when":"2026-05-01T10:00:00+02:00","tags":["a"]}`, -1},
		{"unknown fields ignored", `{"name":"x","whatever":[1,{"a":null}]}`, -1},
		{"null", `null`, clavis.KindInvalid},
		{"array", `[]`, clavis.KindInvalid},
		{"string", `"x"`, clavis.KindInvalid},
		{"truncated", `{"name":`, clavis.KindInvalid},
		{"wrong type", `{"name":1}`, clavis.KindInvalid},
		{"wrong nested type", `{"tags":[1]}`, clavis.KindInvalid},
		{"bad time", `{"when":"tomorrow"}`, clavis.KindInvalid},
		{"time not a string", `{"when":5}`, clavis.KindInvalid},
		{"trailing garbage", `{"name":"x"} {`, clavis.KindInvalid},
		{"32 levels", `{"meta":` + strings.Repeat("[", 31) + strings.Repeat("]", 31) + `}`, -1},
		{"33 levels", `{"meta":` + strings.Repeat("[", 32) + strings.Repeat("]", 32) + `}`, clavis.KindInvalid},
		{"brackets in strings do not nest", `{"name":"` + strings.Repeat("[", 100) + `"}`, -1},
		{"over 1 MiB", `{"name":"` + strings.Repeat("x", maxBodyBytes) + `"}`, clavis.KindTooLarge},
		{"invalid UTF-8 in a string", "{\"name\":\"a\xff\xfeb\"}", clavis.KindInvalid},
		{"invalid UTF-8 in an ignored field", "{\"name\":\"x\",\"other\":\"\xc3\"}", clavis.KindInvalid},
		{"invalid UTF-8 in a key", "{\"na\x80me\":\"x\"}", clavis.KindInvalid},
		{"overlong encoding", "{\"name\":\"\xc0\xaf\"}", clavis.KindInvalid},
		{"encoded surrogate", "{\"name\":\"\xed\xa0\x80\"}", clavis.KindInvalid},
		{"lone high surrogate escape", `{"name":"\ud800"}`, clavis.KindInvalid},
		{"high surrogate escape then a non-surrogate", `{"name":"\ud800\u0041"}`, clavis.KindInvalid},
		{"lone low surrogate escape", `{"name":"\uDC00x"}`, clavis.KindInvalid},
		{"reversed surrogate pair", `{"name":"\udc00\ud800"}`, clavis.KindInvalid},
		{"surrogate pair", `{"name":"\ud83d\ude00"}`, -1},
		{"escaped backslash before u", `{"name":"\\ud800"}`, -1},
		{"valid multibyte UTF-8", `{"name":"héllo → 世界 😀"}`, -1},
		{"NBSP before the object", "\u00a0{}", clavis.KindInvalid},
		{"JSON whitespace around the object", " \t\r\n{}\n", -1},
	} {
		t.Run(c.name, func(t *testing.T) {
			var b body
			err := decode(httptest.NewRequest("POST", "/", strings.NewReader(c.in)), &b)
			var ce *clavis.Error
			switch {
			case c.want == -1 && err != nil:
				t.Fatalf("decode(%.40q) = %v, want success", c.in, err)
			case c.want != -1 && (!errors.As(err, &ce) || ce.Kind != c.want):
				t.Fatalf("decode(%.40q) = %v, want kind %v", c.in, err, c.want)
			}
		})
	}
}

func TestNullable(t *testing.T) {
	var b struct {
		A nullable[string] `json:"a"`
		B nullable[string] `json:"b"`
		C nullable[string] `json:"c"`
	}
	if err := decode(httptest.NewRequest("POST", "/", strings.NewReader(`{"a":null,"b":"x"}`)), &b); err != nil {
		t.Fatal(err)
	}
	if !b.A.Set || !b.A.Null || b.A.value() != nil {
		t.Errorf("a: %+v, want set and null", b.A)
	}
	if v := b.B.value(); v == nil || *v != "x" {
		t.Errorf("b: %+v, want x", b.B)
	}
	if b.C.Set {
		t.Errorf("c: %+v, want absent", b.C)
	}
}

// FuzzDecode: request decoding never panics, never accepts a body that is not UTF-8, and every failure is
// a 400 or 413 problem.
func FuzzDecode(f *testing.F) {
	for _, s := range []string{"", "{}", `{"name":"x"}`, `{"secret_path_pattern":"**","permissions":["read"],"conditions":{"ip_allowlist":["10.0.0.0/8"]}}`,
		`{"expires_at":"2026-01-01T00:00:00Z","token_ttl_seconds":5}`, `[`, `{"a":[[[[`, "\x00", `{"value":"\ud800"}`,
		"{\"value\":\"\xff\xfe\"}", `{"value":"\ud83d\ude00"}`, `{"value":"\\ud800"}`, `{"value":"\udc00\ud800"}`, "\u00a0{}"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		for _, dst := range []any{&agentBody{}, &policyBody{}, &struct {
			Value     *string  `json:"value"`
			ExpiresAt *reqTime `json:"expires_at"`
		}{}} {
			err := decode(httptest.NewRequest("POST", "/", strings.NewReader(in)), dst)
			if err == nil {
				if !utf8.ValidString(in) {
					t.Fatalf("decode(%q) accepted a body that is not UTF-8", in)
				}
				continue
			}
			var ce *clavis.Error
			if !errors.As(err, &ce) || (ce.Kind != clavis.KindInvalid && ce.Kind != clavis.KindTooLarge) {
				t.Fatalf("decode(%q) = %v, want an invalid-input error", in, err)
			}
		}
	})
}
