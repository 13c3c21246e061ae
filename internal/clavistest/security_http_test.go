package clavistest_test

import (
	"bufio"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"clavis.dev/clavis"
	"clavis.dev/clavis/internal/clavistest"
	"clavis.dev/clavis/internal/store"
)

// Hardening of the HTTP layer: request framing, methods, bodies, queries and credentials that must not be
// accepted in more than one form.

// hardDo sends one request with the given headers and body and reads the whole answer.
func hardDo(t testing.TB, method, url string, hdr map[string]string, body string) secAnswer {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	res, err := secHTTP.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("%s %s: reading body: %v", method, url, err)
	}
	return secAnswer{Status: res.StatusCode, Header: res.Header, Body: b}
}

func authz(tok string) map[string]string { return map[string]string{"Authorization": "Bearer " + tok} }

// TestInternalErrorLogCarriesRequestID: a request that fails inside the engine is logged with the request
// id its caller was given (X-Request-Id and the problem's instance), so the two can be correlated.
func TestInternalErrorLogCarriesRequestID(t *testing.T) {
	var faulty *clavistest.FaultyStore
	env := clavistest.New(t, clavistest.Options{WrapStore: func(s store.Store) store.Store {
		faulty = &clavistest.FaultyStore{Store: s}
		return faulty
	}})
	u := env.Signup(t)
	tok := bearer(t, env, u)
	v, err := u.C.CreateVault(ctx, clavis.VaultInput{Name: "correlate"})
	if err != nil {
		t.Fatal(err)
	}
	faulty.Fail.Store(true)
	a := hardDo(t, "PUT", env.URL+"/v1/vaults/"+v.ID+"/secrets/k", authz(tok), `{"value":"v"}`)
	faulty.Fail.Store(false)
	id := a.Header.Get("X-Request-Id")
	var p struct{ Instance string }
	if err := json.Unmarshal(a.Body, &p); err != nil || a.Status != http.StatusServiceUnavailable || id == "" || p.Instance != id {
		t.Fatalf("failed write = %d %s (X-Request-Id %q), want 503 with instance = X-Request-Id", a.Status, a.Body, id)
	}
	var found int
	for _, line := range strings.Split(env.Logs(), "\n") {
		var rec struct {
			Level, Msg string
			RequestID  string `json:"request_id"`
		}
		if json.Unmarshal([]byte(line), &rec) == nil && rec.Level == "ERROR" && rec.RequestID == id {
			found++
		}
	}
	if found == 0 {
		t.Fatalf("no error log line carries request_id %q; logs:\n%s", id, env.Logs())
	}
}

// TestAmbiguousFramingClosesConnection: a request whose framing was ambiguous (Content-Length together with
// Transfer-Encoding, or Transfer-Encoding on HTTP/1.0) is answered and the connection is closed
// (RFC 9112 §6.1, §6.3): a request pipelined behind it is never served.
func TestAmbiguousFramingClosesConnection(t *testing.T) {
	env := clavistest.New(t)
	host := strings.TrimPrefix(env.URL, "http://")
	next := "GET /healthz HTTP/1.1\r\nHost: " + host + "\r\n\r\n"
	for _, c := range []struct{ name, first string }{
		{"Content-Length and chunked", "POST /v1/auth/token HTTP/1.1\r\nHost: " + host + "\r\nContent-Type: application/json\r\n" +
			"Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"},
		{"chunked without Content-Length", "POST /v1/auth/token HTTP/1.1\r\nHost: " + host + "\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"},
		{"HTTP/1.0 with Transfer-Encoding", "POST /v1/auth/token HTTP/1.0\r\nHost: " + host + "\r\nConnection: keep-alive\r\n" +
			"Content-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n{}"},
	} {
		t.Run(c.name, func(t *testing.T) {
			conn, err := net.Dial("tcp", host)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
			if _, err := io.WriteString(conn, c.first+next); err != nil {
				t.Fatal(err)
			}
			br := bufio.NewReader(conn)
			res, err := http.ReadResponse(br, nil)
			if err != nil {
				t.Fatalf("first response: %v", err)
			}
			_, _ = io.Copy(io.Discard, res.Body)
			_ = res.Body.Close() // read already
			if res2, err := http.ReadResponse(br, nil); err == nil {
				t.Fatalf("the pipelined request was served (%s) after %s; want the connection closed", res2.Status, res.Status)
			} else if !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, net.ErrClosed) && !strings.Contains(err.Error(), "reset") {
				t.Fatalf("after the first response: %v, want EOF", err)
			}
		})
	}
}

// TestHeadReadsNothing: HEAD never reads a value. On value-bearing routes it is 405 with an Allow header;
// a read-once secret stays unread and no secret.read is audited.
func TestHeadReadsNothing(t *testing.T) {
	env := clavistest.New(t)
	u := env.Signup(t)
	tok := bearer(t, env, u)
	v, err := u.C.CreateVault(ctx, clavis.VaultInput{Name: "head"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := u.C.PutSecret(ctx, v.ID, "once", clavis.SecretInput{Value: clavis.Sensitive("read-me-once"), MaxAccessCount: new(1)}); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"/secrets/once", "/secret-version/once/1"} {
		a := hardDo(t, "HEAD", env.URL+"/v1/vaults/"+v.ID+p, authz(tok), "")
		if a.Status != http.StatusMethodNotAllowed || !strings.Contains(a.Header.Get("Allow"), "GET") || strings.Contains(a.Header.Get("Allow"), "HEAD") {
			t.Errorf("HEAD %s = %d (Allow %q), want 405 with an Allow header without HEAD", p, a.Status, a.Header.Get("Allow"))
		}
	}
	if a := hardDo(t, "HEAD", env.URL+"/healthz", nil, ""); a.Status != http.StatusMethodNotAllowed {
		t.Errorf("HEAD /healthz = %d, want 405 (HEAD is refused everywhere)", a.Status)
	}
	if evs, err := u.C.ListAudit(ctx, clavis.AuditQuery{Action: "secret.read"}); err != nil || len(evs) != 0 {
		t.Fatalf("secret.read events after HEAD = %d (%v), want none", len(evs), err)
	}
	s, err := u.C.GetSecret(ctx, v.ID, "once")
	if err != nil || string(s.Value) != "read-me-once" {
		t.Fatalf("GET after HEAD = %v, want the value", err)
	}
}

// TestInvalidUTF8BodyIsMalformed: a body that is not valid UTF-8 (raw bytes or a lone surrogate escape) is
// malformed JSON: 400 and nothing written, never silently rewritten to U+FFFD.
func TestInvalidUTF8BodyIsMalformed(t *testing.T) {
	env := clavistest.New(t)
	u := env.Signup(t)
	tok := bearer(t, env, u)
	v, err := u.C.CreateVault(ctx, clavis.VaultInput{Name: "utf8"})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ name, body string }{
		{"ff fe in a string", "{\"value\":\"a\xff\xfeb\"}"},
		{"truncated sequence in a key", "{\"value\":\"x\",\"note\xe2\x82\":1}"},
		{"lone high surrogate escape", `{"value":"a\ud800b"}`},
		{"lone low surrogate escape", `{"value":"\udc00"}`},
	} {
		t.Run(c.name, func(t *testing.T) {
			path := "/v1/vaults/" + v.ID + "/secrets/" + clavistest.RandHex(4)
			a := hardDo(t, "PUT", env.URL+path, authz(tok), c.body)
			if a.Status != http.StatusBadRequest || a.Header.Get("Content-Type") != "application/problem+json" {
				t.Fatalf("PUT %q = %d %s, want a 400 problem", c.body, a.Status, a.Body)
			}
			if g := hardDo(t, "GET", env.URL+path, authz(tok), ""); g.Status != http.StatusNotFound {
				t.Fatalf("GET after the refused PUT = %d %s, want 404 (nothing written)", g.Status, g.Body)
			}
		})
	}
	// a valid surrogate pair is fine
	if a := hardDo(t, "PUT", env.URL+"/v1/vaults/"+v.ID+"/secrets/pair", authz(tok), `{"value":"\ud83d\ude00"}`); a.Status != http.StatusCreated {
		t.Fatalf("PUT with a surrogate pair = %d %s, want 201", a.Status, a.Body)
	}
}

// TestUnparseableQueryIsRejected: a query that cannot be parsed (more than 10 000 parameters, a bad
// escape, a semicolon) is a 400 on every route; its filters are never silently dropped.
func TestUnparseableQueryIsRejected(t *testing.T) {
	env := clavistest.New(t)
	u := env.Signup(t)
	tok := bearer(t, env, u)
	v, err := u.C.CreateVault(ctx, clavis.VaultInput{Name: "query"})
	if err != nil {
		t.Fatal(err)
	}
	many := strings.Repeat("a=1&", 10_001)
	for _, c := range []struct{ name, path string }{
		{"too many parameters hide limit=abc", "/v1/audit/events?" + many + "limit=abc"},
		{"too many parameters hide prefix", "/v1/vaults/" + v.ID + "/secrets?" + many + "prefix=x"},
		{"bad escape", "/v1/vaults/" + v.ID + "/secrets?prefix=%zz"},
		{"semicolon", "/v1/audit/events?limit=5;offset=1"},
		{"public route", "/v1/health?x=%zz"},
	} {
		t.Run(c.name, func(t *testing.T) {
			a := hardDo(t, "GET", env.URL+c.path, authz(tok), "")
			if a.Status != http.StatusBadRequest || a.Header.Get("Content-Type") != "application/problem+json" {
				t.Fatalf("GET %.80s = %d %.200s, want a 400 problem", c.path, a.Status, a.Body)
			}
		})
	}
	if a := hardDo(t, "GET", env.URL+"/v1/audit/events?limit=abc", authz(tok), ""); a.Status != http.StatusBadRequest {
		t.Fatalf("limit=abc = %d, want 400", a.Status)
	}
	// spec §1.9: malformed input is judged after authentication
	if a := hardDo(t, "GET", env.URL+"/v1/audit/events?x=%zz", nil, ""); a.Status != http.StatusUnauthorized {
		t.Fatalf("a bad query without credentials = %d, want 401", a.Status)
	}
}

// TestBearerSyntax: only RFC 6750's form is accepted — the scheme "Bearer" in any case, one space, a
// b64token — so one credential has exactly one accepted spelling (up to the scheme's case).
func TestBearerSyntax(t *testing.T) {
	env := clavistest.New(t)
	u := env.Signup(t)
	tok := bearer(t, env, u)
	for _, c := range []struct {
		name, header string
		want         int
	}{
		{"canonical", "Bearer " + tok, 200},
		{"scheme in lower case", "bearer " + tok, 200},
		{"scheme in upper case", "BEARER " + tok, 200},
		{"two spaces", "Bearer  " + tok, 401},
		{"tab", "Bearer\t" + tok, 401},
		{"NBSP before", "Bearer \u00a0" + tok, 401},
		{"NBSP as separator", "Bearer\u00a0" + tok, 401},
		{"NBSP after", "Bearer " + tok + "\u00a0", 401},
		{"NEL after", "Bearer " + tok + "\u0085", 401},
		{"line separator after", "Bearer " + tok + "\u2028", 401},
		{"ideographic space after", "Bearer " + tok + "\u3000", 401},
		{"space inside", "Bearer " + tok[:10] + " " + tok[10:], 401},
		{"no credential", "Bearer ", 401},
		{"other scheme", "Basic " + tok, 401},
	} {
		t.Run(c.name, func(t *testing.T) {
			a := hardDo(t, "GET", env.URL+"/v1/auth/me", map[string]string{"Authorization": c.header}, "")
			if a.Status != c.want {
				t.Fatalf("Authorization %q = %d, want %d", c.header, a.Status, c.want)
			}
		})
	}
}
