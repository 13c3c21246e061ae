// Package client is the Go SDK for the Clavis HTTP API (spec/api.md). It imports the standard library
// and the vocabulary package clavis only.
//
// A Client implements the root package's per-resource interfaces (clavis.Vaults, clavis.Secrets,
// clavis.Agents, … and clavis.Services, which composes them) over HTTP, acting as the principal whose
// credential it holds; engine.(*Engine).As implements the same interfaces in-process. Its methods take
// and return root types; the JSON models of spec §1.4 stay inside this package (models.go).
//
// Errors. Every answer of the server outside 2xx comes back as a *clavis.Error rebuilt from the problem
// document: Kind from the status code (and the problem type for 403), Message from detail, Fields,
// RetryAfter (from the Retry-After header of a 429) and ApprovalID. Its Err is a *Problem carrying the
// status, type, title and request id, for logs. Failures before an answer (transport, context, an
// undecodable 2xx body) are returned wrapped and are not *clavis.Error; classify them with errors.Is
// (context.Canceled, context.DeadlineExceeded) or errors.As (*url.Error).
//
// Secrets. Secret values, access tokens and new keys (ocv_, 1ck_) are clavis.Sensitive: they redact
// themselves in fmt, slog and JSON output and are revealed only by an explicit string conversion. A
// Client never shows its credential.
package client

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"clavis.dev/clavis"
)

// Client talks to one Clavis server with at most one credential. It is safe for concurrent use: its
// fields never change after New, and WithToken returns a copy. Under fmt and slog it shows the server's
// URL and never the credential.
type Client struct {
	baseURL string
	hc      *http.Client
	token   string
}

var (
	_ clavis.Account      = (*Client)(nil)
	_ clavis.APIKeys      = (*Client)(nil)
	_ clavis.TwoFactor    = (*Client)(nil)
	_ clavis.Vaults       = (*Client)(nil)
	_ clavis.Secrets      = (*Client)(nil)
	_ clavis.Versions     = (*Client)(nil)
	_ clavis.Agents       = (*Client)(nil)
	_ clavis.Policies     = (*Client)(nil)
	_ clavis.Audit        = (*Client)(nil)
	_ clavis.Sharing      = (*Client)(nil)
	_ clavis.Organization = (*Client)(nil)
	_ clavis.Services     = (*Client)(nil)
)

// Option configures a Client in New.
type Option func(*Client)

// WithHTTPClient makes the Client send its requests with h (nil keeps the default). The Client never
// closes or changes h.
func WithHTTPClient(h *http.Client) Option {
	return func(c *Client) {
		if h != nil {
			c.hc = h
		}
	}
}

// WithToken makes the Client send "Authorization: Bearer <bearer>" on every request. bearer is an
// access JWT, a personal key (1ck_…) or an agent key (ocv_…); "" sends no Authorization header.
func WithToken(bearer string) Option {
	return func(c *Client) { c.token = bearer }
}

// New returns a Client for the server at baseURL, the origin without /v1 (for example
// "http://127.0.0.1:8080"); a trailing slash is ignored. A malformed baseURL surfaces as an error of the
// first call.
func New(baseURL string, opts ...Option) *Client {
	c := &Client{baseURL: strings.TrimRight(baseURL, "/"), hc: &http.Client{}}
	for _, o := range opts {
		o(c)
	}
	return c
}

// WithToken returns a copy of c that authenticates with bearer (as the option WithToken); c is unchanged
// and both share the underlying *http.Client.
func (c *Client) WithToken(bearer string) *Client {
	cp := *c
	cp.token = bearer
	return &cp
}

// Format prints the server's base URL and whether a credential is set, never the credential, under every
// verb (fmt would otherwise print the unexported fields). Its value receiver covers Client and *Client.
func (c Client) Format(f fmt.State, _ rune) {
	_, _ = fmt.Fprintf(f, "client.Client{baseURL:%q authenticated:%t}", c.baseURL, c.token != "")
}

// LogValue logs the server's base URL and whether a credential is set, never the credential.
func (c Client) LogValue() slog.Value {
	return slog.GroupValue(slog.String("base_url", c.baseURL), slog.Bool("authenticated", c.token != ""))
}

// maxErrorBody bounds how much of an error response is read; maxDrain how much of an unread body is
// discarded so that the connection can be reused.
const (
	maxErrorBody = 64 << 10
	maxDrain     = 256 << 10
)

// do sends one request. path is already escaped (see seg and secretPath); in, when non-nil, is sent as
// JSON; out, when non-nil, receives the decoded 2xx body. A non-2xx answer is returned as *clavis.Error.
func (c *Client) do(ctx context.Context, method, path string, query url.Values, in, out any) error {
	return c.doHeader(ctx, method, path, query, nil, in, out)
}

// doHeader is do with extra request headers.
func (c *Client) doHeader(ctx context.Context, method, path string, query url.Values, header http.Header, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("clavis client: %s %s: encode request: %w", method, path, err)
		}
		body = bytes.NewReader(b)
	}
	u := c.baseURL + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return fmt.Errorf("clavis client: %s %s: %w", method, path, err)
	}
	req.Header.Set("Accept", "application/json")
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	for k, vs := range header {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return fmt.Errorf("clavis client: %w", err)
	}
	defer func() {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxDrain))
		_ = resp.Body.Close()
	}()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return errorFrom(resp)
	}
	if out == nil {
		return nil
	}
	if resp.StatusCode == http.StatusNoContent {
		return fmt.Errorf("clavis client: %s %s: empty 204 response where a body was expected", method, path)
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("clavis client: %s %s: decode %d response: %w", method, path, resp.StatusCode, err)
	}
	return nil
}

// seg escapes one path parameter (an id) so that it stays one segment.
func seg(s string) string { return url.PathEscape(s) }

// secretPath escapes a multi-segment secret path: raw slashes between segments, each segment
// percent-escaped (spec §4.5.1 accepts raw, %2F and mixed forms alike). The path is not validated here;
// the server answers an invalid one with 400.
func secretPath(p string) string {
	parts := strings.Split(p, "/")
	for i, s := range parts {
		parts[i] = url.PathEscape(s)
	}
	return strings.Join(parts, "/")
}

// vaultPath is "/v1/vaults/{vaultID}" followed by rest.
func vaultPath(vaultID, rest string) string { return "/v1/vaults/" + seg(vaultID) + rest }

// versionPath is a version route: "/v1/vaults/{vaultID}/{route}/{path}/{n}".
func versionPath(vaultID, route, path string, n int) string {
	return vaultPath(vaultID, "/"+route+"/"+secretPath(path)+"/"+strconv.Itoa(n))
}

// call sends one request and decodes its 2xx body into a T; on error it returns the zero T.
func call[T any](ctx context.Context, c *Client, method, path string, query url.Values, in any) (T, error) {
	var out T
	if err := c.do(ctx, method, path, query, in, &out); err != nil {
		var zero T
		return zero, err
	}
	return out, nil
}
