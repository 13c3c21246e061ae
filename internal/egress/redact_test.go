package egress

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"net/url"
	"slices"
	"strings"
	"testing"
)

// renderings are the forms of value that the redactor claims to remove (use.md §4), each embedded in
// surrounding text.
func renderings(value []byte, basic string) map[string]string {
	v := string(value)
	j, _ := json.Marshal(v)
	out := map[string]string{
		"raw":                 v,
		"bearer header":       "Bearer " + v,
		"basic":               basic,
		"std base64":          base64.StdEncoding.EncodeToString(value),
		"std base64 raw":      base64.RawStdEncoding.EncodeToString(value),
		"url base64":          base64.URLEncoding.EncodeToString(value),
		"url base64 raw":      base64.RawURLEncoding.EncodeToString(value),
		"query escape":        url.QueryEscape(v),
		"path escape":         url.PathEscape(v),
		"percent every byte":  percentAll(value, "0123456789ABCDEF"),
		"percent lower":       percentAll(value, "0123456789abcdef"),
		"json":                string(j),
		"json ascii":          `"` + asciiEscaped(v) + `"`,
		"hex":                 hex.EncodeToString(value),
		"HEX":                 strings.ToUpper(hex.EncodeToString(value)),
		"base64 of header":    base64.StdEncoding.EncodeToString([]byte("Authorization: Bearer " + v)),
		"base64 after 1 byte": base64.StdEncoding.EncodeToString([]byte("x" + v + "y")),
		"base64 after 2":      base64.RawURLEncoding.EncodeToString([]byte("xy" + v)),
		"json of path escape": jsonEscaped(url.PathEscape(v), true),
		"json of query, html": jsonEscaped(url.QueryEscape(v), true),
	}
	return out
}

// survives reports a rendering of value that is still in b.
func survives(value []byte, basic string, b []byte) string {
	for name, r := range renderings(value, basic) {
		core := r
		switch name {
		case "base64 of header", "base64 after 1 byte", "base64 after 2":
			continue // checked through the aligned cores below
		}
		if bytes.Contains(b, []byte(core)) {
			return name
		}
	}
	for k := range 3 {
		for _, enc := range []*base64.Encoding{base64.RawStdEncoding, base64.RawURLEncoding} {
			if c := alignedCore(enc, value, k); c != "" && bytes.Contains(b, []byte(c)) {
				return "aligned base64"
			}
		}
	}
	return ""
}

func TestRedactEveryRendering(t *testing.T) {
	value := []byte("sk-live-7Hq+/=Zx\"<&>é\\ü 0123456789")
	basic := base64.StdEncoding.EncodeToString([]byte("user:" + string(value)))
	r := NewRedactor(value, "Bearer "+string(value), "Basic "+basic, basic)
	for name, form := range renderings(value, basic) {
		body := []byte("before " + form + " after")
		got, n := r.Redact(body)
		if n < 1 {
			t.Errorf("%s: no redaction in %q", name, body)
		}
		if s := survives(value, basic, got); s != "" {
			t.Errorf("%s: %s survives in %q", name, s, got)
		}
		if !bytes.HasPrefix(got, []byte("before ")) || !bytes.HasSuffix(got, []byte(" after")) {
			t.Errorf("%s: surrounding text changed: %q", name, got)
		}
	}
	if got, n := r.Redact([]byte("nothing to see")); n != 0 || string(got) != "nothing to see" {
		t.Errorf("clean text: got %q, %d redactions", got, n)
	}
	twice := []byte(string(value) + "," + hex.EncodeToString(value))
	if _, n := r.Redact(twice); n != 2 {
		t.Errorf("two occurrences: %d redactions, want 2", n)
	}
}

// FuzzRedact checks the redactor's claim: whatever text surrounds them, no form of the value that
// it claims (use.md §4) survives, and text without the value is left alone.
func FuzzRedact(f *testing.F) {
	f.Add([]byte("sk-0123456789abcdef"), []byte("prefix"), []byte("suffix"), uint8(0))
	f.Add([]byte("[REDACTED][REDACTED]x"), []byte("[REDACTE"), []byte("D]"), uint8(3))
	f.Add([]byte("\x00\xff\xfe binary value \n"), []byte{}, []byte{0}, uint8(7))
	f.Fuzz(func(t *testing.T, value, before, after []byte, form uint8) {
		if len(value) < MinValueBytes || len(value) > 256 {
			return
		}
		basic := base64.StdEncoding.EncodeToString(append([]byte("u:"), value...))
		r := NewRedactor(value, "Bearer "+string(value), basic)
		forms := renderings(value, basic)
		names := make([]string, 0, len(forms))
		for n := range forms {
			names = append(names, n)
		}
		// map order is random: pick by sorted name so that a failure reproduces
		slices.Sort(names)
		body := append(append(append([]byte{}, before...), forms[names[int(form)%len(names)]]...), after...)
		got, n := r.Redact(body)
		if n < 1 {
			t.Fatalf("form %s not found in %q", names[int(form)%len(names)], body)
		}
		if s := survives(value, basic, got); s != "" {
			t.Fatalf("%s survives: %q", s, got)
		}
	})
}
