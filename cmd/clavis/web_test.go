package main

import (
	"net/http"
	"strings"
	"testing"
)

// TestServerServesDashboard checks the wiring of the dashboard in `clavis server` (a child process):
// / redirects to /ui/, /ui/login is a page with the strict headers, and the API still answers beside it.
func TestServerServesDashboard(t *testing.T) {
	url, _ := startChild(t, t.TempDir())
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	get := func(path string) *http.Response {
		t.Helper()
		res, err := c.Get(url + path)
		if err != nil {
			t.Fatal(err)
		}
		_ = res.Body.Close()
		return res
	}
	if res := get("/"); res.StatusCode != http.StatusFound || res.Header.Get("Location") != "/ui/" {
		t.Errorf("/: %d %q, want a redirect to /ui/", res.StatusCode, res.Header.Get("Location"))
	}
	res := get("/ui/login")
	if res.StatusCode != http.StatusOK || !strings.Contains(res.Header.Get("Content-Security-Policy"), "script-src 'self'") {
		t.Errorf("/ui/login: %d, CSP %q", res.StatusCode, res.Header.Get("Content-Security-Policy"))
	}
	if res := get("/ui/static/app.css"); res.StatusCode != http.StatusOK {
		t.Errorf("/ui/static/app.css: %d", res.StatusCode)
	}
	if res := get("/v1/health"); res.StatusCode != http.StatusOK {
		t.Errorf("/v1/health beside the dashboard: %d", res.StatusCode)
	}
	if res := get("/ui"); res.StatusCode/100 != 3 || !strings.HasPrefix(res.Header.Get("Location"), "/ui/") {
		t.Errorf("/ui: %d %q, want a redirect to /ui/", res.StatusCode, res.Header.Get("Location"))
	}
	// the API answers unclean paths itself (a 400 for a secret path with ".."), not a redirect
	if res := get("/v1/vaults/00000000-0000-4000-8000-000000000000/secrets/a/../b"); res.StatusCode/100 == 3 {
		t.Errorf("unclean API path redirected: %d %q", res.StatusCode, res.Header.Get("Location"))
	}
	if res := get("/nope"); res.StatusCode != http.StatusNotFound || res.Header.Get("Content-Type") != "application/problem+json" {
		t.Errorf("/nope: %d %q, want the API's 404 problem", res.StatusCode, res.Header.Get("Content-Type"))
	}
}
