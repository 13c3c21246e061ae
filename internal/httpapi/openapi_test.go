package httpapi

import (
	"encoding/json"
	"net/http/httptest"
	"os"
	"regexp"
	"sort"
	"strings"
	"testing"
)

var (
	// specRoute matches an endpoint heading of docs/api.md: **`METHOD /path`** [label].
	specRoute = regexp.MustCompile("\\*\\*`(GET|POST|PUT|PATCH|DELETE) ([^`]+)`\\*\\* \\[([a-z]+)\\]")
	// pairRoute matches a heading naming two routes: **`METHOD /a`** / **`METHOD /b`** [label].
	pairRoute = regexp.MustCompile("\\*\\*`(GET|POST|PUT|PATCH|DELETE) ([^`]+)`\\*\\* / \\*\\*`[^`]+`\\*\\* \\[([a-z]+)\\]")
	// opsRoute matches a row of a route table: | `GET /path` |. Those of spec §6.4 are all [core].
	opsRoute = regexp.MustCompile("(?m)^\\| `(GET|POST|PUT|PATCH|DELETE) (/[^`]*)` \\|")
	// useRoute matches a route of docs/use.md, **`METHOD /path`**, and bareMethod a **`METHOD`** that
	// names another method of the route before it in the same paragraph.
	useRoute   = regexp.MustCompile("\\*\\*`(GET|POST|PUT|PATCH|DELETE) (/[^`]+)`\\*\\*")
	bareMethod = regexp.MustCompile("\\*\\*`(GET|POST|PUT|PATCH|DELETE)`\\*\\*")
	// aliasRoute matches the alias routes of §4.14, written with {id} for {approval_id}:
	// Aliases: `POST /v1/approvals/{id}/approve` and … .
	aliasRoute = regexp.MustCompile("Aliases: `(POST) (/v1/approvals/[^`]+)` and `(POST) (/v1/approvals/[^`]+)`")
	// param matches a path parameter of the spec's templates.
	param = regexp.MustCompile(`\{([a-z_]+)\}`)
)

// specRoutes returns every route of docs/api.md as "METHOD /path" with its capability label.
func specRoutes(t *testing.T) map[string]string {
	t.Helper()
	spec, err := os.ReadFile("../../docs/api.md")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, re := range []*regexp.Regexp{specRoute, pairRoute} {
		for _, m := range re.FindAllStringSubmatch(string(spec), -1) {
			out[m[1]+" "+m[2]] = m[3]
		}
	}
	// docs/use.md names its routes without a label, the GET and DELETE of a config after its PUT in one
	// paragraph
	use, err := os.ReadFile("../../docs/use.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(use), "\n\n") {
		m := useRoute.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		out[m[1]+" "+m[2]] = "use"
		for _, b := range bareMethod.FindAllStringSubmatch(line, -1) {
			out[b[1]+" "+m[2]] = "use"
		}
	}
	if m := aliasRoute.FindStringSubmatch(string(spec)); m != nil {
		for _, r := range [][2]string{{m[1], m[2]}, {m[3], m[4]}} {
			out[r[0]+" "+strings.ReplaceAll(r[1], "{id}", "{approval_id}")] = "approvals"
		}
	}
	_, ops, _ := strings.Cut(string(spec), "### 6.4 Operational endpoints")
	ops, _, _ = strings.Cut(ops, "\n---")
	for _, m := range opsRoute.FindAllStringSubmatch(ops, -1) {
		out[m[1]+" "+m[2]] = "core"
	}
	return out
}

// concrete fills a spec path template with sample values, as a client would send it.
func concrete(tmpl string) string {
	return param.ReplaceAllStringFunc(tmpl, func(p string) string {
		switch p {
		case "{path}":
			return "app/db-password"
		case "{version}":
			return "3"
		}
		return "3f2504e0-4f89-41d3-9a0c-0305e82c3301"
	})
}

// TestServesSpecRoutes checks the server against docs/api.md: the mux routes every route of the
// capability groups Clavis has landed, and the /openapi.json it serves lists exactly those routes with
// the spec's path templates and parameter names (spec §6.4), and no route the spec does not have.
func TestServesSpecRoutes(t *testing.T) {
	landed := map[string]bool{"core": true, "lifecycle": true, "policy": true, "audit": true, "mfa": true, "sharing": true, "org": true,
		"use": true, "approvals": true, "enroll": true}
	spec := specRoutes(t)
	s := New(nil, Options{Version: "test", PublicURL: "http://clavis.test"}).(*server)

	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, httptest.NewRequest("GET", "/openapi.json", nil))
	if rec.Code != 200 || rec.Header().Get("Content-Type") != "application/json" {
		t.Fatalf("GET /openapi.json = %d %q, want 200 application/json", rec.Code, rec.Header().Get("Content-Type"))
	}
	var doc struct {
		OpenAPI string                               `json:"openapi"`
		Paths   map[string]map[string]map[string]any `json:"paths"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.1.") {
		t.Errorf("openapi = %q, want 3.1.x", doc.OpenAPI)
	}
	documented := map[string]bool{}
	for p, ops := range doc.Paths {
		for m := range ops {
			documented[strings.ToUpper(m)+" "+p] = true
		}
	}

	n := 0
	for key, label := range spec {
		if !landed[label] {
			continue
		}
		n++
		method, tmpl, _ := strings.Cut(key, " ")
		req := httptest.NewRequest(method, concrete(tmpl), nil)
		_, pattern := s.mux.Handler(req)
		if m, route, _ := strings.Cut(pattern, " "); m != method || specPath(route) != tmpl {
			t.Errorf("spec route %s [%s] is not served: %s %s goes to %q", key, label, method, req.URL.Path, pattern)
		}
		if !documented[key] {
			t.Errorf("spec route %s [%s] is missing from /openapi.json", key, label)
		}
	}
	if n < 45 {
		t.Fatalf("found only %d spec routes of the landed groups; is the pattern out of date?", n)
	}
	var extra []string
	for key := range documented {
		if _, ok := spec[key]; !ok {
			extra = append(extra, key)
		}
	}
	sort.Strings(extra)
	for _, key := range extra {
		t.Errorf("/openapi.json lists %s, which docs/api.md does not have", key)
	}
}
