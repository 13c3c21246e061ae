package httpapi

import (
	"encoding/json"
	"net/http"
	"reflect"
	"regexp"
	"strconv"
	"strings"
)

var wildcard = regexp.MustCompile(`\{([a-z_]+)(\.\.\.)?\}`)

// versionRoutes end in "{path...}" on the mux but in "{path}/{version}" in the spec: the handler splits
// the last segment off (spec §4.5.1).
var versionRoutes = map[string]bool{
	"/v1/vaults/{vault_id}/secret-version/{path...}":         true,
	"/v1/vaults/{vault_id}/secret-version-disable/{path...}": true,
	"/v1/vaults/{vault_id}/secret-restore/{path...}":         true,
}

// specPath turns a mux pattern into the spec's path template ("{path...}" → "{path}").
func specPath(pattern string) string {
	p := wildcard.ReplaceAllString(pattern, "{$1}")
	if versionRoutes[pattern] {
		p += "/{version}"
	}
	return p
}

// openAPI renders an OpenAPI 3.1 document of every route of the table: its parameters, security,
// request body schema, success response schema, and the Problem schema of its errors.
func openAPI(rs []route, version, publicURL string) []byte {
	g := schemas{}
	problemRef := g.of(reflect.TypeFor[problem](), true)
	paths := map[string]map[string]any{}
	for _, rt := range rs {
		p := specPath(rt.pattern)
		item := paths[p]
		if item == nil {
			item = map[string]any{}
			paths[p] = item
		}
		responses := map[string]any{"default": map[string]any{"description": "An error",
			"content": map[string]any{"application/problem+json": map[string]any{"schema": problemRef}}}}
		if rt.status != 0 {
			responses[strconv.Itoa(rt.status)] = g.response(rt.status, rt.out)
		}
		op := map[string]any{"summary": rt.summary, "responses": responses}
		if rt.in != nil {
			op["requestBody"] = map[string]any{"content": map[string]any{
				"application/json": map[string]any{"schema": g.of(reflect.TypeOf(rt.in), false)}}}
		}
		var params []map[string]any
		for _, m := range wildcard.FindAllStringSubmatch(p, -1) {
			params = append(params, map[string]any{"name": m[1], "in": "path", "required": true,
				"schema": map[string]string{"type": "string"}})
		}
		if params != nil {
			op["parameters"] = params
		}
		if !rt.public {
			op["security"] = []map[string][]string{{"bearer": {}}}
		}
		item[strings.ToLower(rt.method)] = op
	}
	doc := map[string]any{
		"openapi": "3.1.0",
		"info":    map[string]string{"title": "Clavis Vault API", "version": version},
		"servers": []map[string]string{{"url": publicURL}},
		"paths":   paths,
		"components": map[string]any{
			"schemas": g,
			"securitySchemes": map[string]any{"bearer": map[string]string{"type": "http", "scheme": "bearer",
				"description": "An access JWT, a personal API key (1ck_) or an agent key (ocv_)"}}},
	}
	b, err := json.Marshal(doc)
	if err != nil {
		panic("openapi: " + err.Error())
	}
	return b
}

// mediaTyper is a response body type sent as something other than application/json.
type mediaTyper interface{ mediaType() string }

// response describes a success response whose body is encoded from out's type (see route).
func (g schemas) response(status int, out any) map[string]any {
	r := map[string]any{"description": http.StatusText(status)}
	media, schema := "application/json", map[string]any(nil)
	switch o := out.(type) {
	case nil:
		return r
	case string:
		media, schema = "text/plain", map[string]any{"type": "string"}
	case mediaTyper:
		media = o.mediaType()
	}
	if schema == nil {
		schema = g.of(reflect.TypeOf(out), true)
	}
	r["content"] = map[string]any{media: map[string]any{"schema": schema}}
	return r
}
