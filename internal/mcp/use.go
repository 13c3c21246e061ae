package mcp

import (
	"context"
	"encoding/base64"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"clavis.dev/clavis"
)

type useIn struct {
	Path      string            `json:"path" jsonschema:"secret path whose value Clavis injects; you never see it"`
	URL       string            `json:"url" jsonschema:"absolute https URL on a host the secret's destination config allows"`
	Method    string            `json:"method,omitempty" jsonschema:"HTTP method (default GET)"`
	Headers   map[string]string `json:"headers,omitempty" jsonschema:"request headers; Authorization, Cookie, Host and similar are dropped"`
	Body      string            `json:"body,omitempty" jsonschema:"request body, sent as is"`
	TimeoutMS int               `json:"timeout_ms,omitempty" jsonschema:"1-30000 (default 10000)"`
	VaultID   string            `json:"vault_id,omitempty" jsonschema:"vault UUID; default: the configured vault"`
}

func (t *tools) useTools(s *mcp.Server) {
	add(t, s, "use_secret", "Call an HTTP API with a secret injected by Clavis (use without read): the response comes back "+
		"with the value redacted. The secret's destination config limits hosts, methods and paths.", callsOut, (*call).useSecret)
}

// useSecret makes the call and renders the answer as use.md §5 says: "HTTP <status>", the headers as
// "name: value" lines, a blank line and the body ("[base64] …" when not UTF-8; "[truncated]" appended when
// cut).
func (c *call) useSecret(ctx context.Context, in useIn) (string, error) {
	v, err := c.vault(ctx, in.VaultID)
	if err != nil {
		return "", err
	}
	res, err := c.svc.UseSecret(ctx, v, in.Path, clavis.UseRequest{Method: in.Method, URL: in.URL, Headers: in.Headers,
		Body: []byte(in.Body), TimeoutMS: in.TimeoutMS})
	if err != nil {
		return "", c.fail(ctx, err, v, in.Path)
	}
	var b strings.Builder
	b.WriteString("HTTP " + strconv.Itoa(res.Status) + "\n")
	names := make([]string, 0, len(res.Headers))
	for n := range res.Headers {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		for _, val := range res.Headers[n] {
			b.WriteString(n + ": " + val + "\n")
		}
	}
	b.WriteString("\n")
	if utf8.Valid(res.Body) {
		b.Write(res.Body)
	} else {
		b.WriteString("[base64] " + base64.StdEncoding.EncodeToString(res.Body))
	}
	if res.Truncated {
		b.WriteString("\n[truncated]")
	}
	return b.String(), nil
}
