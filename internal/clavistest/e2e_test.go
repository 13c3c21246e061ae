package clavistest_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	_ "modernc.org/sqlite"

	"clavis.dev/clavis"
	"clavis.dev/clavis/internal/clavistest"
)

var ctx = context.Background()

func kindOf(err error) clavis.Kind {
	var e *clavis.Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return -1
}

func wantKind(t *testing.T, err error, want clavis.Kind, what string) {
	t.Helper()
	if got := kindOf(err); got != want {
		t.Fatalf("%s: got error %v (kind %v), want kind %v", what, err, got, want)
	}
}

func TestGoldenPath(t *testing.T) {
	env := clavistest.New(t)
	u := env.Signup(t)
	v, err := u.C.CreateVault(ctx, clavis.VaultInput{Name: "payments"})
	if err != nil {
		t.Fatal(err)
	}
	for path, value := range map[string]string{"api-keys/openai": "sk-1", "api-keys/anthropic": "sk-2", "db/password": "pg"} {
		if _, err := u.C.PutSecret(ctx, v.ID, path, clavis.SecretInput{Value: clavis.Sensitive(value)}); err != nil {
			t.Fatalf("put %s: %v", path, err)
		}
	}
	a := env.NewAgent(t, u, clavis.AgentInput{})
	if _, err := u.C.CreatePolicy(ctx, v.ID, clavis.PolicyInput{Pattern: "api-keys/*", PrincipalType: "agent",
		PrincipalID: a.ID, Permissions: []string{"read"}}); err != nil {
		t.Fatal(err)
	}
	list, err := a.C.ListSecrets(ctx, v.ID, "")
	if err != nil {
		t.Fatal(err)
	}
	var paths []string
	for _, s := range list {
		paths = append(paths, s.Secret.Path)
	}
	if got, want := strings.Join(paths, ","), "api-keys/anthropic,api-keys/openai"; got != want {
		t.Fatalf("agent list = %s, want %s", got, want)
	}
	s, err := a.C.GetSecret(ctx, v.ID, "api-keys/openai")
	if err != nil || string(s.Value) != "sk-1" {
		t.Fatalf("agent read = %+v, %v; want sk-1", s, err)
	}
	_, err = a.C.GetSecret(ctx, v.ID, "db/password")
	wantKind(t, err, clavis.KindForbidden, "read outside policy")
	_, err = a.C.GetSecret(ctx, v.ID, "api-keys/never")
	wantKind(t, err, clavis.KindNotFound, "permitted but missing")
	if err := u.C.DeleteSecret(ctx, v.ID, "api-keys/openai"); err != nil {
		t.Fatal(err)
	}
	_, err = a.C.GetSecret(ctx, v.ID, "api-keys/openai")
	wantKind(t, err, clavis.KindGone, "deleted secret")
	// another org sees nothing, and cannot tell a vault exists
	stranger := env.Signup(t)
	_, err = stranger.C.GetVault(ctx, v.ID)
	wantKind(t, err, clavis.KindNotFound, "foreign vault")
	_, err = stranger.C.GetSecret(ctx, v.ID, "db/password")
	wantKind(t, err, clavis.KindNotFound, "secret of a foreign vault")
}

// TestConcurrentWritersGetConsecutiveVersions: N concurrent PUTs on one path get versions 1..N exactly.
func TestConcurrentWritersGetConsecutiveVersions(t *testing.T) {
	env := clavistest.New(t)
	u := env.Signup(t)
	v, _ := u.C.CreateVault(ctx, clavis.VaultInput{Name: "race"})
	const n = 50
	versions := make([]int, n)
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			m, err := u.C.PutSecret(ctx, v.ID, "shared/key", clavis.SecretInput{Value: clavis.Sensitive(clavistest.RandHex(4))})
			if err != nil {
				errs <- err
				return
			}
			versions[i] = m.Version.Version
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("concurrent put: %v", err)
	}
	slices.Sort(versions)
	for i, got := range versions {
		if got != i+1 {
			t.Fatalf("versions = %v, want exactly 1..%d", versions, n)
		}
	}
	vs, err := u.C.ListVersions(ctx, v.ID, "shared/key")
	if err != nil || len(vs) != n || vs[0].Version.Version != n {
		t.Fatalf("list versions: %d items (newest %v), %v", len(vs), vs, err)
	}
}

// TestReadLimitExactlyOnce: with max_access_count 1, exactly one of 100 concurrent reads succeeds.
func TestReadLimitExactlyOnce(t *testing.T) {
	env := clavistest.New(t)
	u := env.Signup(t)
	v, _ := u.C.CreateVault(ctx, clavis.VaultInput{Name: "limit"})
	if _, err := u.C.PutSecret(ctx, v.ID, "once", clavis.SecretInput{Value: "burn-after-reading", MaxAccessCount: new(1)}); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	counts := map[string]int{}
	var wg sync.WaitGroup
	for range 100 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := u.C.GetSecret(ctx, v.ID, "once")
			mu.Lock()
			defer mu.Unlock()
			if err == nil {
				counts["ok"]++
			} else {
				counts[kindOf(err).String()]++
			}
		}()
	}
	wg.Wait()
	if counts["ok"] != 1 || counts["gone"] != 99 {
		t.Fatalf("outcomes %v, want exactly 1 ok and 99 gone", counts)
	}
	evs, err := u.C.ListAudit(ctx, clavis.AuditQuery{Action: "secret.read"})
	if err != nil || len(evs) != 1 {
		t.Fatalf("secret.read events = %d (%v), want exactly 1", len(evs), err)
	}
}

func TestRotatePropertiesAndRestore(t *testing.T) {
	env := clavistest.New(t)
	u := env.Signup(t)
	v, _ := u.C.CreateVault(ctx, clavis.VaultInput{Name: "rot"})
	if _, err := u.C.PutSecret(ctx, v.ID, "db/pw", clavis.SecretInput{Value: "original", Type: "password",
		Metadata: json.RawMessage(`{"team":"a"}`)}); err != nil {
		t.Fatal(err)
	}
	alphabets := map[string]func(r rune) bool{
		"hex":          func(r rune) bool { return strings.ContainsRune("0123456789abcdef", r) },
		"base64":       func(r rune) bool { return isAlnum(r) || r == '+' || r == '/' },
		"alphanumeric": isAlnum,
		"ascii":        func(r rune) bool { return r >= 0x21 && r <= 0x7e },
	}
	seen := map[string]bool{}
	for charset, ok := range alphabets {
		for _, length := range []int{8, 9, 31, 64, 333, 1024} {
			m, err := u.C.RotateSecret(ctx, v.ID, "db/pw", clavis.RotateInput{Length: new(length), Charset: charset})
			if err != nil {
				t.Fatalf("rotate %s/%d: %v", charset, length, err)
			}
			if m.Version.Type != "password" || string(m.Version.Metadata) != `{"team":"a"}` {
				t.Fatalf("rotate must carry type and metadata over: %+v", m)
			}
			s, err := u.C.GetSecret(ctx, v.ID, "db/pw")
			if err != nil {
				t.Fatal(err)
			}
			val := string(s.Value)
			if len(val) != length {
				t.Fatalf("%s/%d: got length %d", charset, length, len(val))
			}
			for _, r := range val {
				if !ok(r) {
					t.Fatalf("%s/%d: character %q outside the charset", charset, length, r)
				}
			}
			if seen[val] {
				t.Fatalf("rotation repeated a value")
			}
			seen[val] = true
		}
	}
	for _, bad := range []clavis.RotateInput{{Length: new(7)}, {Length: new(1025)}, {Charset: "emoji"}, {Type: "banana"}} {
		_, err := u.C.RotateSecret(ctx, v.ID, "db/pw", bad)
		wantKind(t, err, clavis.KindInvalid, "bad rotate input")
	}
	m, err := u.C.RestoreVersion(ctx, v.ID, "db/pw", 1)
	if err != nil {
		t.Fatal(err)
	}
	s, _ := u.C.GetSecret(ctx, v.ID, "db/pw")
	if string(s.Value) != "original" || s.Version.Version != m.Version.Version {
		t.Fatalf("restore: value %q version %d, want original at %d", string(s.Value), s.Version.Version, m.Version.Version)
	}
}

func isAlnum(r rune) bool {
	return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9'
}

// TestBadInputIsPrecise4xx: malformed input gets a precise problem and writes nothing.
func TestBadInputIsPrecise4xx(t *testing.T) {
	env := clavistest.New(t)
	u := env.Signup(t)
	v, _ := u.C.CreateVault(ctx, clavis.VaultInput{Name: "bad"})
	tok := bearer(t, env, u)
	url := env.URL + "/v1/vaults/" + v.ID + "/secrets/"
	deep := strings.Repeat("[", 40) + strings.Repeat("]", 40)
	cases := []struct {
		name, method, path, body string
		want                     int
	}{
		{"malformed JSON", "PUT", "k", `{"value":`, 400},
		{"array body", "PUT", "k", `["value"]`, 400},
		{"null body", "PUT", "k", `null`, 400},
		{"wrong type", "PUT", "k", `{"value":42}`, 400},
		{"metadata not object", "PUT", "k", `{"value":"v","metadata":[1]}`, 400},
		{"bad time", "PUT", "k", `{"value":"v","expires_at":"tomorrow"}`, 400},
		{"past expiry", "PUT", "k", `{"value":"v","expires_at":"2001-01-01T00:00:00Z"}`, 400},
		{"zero access count", "PUT", "k", `{"value":"v","max_access_count":0}`, 400},
		{"deep nesting", "PUT", "k", `{"value":"v","metadata":{"x":` + deep + `}}`, 400},
		{"dot segment", "PUT", "a/%2E%2E/b", `{"value":"v"}`, 400},
		{"empty segment", "PUT", "a//b", `{"value":"v"}`, 400},
		{"space", "PUT", "a%20b", `{"value":"v"}`, 400},
		{"too long", "PUT", strings.Repeat("p", 513), `{"value":"v"}`, 400},
		{"value over 512 KiB", "PUT", "k", `{"value":"` + strings.Repeat("x", 512<<10+1) + `"}`, 413},
		{"body over 1 MiB", "PUT", "k", `{"value":"v","pad":"` + strings.Repeat("x", 1<<20) + `"}`, 413},
		{"bad env_bundle", "PUT", "k", `{"value":"GOOD=1\nnot a line","type":"env_bundle"}`, 400},
		{"bad version", "GET", "", "", 400},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			target := url + c.path
			if c.name == "bad version" {
				target = env.URL + "/v1/vaults/" + v.ID + "/secret-version/k/zero"
			}
			req, _ := http.NewRequest(c.method, target, strings.NewReader(c.body))
			req.Header.Set("Authorization", "Bearer "+tok)
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(res.Body)
			_ = res.Body.Close() // read already
			if res.StatusCode != c.want || !strings.HasPrefix(res.Header.Get("Content-Type"), "application/problem+json") {
				t.Fatalf("got %d %s %s, want %d problem", res.StatusCode, res.Header.Get("Content-Type"), body, c.want)
			}
			var p map[string]any
			if err := json.Unmarshal(body, &p); err != nil || p["detail"] == "" {
				t.Fatalf("problem body %s: %v", body, err)
			}
		})
	}
	if list, err := u.C.ListSecrets(ctx, v.ID, ""); err != nil || len(list) != 0 {
		t.Fatalf("bad input left secrets behind: %v %v", list, err)
	}
	if evs, _ := u.C.ListAudit(ctx, clavis.AuditQuery{Action: "secret.write"}); len(evs) != 0 {
		t.Fatalf("bad input left %d secret.write events", len(evs))
	}
}

func bearer(t *testing.T, env *clavistest.Env, u *clavistest.User) string {
	t.Helper()
	tok, err := env.Client().Login(ctx, u.Email, u.Password)
	if err != nil {
		t.Fatal(err)
	}
	return string(tok.AccessToken)
}

// TestCanariesNeverLeak writes canary values and keys, exercises every surface, and scans the database
// files, logs, audit events, list responses and metrics for them.
func TestCanariesNeverLeak(t *testing.T) {
	env := clavistest.New(t)
	u := env.Signup(t)
	v, _ := u.C.CreateVault(ctx, clavis.VaultInput{Name: "canary"})
	secretCanary := "CANARY-VALUE-" + clavistest.RandHex(12)
	if _, err := u.C.PutSecret(ctx, v.ID, "c/one", clavis.SecretInput{Value: clavis.Sensitive(secretCanary)}); err != nil {
		t.Fatal(err)
	}
	if _, err := u.C.RotateSecret(ctx, v.ID, "c/rotated", clavis.RotateInput{}); err == nil {
		t.Fatalf("rotating a never-written path must fail")
	}
	_, apiKey, err := u.C.CreateAPIKey(ctx, clavis.APIKeyInput{Name: "canary-key"})
	if err != nil {
		t.Fatal(err)
	}
	a := env.NewAgent(t, u, clavis.AgentInput{})
	if _, err := u.C.CreatePolicy(ctx, v.ID, clavis.PolicyInput{Pattern: "c/**", PrincipalType: "agent",
		PrincipalID: a.ID, Permissions: []string{"read"}}); err != nil {
		t.Fatal(err)
	}
	got, err := a.C.GetSecret(ctx, v.ID, "c/one")
	if err != nil || string(got.Value) != secretCanary {
		t.Fatalf("agent read: %v", err)
	}
	_, _ = a.C.GetSecret(ctx, v.ID, "c/denied/../x")
	canaries := map[string]string{"secret value": secretCanary, "user API key": string(apiKey), "agent key": a.Key, "password": u.Password}

	var surfaces = map[string][]byte{"logs": []byte(env.Logs())}
	for _, f := range []string{env.DBPath, env.DBPath + "-wal", env.DBPath + "-shm"} {
		if b, err := os.ReadFile(f); err == nil { // #nosec G304 -- the test server's own database files
			surfaces[filepath.Base(f)] = b
		}
	}
	evs, err := u.C.ListAudit(ctx, clavis.AuditQuery{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	surfaces["audit events"], _ = json.Marshal(evs)
	list, _ := u.C.ListSecrets(ctx, v.ID, "")
	surfaces["secret list"], _ = json.Marshal(list)
	agents, _ := u.C.ListAgents(ctx)
	surfaces["agent list"], _ = json.Marshal(agents)
	keys, _ := u.C.ListAPIKeys(ctx)
	surfaces["key list"], _ = json.Marshal(keys)
	res, err := http.Get(env.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	surfaces["metrics"], _ = io.ReadAll(res.Body)
	_ = res.Body.Close() // read already
	if len(surfaces["clavis.db"])+len(surfaces["clavis.db-wal"]) == 0 {
		t.Fatalf("no database bytes to scan")
	}
	for where, b := range surfaces {
		for what, c := range canaries {
			if bytes.Contains(b, []byte(c)) {
				t.Errorf("%s found in %s", what, where)
			}
		}
	}
}

// TestStoredCiphertextTamperAndMove: a flipped byte or a ciphertext moved to another secret never opens.
func TestStoredCiphertextTamperAndMove(t *testing.T) {
	env := clavistest.New(t)
	u := env.Signup(t)
	v, _ := u.C.CreateVault(ctx, clavis.VaultInput{Name: "tamper"})
	for _, p := range []string{"a", "b", "c"} {
		if _, err := u.C.PutSecret(ctx, v.ID, p, clavis.SecretInput{Value: clavis.Sensitive("value-of-" + p)}); err != nil {
			t.Fatal(err)
		}
	}
	db, err := sql.Open("sqlite", env.DBPath)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	exec := func(q string, args ...any) {
		t.Helper()
		if _, err := db.Exec(q, args...); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	secretID := func(path string) string {
		var id string
		if err := db.QueryRow(`SELECT id FROM secrets WHERE vault_id = ? AND path = ?`, v.ID, path).Scan(&id); err != nil {
			t.Fatal(err)
		}
		return id
	}
	// move: b's ciphertext and data key copied onto a
	exec(`UPDATE versions SET ciphertext = (SELECT ciphertext FROM versions WHERE secret_id = ?),
		wrapped_dek = (SELECT wrapped_dek FROM versions WHERE secret_id = ?) WHERE secret_id = ?`,
		secretID("b"), secretID("b"), secretID("a"))
	// tamper: flip the last byte of c's ciphertext
	var ct []byte
	if err := db.QueryRow(`SELECT ciphertext FROM versions WHERE secret_id = ?`, secretID("c")).Scan(&ct); err != nil {
		t.Fatal(err)
	}
	ct[len(ct)/2] ^= 1
	exec(`UPDATE versions SET ciphertext = ? WHERE secret_id = ?`, ct, secretID("c"))
	for _, p := range []string{"a", "c"} {
		s, err := u.C.GetSecret(ctx, v.ID, p)
		wantKind(t, err, clavis.KindInternal, "reading moved or tampered ciphertext of "+p)
		if s != nil {
			t.Fatalf("%s: a value came back: %q", p, string(s.Value))
		}
	}
	if s, err := u.C.GetSecret(ctx, v.ID, "b"); err != nil || string(s.Value) != "value-of-b" {
		t.Fatalf("untouched secret b: %v", err)
	}
}

// TestRefusedAgentExchangesAreAudited: a known agent refused at key exchange (deactivated, wrong
// agent_id) leaves an auth.failure event in its org; the refusal itself is the spec's 401.
func TestRefusedAgentExchangesAreAudited(t *testing.T) {
	env := clavistest.New(t)
	u := env.Signup(t)
	a := env.NewAgent(t, u, clavis.AgentInput{})
	b := env.NewAgent(t, u, clavis.AgentInput{})
	_, err := env.Client().AgentToken(ctx, a.Key, b.ID)
	wantKind(t, err, clavis.KindUnauthorized, "agent_id of another agent")
	if _, err := u.C.UpdateAgent(ctx, a.ID, clavis.AgentPatch{Active: new(false)}); err != nil {
		t.Fatal(err)
	}
	_, err = env.Client().AgentToken(ctx, a.Key, a.ID)
	wantKind(t, err, clavis.KindUnauthorized, "deactivated agent")
	evs, err := u.C.ListAudit(ctx, clavis.AuditQuery{Action: "auth.failure", ResourceID: a.ID})
	if err != nil {
		t.Fatal(err)
	}
	var reasons []string
	for _, e := range evs {
		reasons = append(reasons, fmt.Sprint(e.Details["reason"]))
	}
	if strings.Join(reasons, ",") != "deactivated,agent_id_mismatch" {
		t.Fatalf("auth.failure reasons for the agent, newest first = %v, want [deactivated agent_id_mismatch]", reasons)
	}
}
