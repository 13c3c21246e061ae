package httpapi

import (
	"encoding/base64"
	"encoding/json"
)

func b64std(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

// mustMarshal re-encodes a decoded JSON value; it cannot fail for values produced by encoding/json.
func mustMarshal(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic("re-encoding decoded JSON: " + err.Error())
	}
	return b
}
