package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/modelcontextprotocol/go-sdk/auth"
	sdk "github.com/modelcontextprotocol/go-sdk/mcp"

	"clavis.dev/clavis"
	"clavis.dev/clavis/client"
	"clavis.dev/clavis/internal/engine"
	"clavis.dev/clavis/internal/mcp"
)

// mcpHTTP returns the handler of /mcp (httpapi.Options.MCP): streamable HTTP, stateless, over one MCP
// server built here once. httpapi has authenticated the request; its caller reaches the tools as the
// SDK's token info (request identity), which binds them to eng.As(caller) for this one request, with
// X-Vault-ID as the default vault.
func mcpHTTP(eng *engine.Engine, noValueTools bool) func(*clavis.Caller, *http.Request) http.Handler {
	const callerKey = "clavis.caller"
	s := mcp.NewStateless(func(x *sdk.RequestExtra) (mcp.Service, string, error) {
		var c *clavis.Caller
		if x != nil && x.TokenInfo != nil {
			c, _ = x.TokenInfo.Extra[callerKey].(*clavis.Caller)
		}
		if c == nil {
			return nil, "", errors.New("no caller")
		}
		return eng.As(c), x.Header.Get("X-Vault-ID"), nil
	}, mcp.Options{Version: version, NoValueTools: noValueTools})
	h := sdk.NewStreamableHTTPHandler(func(*http.Request) *sdk.Server { return s },
		// httpapi guards against DNS rebinding (Origin, and Host on a loopback listener, allowing the
		// public URL's host that a reverse proxy on the same machine forwards); the SDK's own guard
		// would refuse that proxy.
		&sdk.StreamableHTTPOptions{Stateless: true, JSONResponse: true, DisableLocalhostProtection: true})
	return func(c *clavis.Caller, _ *http.Request) http.Handler {
		info := &auth.TokenInfo{UserID: c.String(), Extra: map[string]any{callerKey: c}}
		return auth.RequireBearerToken(func(context.Context, string, *http.Request) (*auth.TokenInfo, error) { return info, nil },
			&auth.RequireBearerTokenOptions{AllowMissingExpiration: true})(h)
	}
}

// errMCPStartup ends `clavis mcp` with exit status 1 and nothing more on stderr: its one line naming
// the variable to set is already written. It wraps errChainBroken, the sentinel that main maps to a
// silent exit 1.
var errMCPStartup = fmt.Errorf("mcp startup failed: %w", errChainBroken)

// mcpEnv is the configuration of `clavis mcp` from its environment (docs/mcp.md §1).
type mcpEnv struct {
	url, key, agentID, token, vault string
	// keyVar and tokenVar name the variables the credential came from, for messages.
	keyVar, tokenVar string
}

// readMCPEnv reads CLAVIS_* and, when no CLAVIS_* credential variable is set, the 1Claw names.
func readMCPEnv(getenv func(string) string) mcpEnv {
	pick := func(a, b string) string {
		if v := getenv(a); v != "" {
			return v
		}
		return getenv(b)
	}
	e := mcpEnv{url: pick("CLAVIS_URL", "ONECLAW_BASE_URL"), vault: pick("CLAVIS_VAULT_ID", "ONECLAW_VAULT_ID"), // #nosec G101 -- variable names, not credentials
		keyVar: "CLAVIS_API_KEY (or ONECLAW_AGENT_API_KEY)", tokenVar: "CLAVIS_TOKEN (or ONECLAW_AGENT_TOKEN)"}
	if e.url == "" {
		e.url = "http://127.0.0.1:8080"
	}
	if getenv("CLAVIS_API_KEY") != "" || getenv("CLAVIS_TOKEN") != "" || getenv("CLAVIS_AGENT_ID") != "" {
		e.key, e.agentID, e.token = getenv("CLAVIS_API_KEY"), getenv("CLAVIS_AGENT_ID"), getenv("CLAVIS_TOKEN")
		e.keyVar, e.tokenVar = "CLAVIS_API_KEY", "CLAVIS_TOKEN"
	} else {
		e.key, e.agentID, e.token = getenv("ONECLAW_AGENT_API_KEY"), getenv("ONECLAW_AGENT_ID"), getenv("ONECLAW_AGENT_TOKEN")
		if e.key != "" || e.token != "" {
			e.keyVar, e.tokenVar = "ONECLAW_AGENT_API_KEY", "ONECLAW_AGENT_TOKEN"
		}
	}
	return e
}

// mcpCommand runs the MCP server over stdio as the agent of its environment, a client of the Clavis
// server at CLAVIS_URL. stdout carries only JSON-RPC; logs and the startup error go to stderr.
func mcpCommand(ctx context.Context, args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("mcp", flag.ContinueOnError)
	fs.SetOutput(stderr)
	noValue := fs.Bool("no-value-tools", false, "leave out get_secret and get_env_bundle")
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	env := readMCPEnv(os.Getenv)
	fail := func(msg string) error {
		fmt.Fprintln(stderr, "clavis mcp: "+msg)
		return errMCPStartup
	}
	if env.key == "" && env.token == "" {
		return fail("set " + env.keyVar)
	}
	auth := &agentAuth{issuer: client.New(env.url), key: env.key, agentID: env.agentID, static: env.token,
		base: http.DefaultTransport, now: time.Now}
	c := client.New(env.url, client.WithHTTPClient(&http.Client{Transport: auth}))
	if _, err := c.AgentMe(ctx); err != nil {
		if clavis.IsKind(err, clavis.KindUnauthorized) || clavis.IsKind(err, clavis.KindForbidden) {
			if env.key != "" {
				return fail("the server refused the agent key; set a valid " + env.keyVar)
			}
			return fail("the server refused the agent token; set a valid " + env.tokenVar)
		}
		return fail("cannot reach the server at CLAVIS_URL (or ONECLAW_BASE_URL): " + errText(err))
	}
	log := slog.New(slog.NewJSONHandler(stderr, nil))
	s := mcp.New(c, mcp.Options{Version: version, DefaultVault: env.vault, NoValueTools: *noValue})
	err := s.Run(ctx, &sdk.StdioTransport{})
	if err != nil && !errors.Is(err, context.Canceled) && !errors.Is(err, io.EOF) {
		log.Error("mcp session ended", "err", err)
	}
	return nil
}

// errText is a startup error's message without its cause chain (which may quote a URL, never a key).
func errText(err error) string {
	var ce *clavis.Error
	if errors.As(err, &ce) {
		return ce.Message
	}
	return err.Error()
}

// agentAuth is an http.RoundTripper that authenticates every request as the agent: with the static
// token, or with a token exchanged from the key and re-exchanged when less than min(60 s, TTL/2) of its
// lifetime remains, and once more when the server answers 401. It is safe for concurrent use.
type agentAuth struct {
	issuer       *client.Client // unauthenticated, for POST /v1/auth/agent-token
	key, agentID string
	static       string
	base         http.RoundTripper
	now          func() time.Time

	mu      sync.Mutex
	token   string
	refresh time.Time // when to re-exchange
}

// current returns a token, exchanging the key when none is held, when it is due, or when stale is
// the token held (the server refused it).
func (a *agentAuth) current(ctx context.Context, stale string) (string, error) {
	if a.key == "" {
		return a.static, nil
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.token != "" && a.token != stale && a.now().Before(a.refresh) {
		return a.token, nil
	}
	tok, err := a.issuer.AgentToken(ctx, a.key, a.agentID)
	if err != nil {
		return "", err
	}
	ttl := time.Duration(tok.ExpiresIn) * time.Second
	a.token, a.refresh = string(tok.AccessToken), a.now().Add(ttl-min(60*time.Second, ttl/2))
	return a.token, nil
}

func (a *agentAuth) RoundTrip(req *http.Request) (*http.Response, error) {
	tok, err := a.current(req.Context(), "")
	if err != nil {
		return nil, err
	}
	resp, err := a.send(req, tok)
	if err != nil || resp.StatusCode != http.StatusUnauthorized || a.key == "" || (req.Body != nil && req.GetBody == nil) {
		return resp, err
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16)) // drain for connection reuse; a failure only costs the reuse
	_ = resp.Body.Close()                                        // read-only body, already drained
	if tok, err = a.current(req.Context(), tok); err != nil {
		return nil, err
	}
	return a.send(req, tok)
}

// send sends a copy of req with the bearer token and a fresh body.
func (a *agentAuth) send(req *http.Request, tok string) (*http.Response, error) {
	r := req.Clone(req.Context())
	if req.GetBody != nil {
		b, err := req.GetBody()
		if err != nil {
			return nil, err
		}
		r.Body = b
	}
	r.Header.Set("Authorization", "Bearer "+tok)
	return a.base.RoundTrip(r)
}
