package mcp_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"

	"clavis.dev/clavis"
	"clavis.dev/clavis/internal/clavistest"
	clavismcp "clavis.dev/clavis/internal/mcp"
)

const canaryUse = "canary-use-0123456789abcdef" // #nosec G101 -- a test canary

// TestMcpUseSecret drives use_secret for an agent that may use but not read a secret, through both
// implementations of the service: golden output text with the value redacted, get_secret refused, the
// refusal texts of use.md §5, and a canary scan of every output.
func TestMcpUseSecret(t *testing.T) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header()["Date"] = nil
		w.Header().Set("Content-Type", "text/plain")
		w.Header().Set("X-Echo", r.Header.Get("Authorization"))
		if r.URL.Path == "/v1/binary" {
			_, _ = w.Write([]byte{0xff, 0xfe})
			return
		}
		_, _ = w.Write([]byte(r.Method + " " + r.URL.Path + " " + r.Header.Get("Authorization") + " " + r.Header.Get("X-Note"))) // #nosec G705 -- a test upstream echoing to the server under test, not a browser
	}))
	t.Cleanup(up.Close)
	for _, impl := range []string{"client", "engine"} {
		t.Run(impl, func(t *testing.T) {
			ctx := context.Background()
			env := clavistest.New(t, clavistest.Options{Egress: clavistest.UseLoopback()})
			u := env.Signup(t)
			v, err := u.C.CreateVault(ctx, clavis.VaultInput{Name: "main"})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := u.C.PutSecret(ctx, v.ID, "api/key", clavis.SecretInput{Value: canaryUse}); err != nil {
				t.Fatal(err)
			}
			if _, err := u.C.PutUseConfig(ctx, v.ID, "api/key", clavis.UseConfigInput{AllowedHosts: []string{strings.TrimPrefix(up.URL, "http://")},
				AllowedPathPrefixes: []string{"/v1"}, Inject: clavis.UseInject{As: clavis.InjectBearer}, AllowHTTP: true}); err != nil {
				t.Fatal(err)
			}
			a := env.NewAgent(t, u, clavis.AgentInput{})
			mustPolicy(t, u.C, v.ID, clavis.PolicyInput{Pattern: "api/**", PrincipalType: clavis.PrincipalAgent, PrincipalID: a.ID,
				Permissions: []string{"use"}})
			var svc clavismcp.Service = a.C
			if impl == "engine" {
				c, err := env.Engine.Authenticate(ctx, a.Token, netip.MustParseAddr("127.0.0.1"))
				if err != nil {
					t.Fatal(err)
				}
				svc = env.Engine.As(c)
			}
			s := connect(t, svc, clavismcp.Options{DefaultVault: v.ID})
			s.want(t, "get_secret", map[string]any{"path": "api/key"}, "Access denied: api/key", true)
			s.want(t, "use_secret", map[string]any{"path": "api/key", "url": up.URL + "/v1/chat", "method": "POST",
				"headers": map[string]any{"X-Note": "hi"}, "body": "x"},
				"HTTP 200\ncontent-type: text/plain\nx-echo: [REDACTED]\n\nPOST /v1/chat [REDACTED] hi", false)
			s.want(t, "use_secret", map[string]any{"path": "api/key", "url": up.URL + "/v1/binary"},
				"HTTP 200\ncontent-type: text/plain\nx-echo: [REDACTED]\n\n[base64] //4=", false)
			s.want(t, "use_secret", map[string]any{"path": "api/key", "url": "https://evil.example.com/v1/x"},
				"Destination not allowed: host not allowed by the destination config", true)
			s.want(t, "use_secret", map[string]any{"path": "api/key", "url": up.URL + "/v2/x"},
				"Destination not allowed: path not allowed by the destination config", true)
			s.want(t, "use_secret", map[string]any{"path": "other/key", "url": up.URL + "/v1/x"}, "Access denied: other/key", true)
			s.want(t, "use_secret", map[string]any{"path": "api/none", "url": up.URL + "/v1/x"}, "Secret not found: api/none", true)
			s.scan(t, canaryUse)
		})
	}
}
