package egress

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"net/url"
	"slices"
	"strings"
)

// Redacted replaces every rendered form of the value in an answer.
const Redacted = "[REDACTED]"

// Redactor finds a value in the forms an upstream may echo it in (use.md §4): as is, the injected header
// value, the Basic credential, standard and URL-safe base64 (padded and not, and at every alignment inside
// longer base64 text), percent-encoding (upper and lower hex, query and path escaping), lower and upper
// hex, and each of these JSON-escaped (with and without HTML escaping, and \u00XX for everything but
// letters and digits). It is safe for concurrent use.
type Redactor struct {
	needles [][]byte // longest first, deduplicated, never empty
}

// NewRedactor returns a redactor for value (at least MinValueBytes long) and the extra rendered forms (the injected header value, the
// Basic credential) that the request carried.
func NewRedactor(value []byte, extra ...string) *Redactor {
	var forms []string
	add := func(s string) {
		if s != "" && !slices.Contains(forms, s) {
			forms = append(forms, s)
		}
	}
	v := string(value)
	add(v)
	for _, e := range extra {
		add(e)
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding} {
		add(enc.EncodeToString(value))
		raw := enc.WithPadding(base64.NoPadding)
		add(raw.EncodeToString(value))
		for _, e := range extra {
			add(enc.EncodeToString([]byte(e)))
			add(raw.EncodeToString([]byte(e)))
		}
		// the value inside longer base64 text: at each of the three byte alignments, the characters that
		// depend on the value's bytes only
		for k := range 3 {
			add(alignedCore(raw, value, k))
		}
	}
	add(hex.EncodeToString(value))
	add(strings.ToUpper(hex.EncodeToString(value)))
	add(url.QueryEscape(v))
	add(url.PathEscape(v))
	add(percentAll(value, "0123456789ABCDEF"))
	add(percentAll(value, "0123456789abcdef"))
	add(strings.ToLower(url.QueryEscape(v)))
	add(strings.ToLower(url.PathEscape(v)))
	add(asciiEscaped(v))
	// every form inside a JSON string too (an upstream that answers JSON escapes what it echoes), the
	// value itself included: its JSON-escaped form
	for _, f := range slices.Clone(forms) {
		for _, html := range []bool{true, false} {
			add(jsonEscaped(f, html))
		}
	}
	slices.SortStableFunc(forms, func(a, b string) int { return len(b) - len(a) })
	r := &Redactor{}
	for _, f := range forms {
		if len(f) > len(Redacted) { // values are at least MinValueBytes long, so only stray cores drop out
			r.needles = append(r.needles, []byte(f))
		}
	}
	return r
}

// jsonEscaped is s as encoding/json writes it inside a string, without the quotes.
func jsonEscaped(s string, html bool) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(html)
	_ = enc.Encode(s) // a string always encodes
	return strings.TrimSuffix(strings.TrimSuffix(strings.TrimPrefix(b.String(), `"`), "\n"), `"`)
}

// alignedCore is the part of enc(k zero bytes + value) that only the value's bytes determine: the
// characters after the first ceil(8k/6) and before the first one that also holds bits past the value.
func alignedCore(enc *base64.Encoding, value []byte, k int) string {
	s := enc.EncodeToString(append(make([]byte, k), value...))
	from := (8*k + 5) / 6
	to := 8 * (k + len(value)) / 6
	if to <= from || to > len(s) {
		return ""
	}
	return s[from:to]
}

// percentAll percent-encodes every byte.
func percentAll(value []byte, digits string) string {
	var b strings.Builder
	for _, c := range value {
		b.WriteByte('%')
		b.WriteByte(digits[c>>4])
		b.WriteByte(digits[c&15])
	}
	return b.String()
}

// asciiEscaped is the JSON form with every non-ASCII rune and every character outside [A-Za-z0-9] that
// JSON may escape written as \u00XX (what ASCII-only JSON encoders emit).
func asciiEscaped(v string) string {
	var b strings.Builder
	for _, r := range v {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
			b.WriteRune(r)
		case r < 0x10000:
			b.WriteString(`\u`)
			b.WriteString(hex4(r))
		default:
			r -= 0x10000
			b.WriteString(`\u` + hex4(0xd800+(r>>10)) + `\u` + hex4(0xdc00+(r&0x3ff)))
		}
	}
	return b.String()
}

func hex4(r rune) string {
	const digits = "0123456789abcdef"
	return string([]byte{digits[r>>12&15], digits[r>>8&15], digits[r>>4&15], digits[r&15]})
}

// Redact returns b with every occurrence of every form replaced by Redacted, and how many were replaced.
// Longer forms go first, so a form that contains another is replaced whole; passes repeat until none is
// found (a replacement could join text into a new occurrence). Every form is longer than Redacted, so
// each replacement shrinks b and the loop ends.
func (r *Redactor) Redact(b []byte) ([]byte, int) {
	n := 0
	for {
		found := 0
		for _, needle := range r.needles {
			if c := bytes.Count(b, needle); c > 0 {
				found += c
				b = bytes.ReplaceAll(b, needle, []byte(Redacted))
			}
		}
		if found == 0 {
			return b, n
		}
		n += found
	}
}

// RedactString is Redact for a string.
func (r *Redactor) RedactString(s string) (string, int) {
	out, n := r.Redact([]byte(s))
	return string(out), n
}

// Longest is the length of the longest form: an answer cut at some length must be read at least this
// much further for an occurrence that straddles the cut to be found.
func (r *Redactor) Longest() int { return len(r.needles[0]) }
