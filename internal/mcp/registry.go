package mcp

import (
	"context"
	"regexp"

	"github.com/google/jsonschema-go/jsonschema"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// handler is a tool body acting through c: it returns the result text, or an error whose text (a
// toolError) is the error result. Service errors are turned into toolErrors by call.fail.
type handler[In any] func(c *call, ctx context.Context, in In) (string, error)

// kind says what a tool may do, for its annotations and the leak rules.
type kind int

const (
	reads        kind = iota // read-only, never a value
	writes                   // additive change
	destroys                 // destructive change
	revealsValue             // read-only and returns a secret value
	callsOut                 // acts on the world outside Clavis (use without read)
)

// enums restricts string properties of a tool's input to the listed values (in its schema, which the SDK
// checks before the handler runs).
type enums map[string][]string

// add registers a tool whose Out type is any, so that no output schema is declared; its input schema is
// inferred from In, with the enums given. Every output but a value tool's success is redacted of the
// values returned before.
func add[In any](t *tools, s *mcp.Server, name, desc string, k kind, h handler[In], en ...enums) {
	if k == revealsValue && t.opts.NoValueTools {
		return
	}
	schema, err := jsonschema.For[In](nil)
	if err != nil {
		panic("mcp: input schema of " + name + ": " + err.Error()) // a programming error, caught by every test
	}
	for _, e := range en {
		for prop, values := range e {
			p := schema.Properties[prop]
			if p.Items != nil { // an array: restrict its items
				p = p.Items
			}
			for _, v := range values {
				p.Enum = append(p.Enum, v)
			}
		}
	}
	no := false
	ann := &mcp.ToolAnnotations{DestructiveHint: &no, OpenWorldHint: &no}
	switch k {
	case reads, revealsValue:
		ann.ReadOnlyHint = true
	case destroys:
		yes := true
		ann.DestructiveHint = &yes
	case callsOut: // the upstream call may change anything the API behind it allows
		yes := true
		ann.DestructiveHint, ann.OpenWorldHint = &yes, &yes
	}
	mcp.AddTool(s, &mcp.Tool{Name: name, Description: desc, Annotations: ann, InputSchema: schema},
		func(ctx context.Context, req *mcp.CallToolRequest, in In) (*mcp.CallToolResult, any, error) {
			c, err := t.bind(req.Extra)
			if err != nil {
				return ours(failure("Error: not authenticated")), nil, nil
			}
			out, err := h(c, ctx, in)
			if err != nil {
				msg := "Error: request failed"
				if te, ok := err.(toolError); ok {
					msg = string(te)
				}
				return ours(failure(c.red.apply(msg))), nil, nil
			}
			if k != revealsValue {
				out = c.red.apply(out)
			}
			return ours(text(out)), nil, nil
		})
}

// oursKey marks the results of Clavis's handlers, so that sanitize can tell them from the SDK's own
// argument errors; sanitize removes it before the result leaves.
const oursKey = "clavis.dev/result"

func ours(r *mcp.CallToolResult) *mcp.CallToolResult {
	r.Meta = mcp.Meta{oursKey: true}
	return r
}

// sanitize replaces the SDK's argument validation errors, which quote the arguments (a secret value
// among them), with "Error: invalid arguments" naming the property when the SDK did.
func sanitize(next mcp.MethodHandler) mcp.MethodHandler {
	return func(ctx context.Context, method string, req mcp.Request) (mcp.Result, error) {
		res, err := next(ctx, method, req)
		r, ok := res.(*mcp.CallToolResult)
		if err != nil || !ok {
			return res, err
		}
		if _, mine := r.Meta[oursKey]; mine {
			delete(r.Meta, oursKey)
			if len(r.Meta) == 0 {
				r.Meta = nil
			}
			return r, nil
		}
		if r.IsError {
			msg := "Error: invalid arguments"
			for _, c := range r.Content {
				if tc, ok := c.(*mcp.TextContent); ok {
					if m := propertyRE.FindStringSubmatch(tc.Text); m != nil {
						msg += " (" + m[1] + ")"
					}
				}
			}
			r.Content = []mcp.Content{&mcp.TextContent{Text: msg}}
		}
		return r, nil
	}
}

// propertyRE finds the property an SDK validation error names.
var propertyRE = regexp.MustCompile(`/properties/([A-Za-z_]+)`)

// fail turns a service error on path in vaultID into the toolError of docs/mcp.md §2.
func (c *call) fail(ctx context.Context, err error, vaultID, path string) error {
	return toolError(c.describe(ctx, err, vaultID, path))
}

// register adds every tool and the resource to s.
func (t *tools) register(s *mcp.Server) {
	t.secretTools(s)
	t.vaultTools(s)
	t.approvalTools(s)
	t.shareTools(s)
	t.useTools(s)
	t.addResource(s)
	s.AddReceivingMiddleware(sanitize)
}
