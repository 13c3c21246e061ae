package clavistest_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"clavis.dev/clavis"
	"clavis.dev/clavis/internal/clavistest"
)

// TestServicesAgree is the shared behaviour test of the two implementations of the root's per-resource
// interfaces: the engine bound in-process (engine.As) and the Go client over real HTTP. One script of
// operations on vaults, secrets and versions, agents, policies, audit and the account runs once against
// each, in orgs of its own on one server, as the same kinds of principals (an owner, an agent with a read
// policy, an agent without, a user of another org). Every step must give the Kind the script expects,
// and the two transcripts must be equal: the same error Kinds and the same results, with ids replaced
// by names and times by whether they are set.
//
// A request binds its principal anew: in-process, Authenticate then engine.As (as the HTTP server does
// for each request); over HTTP, a Client with the credential. Revocation therefore shows on the next
// binding in-process and on the next call over HTTP, and the script binds again to observe it.
func TestServicesAgree(t *testing.T) {
	env := clavistest.New(t, clavistest.Options{Egress: clavistest.UseLoopback()})
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Echo-Key", r.Header.Get("X-Api-Key"))
		_, _ = fmt.Fprintf(w, "%s %s key=%s", r.Method, r.URL.Path, r.Header.Get("X-Api-Key")) // #nosec G705 -- a test upstream echoing to the server under test, not a browser
	}))
	t.Cleanup(upstream.Close)
	loopback := netip.MustParseAddr("127.0.0.1")
	local := servicesScript(t, env, upstream.URL, "engine", func(bearer string) (clavis.Services, error) {
		c, err := env.Engine.Authenticate(context.Background(), bearer, loopback)
		if err != nil {
			return nil, err
		}
		return env.Engine.As(c), nil
	})
	remote := servicesScript(t, env, upstream.URL, "client", func(bearer string) (clavis.Services, error) {
		return env.Client().WithToken(bearer), nil
	})
	if len(local) != len(remote) {
		t.Fatalf("transcripts have %d (engine) and %d (client) steps", len(local), len(remote))
	}
	for i := range local {
		if local[i] != remote[i] {
			t.Errorf("step %d differs:\nengine: %s\nclient: %s", i, local[i], remote[i])
		}
	}
}

// ok is the "Kind" of a step expected to succeed.
const ok = clavis.Kind(-1)

// transcript records what each step gave, with ids named.
type transcript struct {
	t     *testing.T
	impl  string
	names map[string]string // id → name
	lines []string
}

func (tr *transcript) name(id, name string) {
	if id != "" {
		tr.names[id] = "<" + name + ">"
	}
}

// rec records step's result or error and checks its Kind against want.
func (tr *transcript) rec(step string, want clavis.Kind, v any, err error) {
	tr.t.Helper()
	got := ok
	line := step + ": "
	if err != nil {
		got = clavis.KindOf(err)
		line += "error " + got.String()
	} else {
		b, merr := json.Marshal(shape(v))
		if merr != nil {
			tr.t.Fatalf("%s: %s: marshal: %v", tr.impl, step, merr)
		}
		line += string(b)
	}
	if got != want {
		tr.t.Errorf("%s: %s: got %v (%v), want %v", tr.impl, step, kindName(got), err, kindName(want))
	}
	tr.lines = append(tr.lines, line)
}

func kindName(k clavis.Kind) string {
	if k == ok {
		return "success"
	}
	return k.String()
}

var uuidRe = regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`)

// named returns the lines with every known id replaced by its name, and every other UUID (the
// __agent-keys vault, the secrets holding agents' private keys) by the order of its first appearance.
func (tr *transcript) named() []string {
	var pairs []string
	for id, n := range tr.names {
		pairs = append(pairs, id, n)
	}
	r := strings.NewReplacer(pairs...)
	seen := map[string]string{}
	out := make([]string, len(tr.lines))
	for i, l := range tr.lines {
		out[i] = uuidRe.ReplaceAllStringFunc(r.Replace(l), func(id string) string {
			if _, ok := seen[id]; !ok {
				seen[id] = fmt.Sprintf("<#%d>", len(seen)+1)
			}
			return seen[id]
		})
	}
	return out
}

// withRaw is a result with a key shown once.
type withRaw struct {
	V   any
	Raw clavis.Sensitive
}

// absent is a well-formed id that names nothing.
const absent = "00000000-0000-4000-8000-000000000000"

// servicesScript runs the script with services bound by bind to a bearer credential, and returns the
// transcript. upstream is a loopback HTTP server that use without read may call.
func servicesScript(t *testing.T, env *clavistest.Env, upstream, impl string, bind func(bearer string) (clavis.Services, error)) []string {
	t.Helper()
	ctx := context.Background()
	tr := &transcript{t: t, impl: impl, names: map[string]string{}}
	mustBind := func(bearer string) clavis.Services {
		t.Helper()
		svc, err := bind(bearer)
		if err != nil {
			t.Fatalf("%s: bind: %v", impl, err)
		}
		return svc
	}
	owner, stranger := env.Signup(t), env.Signup(t)
	tr.name(owner.ID, "owner")
	tr.name(owner.OrgID, "org")
	tr.name(owner.Email, "owner-email")
	tr.name(stranger.ID, "stranger")
	tr.name(stranger.OrgID, "stranger-org")
	o, s := mustBind(owner.Token), mustBind(stranger.Token)
	tr.name(absent, "absent")

	// Vaults.
	v, err := o.CreateVault(ctx, clavis.VaultInput{Name: "payments", Description: "cards"})
	if err != nil {
		t.Fatalf("%s: create vault: %v", impl, err)
	}
	tr.name(v.ID, "vault")
	tr.rec("owner CreateVault", ok, v, err)
	{
		x, err := o.CreateVault(ctx, clavis.VaultInput{})
		tr.rec("owner CreateVault without name", clavis.KindInvalid, x, err)
		x, err = o.CreateVault(ctx, clavis.VaultInput{Name: "__reserved"})
		tr.rec("owner CreateVault reserved name", clavis.KindInvalid, x, err)
		vs, err := o.ListVaults(ctx)
		tr.rec("owner ListVaults", ok, vs, err)
		x, err = o.GetVault(ctx, v.ID)
		tr.rec("owner GetVault", ok, x, err)
		x, err = o.GetVault(ctx, absent)
		tr.rec("owner GetVault absent", clavis.KindNotFound, x, err)
		x, err = s.GetVault(ctx, v.ID)
		tr.rec("stranger GetVault", clavis.KindNotFound, x, err)
		tr.rec("stranger DeleteVault", clavis.KindNotFound, nil, s.DeleteVault(ctx, v.ID))
		vs, err = s.ListVaults(ctx)
		tr.rec("stranger ListVaults", ok, vs, err)
	}

	// Secrets and versions.
	put := func(who string, svc clavis.Services, path string, in clavis.SecretInput, want clavis.Kind) *clavis.SecretMeta {
		t.Helper()
		m, err := svc.PutSecret(ctx, v.ID, path, in)
		if err == nil {
			tr.name(m.Secret.ID, "secret "+path)
		}
		tr.rec(who+" PutSecret "+path, want, m, err)
		return m
	}
	put("owner", o, "app/db", clavis.SecretInput{Value: "v1", Type: "password", Metadata: json.RawMessage(`{"team": "a"}`)}, ok)
	put("owner", o, "app/db", clavis.SecretInput{Value: "v2"}, ok)
	put("owner", o, "app/once", clavis.SecretInput{Value: "once", MaxAccessCount: new(1)}, ok)
	put("owner", o, "other/x", clavis.SecretInput{Value: "x"}, ok)
	put("owner", o, "app/old", clavis.SecretInput{Value: "old"}, ok)
	put("owner", o, "bad//path", clavis.SecretInput{Value: "x"}, clavis.KindInvalid)
	put("owner", o, "app/typed", clavis.SecretInput{Value: "x", Type: "banana"}, clavis.KindInvalid)
	put("owner", o, "app/never-readable", clavis.SecretInput{Value: "x", MaxAccessCount: new(0)}, clavis.KindInvalid)
	put("stranger", s, "app/db", clavis.SecretInput{Value: "x"}, clavis.KindNotFound)
	{
		sv, err := o.GetSecret(ctx, v.ID, "app/db")
		tr.rec("owner GetSecret", ok, sv, err)
		ms, err := o.ListSecrets(ctx, v.ID, "app/")
		tr.rec("owner ListSecrets app/", ok, ms, err)
		ms, err = o.ListSecrets(ctx, v.ID, "")
		tr.rec("owner ListSecrets", ok, ms, err)
		ms, err = o.ListVersions(ctx, v.ID, "app/db")
		tr.rec("owner ListVersions", ok, ms, err)
		sv, err = o.GetVersion(ctx, v.ID, "app/db", 1)
		tr.rec("owner GetVersion 1", ok, sv, err)
		tr.rec("owner DisableVersion 1", ok, nil, o.DisableVersion(ctx, v.ID, "app/db", 1))
		tr.rec("owner DisableVersion 1 again", ok, nil, o.DisableVersion(ctx, v.ID, "app/db", 1))
		sv, err = o.GetVersion(ctx, v.ID, "app/db", 1)
		tr.rec("owner GetVersion disabled", clavis.KindGone, sv, err)
		sv, err = o.GetVersion(ctx, v.ID, "app/db", 9)
		tr.rec("owner GetVersion absent", clavis.KindNotFound, sv, err)
		m, err := o.RestoreVersion(ctx, v.ID, "app/db", 1)
		tr.rec("owner RestoreVersion disabled", clavis.KindGone, m, err)
		m, err = o.RotateSecret(ctx, v.ID, "app/db", clavis.RotateInput{Length: new(16), Charset: "alphanumeric"})
		tr.rec("owner RotateSecret", ok, m, err)
		m, err = o.RotateSecret(ctx, v.ID, "app/db", clavis.RotateInput{Length: new(7)})
		tr.rec("owner RotateSecret too short", clavis.KindInvalid, m, err)
		m, err = o.RotateSecret(ctx, v.ID, "app/db", clavis.RotateInput{Length: new(0)})
		tr.rec("owner RotateSecret length 0", clavis.KindInvalid, m, err)
		m, err = o.RestoreVersion(ctx, v.ID, "app/db", 2)
		tr.rec("owner RestoreVersion 2", ok, m, err)
		sv, err = o.GetSecret(ctx, v.ID, "app/db")
		tr.rec("owner GetSecret restored", ok, sv, err)
		sv, err = o.GetSecret(ctx, v.ID, "app/once")
		tr.rec("owner GetSecret read-once", ok, sv, err)
		sv, err = o.GetSecret(ctx, v.ID, "app/once")
		tr.rec("owner GetSecret read-once again", clavis.KindGone, sv, err)
		tr.rec("owner DeleteSecret", ok, nil, o.DeleteSecret(ctx, v.ID, "app/old"))
		tr.rec("owner DeleteSecret again", clavis.KindGone, nil, o.DeleteSecret(ctx, v.ID, "app/old"))
		sv, err = o.GetSecret(ctx, v.ID, "app/old")
		tr.rec("owner GetSecret deleted", clavis.KindGone, sv, err)
		sv, err = o.GetSecret(ctx, v.ID, "app/never")
		tr.rec("owner GetSecret never written", clavis.KindNotFound, sv, err)
		tr.rec("owner DeleteSecret never written", clavis.KindNotFound, nil, o.DeleteSecret(ctx, v.ID, "app/never"))
		sv, err = s.GetSecret(ctx, v.ID, "app/db")
		tr.rec("stranger GetSecret", clavis.KindNotFound, sv, err)
	}

	// Agents.
	agent := func(in clavis.AgentInput, name string) (*clavis.AgentKey, string, clavis.Services) {
		t.Helper()
		ak, err := o.CreateAgent(ctx, in)
		if err != nil {
			t.Fatalf("%s: create agent: %v", impl, err)
		}
		tr.name(ak.Agent.ID, name)
		tr.rec("owner CreateAgent "+name, ok, ak, err)
		tok, err := env.Client().AgentToken(ctx, string(ak.Key), ak.Agent.ID)
		if err != nil {
			t.Fatalf("%s: agent token: %v", impl, err)
		}
		return ak, string(tok.AccessToken), mustBind(string(tok.AccessToken))
	}
	reader, readerToken, a := agent(clavis.AgentInput{Name: "reader", Description: "reads app", VaultIDs: []string{v.ID}, TokenTTL: new(600)}, "reader")
	idle, _, b := agent(clavis.AgentInput{Name: "idle", Scopes: []string{"app/**"}}, "idle")
	{
		x, err := o.CreateAgent(ctx, clavis.AgentInput{})
		tr.rec("owner CreateAgent without name", clavis.KindInvalid, x, err)
		x, err = o.CreateAgent(ctx, clavis.AgentInput{Name: "instant", TokenTTL: new(0)})
		tr.rec("owner CreateAgent token ttl 0", clavis.KindInvalid, x, err)
		as, err := o.ListAgents(ctx)
		tr.rec("owner ListAgents", ok, as, err)
		ag, err := o.GetAgent(ctx, reader.Agent.ID)
		tr.rec("owner GetAgent", ok, ag, err)
		ag, err = o.GetAgent(ctx, absent)
		tr.rec("owner GetAgent absent", clavis.KindNotFound, ag, err)
		ag, err = o.UpdateAgent(ctx, idle.Agent.ID, clavis.AgentPatch{Description: new("does nothing"), TokenTTL: new(60)})
		tr.rec("owner UpdateAgent", ok, ag, err)
		ag, err = o.UpdateAgent(ctx, idle.Agent.ID, clavis.AgentPatch{ClearTokenTTL: true})
		tr.rec("owner UpdateAgent clear ttl", ok, ag, err)
		ag, err = o.AgentMe(ctx)
		tr.rec("owner AgentMe", clavis.KindForbidden, ag, err)
		ag, err = s.GetAgent(ctx, reader.Agent.ID)
		tr.rec("stranger GetAgent", clavis.KindNotFound, ag, err)
		ag, err = a.AgentMe(ctx)
		tr.rec("reader AgentMe", ok, ag, err)
		if err == nil {
			tr.rec("reader AgentMe owner and org", ok, []string{ag.CreatedBy, ag.OrgID}, nil)
		}
		ag, err = a.GetAgent(ctx, reader.Agent.ID)
		tr.rec("reader GetAgent itself", ok, ag, err)
		ag, err = a.GetAgent(ctx, idle.Agent.ID)
		tr.rec("reader GetAgent other", clavis.KindNotFound, ag, err)
		as, err = a.ListAgents(ctx)
		tr.rec("reader ListAgents", clavis.KindForbidden, as, err)
		x2, err := a.CreateAgent(ctx, clavis.AgentInput{Name: "child"})
		tr.rec("reader CreateAgent", clavis.KindForbidden, x2, err)
	}

	// Policies.
	p, err := o.CreatePolicy(ctx, v.ID, clavis.PolicyInput{Pattern: "app/*", PrincipalType: clavis.PrincipalAgent,
		PrincipalID: reader.Agent.ID, Permissions: []string{"read"}})
	if err == nil {
		tr.name(p.ID, "policy")
	}
	tr.rec("owner CreatePolicy", ok, p, err)
	{
		x, err := o.CreatePolicy(ctx, v.ID, clavis.PolicyInput{Pattern: "app/*", PrincipalType: clavis.PrincipalAgent,
			PrincipalID: reader.Agent.ID, Permissions: []string{"fly"}})
		tr.rec("owner CreatePolicy bad permission", clavis.KindInvalid, x, err)
		x, err = o.CreatePolicy(ctx, v.ID, clavis.PolicyInput{Pattern: "app/*", PrincipalType: clavis.PrincipalAgent,
			PrincipalID: reader.Agent.ID, Permissions: []string{"read"}, Effect: new(clavis.Effect(""))})
		tr.rec("owner CreatePolicy empty effect", clavis.KindInvalid, x, err)
		x, err = s.CreatePolicy(ctx, v.ID, clavis.PolicyInput{Pattern: "**", PrincipalType: clavis.PrincipalUser,
			PrincipalID: stranger.ID, Permissions: []string{"read"}})
		tr.rec("stranger CreatePolicy", clavis.KindNotFound, x, err)
		deny, err := o.CreatePolicy(ctx, v.ID, clavis.PolicyInput{Pattern: "app/once", PrincipalType: clavis.PrincipalAgent,
			PrincipalID: reader.Agent.ID, Permissions: []string{"read"}, Effect: new(clavis.EffectDeny), Priority: 3,
			Conditions: json.RawMessage(`{"ip_allowlist":["127.0.0.0/8"]}`)})
		if err == nil {
			tr.name(deny.ID, "deny-policy")
		}
		tr.rec("owner CreatePolicy deny", ok, deny, err)
		ps, err := o.ListPolicies(ctx, v.ID)
		tr.rec("owner ListPolicies", ok, ps, err)
		x, err = o.UpdatePolicy(ctx, v.ID, p.ID, clavis.PolicyPatch{Priority: new(5), Permissions: &[]string{"read", "write"}})
		tr.rec("owner UpdatePolicy", ok, x, err)
		x, err = o.UpdatePolicy(ctx, v.ID, p.ID, clavis.PolicyPatch{Pattern: new("elsewhere/*")})
		tr.rec("owner UpdatePolicy immutable", clavis.KindInvalid, x, err)
		x, err = o.UpdatePolicy(ctx, v.ID, absent, clavis.PolicyPatch{Priority: new(1)})
		tr.rec("owner UpdatePolicy absent", clavis.KindNotFound, x, err)
		for _, q := range []struct {
			name string
			q    clavis.ExplainQuery
		}{
			{"reader read app/db", clavis.ExplainQuery{PrincipalType: clavis.PrincipalAgent, PrincipalID: reader.Agent.ID, Path: "app/db", Permission: clavis.PermRead}},
			{"reader read app/once", clavis.ExplainQuery{PrincipalType: clavis.PrincipalAgent, PrincipalID: reader.Agent.ID, Path: "app/once", Permission: clavis.PermRead}},
			{"reader delete app/db", clavis.ExplainQuery{PrincipalType: clavis.PrincipalAgent, PrincipalID: reader.Agent.ID, Path: "app/db", Permission: clavis.PermDelete}},
			{"idle read app/db from 10.0.0.1", clavis.ExplainQuery{PrincipalType: clavis.PrincipalAgent, PrincipalID: idle.Agent.ID, Path: "app/db", Permission: clavis.PermRead, IP: netip.MustParseAddr("10.0.0.1")}},
			{"self", clavis.ExplainQuery{Path: "app/db", Permission: clavis.PermRead}},
		} {
			ex, err := o.Explain(ctx, v.ID, q.q)
			tr.rec("owner Explain "+q.name, ok, ex, err)
		}
		ex, err := o.Explain(ctx, v.ID, clavis.ExplainQuery{Path: "app/db", Permission: "fly"})
		tr.rec("owner Explain bad permission", clavis.KindInvalid, ex, err)
		ex, err = a.Explain(ctx, v.ID, clavis.ExplainQuery{Path: "app/db", Permission: clavis.PermRead})
		tr.rec("reader Explain self", ok, ex, err)
		ex, err = a.Explain(ctx, v.ID, clavis.ExplainQuery{PrincipalType: clavis.PrincipalUser, PrincipalID: owner.ID, Path: "app/db", Permission: clavis.PermRead})
		tr.rec("reader Explain owner", clavis.KindForbidden, ex, err)
	}

	// What the policies let the agents do.
	{
		sv, err := a.GetSecret(ctx, v.ID, "app/db")
		tr.rec("reader GetSecret app/db", ok, sv, err)
		sv, err = a.GetSecret(ctx, v.ID, "other/x")
		tr.rec("reader GetSecret outside policy", clavis.KindForbidden, sv, err)
		sv, err = a.GetSecret(ctx, v.ID, "app/never")
		tr.rec("reader GetSecret never written", clavis.KindNotFound, sv, err)
		put("reader", a, "app/new", clavis.SecretInput{Value: "x"}, ok) // the policy now grants write
		put("reader", a, "other/new", clavis.SecretInput{Value: "x"}, clavis.KindForbidden)
		tr.rec("reader DeleteSecret outside policy", clavis.KindForbidden, nil, a.DeleteSecret(ctx, v.ID, "other/x"))
		tr.rec("reader DeleteSecret (write implies delete)", ok, nil, a.DeleteSecret(ctx, v.ID, "app/new"))
		ms, err := a.ListSecrets(ctx, v.ID, "")
		tr.rec("reader ListSecrets", ok, ms, err)
		vs, err := a.ListVaults(ctx)
		tr.rec("reader ListVaults", ok, vs, err)
		tr.rec("reader DeleteVault", clavis.KindForbidden, nil, a.DeleteVault(ctx, v.ID))
		sv, err = b.GetSecret(ctx, v.ID, "app/db")
		tr.rec("idle GetSecret", clavis.KindNotFound, sv, err)
		vs, err = b.ListVaults(ctx)
		tr.rec("idle ListVaults", ok, vs, err)
	}

	// Use without read.
	put("owner", o, "app/api-key", clavis.SecretInput{Value: "sk-0123456789abcdef-api"}, ok)
	{
		host := strings.TrimPrefix(upstream, "http://")
		cfg := clavis.UseConfigInput{AllowedHosts: []string{host}, AllowedPathPrefixes: []string{"/v1"},
			Inject: clavis.UseInject{As: clavis.InjectHeader, Name: "X-Api-Key"}, AllowHTTP: true}
		uc, err := o.PutUseConfig(ctx, v.ID, "app/api-key", cfg)
		tr.rec("owner PutUseConfig", ok, uc, err)
		uc, err = o.PutUseConfig(ctx, v.ID, "app/api-key", clavis.UseConfigInput{AllowedHosts: []string{"*.com"},
			AllowedPathPrefixes: []string{"/"}, Inject: clavis.UseInject{As: clavis.InjectBearer}})
		tr.rec("owner PutUseConfig public suffix wildcard", clavis.KindInvalid, uc, err)
		uc, err = o.PutUseConfig(ctx, v.ID, "app/db", cfg)
		tr.rec("owner PutUseConfig short value", clavis.KindConflict, uc, err)
		uc, err = o.PutUseConfig(ctx, v.ID, "app/never", cfg)
		tr.rec("owner PutUseConfig never written", clavis.KindNotFound, uc, err)
		uc, err = a.PutUseConfig(ctx, v.ID, "app/api-key", cfg)
		tr.rec("reader PutUseConfig", clavis.KindForbidden, uc, err)
		uc, err = a.GetUseConfig(ctx, v.ID, "app/api-key")
		tr.rec("reader GetUseConfig", ok, uc, err)
		uc, err = o.GetUseConfig(ctx, v.ID, "app/db")
		tr.rec("owner GetUseConfig none", clavis.KindNotFound, uc, err)
		uc, err = s.GetUseConfig(ctx, v.ID, "app/api-key")
		tr.rec("stranger GetUseConfig", clavis.KindNotFound, uc, err)
		req := clavis.UseRequest{Method: "POST", URL: upstream + "/v1/chat", Body: []byte("hi")}
		res, err := a.UseSecret(ctx, v.ID, "app/api-key", req)
		tr.rec("reader UseSecret", ok, res, err)
		res, err = a.UseSecret(ctx, v.ID, "app/api-key", clavis.UseRequest{URL: upstream + "/v2/chat"})
		tr.rec("reader UseSecret outside the prefixes", clavis.KindDestinationNotAllowed, res, err)
		res, err = a.UseSecret(ctx, v.ID, "app/api-key", clavis.UseRequest{URL: "https://user@" + host + "/v1"})
		tr.rec("reader UseSecret user-info", clavis.KindInvalid, res, err)
		res, err = a.UseSecret(ctx, v.ID, "app/db", req)
		tr.rec("reader UseSecret without a config", clavis.KindDestinationNotAllowed, res, err)
		res, err = a.UseSecret(ctx, v.ID, "other/x", req)
		tr.rec("reader UseSecret outside policy", clavis.KindForbidden, res, err)
		res, err = b.UseSecret(ctx, v.ID, "app/api-key", req)
		tr.rec("idle UseSecret", clavis.KindNotFound, res, err)
		tr.rec("owner DeleteUseConfig", ok, nil, o.DeleteUseConfig(ctx, v.ID, "app/api-key"))
		tr.rec("owner DeleteUseConfig again", clavis.KindNotFound, nil, o.DeleteUseConfig(ctx, v.ID, "app/api-key"))
		res, err = a.UseSecret(ctx, v.ID, "app/api-key", req)
		tr.rec("reader UseSecret after delete", clavis.KindDestinationNotAllowed, res, err)
	}

	// Approvals: the idle agent asks for a policy; a require_approval policy gates other/x for the reader.
	{
		req := clavis.ApprovalInput{Action: clavis.ApprovalPolicyChange, TargetType: "vault", TargetID: v.ID,
			Summary: json.RawMessage(`{"secret_path_pattern":"other/*","permissions":["read"]}`), Reason: "needs other"}
		ap, err := b.RequestApproval(ctx, req)
		if err == nil {
			tr.name(ap.ID, "approval")
		}
		tr.rec("idle RequestApproval", ok, ap, err)
		x, err := o.RequestApproval(ctx, req)
		tr.rec("owner RequestApproval", clavis.KindForbidden, x, err)
		bad := req
		bad.Summary = json.RawMessage(`{"secret_path_pattern":"a/*b","permissions":["read"]}`)
		x, err = b.RequestApproval(ctx, bad)
		tr.rec("idle RequestApproval bad pattern", clavis.KindInvalid, x, err)
		aps, err := o.ListApprovals(ctx, clavis.ApprovalQuery{Status: clavis.ApprovalPending})
		tr.rec("owner ListApprovals pending", ok, aps, err)
		aps, err = s.ListApprovals(ctx, clavis.ApprovalQuery{})
		tr.rec("stranger ListApprovals", ok, aps, err)
		aps, err = b.ListApprovals(ctx, clavis.ApprovalQuery{})
		tr.rec("idle ListApprovals", clavis.KindForbidden, aps, err)
		if ap != nil {
			x, err = b.GetApproval(ctx, ap.ID)
			tr.rec("idle GetApproval own", ok, x, err)
			x, err = s.GetApproval(ctx, ap.ID)
			tr.rec("stranger GetApproval", clavis.KindNotFound, x, err)
			x, err = o.DecideApproval(ctx, ap.ID, true, "fine")
			tr.rec("owner DecideApproval approve", ok, x, err)
			x, err = o.DecideApproval(ctx, ap.ID, false, "")
			tr.rec("owner DecideApproval again", clavis.KindConflict, x, err)
		}
		gate, err := o.CreatePolicy(ctx, v.ID, clavis.PolicyInput{Pattern: "other/*", PrincipalType: clavis.PrincipalAgent,
			PrincipalID: reader.Agent.ID, Permissions: []string{"read"}, RequireApproval: true})
		if err == nil {
			tr.name(gate.ID, "gate policy")
		}
		tr.rec("owner CreatePolicy require_approval", ok, gate, err)
		sv, err := a.GetSecret(ctx, v.ID, "other/x")
		var ce *clavis.Error
		if errors.As(err, &ce) && ce.ApprovalID != "" {
			tr.name(ce.ApprovalID, "access approval")
			x, err := o.DecideApproval(ctx, ce.ApprovalID, true, "")
			tr.rec("owner DecideApproval access", ok, x, err)
		}
		tr.rec("reader GetSecret gated", clavis.KindApprovalRequired, sv, err)
		sv, err = a.GetSecret(ctx, v.ID, "other/x")
		tr.rec("reader GetSecret with the grant", ok, sv, err)
		sv, err = a.GetSecret(ctx, v.ID, "other/x")
		if errors.As(err, &ce) && ce.ApprovalID != "" {
			tr.name(ce.ApprovalID, "second access approval")
		}
		tr.rec("reader GetSecret grant used", clavis.KindApprovalRequired, sv, err)
		if gate != nil {
			tr.rec("owner DeletePolicy gate", ok, nil, o.DeletePolicy(ctx, v.ID, gate.ID))
		}
	}

	// Enrolments addressed to the owner.
	{
		ens, err := o.ListEnrollments(ctx)
		tr.rec("owner ListEnrollments", ok, ens, err)
		ens, err = a.ListEnrollments(ctx)
		tr.rec("reader ListEnrollments", clavis.KindForbidden, ens, err)
		ag, err := o.ApproveEnrollment(ctx, absent, clavis.EnrollApproval{})
		tr.rec("owner ApproveEnrollment absent", clavis.KindNotFound, ag, err)
		tr.rec("owner DenyEnrollment absent", clavis.KindNotFound, nil, o.DenyEnrollment(ctx, absent))
	}

	// The account.
	{
		u, err := o.Me(ctx)
		tr.rec("owner Me", ok, u, err)
		u, err = o.UpdateMe(ctx, clavis.ProfilePatch{DisplayName: new("Ada")})
		tr.rec("owner UpdateMe", ok, u, err)
		u, err = a.Me(ctx)
		tr.rec("reader Me", clavis.KindForbidden, u, err)
		k, raw, err := o.CreateAPIKey(ctx, clavis.APIKeyInput{Name: "ci", Scopes: []string{"app/**"}})
		if err == nil {
			tr.name(k.ID, "api-key")
			tr.name(k.Prefix, "api-key-prefix")
		}
		tr.rec("owner CreateAPIKey", ok, withRaw{k, raw}, err)
		ks, err := o.ListAPIKeys(ctx)
		tr.rec("owner ListAPIKeys", ok, ks, err)
		if k != nil {
			tr.rec("owner RevokeAPIKey", ok, nil, o.RevokeAPIKey(ctx, k.ID))
		}
		tr.rec("owner RevokeAPIKey absent", clavis.KindNotFound, nil, o.RevokeAPIKey(ctx, absent))
		on, err := o.MFAStatus(ctx)
		tr.rec("owner MFAStatus", ok, on, err)
		tr.rec("owner MFADisable while off", clavis.KindConflict, nil, o.MFADisable(ctx, "", owner.Password))
		tr.rec("owner ChangePassword wrong current", clavis.KindForbidden, nil, o.ChangePassword(ctx, "wrong-"+owner.Password, "Another-pw-123456"))
	}

	// Sharing and the organisation.
	{
		db, err := o.GetSecret(ctx, v.ID, "app/db")
		if err != nil {
			t.Fatalf("%s: read app/db: %v", impl, err)
		}
		exp := time.Now().Add(time.Hour)
		sh, err := o.CreateShare(ctx, db.Secret.ID, clavis.ShareInput{RecipientType: clavis.ShareToAgent,
			RecipientID: reader.Agent.ID, ExpiresAt: &exp, MaxAccessCount: new(2)})
		if err == nil {
			tr.name(sh.ID, "share")
		}
		tr.rec("owner CreateShare to reader", ok, sh, err)
		if sh == nil {
			t.Fatalf("%s: no share", impl)
		}
		x, err := o.CreateShare(ctx, db.Secret.ID, clavis.ShareInput{RecipientType: "martian", ExpiresAt: &exp})
		tr.rec("owner CreateShare bad recipient type", clavis.KindInvalid, x, err)
		x, err = s.CreateShare(ctx, db.Secret.ID, clavis.ShareInput{RecipientType: clavis.ShareToAnyone, ExpiresAt: &exp})
		tr.rec("stranger CreateShare", clavis.KindNotFound, x, err)
		x, err = a.CreateShare(ctx, db.Secret.ID, clavis.ShareInput{RecipientType: clavis.ShareToAnyone, ExpiresAt: &exp})
		tr.rec("reader CreateShare without share permission", clavis.KindForbidden, x, err)
		sv, err := a.OpenShare(ctx, sh.ID, "")
		tr.rec("reader OpenShare before accepting", clavis.KindForbidden, sv, err)
		tr.rec("reader AcceptShare", ok, nil, a.AcceptShare(ctx, sh.ID))
		sv, err = a.OpenShare(ctx, sh.ID, "")
		tr.rec("reader OpenShare", ok, sv, err)
		sv, err = b.OpenShare(ctx, sh.ID, "")
		tr.rec("idle OpenShare", clavis.KindNotFound, sv, err)
		shs, err := a.ListInboundShares(ctx)
		tr.rec("reader ListInboundShares", ok, shs, err)
		shs, err = o.ListOutboundShares(ctx)
		tr.rec("owner ListOutboundShares", ok, shs, err)
		tr.rec("stranger RevokeShare", clavis.KindNotFound, nil, s.RevokeShare(ctx, sh.ID))
		tr.rec("owner RevokeShare", ok, nil, o.RevokeShare(ctx, sh.ID))
		sv, err = a.OpenShare(ctx, sh.ID, "")
		tr.rec("reader OpenShare revoked", clavis.KindNotFound, sv, err)
		tr.rec("reader DeclineShare revoked", clavis.KindNotFound, nil, a.DeclineShare(ctx, sh.ID))

		ms, err := o.ListMembers(ctx)
		tr.rec("owner ListMembers", ok, ms, err)
		ms, err = a.ListMembers(ctx)
		tr.rec("reader ListMembers", clavis.KindForbidden, ms, err)
		invitee := "invitee-" + impl + "-" + clavistest.RandHex(4) + "@example.com"
		tr.name(invitee, "invitee")
		inv, err := o.InviteMember(ctx, invitee, clavis.RoleAdmin)
		tr.rec("owner InviteMember", ok, inv, err)
		inv, err = o.InviteMember(ctx, owner.Email, "")
		tr.rec("owner InviteMember existing account", clavis.KindConflict, inv, err)
		u, err := o.SetMemberRole(ctx, owner.ID, clavis.RoleMember)
		tr.rec("owner SetMemberRole last owner", clavis.KindConflict, u, err)
		u, err = o.SetMemberRole(ctx, stranger.ID, clavis.RoleAdmin)
		tr.rec("owner SetMemberRole stranger", clavis.KindNotFound, u, err)
		tr.rec("owner RemoveMember self", clavis.KindConflict, nil, o.RemoveMember(ctx, owner.ID))
		kv, err := o.AgentKeysVault(ctx)
		tr.name(kv, "agent-keys-vault")
		tr.rec("owner AgentKeysVault", ok, kv, err)
		r, err := o.CreateIPRule(ctx, clavis.IPRuleInput{RuleType: "block", CIDR: "192.0.2.7", Label: "test-net"})
		if err == nil {
			tr.name(r.ID, "ip-rule")
		}
		tr.rec("owner CreateIPRule", ok, r, err)
		r2, err := o.CreateIPRule(ctx, clavis.IPRuleInput{RuleType: "allow", CIDR: "192.0.2.0/24"})
		tr.rec("owner CreateIPRule locking itself out", clavis.KindConflict, r2, err)
		rs, err := o.ListIPRules(ctx)
		tr.rec("owner ListIPRules", ok, rs, err)
		if r != nil {
			tr.rec("owner DeleteIPRule", ok, nil, o.DeleteIPRule(ctx, r.ID))
		}
	}

	// The audit log.
	{
		evs, err := o.ListAudit(ctx, clavis.AuditQuery{Limit: 1000})
		tr.rec("owner ListAudit", ok, evs, err)
		evs, err = o.ListAudit(ctx, clavis.AuditQuery{Action: "secret.read", VaultID: v.ID})
		tr.rec("owner ListAudit reads", ok, evs, err)
		evs, err = a.ListAudit(ctx, clavis.AuditQuery{})
		tr.rec("reader ListAudit own", ok, evs, err)
		evs, err = o.ListAudit(ctx, clavis.AuditQuery{Limit: -1})
		tr.rec("owner ListAudit negative limit", clavis.KindInvalid, evs, err)
		res, err := o.VerifyAudit(ctx, nil, nil, 0)
		tr.rec("owner VerifyAudit", ok, res, err)
		res, err = a.VerifyAudit(ctx, nil, nil, 0)
		tr.rec("reader VerifyAudit", clavis.KindForbidden, res, err)
	}

	// Tearing down.
	{
		tr.rec("owner DeletePolicy", ok, nil, o.DeletePolicy(ctx, v.ID, p.ID))
		tr.rec("owner DeletePolicy again", clavis.KindNotFound, nil, o.DeletePolicy(ctx, v.ID, p.ID))
		ak, err := o.RotateAgentKey(ctx, reader.Agent.ID)
		tr.rec("owner RotateAgentKey", ok, ak, err)
		ag, err := again(bind, readerToken, func(svc clavis.Services) (any, error) { return svc.AgentMe(ctx) })
		tr.rec("reader AgentMe after rotation", clavis.KindUnauthorized, ag, err)
		tr.rec("owner DeleteAgent", ok, nil, o.DeleteAgent(ctx, idle.Agent.ID))
		ag, err = o.GetAgent(ctx, idle.Agent.ID)
		tr.rec("owner GetAgent deleted", clavis.KindNotFound, ag, err)
		tr.rec("owner DeleteVault", ok, nil, o.DeleteVault(ctx, v.ID))
		x, err := o.GetVault(ctx, v.ID)
		tr.rec("owner GetVault deleted", clavis.KindNotFound, x, err)
		sv, err := o.GetSecret(ctx, v.ID, "app/db")
		tr.rec("owner GetSecret of deleted vault", clavis.KindNotFound, sv, err)
		tr.rec("owner RevokeToken", ok, nil, o.RevokeToken(ctx))
		u, err := again(bind, owner.Token, func(svc clavis.Services) (any, error) { return svc.Me(ctx) })
		tr.rec("owner Me after RevokeToken", clavis.KindUnauthorized, u, err)
	}
	return tr.named()
}

// again binds bearer anew and makes one call: the next request of a principal.
func again(bind func(string) (clavis.Services, error), bearer string, call func(clavis.Services) (any, error)) (any, error) {
	svc, err := bind(bearer)
	if err != nil {
		return nil, err
	}
	return call(svc)
}

// shape is what both implementations must agree on of a result: what the HTTP API shows of it, with
// times reduced to whether they are set and keys to their prefix.
func shape(v any) any {
	switch x := v.(type) {
	case nil:
		return nil
	case withRaw:
		return map[string]any{"v": shape(x.V), "raw": rawPrefix(x.Raw)}
	case *clavis.Vault:
		return map[string]any{"id": x.ID, "name": x.Name, "description": x.Description, "created_by": x.CreatedBy,
			"created_by_type": x.CreatedByType, "created_at": !x.CreatedAt.IsZero()}
	case []*clavis.Vault:
		return shapes(x)
	case *clavis.SecretMeta:
		return metaShape(*x)
	case *clavis.UseConfig:
		return map[string]any{"vault": x.VaultID, "path": x.Path, "hosts": x.AllowedHosts, "methods": x.AllowedMethods,
			"prefixes": x.AllowedPathPrefixes, "inject": x.Inject, "http": x.AllowHTTP, "created_by": x.CreatedBy,
			"created_by_type": x.CreatedByType, "created_at": !x.CreatedAt.IsZero(), "updated_at": !x.UpdatedAt.IsZero()}
	case *clavis.UseResult:
		names := slices.Sorted(maps.Keys(x.Headers))
		return map[string]any{"status": x.Status, "headers": names, "echo": x.Headers["x-echo-key"], "body": string(x.Body),
			"truncated": x.Truncated, "redactions": x.Redactions}
	case []clavis.SecretMeta:
		out := make([]any, len(x))
		for i, m := range x {
			out[i] = metaShape(m)
		}
		return out
	case *clavis.SecretValue:
		m := metaShape(x.SecretMeta)
		m["value"] = rawPrefix(x.Value)
		m["created_by"] = x.Version.CreatedBy
		return m
	case *clavis.AgentKey:
		return map[string]any{"agent": shape(x.Agent), "key": rawPrefix(x.Key)}
	case *clavis.Agent:
		return map[string]any{"id": x.ID, "name": x.Name, "description": x.Description, "scopes": list(x.Scopes),
			"vault_ids": list(x.VaultIDs), "active": x.Active, "expires_at": x.ExpiresAt != nil, "token_ttl": x.TokenTTL,
			"ssh_public_key": x.SSHPublicKey != "", "ecdh_public_key": x.ECDHPublicKey != "", "created_at": !x.CreatedAt.IsZero()}
	case []*clavis.Agent:
		return shapes(x)
	case *clavis.Policy:
		return map[string]any{"id": x.ID, "vault_id": x.VaultID, "pattern": x.Pattern, "principal_type": x.PrincipalType,
			"principal_id": x.PrincipalID, "permissions": x.Permissions, "conditions": compact(x.Conditions),
			"effect": x.Effect, "priority": x.Priority, "require_approval": x.RequireApproval, "expires_at": x.ExpiresAt != nil,
			"created_by": x.CreatedBy, "created_by_type": x.CreatedByType, "created_at": !x.CreatedAt.IsZero()}
	case []*clavis.Policy:
		return shapes(x)
	case *clavis.Approval:
		return map[string]any{"id": x.ID, "org_id": x.OrgID, "agent_id": x.AgentID, "action": x.Action,
			"target": x.TargetType + ":" + x.TargetID, "risk_tier": x.RiskTier, "status": x.Status,
			"summary": compact(x.Summary), "reason": x.Reason, "decision_reason": x.DecisionReason,
			"decided_by": x.DecidedBy, "decided_at": x.DecidedAt != nil, "expires_at": x.ExpiresAt.Sub(x.CreatedAt).String(),
			"created_at": !x.CreatedAt.IsZero()}
	case []*clavis.Approval:
		return shapes(x)
	case *clavis.Enrollment:
		return map[string]any{"id": x.ID, "name": x.Name, "description": x.Description, "human_email": x.HumanEmail,
			"status": x.Status, "agent_id": x.AgentID, "expires_at": x.ExpiresAt.Sub(x.CreatedAt).String(),
			"created_at": !x.CreatedAt.IsZero()}
	case []*clavis.Enrollment:
		return shapes(x)
	case *clavis.AuditEvent:
		d := maps.Clone(x.Details)
		if _, timed := d["duration_ms"]; timed {
			d["duration_ms"] = "set" // a use's duration differs from run to run
		}
		details, _ := json.Marshal(d) // numbers compare as JSON: the client decodes them as float64
		return map[string]any{"action": x.Action, "actor_id": x.ActorID, "actor_type": x.ActorType, "org_id": x.OrgID,
			"resource_type": x.ResourceType, "resource_id": x.ResourceID, "details": compact(details), "ip": x.IPAddress,
			"created_at": !x.CreatedAt.IsZero(), "chained": x.PrevEventID != "", "hashed": x.IntegrityHash != ""}
	case []*clavis.AuditEvent:
		return shapes(x)
	case *clavis.User:
		return map[string]any{"id": x.ID, "org_id": x.OrgID, "email": x.Email, "display_name": x.DisplayName, "role": x.Role,
			"marketing_emails": x.MarketingEmails, "totp_enabled": x.TOTPEnabled, "created_at": !x.CreatedAt.IsZero()}
	case *clavis.APIKey:
		return map[string]any{"id": x.ID, "name": x.Name, "prefix": x.Prefix, "scopes": list(x.Scopes), "active": x.Active,
			"expires_at": x.ExpiresAt != nil, "created_at": !x.CreatedAt.IsZero()}
	case []*clavis.APIKey:
		return shapes(x)
	case *clavis.Share: // what ShareCreated shows
		return map[string]any{"id": x.ID, "url": x.URL, "recipient_type": x.RecipientType, "recipient_id": x.RecipientID,
			"recipient_email": x.RecipientEmail, "max_access_count": x.MaxAccessCount, "expires_at": !x.ExpiresAt.IsZero()}
	case []*clavis.Share: // what ShareListItem shows
		out := make([]any, len(x))
		for i, sh := range x {
			m := shape(sh).(map[string]any)
			m["secret_id"], m["secret_path"], m["access_count"] = sh.SecretID, sh.SecretPath, sh.AccessCount
			m["accepted"], m["expired"], m["created_at"] = sh.Accepted, sh.Expired, !sh.CreatedAt.IsZero()
			delete(m, "url") // not in a list item
			out[i] = m
		}
		return out
	case *clavis.SharedSecret:
		return map[string]any{"id": x.ShareID, "path": x.Path, "type": x.Type, "value": rawPrefix(x.Value),
			"access_count": x.AccessCount, "max_access_count": x.MaxAccessCount}
	case []*clavis.User: // what OrgMember shows
		out := make([]any, len(x))
		for i, u := range x {
			out[i] = map[string]any{"id": u.ID, "email": u.Email, "display_name": u.DisplayName, "role": u.Role,
				"created_at": !u.CreatedAt.IsZero()}
		}
		return out
	case *clavis.Invite:
		return map[string]any{"email": x.Email, "role": x.Role, "expires_at": !x.ExpiresAt.IsZero()}
	case *clavis.IPRule:
		return map[string]any{"id": x.ID, "org_id": x.OrgID, "rule_type": x.RuleType, "cidr": x.CIDR, "label": x.Label,
			"applies_to": x.AppliesTo, "created_by": x.CreatedBy, "created_at": !x.CreatedAt.IsZero()}
	case []*clavis.IPRule:
		return shapes(x)
	}
	return v // Explanation, AuditVerification, bool, string, []string: compared as they are
}

func metaShape(m clavis.SecretMeta) map[string]any {
	return map[string]any{"id": m.Secret.ID, "vault_id": m.Secret.VaultID, "path": m.Secret.Path,
		"version": m.Version.Version, "type": m.Version.Type, "metadata": compact(m.Version.Metadata),
		"disabled": m.Version.Disabled, "expires_at": m.Version.ExpiresAt != nil, "created_at": !m.Version.CreatedAt.IsZero()}
}

func shapes[T any](xs []*T) []any {
	out := make([]any, len(xs))
	for i, x := range xs {
		out[i] = shape(x)
	}
	return out
}

// list makes nil and empty lists alike (the API shows [] or omits the key).
func list(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// compact is raw JSON without insignificant space; empty is {}.
func compact(raw []byte) string {
	if len(raw) == 0 {
		return "{}"
	}
	var b bytes.Buffer
	if err := json.Compact(&b, raw); err != nil {
		return fmt.Sprintf("invalid JSON %q", raw)
	}
	return b.String()
}

// rawPrefix shows the kind of a key or value (its first four characters) and whether it is set.
func rawPrefix(s clavis.Sensitive) string {
	v := string(s)
	if len(v) > 4 {
		return v[:4] + "…"
	}
	return v
}
