package httpapi

import (
	"encoding/json"
	"reflect"
	"strings"
)

// schemas builds the JSON Schemas (draft 2020-12, the dialect of OpenAPI 3.1) of the Go types that
// requests are decoded into and responses encoded from, by reflection over their json tags. Named
// structs become components/schemas entries, referenced by "$ref"; the map holds them by name.
//
// A response schema is exact: its objects list every key (additionalProperties false, as the wire key
// sets are exact, spec §1.4) and require each field that is not omitempty. A request schema requires
// nothing and allows other keys: unknown fields are ignored, and presence and values are the engine's
// to judge, answered with a 400 that names the field.
type schemas map[string]any

var (
	rawMessageType = reflect.TypeFor[json.RawMessage]()
	reqTimeType    = reflect.TypeFor[reqTime]()
	nullableType   = reflect.TypeFor[interface{ elem() reflect.Type }]()
	// schemaNames gives the spec's model names (spec §1.4) where the Go names differ.
	schemaNames = map[reflect.Type]string{
		reflect.TypeFor[auditModel]():      "AuditEvent",
		reflect.TypeFor[tokenModel]():      "TokenResponse",
		reflect.TypeFor[loginModel]():      "LoginResponse",
		reflect.TypeFor[signupModel]():     "SignupResponse",
		reflect.TypeFor[userModel]():       "UserProfile",
		reflect.TypeFor[secretMetaModel](): "SecretMetadata",
		reflect.TypeFor[publicKeyModel]():  "JwtPublicKey",
		reflect.TypeFor[verifyModel]():     "AuditVerify",
		reflect.TypeFor[agentKeyModel]():   "AgentCreated",
	}
)

// elem returns T: nullable[T] is a request field that may be absent, null or a T.
func (nullable[T]) elem() reflect.Type { return reflect.TypeFor[T]() }

// of returns the schema of t, or a reference to it.
func (g schemas) of(t reflect.Type, response bool) map[string]any {
	switch {
	case t == rawMessageType || t.Kind() == reflect.Interface:
		return map[string]any{} // any JSON value
	case t == reqTimeType:
		return map[string]any{"type": "string", "format": "date-time"}
	case t.Implements(nullableType):
		return orNull(g.of(reflect.Zero(t).Interface().(interface{ elem() reflect.Type }).elem(), response))
	}
	switch t.Kind() {
	case reflect.Pointer:
		return orNull(g.of(t.Elem(), response))
	case reflect.String:
		return map[string]any{"type": "string"}
	case reflect.Bool:
		return map[string]any{"type": "boolean"}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return map[string]any{"type": "integer"}
	case reflect.Float32, reflect.Float64:
		return map[string]any{"type": "number"}
	case reflect.Slice, reflect.Array:
		return map[string]any{"type": "array", "items": g.of(t.Elem(), response)}
	case reflect.Map:
		s := map[string]any{"type": "object"}
		if v := g.of(t.Elem(), response); len(v) > 0 {
			s["additionalProperties"] = v
		}
		return s
	case reflect.Struct:
		name := schemaName(t)
		if name == "" {
			return g.object(t, response)
		}
		if _, ok := g[name]; !ok {
			g[name] = nil // placeholder: a type that contains itself refers to its name
			g[name] = g.object(t, response)
		}
		return map[string]any{"$ref": "#/components/schemas/" + name}
	}
	panic("openapi: no JSON Schema for " + t.String())
}

// object returns the inline schema of struct type t.
func (g schemas) object(t reflect.Type, response bool) map[string]any {
	props := map[string]any{}
	required := []string{}
	for f := range t.Fields() {
		name, opts, _ := strings.Cut(f.Tag.Get("json"), ",")
		if f.Anonymous && name == "" && f.Type.Kind() == reflect.Struct {
			// encoding/json promotes an embedded struct's fields (a field of t takes precedence)
			embedded := g.object(f.Type, response)
			for k, v := range embedded["properties"].(map[string]any) {
				if _, ok := props[k]; !ok {
					props[k] = v
				}
			}
			if r, ok := embedded["required"].([]string); ok {
				required = append(required, r...)
			}
			continue
		}
		if !f.IsExported() || name == "-" {
			continue
		}
		if name == "" {
			name = f.Name
		}
		props[name] = g.of(f.Type, response)
		if !strings.Contains(opts, "omitempty") {
			required = append(required, name)
		}
	}
	s := map[string]any{"type": "object", "properties": props}
	if response {
		s["additionalProperties"] = false
		if len(required) > 0 {
			s["required"] = required
		}
	}
	return s
}

// orNull widens s to admit null: {"type":"string"} becomes {"type":["string","null"]}.
func orNull(s map[string]any) map[string]any {
	switch typ := s["type"].(type) {
	case string:
		c := map[string]any{}
		for k, v := range s {
			c[k] = v
		}
		c["type"] = []string{typ, "null"}
		return c
	case nil:
		if len(s) == 0 {
			return s // any value, null included
		}
	}
	return map[string]any{"anyOf": []any{s, map[string]any{"type": "null"}}}
}

// schemaName names a named struct type for components/schemas: vaultModel is "Vault", vaultBody is
// "VaultRequest", vaultList is "VaultList". Anonymous structs have no name and are inlined.
func schemaName(t reflect.Type) string {
	if n, ok := schemaNames[t]; ok {
		return n
	}
	n := t.Name()
	if n == "" {
		return ""
	}
	if base, ok := strings.CutSuffix(n, "Model"); ok {
		n = base
	} else if base, ok := strings.CutSuffix(n, "Body"); ok {
		n = base + "Request"
	}
	return strings.ToUpper(n[:1]) + n[1:]
}
