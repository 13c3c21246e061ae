// Package mcp serves Clavis's MCP tools (docs/mcp.md) over a narrow view of the service, with the
// official Go SDK. One registry serves both transports: New binds it to one Service for a session
// (`clavis mcp` over stdio, with a client.Client over HTTP), and NewStateless binds every request to
// the Service of its caller (`/mcp` on the server, with engine.(*Engine).As(caller)).
//
// Tools return text content only and declare no output schema. Errors of the service become error
// results (isError: true) with the texts of docs/mcp.md §2, never protocol errors. No output except
// get_secret's and get_env_bundle's carries a secret value, and a Server redacts from every other output
// the values it returned earlier (docs/mcp.md §3).
package mcp

import (
	"context"
	"errors"
	"strconv"
	"strings"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"clavis.dev/clavis"
)

// Service is what the tools ask of Clavis: the agent's view of the service, acting as one principal.
type Service interface {
	clavis.Vaults
	clavis.Secrets
	clavis.Versions
	clavis.Policies
	// RequestApproval and GetApproval serve request_access and get_approval_status.
	RequestApproval(ctx context.Context, in clavis.ApprovalInput) (*clavis.Approval, error)
	GetApproval(ctx context.Context, id string) (*clavis.Approval, error)
	// CreateShare serves share_secret.
	CreateShare(ctx context.Context, secretID string, in clavis.ShareInput) (*clavis.Share, error)
	// UseSecret makes a call with a secret injected (use without read, spec use.md).
	UseSecret(ctx context.Context, vaultID, path string, req clavis.UseRequest) (*clavis.UseResult, error)
	// AgentMe finds the default vault of an agent bound to exactly one vault.
	AgentMe(ctx context.Context) (*clavis.Agent, error)
}

// Options configure a Server.
type Options struct {
	// Version is the server version announced in initialize.
	Version string
	// DefaultVault is the vault of tools called without vault_id; "" picks the agent's only bound vault.
	// NewStateless takes it from its Binder instead.
	DefaultVault string
	// NoValueTools leaves out get_secret and get_env_bundle.
	NoValueTools bool
}

// New returns an MCP server for one session whose tools act through svc. It remembers the values it
// returned and redacts them from later outputs (docs/mcp.md §3), so serve one session with it. It is
// safe for concurrent use.
func New(svc Service, o Options) *mcp.Server {
	red := &redactor{}
	return newServer(o, func(*mcp.RequestExtra) (*call, error) {
		return &call{svc: svc, defaultVault: o.DefaultVault, red: red}, nil
	})
}

// A Binder returns the Service and default vault ("" for none) of one request, from what the
// transport knows of it (for streamable HTTP, the request's headers and token info). An error makes
// the call fail with "Error: not authenticated".
type Binder func(extra *mcp.RequestExtra) (svc Service, defaultVault string, err error)

// NewStateless returns an MCP server for stateless HTTP whose every request acts through the Service
// that bind returns for it; build it once and serve every request with it. There is no session, so
// nothing is redacted across requests. It is safe for concurrent use.
func NewStateless(bind Binder, o Options) *mcp.Server {
	return newServer(o, func(x *mcp.RequestExtra) (*call, error) {
		svc, vault, err := bind(x)
		if err != nil {
			return nil, err
		}
		return &call{svc: svc, defaultVault: vault}, nil
	})
}

func newServer(o Options, bind func(*mcp.RequestExtra) (*call, error)) *mcp.Server {
	t := &tools{opts: o, bind: bind}
	s := mcp.NewServer(&mcp.Implementation{Name: "clavis", Version: o.Version}, nil)
	t.register(s)
	return s
}

// tools is the registry: its options and how a request finds the service it acts through.
type tools struct {
	opts Options
	bind func(*mcp.RequestExtra) (*call, error)
}

// call is what a tool handler acts through: the request's service, default vault and the session's
// redactor (nil when stateless).
type call struct {
	svc          Service
	defaultVault string
	red          *redactor
}

// errNoVault is the text of a vault tool called without any vault.
const errNoVault = "No vault selected: pass vault_id or set CLAVIS_VAULT_ID"

// vault resolves the vault of a call: the argument, else the default, else the agent's only bound vault.
func (c *call) vault(ctx context.Context, arg string) (string, error) {
	if arg != "" {
		return arg, nil
	}
	if c.defaultVault != "" {
		return c.defaultVault, nil
	}
	if a, err := c.svc.AgentMe(ctx); err == nil && len(a.VaultIDs) == 1 {
		return a.VaultIDs[0], nil
	}
	return "", toolError(errNoVault)
}

// toolError is an error whose text is shown to the model as is.
type toolError string

func (e toolError) Error() string { return string(e) }

// text makes a successful text result.
func text(s string) *mcp.CallToolResult {
	return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: s}}}
}

// failure makes an error result.
func failure(s string) *mcp.CallToolResult {
	return &mcp.CallToolResult{IsError: true, Content: []mcp.Content{&mcp.TextContent{Text: s}}}
}

// describe turns an error of the service into the text of docs/mcp.md §2 for a call on path in vaultID.
func (c *call) describe(ctx context.Context, err error, vaultID, path string) string {
	var te toolError
	if errors.As(err, &te) {
		return string(te)
	}
	var ce *clavis.Error
	if !errors.As(err, &ce) {
		return "Error: request failed"
	}
	switch ce.Kind {
	case clavis.KindForbidden, clavis.KindApprovalRequired:
		if path != "" {
			return "Access denied: " + path
		}
		return "Access denied"
	case clavis.KindNotFound:
		if vaultID != "" {
			if _, verr := c.svc.GetVault(ctx, vaultID); clavis.IsKind(verr, clavis.KindNotFound) || path == "" {
				return "Vault not found: " + vaultID
			}
		}
		return "Secret not found: " + path
	case clavis.KindGone:
		if r := goneReason(ce.Message); r != "" {
			return "Secret is no longer available: " + path + " (" + r + ")"
		}
		return "Secret is no longer available: " + path
	case clavis.KindDestinationNotAllowed:
		return "Destination not allowed: " + ce.Message
	case clavis.KindBadGateway:
		return "Upstream unreachable"
	case clavis.KindGatewayTimeout:
		return "Upstream timed out"
	case clavis.KindRateLimited:
		n := ce.RetryAfter
		if n <= 0 {
			n = 1
		}
		return "Rate limited; retry in " + strconv.Itoa(n) + " s"
	}
	return "Error: " + ce.Message
}

// goneReason maps Clavis's 410 wording to the reason of docs/mcp.md §2, or "".
func goneReason(msg string) string {
	m := strings.ToLower(msg)
	switch {
	case strings.Contains(m, "deleted"):
		return "deleted"
	case strings.Contains(m, "expired"):
		return "expired"
	case strings.Contains(m, "access limit"), strings.Contains(m, "max reads"):
		return "max reads reached"
	case strings.Contains(m, "disabled"):
		return "version disabled"
	}
	return ""
}
