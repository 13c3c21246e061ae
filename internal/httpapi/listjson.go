package httpapi

import (
	"encoding/json"
	"net/http"
	"strconv"

	"clavis.dev/clavis"
)

// writeSecretList answers 200 {"secrets":[SecretMetadata…]} with exactly the bytes
// writeJSON(w, 200, secretList{mapList(items, secretMetaOf)}) writes, but appends them directly, without
// reflection or per-item allocations. An item with anything the direct path does not handle (a string
// needing escapes, metadata not plain compact ASCII JSON) sends the whole list through writeJSON.
func writeSecretList(w http.ResponseWriter, items []clavis.SecretMeta) {
	b := make([]byte, 0, 16+len(items)*256)
	b = append(b, `{"secrets":[`...)
	for i, m := range items {
		if i > 0 {
			b = append(b, ',')
		}
		var ok bool
		if b, ok = appendSecretMeta(b, m); !ok {
			writeJSON(w, 200, secretList{mapList(items, secretMetaOf)})
			return
		}
	}
	b = append(b, "]}\n"...) // json.Encoder ends every value with a newline
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(200)
	_, _ = w.Write(b) // #nosec G705 -- a JSON body (application/json), strings escaped as encoding/json does
}

// appendSecretMeta appends the JSON of secretMetaOf(m) as encoding/json writes it (keys in field order,
// expires_at omitted when nil). It reports false, with b in an unspecified state, when a value needs
// more than the plain path.
func appendSecretMeta(b []byte, m clavis.SecretMeta) ([]byte, bool) {
	v := m.Version
	raw := rawOrEmpty(v.Metadata)
	if !plainString(m.Secret.ID) || !plainString(m.Secret.Path) || !plainString(v.Type) || !plainJSON(raw) {
		return b, false
	}
	b = append(b, `{"id":"`...)
	b = append(b, m.Secret.ID...)
	b = append(b, `","path":"`...)
	b = append(b, m.Secret.Path...)
	b = append(b, `","type":"`...)
	b = append(b, v.Type...)
	b = append(b, `","version":`...)
	b = strconv.AppendInt(b, int64(v.Version), 10)
	b = append(b, `,"metadata":`...)
	b = append(b, raw...)
	b = append(b, `,"created_at":"`...)
	b = v.CreatedAt.UTC().AppendFormat(b, clavis.TimeFormat)
	b = append(b, '"')
	if v.ExpiresAt != nil {
		b = append(b, `,"expires_at":"`...)
		b = v.ExpiresAt.UTC().AppendFormat(b, clavis.TimeFormat)
		b = append(b, '"')
	}
	return append(b, '}'), true
}

// plainString reports whether encoding/json writes s as itself between quotes: printable ASCII without
// '"', '\\' and the HTML characters it escapes ('<', '>', '&').
func plainString(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c > 0x7e || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			return false
		}
	}
	return true
}

// plainJSON reports whether encoding/json writes the json.RawMessage raw unchanged: valid JSON with no
// whitespace (so compacting changes nothing; whitespace inside strings counts too) and nothing it escapes
// (HTML characters; bytes outside ASCII, which cover U+2028 and U+2029).
func plainJSON(raw []byte) bool {
	for _, c := range raw {
		if c <= ' ' || c > 0x7e || c == '<' || c == '>' || c == '&' {
			return false
		}
	}
	return json.Valid(raw)
}
