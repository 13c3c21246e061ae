package client_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"testing"

	"clavis.dev/clavis"
	"clavis.dev/clavis/client"
)

// TestErrorFromProblem checks how a non-2xx answer becomes a *clavis.Error.
func TestErrorFromProblem(t *testing.T) {
	tests := []struct {
		name        string
		status      int
		contentType string
		header      map[string]string
		body        string
		want        clavis.Error // Err is not compared
		wantType    string       // Problem.Type: "" when the body is not a problem document
	}{
		{
			name: "400 with fields", status: 400, wantType: "about:blank",
			body: `{"type":"about:blank","title":"Bad Request","status":400,"detail":"Invalid request body","fields":{"path":"invalid secret path"}}`,
			want: clavis.Error{Kind: clavis.KindInvalid, Message: "Invalid request body", Fields: map[string]string{"path": "invalid secret path"}},
		},
		{
			name: "401", status: 401, wantType: "about:blank",
			body: `{"type":"about:blank","title":"Unauthorized","status":401,"detail":"Invalid or expired token"}`,
			want: clavis.Error{Kind: clavis.KindUnauthorized, Message: "Invalid or expired token"},
		},
		{
			name: "403", status: 403, wantType: "about:blank",
			body: `{"type":"about:blank","title":"Forbidden","status":403,"detail":"Insufficient permissions"}`,
			want: clavis.Error{Kind: clavis.KindForbidden, Message: "Insufficient permissions"},
		},
		{
			name: "403 resource_limit_exceeded", status: 403, wantType: "resource_limit_exceeded",
			body: `{"type":"resource_limit_exceeded","title":"Resource Limit Exceeded","status":403,"detail":"Vault limit reached (25/25)"}`,
			want: clavis.Error{Kind: clavis.KindLimitExceeded, Message: "Vault limit reached (25/25)"},
		},
		{
			name: "403 approval_required", status: 403, wantType: "approval_required",
			body: `{"type":"approval_required","title":"Approval Required","status":403,"detail":"A human must approve this access","approval_request_id":"165fd52b-3192-498d-b7a2-4780813366a3"}`,
			want: clavis.Error{Kind: clavis.KindApprovalRequired, Message: "A human must approve this access", ApprovalID: "165fd52b-3192-498d-b7a2-4780813366a3"},
		},
		{
			name: "404", status: 404, wantType: "about:blank",
			body: `{"type":"about:blank","title":"Not Found","status":404,"detail":"Not found"}`,
			want: clavis.Error{Kind: clavis.KindNotFound, Message: "Not found"},
		},
		{
			name: "405", status: 405, header: map[string]string{"Allow": "GET"}, wantType: "about:blank",
			body: `{"type":"about:blank","title":"Method Not Allowed","status":405,"detail":"Method not allowed"}`,
			want: clavis.Error{Kind: clavis.KindInvalid, Message: "Method not allowed"},
		},
		{
			name: "409", status: 409, wantType: "about:blank",
			body: `{"type":"about:blank","title":"Conflict","status":409,"detail":"Email already registered"}`,
			want: clavis.Error{Kind: clavis.KindConflict, Message: "Email already registered"},
		},
		{
			name: "410", status: 410, wantType: "about:blank",
			body: `{"type":"about:blank","title":"Gone","status":410,"detail":"Secret has expired"}`,
			want: clavis.Error{Kind: clavis.KindGone, Message: "Secret has expired"},
		},
		{
			name: "413", status: 413, wantType: "about:blank",
			body: `{"type":"about:blank","title":"Request Entity Too Large","status":413,"detail":"Secret value too large"}`,
			want: clavis.Error{Kind: clavis.KindTooLarge, Message: "Secret value too large"},
		},
		{
			name: "429 with Retry-After", status: 429, header: map[string]string{"Retry-After": "7"}, wantType: "about:blank",
			body: `{"type":"about:blank","title":"Too Many Requests","status":429,"detail":"Rate limit exceeded"}`,
			want: clavis.Error{Kind: clavis.KindRateLimited, Message: "Rate limit exceeded", RetryAfter: 7},
		},
		{
			name: "429 without Retry-After", status: 429, wantType: "about:blank",
			body: `{"type":"about:blank","title":"Too Many Requests","status":429,"detail":"Rate limit exceeded"}`,
			want: clavis.Error{Kind: clavis.KindRateLimited, Message: "Rate limit exceeded"},
		},
		{
			name: "500", status: 500, wantType: "about:blank",
			body: `{"type":"about:blank","title":"Internal Server Error","status":500,"detail":"internal error","instance":"req-1"}`,
			want: clavis.Error{Kind: clavis.KindInternal, Message: "internal error"},
		},
		{
			name: "503", status: 503, wantType: "about:blank",
			body: `{"type":"about:blank","title":"Service Unavailable","status":503,"detail":"Audit log unavailable"}`,
			want: clavis.Error{Kind: clavis.KindUnavailable, Message: "Audit log unavailable"},
		},
		{
			name: "problem without detail uses the title", status: 409, wantType: "about:blank",
			body: `{"type":"about:blank","title":"Conflict","status":409}`,
			want: clavis.Error{Kind: clavis.KindConflict, Message: "Conflict"},
		},
		{
			name: "plain-text 404", status: 404, contentType: "text/plain; charset=utf-8",
			body: "404 page not found\n",
			want: clavis.Error{Kind: clavis.KindNotFound, Message: "Not Found"},
		},
		{
			name: "plain-text 431", status: 431, contentType: "text/plain; charset=utf-8",
			body: "431 Request Header Fields Too Large",
			want: clavis.Error{Kind: clavis.KindTooLarge, Message: "Request Header Fields Too Large"},
		},
		{
			name: "HTML 502 from a proxy", status: 502, contentType: "text/html",
			body: "<html><body>Bad gateway</body></html>",
			want: clavis.Error{Kind: clavis.KindInternal, Message: "Bad Gateway"},
		},
		{
			name: "empty 401", status: 401,
			want: clavis.Error{Kind: clavis.KindUnauthorized, Message: "Unauthorized"},
		},
		{
			name: "JSON that is not a problem", status: 400,
			body: `["not","an","object"]`,
			want: clavis.Error{Kind: clavis.KindInvalid, Message: "Bad Request"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				ct := tc.contentType
				if ct == "" {
					ct = "application/problem+json"
				}
				w.Header().Set("Content-Type", ct)
				w.Header().Set("X-Request-Id", "req-1")
				for k, v := range tc.header {
					w.Header().Set(k, v)
				}
				w.WriteHeader(tc.status)
				_, _ = io.WriteString(w, tc.body)
			}))
			t.Cleanup(srv.Close)

			_, err := client.New(srv.URL).GetVault(t.Context(), "v")
			var got *clavis.Error
			if !errors.As(err, &got) {
				t.Fatalf("error %v (%T) is not a *clavis.Error", err, err)
			}
			gotCmp := *got
			gotCmp.Err = nil
			if !reflect.DeepEqual(gotCmp, tc.want) {
				t.Errorf("error = %+v, want %+v", gotCmp, tc.want)
			}
			var p *client.Problem
			if !errors.As(err, &p) {
				t.Fatalf("error %v does not wrap a *client.Problem", err)
			}
			if p.Status != tc.status || p.RequestID != "req-1" || p.Type != tc.wantType {
				t.Errorf("problem = %+v, want status %d, request id req-1, type %q", p, tc.status, tc.wantType)
			}
		})
	}
}

// TestErrorsBeforeAnAnswer checks that failures without a server answer are wrapped, not *clavis.Error.
func TestErrorsBeforeAnAnswer(t *testing.T) {
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()
	html := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "<html>welcome</html>")
	}))
	t.Cleanup(html.Close)
	empty := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(empty.Close)
	canceled, cancel := context.WithCancel(context.Background())
	cancel()

	tests := []struct {
		name   string
		url    string
		ctx    context.Context
		wantIs error // nil: only check that the error is not a *clavis.Error
		wantAs bool  // the error wraps a *url.Error
	}{
		{"connection refused", closed.URL, context.Background(), nil, true},
		{"canceled context", html.URL, canceled, context.Canceled, true},
		{"2xx body that is not JSON", html.URL, context.Background(), nil, false},
		{"204 where a body is expected", empty.URL, context.Background(), nil, false},
		{"malformed base URL", "http://[::1", context.Background(), nil, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := client.New(tc.url).GetVault(tc.ctx, "v")
			if err == nil {
				t.Fatal("err = nil, want an error")
			}
			var ce *clavis.Error
			if errors.As(err, &ce) {
				t.Errorf("error %v is a *clavis.Error, want a wrapped transport or decoding error", err)
			}
			if tc.wantIs != nil && !errors.Is(err, tc.wantIs) {
				t.Errorf("errors.Is(%v, %v) = false, want true", err, tc.wantIs)
			}
			var ue *url.Error
			if got := errors.As(err, &ue); got != tc.wantAs {
				t.Errorf("errors.As(%v, *url.Error) = %v, want %v", err, got, tc.wantAs)
			}
		})
	}
}

// TestNoContent checks that the calls answered with 204 succeed without reading a body.
func TestNoContent(t *testing.T) {
	tests := []struct {
		name string
		call func(context.Context, *client.Client) error
	}{
		{"RevokeToken", func(ctx context.Context, c *client.Client) error { return c.RevokeToken(ctx) }},
		{"ChangePassword", func(ctx context.Context, c *client.Client) error { return c.ChangePassword(ctx, "a", "b") }},
		{"RevokeAPIKey", func(ctx context.Context, c *client.Client) error { return c.RevokeAPIKey(ctx, "k") }},
		{"DeleteVault", func(ctx context.Context, c *client.Client) error { return c.DeleteVault(ctx, "v") }},
		{"DeleteSecret", func(ctx context.Context, c *client.Client) error { return c.DeleteSecret(ctx, "v", "a/b") }},
		{"DisableVersion", func(ctx context.Context, c *client.Client) error { return c.DisableVersion(ctx, "v", "a/b", 1) }},
		{"DeleteAgent", func(ctx context.Context, c *client.Client) error { return c.DeleteAgent(ctx, "a") }},
		{"DeletePolicy", func(ctx context.Context, c *client.Client) error { return c.DeletePolicy(ctx, "v", "p") }},
		{"MFADisable", func(ctx context.Context, c *client.Client) error { return c.MFADisable(ctx, "123456", "") }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, exchanges := serve(t, http.StatusNoContent, "")
			if err := tc.call(t.Context(), c); err != nil {
				t.Fatalf("err = %v, want nil", err)
			}
			if got := len(*exchanges); got != 1 {
				t.Errorf("server saw %d requests, want 1", got)
			}
		})
	}
}
