package httpapi

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"net/http/httptest"
	"testing"
	"time"

	"clavis.dev/clavis"
)

// TestWriteSecretListMatchesEncoder compares writeSecretList with the reflective encoding of the same
// list, byte for byte, on plain items (the direct path) and on items with every kind of value that
// needs escaping, re-compacting or rejecting (the fallback).
func TestWriteSecretListMatchesEncoder(t *testing.T) {
	when := time.Date(2026, 5, 1, 10, 0, 0, 123456000, time.FixedZone("x", 7200))
	item := func(id, path, typ string, meta string, expires bool) clavis.SecretMeta {
		v := &clavis.Version{SecretID: id, Version: 7, Type: typ, Metadata: json.RawMessage(meta), CreatedAt: when}
		if meta == "nil" {
			v.Metadata = nil
		}
		if expires {
			e := when.Add(time.Hour)
			v.ExpiresAt = &e
		}
		return clavis.SecretMeta{Secret: &clavis.Secret{ID: id, VaultID: "v", Path: path, LatestVersion: 7, CreatedAt: when}, Version: v}
	}
	plain := item("0b5e1c9a-2f0e-4c51-9d1e-7d9f1b3a6c21", "db/prod-1/pass_word", "password", `{"a":[1,2.5,true,null],"b":{"c":"d"}}`, true)
	odd := []clavis.SecretMeta{
		item("id", "p", "generic", "nil", false),
		item("id", "p", "generic", ``, false),
		item("id", "p", "generic", `{}`, false),
		item("id", "p", "generic", `{"a": 1}`, false),             // whitespace: re-compacted
		item("id", "p", "generic", "{\"a\":\"x y\"}", false),      // whitespace inside a string: kept
		item("id", "p", "generic", `{"h":"<b>&amp;</b>"}`, false), // HTML characters: escaped
		item("id", "p", "generic", "{\"u\":\"\u2028é\"}", false),
		item("id", "p", "generic", `{"a":`, false), // invalid: the encoder fails
		item("id<", "p", "generic", `{}`, false),
		item("id", "p\"q\\r", "generic", `{}`, false),
		item("id", "p\x01\n", "generic", `{}`, false),
		item("id", "p", "gén\xff", `{}`, true),
	}
	want := func(items []clavis.SecretMeta) *httptest.ResponseRecorder {
		rec := httptest.NewRecorder()
		writeJSON(rec, 200, secretList{mapList(items, secretMetaOf)})
		return rec
	}
	check := func(name string, items []clavis.SecretMeta) {
		t.Helper()
		got, exp := httptest.NewRecorder(), want(items)
		writeSecretList(got, items)
		if got.Code != exp.Code || !bytes.Equal(got.Body.Bytes(), exp.Body.Bytes()) ||
			got.Header().Get("Content-Type") != exp.Header().Get("Content-Type") {
			t.Errorf("%s: writeSecretList = %d %q %q, want %d %q %q", name, got.Code, got.Header().Get("Content-Type"),
				got.Body, exp.Code, exp.Header().Get("Content-Type"), exp.Body)
		}
	}
	check("empty", []clavis.SecretMeta{})
	check("plain", []clavis.SecretMeta{plain, plain})
	if _, ok := appendSecretMeta(nil, plain); !ok {
		t.Error("a plain item does not take the direct path")
	}
	for _, o := range odd {
		check("odd "+o.Secret.Path+" "+string(o.Version.Metadata), []clavis.SecretMeta{plain, o, plain})
	}
	rng := rand.New(rand.NewPCG(5, 6)) // #nosec G404 -- reproducible test data, not a secret
	alphabet := []string{"a", "Z", "0", "/", "-", "_", " ", "\"", "\\", "<", ">", "&", "\n", "\x00", "é", "\u2028", "\xff", "{", "}", ":", ","}
	random := func(n int) string {
		s := ""
		for range rng.IntN(n) {
			s += alphabet[rng.IntN(len(alphabet))]
		}
		return s
	}
	for range 500 {
		meta := `{"k":"` + random(6) + `"}`
		if rng.IntN(2) == 0 {
			meta = `{"k":"ab","n":[1,{"x":null}]}`
		}
		check("random", []clavis.SecretMeta{item(random(4), random(8), random(3), meta, rng.IntN(2) == 0)})
	}
}
