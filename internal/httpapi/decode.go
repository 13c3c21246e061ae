package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"clavis.dev/clavis"
)

const (
	maxBodyBytes = 1 << 20 // spec §6.1
	maxJSONDepth = 32
)

var (
	errBodyTooLarge = clavis.E(clavis.KindTooLarge, "Request body exceeds 1 MiB")
	errBadQuery     = clavis.Invalid("", "Malformed query string")
)

// decode parses the request body as a JSON object into dst whatever the Content-Type says (spec §1.2).
// An empty body decodes as {}. Unknown fields are ignored; wrong types, non-objects, nesting deeper than
// 32 levels and oversized bodies are precise 4xx errors. A body that is not UTF-8, or that escapes a lone
// surrogate, is malformed: encoding/json would silently turn either into U+FFFD, so that different inputs
// would be stored as one value.
func decode(r *http.Request, dst any) error {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBodyBytes+1))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return errBodyTooLarge
		}
		return clavis.Invalid("", "Could not read request body")
	}
	if len(body) > maxBodyBytes {
		return errBodyTooLarge
	}
	body = bytes.Trim(body, " \t\r\n") // JSON's whitespace only (RFC 8259 §2), not Unicode's
	if len(body) == 0 {
		body = []byte("{}")
	}
	if body[0] != '{' {
		return clavis.Invalid("", "Request body must be a JSON object")
	}
	d, loneSurrogate := scan(body)
	if !utf8.Valid(body) || loneSurrogate {
		return clavis.Invalid("", "Malformed JSON body: not valid UTF-8")
	}
	if d > maxJSONDepth {
		return clavis.Invalid("", "JSON nesting exceeds 32 levels")
	}
	if err := json.Unmarshal(body, dst); err != nil {
		var ce *clavis.Error
		var te *json.UnmarshalTypeError
		switch {
		case errors.As(err, &ce):
			return ce
		case errors.As(err, &te):
			field := te.Field
			if field == "" {
				field = "body"
			}
			return clavis.Invalid(field, "wrong JSON type for "+field)
		default:
			return clavis.Invalid("", "Malformed JSON body")
		}
	}
	return nil
}

// scan returns the maximum nesting of objects and arrays in a JSON text, and whether a string in it
// escapes a surrogate that is not part of a \uD8xx\uDCxx pair.
func scan(b []byte) (maxDepth int, loneSurrogate bool) {
	d, inStr := 0, false
	for i := 0; i < len(b); i++ {
		c := b[i]
		switch {
		case inStr && c == '\\':
			i++
			if i < len(b) && b[i] == 'u' {
				switch r := hex4(b, i+1); {
				case r >= 0xD800 && r < 0xDC00:
					if i+6 < len(b) && b[i+5] == '\\' && b[i+6] == 'u' {
						if lo := hex4(b, i+7); lo >= 0xDC00 && lo < 0xE000 {
							i += 10 // the pair's last hex digit
							continue
						}
					}
					loneSurrogate = true
				case r >= 0xDC00 && r < 0xE000:
					loneSurrogate = true
				}
			}
		case inStr:
			inStr = c != '"'
		case c == '"':
			inStr = true
		case c == '{' || c == '[':
			if d++; d > maxDepth {
				maxDepth = d
			}
		case c == '}' || c == ']':
			d--
		}
	}
	return maxDepth, loneSurrogate
}

// hex4 returns the value of the four hex digits at b[i:], or -1.
func hex4(b []byte, i int) int {
	if i+4 > len(b) {
		return -1
	}
	n, err := strconv.ParseUint(string(b[i:i+4]), 16, 16)
	if err != nil {
		return -1
	}
	return int(n)
}

// reqTime is a request time: RFC 3339 with any offset, kept in UTC.
type reqTime struct{ time.Time }

func (t *reqTime) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return clavis.Invalid("", "times must be RFC 3339 strings")
	}
	p, err := parseTime(s)
	if err != nil {
		return err
	}
	t.Time = p
	return nil
}

func parseTime(s string) (time.Time, error) {
	p, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, clavis.Invalid("", "invalid time "+quoteShort(s)+": want RFC 3339")
	}
	return clavis.Truncate(p), nil
}

func quoteShort(s string) string {
	if len(s) > 40 {
		s = s[:40] + "…"
	}
	return `"` + strings.ToValidUTF8(s, "?") + `"`
}

// ptr returns the time behind t, or nil.
func (t *reqTime) ptr() *time.Time {
	if t == nil {
		return nil
	}
	v := t.Time
	return &v
}

// nullable records whether a field was absent, null or set (for "null clears" semantics).
type nullable[T any] struct {
	Set, Null bool
	V         T
}

func (n *nullable[T]) UnmarshalJSON(b []byte) error {
	n.Set = true
	if string(b) == "null" {
		n.Null = true
		return nil
	}
	return json.Unmarshal(b, &n.V)
}

// value returns a pointer to the value when set and not null.
func (n nullable[T]) value() *T {
	if !n.Set || n.Null {
		return nil
	}
	return &n.V
}
