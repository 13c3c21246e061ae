// Package mcp serves Clavis's MCP tools (docs/mcp.md) over a narrow view of the service, with the
// official Go SDK. One registry serves both transports: `clavis mcp` (stdio) binds it to a client.Client
// over HTTP, and `/mcp` on the server binds it per request to engine.(*Engine).As(caller).
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
	// AgentMe finds the default vault of an agent bound to exactly one vault.
	AgentMe(ctx context.Context) (*clavis.Agent, error)
}

// Options configure a Server.
type Options struct {
	// Version is the server version announced in initialize.
	Version string
	// DefaultVault is the vault of tools called without vault_id; "" picks the agent's only bound vault.
	DefaultVault string
	// NoValueTools leaves out get_secret and get_env_bundle.
	NoValueTools bool
}

// New returns an MCP server whose tools act through svc. The server keeps the values it returned for
// the redaction rule, so make one per session (stdio) or per request (stateless HTTP). It is safe for
// concurrent use.
func New(svc Service, o Options) *mcp.Server {
	t := &tools{svc: svc, opts: o, red: &redactor{}}
	s := mcp.NewServer(&mcp.Implementation{Name: "clavis", Version: o.Version}, nil)
	t.register(s)
	return s
}

// tools holds what every tool handler needs.
type tools struct {
	svc  Service
	opts Options
	red  *redactor
}

// errNoVault is the text of a vault tool called without any vault.
const errNoVault = "No vault selected: pass vault_id or set CLAVIS_VAULT_ID"

// vault resolves the vault of a call: the argument, else the default, else the agent's only bound vault.
func (t *tools) vault(ctx context.Context, arg string) (string, error) {
	if arg != "" {
		return arg, nil
	}
	if t.opts.DefaultVault != "" {
		return t.opts.DefaultVault, nil
	}
	if a, err := t.svc.AgentMe(ctx); err == nil && len(a.VaultIDs) == 1 {
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
func (t *tools) describe(ctx context.Context, err error, vaultID, path string) string {
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
			if _, verr := t.svc.GetVault(ctx, vaultID); clavis.IsKind(verr, clavis.KindNotFound) || path == "" {
				return "Vault not found: " + vaultID
			}
		}
		return "Secret not found: " + path
	case clavis.KindGone:
		if r := goneReason(ce.Message); r != "" {
			return "Secret is no longer available: " + path + " (" + r + ")"
		}
		return "Secret is no longer available: " + path
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
