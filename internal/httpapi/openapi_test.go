package httpapi

import (
	"encoding/json"
	"os"
	"regexp"
	"strings"
	"testing"
)

// TestOpenAPICoversRoutes keeps /openapi.json in step with the routes table: every route appears with
// its method, and nothing else does.
func TestOpenAPICoversRoutes(t *testing.T) {
	var doc struct {
		OpenAPI string                               `json:"openapi"`
		Paths   map[string]map[string]map[string]any `json:"paths"`
	}
	if err := json.Unmarshal(openAPI(routes(), "test", "http://x"), &doc); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.1") {
		t.Fatalf("openapi = %q, want 3.1.x", doc.OpenAPI)
	}
	want := map[string]bool{}
	for _, rt := range routes() {
		key := strings.ToLower(rt.method) + " " + specPath(rt.pattern)
		want[key] = true
		if _, ok := doc.Paths[specPath(rt.pattern)][strings.ToLower(rt.method)]; !ok {
			t.Errorf("openapi lacks %s", key)
		}
	}
	for p, ops := range doc.Paths {
		for m := range ops {
			if !want[m+" "+p] {
				t.Errorf("openapi lists %s %s which is not served", m, p)
			}
		}
	}
}

// specRoute matches an endpoint heading of docs/api.md: **`METHOD /path`** [label].
var specRoute = regexp.MustCompile("\\*\\*`(GET|POST|PUT|PATCH|DELETE) ([^`]+)`\\*\\* \\[([a-z]+)\\]")

// TestServesSpecRoutes checks that every route of the capability groups Clavis has landed is served.
func TestServesSpecRoutes(t *testing.T) {
	spec, err := os.ReadFile("../../docs/api.md")
	if err != nil {
		t.Fatal(err)
	}
	landed := map[string]bool{"core": true, "lifecycle": true, "policy": true, "audit": true, "mfa": true}
	served := map[string]bool{}
	for _, rt := range routes() {
		served[rt.method+" "+specPath(rt.pattern)] = true
	}
	n := 0
	for _, m := range specRoute.FindAllStringSubmatch(string(spec), -1) {
		if !landed[m[3]] {
			continue
		}
		n++
		if key := m[1] + " " + m[2]; !served[key] {
			t.Errorf("spec route %s [%s] is not served", key, m[3])
		}
	}
	if n < 40 {
		t.Fatalf("found only %d spec routes of the landed groups; is the pattern out of date?", n)
	}
}
