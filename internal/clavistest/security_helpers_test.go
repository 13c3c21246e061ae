package clavistest_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"clavis.dev/clavis/internal/clavistest"
)

// Shared helpers of the security suites (security_*_test.go). Names carry a sec prefix so that they do
// not collide with the other test files of the package.

// secHTTP sends the raw requests of the security suites. Its pool is large enough for the concurrent
// bursts, so that they measure the server, not the client's connection reuse.
var secHTTP = &http.Client{
	Timeout:   2 * time.Minute,
	Transport: &http.Transport{MaxIdleConns: 512, MaxIdleConnsPerHost: 512, IdleConnTimeout: 30 * time.Second},
}

// secAnswer is one raw HTTP answer.
type secAnswer struct {
	Status int
	Header http.Header
	Body   []byte
}

// secDo sends one request with an optional bearer credential and JSON body and reads the whole answer.
func secDo(t testing.TB, method, url, bearer, body string) secAnswer {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
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

// secProblem is the part of a problem document that spec §1.6 requires to be identical between two
// answers that must not be told apart.
type secProblem struct {
	Type   string `json:"type"`
	Title  string `json:"title"`
	Status int    `json:"status"`
	Detail string `json:"detail"`
}

// secProblemOf parses a problem document and returns its comparable part and the keys it carries
// beyond those the spec allows (§1.4 Problem: instance; fields only on 400; approval_request_id only
// with type approval_required).
func secProblemOf(a secAnswer) (p secProblem, extra []string, err error) {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(a.Body, &raw); err != nil {
		return p, nil, err
	}
	if err := json.Unmarshal(a.Body, &p); err != nil {
		return p, nil, err
	}
	for k := range raw {
		switch {
		case k == "type" || k == "title" || k == "status" || k == "detail" || k == "instance":
		case k == "fields" && a.Status == http.StatusBadRequest:
		case k == "approval_request_id" && p.Type == "approval_required":
		default:
			extra = append(extra, k)
		}
	}
	sort.Strings(extra)
	return p, extra, nil
}

// secLeaks names every canary found in body, sorted.
func secLeaks(body []byte, canaries map[string]string) []string {
	var found []string
	for what, c := range canaries {
		if c != "" && bytes.Contains(body, []byte(c)) {
			found = append(found, what)
		}
	}
	slices.Sort(found)
	return found
}

// secLogin logs in with raw HTTP and returns the answer.
func secLogin(t testing.TB, base, email, password string) secAnswer {
	t.Helper()
	body, _ := json.Marshal(map[string]string{"email": email, "password": password})
	return secDo(t, "POST", base+"/v1/auth/token", "", string(body))
}

// secAgentToken exchanges an agent key for a fresh access token.
func secAgentToken(t testing.TB, env *clavistest.Env, a *clavistest.Agent) string {
	t.Helper()
	tok, err := env.Client().AgentToken(ctx, a.Key, a.ID)
	if err != nil {
		t.Fatalf("agent token for %s: %v", a.ID, err)
	}
	return string(tok.AccessToken)
}

// secUUID returns a random lowercase canonical UUID (version 4) that names nothing.
func secUUID() string {
	h := []byte(clavistest.RandHex(16))
	h[12] = '4'
	h[16] = "89ab"[h[16]%4]
	return string(h[0:8]) + "-" + string(h[8:12]) + "-" + string(h[12:16]) + "-" + string(h[16:20]) + "-" + string(h[20:32])
}
