package clavistest_test

import (
	"bytes"
	"compress/gzip"
	"compress/zlib"
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"clavis.dev/clavis"
	"clavis.dev/clavis/internal/clavistest"
	"clavis.dev/clavis/internal/egress"
	"clavis.dev/clavis/internal/netguard"
)

// The tests of spec use.md §6, against a loopback upstream.

// useValue is the secret every test injects: long, and with characters every encoding changes.
const useValue = "sk-live-UseCanary+/=\"<&>é 0123456789" // #nosec G101 -- a test canary, not a credential

// renderedForms are the forms of useValue the echo upstream sends back and that must never reach a
// caller.
func renderedForms(v string) map[string]string {
	j, _ := json.Marshal(v)
	return map[string]string{
		"raw":            v,
		"std base64":     base64.StdEncoding.EncodeToString([]byte(v)),
		"std base64 raw": base64.RawStdEncoding.EncodeToString([]byte(v)),
		"url base64":     base64.URLEncoding.EncodeToString([]byte(v)),
		"url base64 raw": base64.RawURLEncoding.EncodeToString([]byte(v)),
		"query escape":   url.QueryEscape(v),
		"path escape":    url.PathEscape(v),
		"json":           strings.Trim(string(j), `"`),
		"hex":            hex.EncodeToString([]byte(v)),
		"HEX":            strings.ToUpper(hex.EncodeToString([]byte(v))),
	}
}

// leaks returns the names of the forms of v found in b.
func leaks(v string, b []byte) []string {
	var out []string
	for name, f := range renderedForms(v) {
		if bytes.Contains(b, []byte(f)) {
			out = append(out, name)
		}
	}
	return out
}

// seen is what the upstream received.
type seen struct {
	Method, Host, Path, RawQuery string
	Header                       http.Header
	Body                         []byte
}

// echo is a loopback upstream that echoes what it got: the credential it was sent in every rendered
// form, in headers and body, compressed when asked (?enc=gzip|deflate|br). It records every request.
type echo struct {
	*httptest.Server
	mu   sync.Mutex
	reqs []seen
}

func newEcho(t *testing.T) *echo {
	e := &echo{}
	e.Server = httptest.NewServer(http.HandlerFunc(e.serve))
	t.Cleanup(e.Close)
	return e
}

func (e *echo) requests() []seen {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]seen(nil), e.reqs...)
}

// credential extracts what the client authenticated with, whatever the slot.
func credential(r *http.Request) string {
	if k := r.URL.Query().Get("key"); k != "" {
		return k
	}
	if k := r.Header.Get("X-Api-Key"); k != "" {
		return k
	}
	auth := r.Header.Get("Authorization")
	if v, ok := strings.CutPrefix(auth, "Bearer "); ok {
		return v
	}
	if u, p, ok := r.BasicAuth(); ok {
		if p == "pw" { // the config's fixed password: the value is the username
			return u
		}
		return p
	}
	return auth
}

func (e *echo) serve(w http.ResponseWriter, r *http.Request) {
	body := new(bytes.Buffer)
	_, _ = body.ReadFrom(r.Body)
	e.mu.Lock()
	e.reqs = append(e.reqs, seen{Method: r.Method, Host: r.Host, Path: r.URL.Path, RawQuery: r.URL.RawQuery, Header: r.Header.Clone(), Body: body.Bytes()})
	e.mu.Unlock()
	switch r.URL.Path {
	case "/v1/redirect":
		http.Redirect(w, r, r.URL.Query().Get("to"), http.StatusFound) // #nosec G710 -- the test's redirect, which use must not follow
		return
	case "/v1/slow":
		time.Sleep(2 * time.Second)
	case "/v1/big":
		w.Header().Set("Content-Type", "application/octet-stream")
		_, _ = w.Write(bytes.Repeat([]byte("a"), 2<<20))
		return
	case "/v1/fail":
		w.WriteHeader(http.StatusInternalServerError)
	case "/v1/binary":
		_, _ = w.Write(append([]byte{0xff, 0xfe, 0x00}, credential(r)...)) // #nosec G705 -- a test upstream echoing to the server under test, not a browser
		return
	}
	cred := credential(r)
	forms := renderedForms(cred)
	for name, f := range forms {
		w.Header().Add("X-Echo-"+strings.ReplaceAll(strings.ReplaceAll(name, " ", "-"), "HEX", "Upper-Hex"), f)
	}
	w.Header().Add("Set-Cookie", "session="+url.QueryEscape(cred))
	out, _ := json.Marshal(map[string]any{"forms": forms, "headers": r.Header, "query": r.URL.RawQuery, "body": body.String()})
	switch enc := r.URL.Query().Get("enc"); enc {
	case "gzip":
		var b bytes.Buffer
		zw := gzip.NewWriter(&b)
		_, _ = zw.Write(out)
		_ = zw.Close()
		out = b.Bytes()
		w.Header().Set("Content-Encoding", "gzip")
	case "deflate":
		var b bytes.Buffer
		zw := zlib.NewWriter(&b)
		_, _ = zw.Write(out)
		_ = zw.Close()
		out = b.Bytes()
		w.Header().Set("Content-Encoding", "deflate")
	case "br":
		w.Header().Set("Content-Encoding", "br")
	}
	_, _ = w.Write(out)
}

// useSetup is a server whose guard opens 127.0.0.0/8, an owner with a vault holding useValue at
// api/key, and a destination config for the echo upstream.
type useSetup struct {
	env   *clavistest.Env
	owner *clavistest.User
	vault string
	up    *echo
	host  string // the upstream's host:port
}

func newUseSetup(t *testing.T, opts ...clavistest.Options) *useSetup {
	t.Helper()
	o := clavistest.Options{Egress: clavistest.UseLoopback()}
	if len(opts) > 0 {
		o = opts[0]
	}
	env := clavistest.New(t, o)
	s := &useSetup{env: env, owner: env.Signup(t), up: newEcho(t)}
	s.host = strings.TrimPrefix(s.up.URL, "http://")
	v, err := s.owner.C.CreateVault(context.Background(), clavis.VaultInput{Name: "use"})
	if err != nil {
		t.Fatal(err)
	}
	s.vault = v.ID
	if _, err := s.owner.C.PutSecret(context.Background(), s.vault, "api/key", clavis.SecretInput{Value: useValue}); err != nil {
		t.Fatal(err)
	}
	return s
}

// config sets the destination config of api/key.
func (s *useSetup) config(t *testing.T, inj clavis.UseInject, mutate ...func(*clavis.UseConfigInput)) {
	t.Helper()
	in := clavis.UseConfigInput{AllowedHosts: []string{s.host}, AllowedPathPrefixes: []string{"/v1"}, Inject: inj, AllowHTTP: true}
	for _, m := range mutate {
		m(&in)
	}
	if _, err := s.owner.C.PutUseConfig(context.Background(), s.vault, "api/key", in); err != nil {
		t.Fatalf("PutUseConfig: %v", err)
	}
}

// useOnlyAgent registers an agent with only the use permission on api/**.
func (s *useSetup) useOnlyAgent(t *testing.T) *clavistest.Agent {
	t.Helper()
	a := s.env.NewAgent(t, s.owner, clavis.AgentInput{})
	_, err := s.owner.C.CreatePolicy(context.Background(), s.vault, clavis.PolicyInput{Pattern: "api/**",
		PrincipalType: clavis.PrincipalAgent, PrincipalID: a.ID, Permissions: []string{"use"}})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// rawUse posts a use request over HTTP and returns the status and body.
func rawUse(t *testing.T, s *useSetup, token, path, body string) (int, []byte) {
	t.Helper()
	r := secDo(t, "POST", s.env.URL+"/v1/vaults/"+s.vault+"/use/"+path, token, body)
	return r.Status, r.Body
}

// TestUseRedactsEveryRenderedForm: whatever slot the value goes into and whatever encoding the upstream
// answers in (gzip and deflate included), no rendered form of the value reaches the caller, and the
// redactions are counted; the UseResult has exactly its keys.
func TestUseRedactsEveryRenderedForm(t *testing.T) {
	s := newUseSetup(t)
	agent := s.useOnlyAgent(t)
	str := func(v string) *string { return &v }
	slots := map[string]clavis.UseInject{
		"bearer":         {As: clavis.InjectBearer},
		"basic username": {As: clavis.InjectBasic, Username: str("user")},
		"basic password": {As: clavis.InjectBasic, Password: str("pw")},
		"header":         {As: clavis.InjectHeader, Name: "X-Api-Key", Prefix: ""},
		"query":          {As: clavis.InjectQuery, Name: "key"},
	}
	for name, inj := range slots {
		s.config(t, inj)
		for _, enc := range []string{"", "gzip", "deflate"} {
			u := s.up.URL + "/v1/echo?enc=" + enc
			status, body := rawUse(t, s, agent.Token, "api/key", `{"method":"POST","url":"`+u+`","body":"hello"}`)
			if status != 200 {
				t.Fatalf("%s %s: %d %s", name, enc, status, body)
			}
			if l := leaks(useValue, body); len(l) > 0 {
				t.Errorf("%s %s: the answer holds %v: %s", name, enc, l, body)
			}
			var res map[string]any
			if err := json.Unmarshal(body, &res); err != nil {
				t.Fatal(err)
			}
			wantKeys(t, name, res, "status", "headers", "body", "body_encoding", "truncated", "redactions")
			if res["status"] != 200.0 || res["body_encoding"] != "utf8" || res["truncated"] != false {
				t.Errorf("%s %s: %v", name, enc, res)
			}
			hs, _ := res["headers"].(map[string]any)
			echoed := 0
			for h, vs := range hs {
				if strings.HasPrefix(h, "x-echo-") {
					echoed++
					if fmt.Sprint(vs) != "[[REDACTED]]" {
						t.Errorf("%s %s: header %s = %v, want [REDACTED]", name, enc, h, vs)
					}
				}
			}
			if n, _ := res["redactions"].(float64); echoed != 10 || n < 2*float64(echoed) { // every form in the headers and the body
				t.Errorf("%s %s: %d echo headers, %v redactions", name, enc, echoed, res["redactions"])
			}
			if _, ok := hs["set-cookie"]; ok {
				t.Errorf("%s: set-cookie returned", name)
			}
			if _, ok := hs["content-encoding"]; ok {
				t.Errorf("%s: content-encoding of a decoded body returned", name)
			}
			if !strings.Contains(res["body"].(string), "[REDACTED]") {
				t.Errorf("%s %s: body not redacted: %v", name, enc, res["body"])
			}
		}
	}
	// The upstream did get the value, in the configured slot only.
	for _, r := range s.up.requests() {
		if credential(&http.Request{Header: r.Header, URL: &url.URL{RawQuery: r.RawQuery}}) == "" {
			t.Errorf("a request reached the upstream without the credential: %+v", r.Header)
		}
	}
	// A binary answer comes back base64, redacted before encoding.
	s.config(t, slots["bearer"])
	status, body := rawUse(t, s, agent.Token, "api/key", `{"url":"`+s.up.URL+`/v1/binary"}`)
	var res struct {
		Body         string `json:"body"`
		BodyEncoding string `json:"body_encoding"`
		Redactions   int    `json:"redactions"`
	}
	_ = json.Unmarshal(body, &res)
	raw, _ := base64.StdEncoding.DecodeString(res.Body)
	if status != 200 || res.BodyEncoding != "base64" || res.Redactions != 1 || !bytes.HasSuffix(raw, []byte("[REDACTED]")) {
		t.Errorf("binary answer: %d %s (decoded %q)", status, body, raw)
	}
}

func wantKeys(t *testing.T, what string, m map[string]any, keys ...string) {
	t.Helper()
	if len(m) != len(keys) {
		t.Errorf("%s: keys %v, want exactly %v", what, mapKeys(m), keys)
	}
	for _, k := range keys {
		if _, ok := m[k]; !ok {
			t.Errorf("%s: key %q missing in %v", what, k, mapKeys(m))
		}
	}
}

func mapKeys(m map[string]any) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// TestUseGuardRefusesPrivateAddresses: without --use-allow-private, a destination that is or resolves
// to a private, loopback or metadata address is refused (403 destination_not_allowed, "private
// address") before any connection, and nothing is counted; an IP literal cannot even be configured.
// With 127.0.0.0/8 opened, the metadata addresses stay refused.
func TestUseGuardRefusesPrivateAddresses(t *testing.T) {
	var dials atomic.Int64
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			dials.Add(1)
			_ = c.Close()
		}
	}()
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	names := map[string]string{
		"loop4": "127.0.0.1", "loop6": "::1", "mapped": "::ffff:127.0.0.1", "ten": "10.0.0.1",
		"alibaba": "100.100.100.200", "meta": "169.254.169.254", "rebind": "93.184.216.34,127.0.0.1",
	}
	g := netguard.New(nil)
	g.LookupNetIP = func(_ context.Context, _, host string) ([]netip.Addr, error) {
		label, _, _ := strings.Cut(host, ".")
		var out []netip.Addr
		for _, a := range strings.Split(names[label], ",") {
			if a != "" {
				out = append(out, netip.MustParseAddr(a))
			}
		}
		if len(out) == 0 {
			return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
		}
		return out, nil
	}
	s := newUseSetup(t, clavistest.Options{Egress: egress.New(g)})
	ctx := context.Background()
	for _, lit := range []string{"127.0.0.1", "[::1]", "10.0.0.1", "169.254.169.254", "100.100.100.200", "[::ffff:127.0.0.1]"} {
		_, err := s.owner.C.PutUseConfig(ctx, s.vault, "api/key", clavis.UseConfigInput{AllowedHosts: []string{lit + ":" + port},
			AllowedPathPrefixes: []string{"/"}, Inject: clavis.UseInject{As: clavis.InjectBearer}, AllowHTTP: true})
		wantKind(t, err, clavis.KindInvalid, "config naming "+lit)
	}
	s.config(t, clavis.UseInject{As: clavis.InjectBearer}, func(c *clavis.UseConfigInput) {
		c.AllowedHosts = []string{"*.internal.example.com:" + port}
	})
	for label := range names {
		res, err := s.owner.C.UseSecret(ctx, s.vault, "api/key", clavis.UseRequest{URL: "http://" + label + ".internal.example.com:" + port + "/v1/x"})
		var ce *clavis.Error
		if !errorsAs(err, &ce) || ce.Kind != clavis.KindDestinationNotAllowed || ce.Message != "private address" {
			t.Errorf("%s (%s): got %+v, %v; want 403 destination_not_allowed private address", label, names[label], res, err)
		}
	}
	if n := dials.Load(); n != 0 {
		t.Errorf("%d connections reached the listener; want none", n)
	}
	evs, _ := s.owner.C.ListAudit(ctx, clavis.AuditQuery{Action: "secret.use"})
	if len(evs) != 0 {
		t.Errorf("refused destinations were counted as uses: %d secret.use events", len(evs))
	}

	// Opening the loopback range does not open the metadata addresses.
	open := netguard.New([]netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("169.254.0.0/16"), netip.MustParsePrefix("100.64.0.0/10")})
	open.LookupNetIP = g.LookupNetIP
	s2 := newUseSetup(t, clavistest.Options{Egress: egress.New(open)})
	for _, lit := range []string{"169.254.169.254", "100.100.100.200"} {
		_, err := s2.owner.C.PutUseConfig(ctx, s2.vault, "api/key", clavis.UseConfigInput{AllowedHosts: []string{lit},
			AllowedPathPrefixes: []string{"/"}, Inject: clavis.UseInject{As: clavis.InjectBearer}})
		wantKind(t, err, clavis.KindInvalid, "config naming "+lit+" with its range opened")
	}
	s2.config(t, clavis.UseInject{As: clavis.InjectBearer}, func(c *clavis.UseConfigInput) {
		c.AllowedHosts = []string{"*.internal.example.com:" + port}
	})
	_, err = s2.owner.C.UseSecret(ctx, s2.vault, "api/key", clavis.UseRequest{URL: "http://meta.internal.example.com:" + port + "/v1/x"})
	wantKind(t, err, clavis.KindDestinationNotAllowed, "a name resolving to 169.254.169.254 with 169.254.0.0/16 opened")
	if n := dials.Load(); n != 0 {
		t.Errorf("%d connections reached the listener; want none", n)
	}
}

func errorsAs(err error, target **clavis.Error) bool {
	if err == nil {
		return false
	}
	e, ok := err.(*clavis.Error)
	if ok {
		*target = e
	}
	return ok
}

// TestUseRequestHygiene: the caller's Host, Authorization, Cookie, X-HTTP-Method-Override, Range,
// Proxy-*, X-Forwarded-* and the slot's header never reach the upstream; Accept-Encoding is identity;
// other headers and the body go as sent; HTTPS_PROXY in the server's environment is ignored; a redirect
// is returned, not followed.
func TestUseRequestHygiene(t *testing.T) {
	var proxied atomic.Int64
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		proxied.Add(1)
		w.WriteHeader(http.StatusBadGateway)
	}))
	t.Cleanup(proxy.Close)
	t.Setenv("HTTPS_PROXY", proxy.URL)
	t.Setenv("HTTP_PROXY", proxy.URL)
	t.Setenv("ALL_PROXY", proxy.URL)
	s := newUseSetup(t)
	s.config(t, clavis.UseInject{As: clavis.InjectHeader, Name: "X-Api-Key"})
	agent := s.useOnlyAgent(t)
	headers := map[string]string{
		"Host": "evil.example", "Authorization": "Bearer mine", "Cookie": "a=b", "X-HTTP-Method-Override": "DELETE",
		"X-Method-Override": "DELETE", "Range": "bytes=0-1", "If-Range": "x", "Proxy-Authorization": "Basic x",
		"X-Forwarded-For": "1.2.3.4", "Forwarded": "for=1.2.3.4", "X-Original-URL": "/admin", "X-Rewrite-URL": "/admin",
		"Expect": "100-continue", "Accept-Encoding": "br", "X-Api-Key": "attacker", "Connection": "close",
		"Content-Type": "text/plain", "X-Custom": "kept",
	}
	res, err := agent.C.UseSecret(context.Background(), s.vault, "api/key", clavis.UseRequest{Method: "POST",
		URL: s.up.URL + "/v1/echo", Headers: headers, Body: []byte("payload")})
	if err != nil || res.Status != 200 {
		t.Fatalf("use: %+v %v", res, err)
	}
	reqs := s.up.requests()
	if len(reqs) != 1 {
		t.Fatalf("upstream got %d requests", len(reqs))
	}
	got := reqs[0]
	if got.Host != s.host || got.Method != "POST" || string(got.Body) != "payload" {
		t.Errorf("upstream got host %q method %q body %q", got.Host, got.Method, got.Body)
	}
	for _, h := range []string{"Authorization", "Cookie", "X-Http-Method-Override", "X-Method-Override", "Range", "If-Range",
		"Proxy-Authorization", "X-Forwarded-For", "Forwarded", "X-Original-Url", "X-Rewrite-Url", "Expect"} {
		if v := got.Header.Get(h); v != "" {
			t.Errorf("%s reached the upstream: %q", h, v)
		}
	}
	if v := got.Header.Values("X-Api-Key"); len(v) != 1 || v[0] != useValue {
		t.Errorf("the slot carries %d values; want exactly the secret", len(v))
	}
	if got.Header.Get("Accept-Encoding") != "identity" || got.Header.Get("X-Custom") != "kept" || got.Header.Get("Content-Type") != "text/plain" {
		t.Errorf("upstream headers: %v", got.Header)
	}
	if proxied.Load() != 0 {
		t.Errorf("the proxy from the environment was used")
	}

	// A redirect to another host is returned, not followed.
	var elsewhere atomic.Int64
	other := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { elsewhere.Add(1) }))
	t.Cleanup(other.Close)
	res, err = agent.C.UseSecret(context.Background(), s.vault, "api/key", clavis.UseRequest{
		URL: s.up.URL + "/v1/redirect?to=" + url.QueryEscape(other.URL+"/steal")})
	if err != nil || res.Status != http.StatusFound || len(res.Headers["location"]) != 1 {
		t.Fatalf("redirect: %+v %v", res, err)
	}
	if elsewhere.Load() != 0 {
		t.Errorf("the redirect was followed")
	}
}

// TestUseDestinationChecks: without a config, and with a method, path, scheme or port outside it,
// the answer is 403 destination_not_allowed naming what failed, and the upstream sees nothing.
func TestUseDestinationChecks(t *testing.T) {
	s := newUseSetup(t)
	agent := s.useOnlyAgent(t)
	ctx := context.Background()
	_, err := agent.C.UseSecret(ctx, s.vault, "api/key", clavis.UseRequest{URL: s.up.URL + "/v1/x"})
	wantDetail(t, err, clavis.KindDestinationNotAllowed, "no destination config")
	s.config(t, clavis.UseInject{As: clavis.InjectBearer}, func(c *clavis.UseConfigInput) { c.AllowHTTP = false })
	_, err = agent.C.UseSecret(ctx, s.vault, "api/key", clavis.UseRequest{URL: s.up.URL + "/v1/x"})
	wantDetail(t, err, clavis.KindDestinationNotAllowed, "scheme not allowed by the destination config")
	s.config(t, clavis.UseInject{As: clavis.InjectBearer})
	_, port, _ := net.SplitHostPort(s.host)
	for _, tt := range []struct {
		req    clavis.UseRequest
		detail string
	}{
		{clavis.UseRequest{Method: "DELETE", URL: s.up.URL + "/v1/x"}, "method"},
		{clavis.UseRequest{URL: s.up.URL + "/v2/x"}, "path"},
		{clavis.UseRequest{URL: s.up.URL + "/v1x"}, "path"},
		{clavis.UseRequest{URL: "http://127.0.0.1:1/v1/x"}, "port"},
		{clavis.UseRequest{URL: "http://127.0.0.2:" + port + "/v1/x"}, "host"},
		{clavis.UseRequest{URL: "http://localhost:" + port + "/v1/x"}, "host"},
	} {
		_, err := agent.C.UseSecret(ctx, s.vault, "api/key", tt.req)
		wantDetail(t, err, clavis.KindDestinationNotAllowed, tt.detail+" not allowed by the destination config")
	}
	for _, u := range []string{s.up.URL + "/v1/../admin", s.up.URL + "/v1/x#f", "http://u:p@" + s.host + "/v1/x", s.up.URL + "/v1%2fx"} {
		_, err := agent.C.UseSecret(ctx, s.vault, "api/key", clavis.UseRequest{URL: u})
		wantKind(t, err, clavis.KindInvalid, u)
	}
	_, err = agent.C.UseSecret(ctx, s.vault, "api/key", clavis.UseRequest{URL: s.up.URL + "/v1/x", Headers: map[string]string{"X-A": "a\r\nb"}})
	wantKind(t, err, clavis.KindInvalid, "a header value with CRLF")
	_, err = agent.C.UseSecret(ctx, s.vault, "api/key", clavis.UseRequest{URL: s.up.URL + "/v1/x", TimeoutMS: 30001})
	wantKind(t, err, clavis.KindInvalid, "timeout_ms 30001")
	if n := len(s.up.requests()); n != 0 {
		t.Errorf("the upstream got %d requests", n)
	}
}

func wantDetail(t *testing.T, err error, kind clavis.Kind, detail string) {
	t.Helper()
	var ce *clavis.Error
	if !errorsAs(err, &ce) || ce.Kind != kind || ce.Message != detail {
		t.Errorf("got %v; want %v %q", err, kind, detail)
	}
}

// TestUseOnlyAgentNeverSeesTheValue: an agent with use but not read gets 403 on every value route,
// sees the path in lists and its config, explains use as allowed and read as not, and can use it; the
// value is nowhere in what it got, in the audit log or in the server's logs.
func TestUseOnlyAgentNeverSeesTheValue(t *testing.T) {
	s := newUseSetup(t)
	s.config(t, clavis.UseInject{As: clavis.InjectBearer})
	agent := s.useOnlyAgent(t)
	ctx := context.Background()
	var transcript bytes.Buffer
	note := func(v any, err error) {
		b, _ := json.Marshal(v)
		transcript.Write(b)
		if err != nil {
			transcript.WriteString(err.Error())
		}
	}
	sv, err := agent.C.GetSecret(ctx, s.vault, "api/key")
	wantKind(t, err, clavis.KindForbidden, "GET by a use-only agent")
	note(sv, err)
	sv, err = agent.C.GetVersion(ctx, s.vault, "api/key", 1)
	wantKind(t, err, clavis.KindForbidden, "GET version by a use-only agent")
	note(sv, err)
	vs, err := agent.C.ListVersions(ctx, s.vault, "api/key")
	wantKind(t, err, clavis.KindForbidden, "versions by a use-only agent")
	note(vs, err)
	ms, err := agent.C.ListSecrets(ctx, s.vault, "")
	if err != nil || len(ms) != 1 || ms[0].Secret.Path != "api/key" {
		t.Errorf("list by a use-only agent: %+v %v", ms, err)
	}
	note(ms, err)
	cfg, err := agent.C.GetUseConfig(ctx, s.vault, "api/key")
	if err != nil || len(cfg.AllowedHosts) != 1 {
		t.Errorf("config by a use-only agent: %+v %v", cfg, err)
	}
	_, err = agent.C.PutUseConfig(ctx, s.vault, "api/key", clavis.UseConfigInput{AllowedHosts: []string{"evil.example.com"},
		AllowedPathPrefixes: []string{"/"}, Inject: clavis.UseInject{As: clavis.InjectBearer}})
	wantKind(t, err, clavis.KindForbidden, "an agent setting a config")
	for perm, want := range map[clavis.Permission]bool{clavis.PermUse: true, clavis.PermRead: false} {
		ex, err := agent.C.Explain(ctx, s.vault, clavis.ExplainQuery{Path: "api/key", Permission: perm})
		if err != nil || ex.Allowed != want {
			t.Errorf("explain %s: %+v %v", perm, ex, err)
		}
	}
	res, err := agent.C.UseSecret(ctx, s.vault, "api/key", clavis.UseRequest{URL: s.up.URL + "/v1/echo"})
	if err != nil || res.Status != 200 {
		t.Fatalf("use: %v", err)
	}
	note(res, err)
	transcript.Write(res.Body)
	if l := leaks(useValue, transcript.Bytes()); len(l) > 0 {
		t.Errorf("the agent saw %v", l)
	}
	// Audit: secret.use with its details before secret.use_result; no value anywhere.
	evs, err := s.owner.C.ListAudit(ctx, clavis.AuditQuery{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	var use, result *clavis.AuditEvent
	for _, e := range evs {
		switch e.Action {
		case "secret.use":
			use = e
		case "secret.use_result":
			result = e
		}
	}
	if use == nil || result == nil {
		t.Fatalf("want secret.use and secret.use_result events")
	}
	if use.Details["method"] != "GET" || use.Details["host"] != s.host || use.Details["url_path"] != "/v1/echo" ||
		use.Details["path"] != "api/key" || use.ActorID != agent.ID {
		t.Errorf("secret.use details: %v", use.Details)
	}
	if result.Details["status"] != 200.0 || result.Details["redactions"] == nil || result.Details["bytes"] == nil || result.Details["duration_ms"] == nil {
		t.Errorf("secret.use_result details: %v", result.Details)
	}
	all, _ := json.Marshal(evs)
	if l := leaks(useValue, all); len(l) > 0 {
		t.Errorf("the audit log holds %v", l)
	}
	if l := leaks(useValue, []byte(s.env.Logs())); len(l) > 0 {
		t.Errorf("the server logs hold %v", l)
	}
}

// TestUseConfigManagement: only a user with read and write (or the owner) sets or deletes a config;
// a user with write but not read cannot; the config is audited with old and new hosts, survives new
// versions and a soft delete, and a value under 16 bytes or not header-safe is refused.
func TestUseConfigManagement(t *testing.T) {
	s := newUseSetup(t)
	ctx := context.Background()
	in := clavis.UseConfigInput{AllowedHosts: []string{s.host}, AllowedPathPrefixes: []string{"/v1"},
		Inject: clavis.UseInject{As: clavis.InjectHeader, Name: "X-Api-Key"}, AllowHTTP: true}
	first, err := s.owner.C.PutUseConfig(ctx, s.vault, "api/key", in)
	if err != nil {
		t.Fatal(err)
	}
	in.AllowedHosts = append(in.AllowedHosts, "api.example.com")
	second, err := s.owner.C.PutUseConfig(ctx, s.vault, "api/key", in)
	if err != nil || !second.CreatedAt.Equal(first.CreatedAt) || len(second.AllowedHosts) != 2 {
		t.Fatalf("second put: %+v %v", second, err)
	}
	evs, _ := s.owner.C.ListAudit(ctx, clavis.AuditQuery{Action: "secret.use_config"})
	if len(evs) != 2 || fmt.Sprint(evs[0].Details["old_allowed_hosts"]) != "["+s.host+"]" ||
		fmt.Sprint(evs[0].Details["new_allowed_hosts"]) != "["+s.host+" api.example.com]" {
		t.Errorf("secret.use_config events: %+v", evs)
	}
	// A new version and a soft delete and revive keep the config.
	if _, err := s.owner.C.PutSecret(ctx, s.vault, "api/key", clavis.SecretInput{Value: useValue + "-v2"}); err != nil {
		t.Fatal(err)
	}
	if err := s.owner.C.DeleteSecret(ctx, s.vault, "api/key"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.owner.C.GetUseConfig(ctx, s.vault, "api/key"); err != nil {
		t.Errorf("config after soft delete: %v", err)
	}
	_, err = s.owner.C.UseSecret(ctx, s.vault, "api/key", clavis.UseRequest{URL: s.up.URL + "/v1/x"})
	wantKind(t, err, clavis.KindGone, "use of a soft-deleted secret")
	if _, err := s.owner.C.PutSecret(ctx, s.vault, "api/key", clavis.SecretInput{Value: useValue + "-v3"}); err != nil {
		t.Fatal(err)
	}
	if res, err := s.owner.C.UseSecret(ctx, s.vault, "api/key", clavis.UseRequest{URL: s.up.URL + "/v1/x"}); err != nil || res.Status != 200 {
		t.Errorf("use after revive: %v", err)
	}
	// Short and header-unsafe values.
	if _, err := s.owner.C.PutSecret(ctx, s.vault, "api/short", clavis.SecretInput{Value: "0123456789abcde"}); err != nil {
		t.Fatal(err)
	}
	_, err = s.owner.C.PutUseConfig(ctx, s.vault, "api/short", in)
	wantKind(t, err, clavis.KindConflict, "config of a 15-byte value")
	if _, err := s.owner.C.PutSecret(ctx, s.vault, "api/multi", clavis.SecretInput{Value: "line one is long\nline two"}); err != nil {
		t.Fatal(err)
	}
	_, err = s.owner.C.PutUseConfig(ctx, s.vault, "api/multi", in)
	wantKind(t, err, clavis.KindInvalid, "header slot for a value with a line break")
	query := in
	query.Inject = clavis.UseInject{As: clavis.InjectQuery, Name: "key"}
	if _, err := s.owner.C.PutUseConfig(ctx, s.vault, "api/multi", query); err != nil {
		t.Errorf("query slot for a value with a line break: %v", err)
	}
	// Checked at call time too: a new short version of a configured path.
	if _, err := s.owner.C.PutSecret(ctx, s.vault, "api/key", clavis.SecretInput{Value: "short"}); err != nil {
		t.Fatal(err)
	}
	_, err = s.owner.C.UseSecret(ctx, s.vault, "api/key", clavis.UseRequest{URL: s.up.URL + "/v1/x"})
	wantKind(t, err, clavis.KindConflict, "use of a 5-byte value")
	if err := s.owner.C.DeleteUseConfig(ctx, s.vault, "api/key"); err != nil {
		t.Fatal(err)
	}
	_, err = s.owner.C.GetUseConfig(ctx, s.vault, "api/key")
	wantKind(t, err, clavis.KindNotFound, "config after delete")
}

// TestUseConfigNeedsReadAndWrite: a user of the owner's org with write but not read (and one with read
// but not write) cannot set a config; with both it can.
func TestUseConfigNeedsReadAndWrite(t *testing.T) {
	s := newUseSetup(t)
	ctx := context.Background()
	// Members are not invited over the API yet (org feature): each is inserted into the owner's org in
	// the database and calls the engine in-process.
	in := clavis.UseConfigInput{AllowedHosts: []string{s.host}, AllowedPathPrefixes: []string{"/v1"},
		Inject: clavis.UseInject{As: clavis.InjectBearer}, AllowHTTP: true}
	for _, perms := range [][]string{{"write"}, {"read"}, {"use", "write"}, {"read", "write"}} {
		member := &clavis.Caller{Principal: clavis.Principal{Type: clavis.PrincipalUser, ID: orgMember(t, s.env, s.owner.OrgID), OrgID: s.owner.OrgID},
			Role: clavis.RoleMember, IP: netip.MustParseAddr("127.0.0.1")}
		_, err := s.owner.C.CreatePolicy(ctx, s.vault, clavis.PolicyInput{Pattern: "api/**", PrincipalType: clavis.PrincipalUser,
			PrincipalID: member.ID, Permissions: perms})
		if err != nil {
			t.Fatal(err)
		}
		_, err = s.env.Engine.PutUseConfig(ctx, member, s.vault, "api/key", in)
		allowed := strings.Join(perms, ",") == "read,write"
		if allowed != (err == nil) {
			t.Errorf("a user with %v: %v", perms, err)
		}
		if !allowed {
			wantKind(t, err, clavis.KindForbidden, fmt.Sprint("a user with ", perms))
		}
	}
}

// TestUseCountsAndLimits: a use counts toward max_access_count like a read; the per-(principal, secret)
// rate limit answers 429; upstream failures are 502 and 504 and still counted; an upstream 500 is a
// result; answers over 1 MiB are truncated; an unsupported encoding is 502.
func TestUseCountsAndLimits(t *testing.T) {
	s := newUseSetup(t, clavistest.Options{Egress: clavistest.UseLoopback(), UseRateLimit: 30})
	s.config(t, clavis.UseInject{As: clavis.InjectBearer})
	ctx := context.Background()
	use := func(u string, timeout int) (*clavis.UseResult, error) {
		return s.owner.C.UseSecret(ctx, s.vault, "api/key", clavis.UseRequest{URL: s.up.URL + u, TimeoutMS: timeout})
	}
	res, err := use("/v1/fail", 0)
	if err != nil || res.Status != 500 {
		t.Errorf("upstream 500: %+v %v", res, err)
	}
	res, err = use("/v1/big", 0)
	if err != nil || !res.Truncated || len(res.Body) != egress.MaxBody {
		t.Errorf("2 MiB answer: truncated %v, %d bytes, %v", res != nil && res.Truncated, len(res.Body), err)
	}
	_, err = use("/v1/echo?enc=br", 0)
	wantKind(t, err, clavis.KindBadGateway, "unsupported encoding")
	_, err = use("/v1/slow", 200)
	wantKind(t, err, clavis.KindGatewayTimeout, "slow upstream")
	closed := httptest.NewServer(http.NotFoundHandler())
	closedURL := closed.URL
	closed.Close()
	s.config(t, clavis.UseInject{As: clavis.InjectBearer}, func(c *clavis.UseConfigInput) {
		c.AllowedHosts = append(c.AllowedHosts, strings.TrimPrefix(closedURL, "http://"))
	})
	_, err = s.owner.C.UseSecret(ctx, s.vault, "api/key", clavis.UseRequest{URL: closedURL + "/v1/x"})
	wantKind(t, err, clavis.KindBadGateway, "closed port")
	evs, _ := s.owner.C.ListAudit(ctx, clavis.AuditQuery{Action: "secret.use_result"})
	cats := map[string]bool{}
	for _, e := range evs {
		if c, ok := e.Details["error"].(string); ok {
			cats[c] = true
		}
	}
	for _, c := range []string{"timeout", "encoding", "connect"} {
		if !cats[c] {
			t.Errorf("no secret.use_result with error %q in %v", c, cats)
		}
	}
	// max_access_count: the second use of a read-once version is 410.
	if _, err := s.owner.C.PutSecret(ctx, s.vault, "api/key", clavis.SecretInput{Value: useValue, MaxAccessCount: new(1)}); err != nil {
		t.Fatal(err)
	}
	if _, err := use("/v1/x", 0); err != nil {
		t.Errorf("first use of a read-once version: %v", err)
	}
	_, err = use("/v1/x", 0)
	wantKind(t, err, clavis.KindGone, "second use of a read-once version")
	// Rate limit: 30 a minute per principal and secret.
	if _, err := s.owner.C.PutSecret(ctx, s.vault, "api/key", clavis.SecretInput{Value: useValue}); err != nil {
		t.Fatal(err)
	}
	limited := false
	for range 40 {
		if _, err := use("/v1/x", 0); clavis.IsKind(err, clavis.KindRateLimited) {
			limited = true
			break
		}
	}
	if !limited {
		t.Errorf("40 uses in a row were never rate limited")
	}
}

// orgMember inserts a member user into org directly in the database and returns its id.
func orgMember(t *testing.T, env *clavistest.Env, orgID string) string {
	t.Helper()
	db, err := sql.Open("sqlite", env.DBPath)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	id := uuid.NewString()
	_, err = db.Exec(`INSERT INTO users (id, org_id, email, display_name, password_hash, role, marketing_emails,
		totp_enabled, disabled, token_gen, failed_logins, created_at) VALUES (?, ?, ?, '', 'x', 'member', 0, 0, 0, 0, 0, ?)`,
		id, orgID, "m-"+id+"@example.com", clavis.FormatTime(time.Now()))
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// TestUseDialsTheValidatedAddress: the name is resolved once, before the use is audited, and the
// connection goes to the address validated then. A DNS server that answers a public address first and
// a loopback address afterwards (DNS rebinding) never gets the request to loopback.
func TestUseDialsTheValidatedAddress(t *testing.T) {
	var dials, lookups atomic.Int64
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			dials.Add(1)
			_ = c.Close()
		}
	}()
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	g := netguard.New(nil)
	g.LookupNetIP = func(context.Context, string, string) ([]netip.Addr, error) {
		if lookups.Add(1) == 1 {
			return []netip.Addr{netip.MustParseAddr("192.0.2.1")}, nil // TEST-NET-1: public, unrouted
		}
		return []netip.Addr{netip.MustParseAddr("127.0.0.1")}, nil
	}
	s := newUseSetup(t, clavistest.Options{Egress: egress.New(g)})
	s.config(t, clavis.UseInject{As: clavis.InjectBearer}, func(c *clavis.UseConfigInput) {
		c.AllowedHosts = []string{"rebind.example.com:" + port}
	})
	_, err = s.owner.C.UseSecret(context.Background(), s.vault, "api/key",
		clavis.UseRequest{URL: "http://rebind.example.com:" + port + "/v1/x", TimeoutMS: 300})
	if !clavis.IsKind(err, clavis.KindGatewayTimeout) && !clavis.IsKind(err, clavis.KindBadGateway) {
		t.Errorf("use: %v; want 502 or 504 from the unrouted validated address", err)
	}
	if n := lookups.Load(); n != 1 {
		t.Errorf("the name was resolved %d times; want once", n)
	}
	if n := dials.Load(); n != 0 {
		t.Errorf("%d connections reached loopback", n)
	}
}

// TestUseTLSFailureIs502: an https upstream whose certificate the server does not trust answers 502,
// and the use is counted with error "tls" (no Go error string in the audit log).
func TestUseTLSFailureIs502(t *testing.T) {
	up := httptest.NewTLSServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	t.Cleanup(up.Close)
	s := newUseSetup(t)
	s.config(t, clavis.UseInject{As: clavis.InjectBearer}, func(c *clavis.UseConfigInput) {
		c.AllowedHosts, c.AllowHTTP = []string{strings.TrimPrefix(up.URL, "https://")}, false
	})
	ctx := context.Background()
	_, err := s.owner.C.UseSecret(ctx, s.vault, "api/key", clavis.UseRequest{URL: up.URL + "/v1/x"})
	wantDetail(t, err, clavis.KindBadGateway, "Upstream unreachable")
	evs, _ := s.owner.C.ListAudit(ctx, clavis.AuditQuery{Action: "secret.use_result"})
	if len(evs) != 1 || evs[0].Details["error"] != "tls" || len(evs[0].Details) != 5 {
		t.Errorf("secret.use_result: %+v", evs)
	}
}

// TestUseIsGatedByApprovals: a require_approval policy gates use exactly as read (use.md §1): without a
// grant the use is refused approval_required and nothing reaches the upstream; one approved grant lets
// exactly one use through (the secret.use event names it), and the next use needs a new approval.
func TestUseIsGatedByApprovals(t *testing.T) {
	s := newUseSetup(t)
	s.config(t, clavis.UseInject{As: clavis.InjectBearer})
	ctx := context.Background()
	a := s.env.NewAgent(t, s.owner, clavis.AgentInput{})
	if _, err := s.owner.C.CreatePolicy(ctx, s.vault, clavis.PolicyInput{Pattern: "api/**", PrincipalType: clavis.PrincipalAgent,
		PrincipalID: a.ID, Permissions: []string{"use"}, RequireApproval: true}); err != nil {
		t.Fatal(err)
	}
	req := clavis.UseRequest{URL: s.up.URL + "/v1/x"}
	approval := func(err error) string {
		var ce *clavis.Error
		if !errors.As(err, &ce) || ce.Kind != clavis.KindApprovalRequired || ce.ApprovalID == "" {
			t.Fatalf("use: %v, want approval_required naming an approval", err)
		}
		return ce.ApprovalID
	}
	_, err := a.C.UseSecret(ctx, s.vault, "api/key", req)
	first := approval(err)
	if n := len(s.up.requests()); n != 0 {
		t.Fatalf("a gated use reached the upstream %d times", n)
	}
	// A gated path with no secret is approval_required too (existence is not revealed).
	approval(func() error { _, err := a.C.UseSecret(ctx, s.vault, "api/none", req); return err }())
	if _, err := s.owner.C.DecideApproval(ctx, first, true, "one call"); err != nil {
		t.Fatal(err)
	}
	res, err := a.C.UseSecret(ctx, s.vault, "api/key", req)
	if err != nil || res.Status != 200 {
		t.Fatalf("use with the grant: %+v, %v", res, err)
	}
	if n := len(s.up.requests()); n != 1 {
		t.Fatalf("upstream got %d requests, want 1", n)
	}
	_, err = a.C.UseSecret(ctx, s.vault, "api/key", req)
	if second := approval(err); second == first {
		t.Fatal("the used grant's approval was offered again")
	}
	evs, err := s.owner.C.ListAudit(ctx, clavis.AuditQuery{Action: "secret.use"})
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 1 || evs[0].Details["approval_id"] != first {
		t.Fatalf("secret.use events: %d, want 1 naming approval %s", len(evs), first)
	}
}
