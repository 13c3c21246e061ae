package policy

import (
	"bytes"
	"encoding/json"
	"io"
	"strconv"
	"strings"
)

// member is one key and its raw value in a JSON object.
type member struct {
	key   string
	value json.RawMessage
}

// objectMembers decodes raw as one JSON object and returns its members in order. unknown returns a problem
// for a key that is not allowed ("" if it is), checked as each key is read so that a hostile object fails
// at its first bad key. Duplicate keys are refused: stored conditions are returned as sent, and a duplicate
// would mean different things to different readers.
func objectMembers(raw json.RawMessage, where string, unknown func(key string) string) ([]member, string) {
	if jsonKind(raw) != '{' {
		return nil, where + " must be a JSON object"
	}
	notJSON := where + " is not valid JSON"
	dec := json.NewDecoder(bytes.NewReader(raw))
	if _, err := dec.Token(); err != nil {
		return nil, notJSON
	}
	var out []member
	for dec.More() {
		tok, err := dec.Token()
		key, ok := tok.(string)
		if err != nil || !ok {
			return nil, notJSON
		}
		if problem := unknown(key); problem != "" {
			return nil, problem
		}
		for _, m := range out {
			if m.key == key {
				return nil, "duplicate key " + quote(key) + " in " + where
			}
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, notJSON
		}
		out = append(out, member{key: key, value: v})
	}
	if _, err := dec.Token(); err != nil { // the closing brace
		return nil, notJSON
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, notJSON
	}
	return out, ""
}

// parseInt parses a JSON number written as an integer (no fraction, no exponent).
func parseInt(v json.RawMessage) (int, bool) {
	s := string(bytes.TrimSpace(v))
	digits := strings.TrimPrefix(s, "-")
	if digits == "" || strings.Trim(digits, "0123456789") != "" {
		return 0, false
	}
	n, err := strconv.Atoi(s)
	return n, err == nil
}

// jsonKind returns the first byte of a JSON value ('{', '[', '"', 'n', 't', 'f', or a number's first
// character), or 0 for blank input.
func jsonKind(v []byte) byte {
	v = bytes.TrimSpace(v)
	if len(v) == 0 {
		return 0
	}
	return v[0]
}
