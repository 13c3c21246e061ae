package web_test

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"clavis.dev/clavis"
	"clavis.dev/clavis/internal/clavistest"
	"clavis.dev/clavis/internal/web"
)

// dash is the full stack (real engine on SQLite) with the dashboard on its own httptest server.
type dash struct {
	env *clavistest.Env
	url string
}

func newDash(t *testing.T, opts ...clavistest.Options) *dash {
	t.Helper()
	return newDashWith(t, web.Options{}, opts...)
}

// newDashWith is newDash with dashboard options (PublicURL, SignupOpen and Bind are filled in).
func newDashWith(t *testing.T, wo web.Options, opts ...clavistest.Options) *dash {
	t.Helper()
	env := clavistest.New(t, opts...)
	srv := httptest.NewUnstartedServer(nil)
	d := &dash{env: env, url: "http://" + srv.Listener.Addr().String()}
	wo.PublicURL, wo.SignupOpen = d.url, true
	wo.Bind = func(c *clavis.Caller) web.Bound { return env.Engine.As(c) }
	h, err := web.New(env.Engine, wo)
	if err != nil {
		t.Fatal(err)
	}
	srv.Config.Handler = h
	srv.Start()
	t.Cleanup(srv.Close)
	return d
}

// browser is a cookie-keeping client that does not follow redirects and remembers the last page's
// CSRF token, as a browser's forms would send it.
type browser struct {
	t    *testing.T
	d    *dash
	c    *http.Client
	csrf string
}

func (d *dash) browser(t *testing.T) *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: t, d: d, c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}}
}

var csrfRE = regexp.MustCompile(`name="csrf" value="([0-9a-f]+)"`)

type resp struct {
	status int
	body   string
	header http.Header
}

func (r resp) location() string { return r.header.Get("Location") }

func (b *browser) do(req *http.Request) resp {
	b.t.Helper()
	res, err := b.c.Do(req)
	if err != nil {
		b.t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	if m := csrfRE.FindStringSubmatch(string(body)); m != nil {
		b.csrf = m[1]
	}
	return resp{status: res.StatusCode, body: string(body), header: res.Header}
}

func (b *browser) get(path string) resp {
	b.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, b.d.url+path, nil)
	return b.do(req)
}

// post submits a form with the current CSRF token (unless form sets "csrf" itself).
func (b *browser) post(path string, form url.Values) resp {
	b.t.Helper()
	if form == nil {
		form = url.Values{}
	}
	if _, ok := form["csrf"]; !ok {
		form.Set("csrf", b.csrf)
	}
	req, _ := http.NewRequest(http.MethodPost, b.d.url+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return b.do(req)
}

// follow GETs the Location of a redirect.
func (b *browser) follow(r resp) resp {
	b.t.Helper()
	if r.status != http.StatusSeeOther && r.status != http.StatusFound {
		b.t.Fatalf("want a redirect, got %d: %s", r.status, snippet(r.body))
	}
	loc := r.location()
	if u, err := url.Parse(loc); err == nil && u.IsAbs() {
		loc = u.RequestURI()
	}
	return b.get(loc)
}

func snippet(s string) string {
	if i := strings.Index(s, `<main id="main">`); i >= 0 {
		s = s[i:]
	}
	if len(s) > 600 {
		s = s[:600]
	}
	return s
}

// signup makes an account through the signup form and returns its email and password.
func (b *browser) signup() (email, password string) {
	b.t.Helper()
	b.get("/ui/signup")
	email, password = "u-"+clavistest.RandHex(6)+"@example.com", "Pw-"+clavistest.RandHex(10)
	r := b.post("/ui/signup", url.Values{"email": {email}, "password": {password}})
	if r.status != http.StatusSeeOther || r.location() != "/ui/vaults" {
		b.t.Fatalf("signup: %d %q %s", r.status, r.location(), snippet(r.body))
	}
	b.get("/ui/vaults")
	return email, password
}

// must checks the status of r.
func must(t *testing.T, what string, r resp, status int) resp {
	t.Helper()
	if r.status != status {
		t.Fatalf("%s: status %d, want %d: %s", what, r.status, status, snippet(r.body))
	}
	return r
}
