package httpapi

import (
	"encoding/json"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// TestSchemaOf pins the JSON Schema of each kind of Go field the wire types use.
func TestSchemaOf(t *testing.T) {
	type inner struct {
		A string `json:"a"`
	}
	type respModel struct {
		S       string          `json:"s"`
		Opt     string          `json:"opt,omitempty"`
		Ptr     *string         `json:"ptr"`
		N       int             `json:"n"`
		B       bool            `json:"b"`
		L       []string        `json:"l"`
		M       map[string]any  `json:"m"`
		MS      map[string]bool `json:"ms"`
		Raw     json.RawMessage `json:"raw"`
		In      inner           `json:"in"`
		Skipped string          `json:"-"`
	}
	type withEmbedModel struct {
		inner
		B bool `json:"b"`
	}
	type reqBody struct {
		T  *reqTime           `json:"t"`
		NI nullable[int64]    `json:"ni"`
		NA nullable[any]      `json:"na"`
		NL nullable[[]string] `json:"nl"`
	}
	for _, c := range []struct {
		name     string
		v        any
		response bool
		want     string
	}{
		{"response object", respModel{}, true, `{"$ref":"#/components/schemas/Resp"}`},
		{"request object", reqBody{}, false, `{"$ref":"#/components/schemas/ReqRequest"}`},
		{"list", []inner{}, true, `{"items":{"$ref":"#/components/schemas/Inner"},"type":"array"}`},
	} {
		t.Run(c.name, func(t *testing.T) {
			g := schemas{}
			got, _ := json.Marshal(g.of(reflect.TypeOf(c.v), c.response))
			if string(got) != c.want {
				t.Errorf("schema = %s, want %s", got, c.want)
			}
		})
	}

	g := schemas{}
	g.of(reflect.TypeFor[respModel](), true)
	g.of(reflect.TypeFor[reqBody](), false)
	g.of(reflect.TypeFor[withEmbedModel](), true)
	for name, want := range map[string]string{
		"Resp": `{"additionalProperties":false,"properties":{"b":{"type":"boolean"},"in":{"$ref":"#/components/schemas/Inner"},` +
			`"l":{"items":{"type":"string"},"type":"array"},"m":{"type":"object"},` +
			`"ms":{"additionalProperties":{"type":"boolean"},"type":"object"},"n":{"type":"integer"},"opt":{"type":"string"},` +
			`"ptr":{"type":["string","null"]},"raw":{},"s":{"type":"string"}},` +
			`"required":["s","ptr","n","b","l","m","ms","raw","in"],"type":"object"}`,
		"WithEmbed": `{"additionalProperties":false,"properties":{"a":{"type":"string"},"b":{"type":"boolean"}},` +
			`"required":["a","b"],"type":"object"}`,
		"Inner": `{"additionalProperties":false,"properties":{"a":{"type":"string"}},"required":["a"],"type":"object"}`,
		"ReqRequest": `{"properties":{"na":{},"ni":{"type":["integer","null"]},` +
			`"nl":{"items":{"type":"string"},"type":["array","null"]},"t":{"format":"date-time","type":["string","null"]}},"type":"object"}`,
	} {
		if got, _ := json.Marshal(g[name]); string(got) != want {
			t.Errorf("components/schemas/%s =\n%s\nwant\n%s", name, got, want)
		}
	}
}

var refs = regexp.MustCompile(`"#/components/schemas/([A-Za-z]+)"`)

// TestOpenAPIDeclaresRouteBodies checks /openapi.json against the routes table: every route has its
// operation, with a request body exactly when the route decodes one, its success status with content
// exactly when the route sends a body, a Problem default response, and only $refs that resolve.
func TestOpenAPIDeclaresRouteBodies(t *testing.T) {
	raw := openAPI(routes(), "test", "http://clavis.test")
	var doc struct {
		Paths      map[string]map[string]map[string]any `json:"paths"`
		Components struct {
			Schemas map[string]any `json:"schemas"`
		} `json:"components"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	for _, rt := range routes() {
		key := rt.method + " " + specPath(rt.pattern)
		op, ok := doc.Paths[specPath(rt.pattern)][strings.ToLower(rt.method)]
		if !ok {
			t.Errorf("%s is missing from /openapi.json", key)
			continue
		}
		if _, has := op["requestBody"]; has != (rt.in != nil) {
			t.Errorf("%s: requestBody present = %v, want %v", key, has, rt.in != nil)
		}
		responses, _ := op["responses"].(map[string]any)
		def, _ := json.Marshal(responses["default"])
		if !strings.Contains(string(def), `"application/problem+json":{"schema":{"$ref":"#/components/schemas/Problem"}}`) {
			t.Errorf("%s: default response = %s, want the Problem schema", key, def)
		}
		if rt.status == 0 {
			if len(responses) != 1 {
				t.Errorf("%s never succeeds, but /openapi.json declares %v", key, responses)
			}
			continue
		}
		ok200, _ := responses[strconv.Itoa(rt.status)].(map[string]any)
		if ok200 == nil {
			t.Errorf("%s: no %d response", key, rt.status)
			continue
		}
		if _, has := ok200["content"]; has != (rt.out != nil) {
			t.Errorf("%s: %d content present = %v, want %v", key, rt.status, has, rt.out != nil)
		}
	}
	for _, ref := range refs.FindAllStringSubmatch(string(raw), -1) {
		if _, ok := doc.Components.Schemas[ref[1]]; !ok {
			t.Errorf("$ref %s does not resolve", ref[0])
		}
	}
}
