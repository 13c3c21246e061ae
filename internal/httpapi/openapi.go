package httpapi

import (
	"encoding/json"
	"regexp"
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

// openAPI renders an OpenAPI 3.1 document listing every route of the table.
func openAPI(rs []route, version, publicURL string) []byte {
	paths := map[string]map[string]any{}
	for _, rt := range rs {
		p := specPath(rt.pattern)
		item := paths[p]
		if item == nil {
			item = map[string]any{}
			paths[p] = item
		}
		op := map[string]any{"summary": rt.summary, "responses": map[string]any{
			"default": map[string]any{"description": "Success, or an application/problem+json document"}}}
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
		"components": map[string]any{"securitySchemes": map[string]any{
			"bearer": map[string]string{"type": "http", "scheme": "bearer",
				"description": "An access JWT, a personal API key (1ck_) or an agent key (ocv_)"}}},
	}
	b, err := json.Marshal(doc)
	if err != nil {
		panic("openapi: " + err.Error())
	}
	return b
}
