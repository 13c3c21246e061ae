package clavistest_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"clavis.dev/clavis"
	"clavis.dev/clavis/client"
	"clavis.dev/clavis/internal/clavistest"
)

// BenchmarkUse measures one call to a loopback upstream made directly with net/http (the baseline) and
// made through use without read over real HTTP (authorize, decrypt, the secret.use commit, the guarded
// call, redaction, the secret.use_result commit). Compare the two in one run: overhead = use ns/op ÷
// direct ns/op.
func BenchmarkUse(b *testing.B) {
	const value = "sk-bench-0123456789abcdef" // #nosec G101 -- a benchmark value
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, `{"object":"list","data":[{"id":"model-a"},{"id":"model-b"}]}`)
	}))
	b.Cleanup(up.Close)
	b.Run("direct", func(b *testing.B) {
		hc := &http.Client{}
		for b.Loop() {
			req, _ := http.NewRequest("GET", up.URL+"/v1/models", nil)
			req.Header.Set("Authorization", "Bearer "+value)
			res, err := hc.Do(req)
			if err != nil {
				b.Fatal(err)
			}
			_, _ = io.Copy(io.Discard, res.Body)
			_ = res.Body.Close()
		}
	})
	b.Run("use", func(b *testing.B) {
		env := clavistest.New(b, clavistest.Options{Egress: clavistest.UseLoopback(), UseRateLimit: 1 << 30})
		u := env.Signup(b)
		v, _ := u.C.CreateVault(ctx, clavis.VaultInput{Name: "bench"})
		if _, err := u.C.PutSecret(ctx, v.ID, "api/key", clavis.SecretInput{Value: value}); err != nil {
			b.Fatal(err)
		}
		if _, err := u.C.PutUseConfig(ctx, v.ID, "api/key", clavis.UseConfigInput{AllowedHosts: []string{strings.TrimPrefix(up.URL, "http://")},
			AllowedPathPrefixes: []string{"/v1"}, Inject: clavis.UseInject{As: clavis.InjectBearer}, AllowHTTP: true}); err != nil {
			b.Fatal(err)
		}
		a := env.NewAgent(b, u, clavis.AgentInput{})
		if _, err := u.C.CreatePolicy(ctx, v.ID, clavis.PolicyInput{Pattern: "api/*", PrincipalType: "agent", PrincipalID: a.ID,
			Permissions: []string{"use"}}); err != nil {
			b.Fatal(err)
		}
		c := client.New(env.URL, client.WithHTTPClient(&http.Client{}), client.WithToken(a.Token))
		req := clavis.UseRequest{URL: up.URL + "/v1/models"}
		for b.Loop() {
			res, err := c.UseSecret(ctx, v.ID, "api/key", req)
			if err != nil || res.Status != 200 {
				b.Fatalf("use: %v", err)
			}
		}
	})
}
