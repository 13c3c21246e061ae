package clavistest_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"clavis.dev/clavis"
	"clavis.dev/clavis/internal/clavistest"
)

// matrixIDs are the identifiers one probe is addressed with: the victim's real ones, random ones that
// name nothing, or malformed ones.
type matrixIDs struct {
	vault, path, policy, agent, key string
}

// matrixAttacker is one caller that must not reach the victim's objects.
type matrixAttacker struct {
	name      string
	bearer    string
	id        string // principal id
	orgID     string
	agent     bool   // an agent: human-only routes refuse it (403) before any lookup
	seesVault bool   // holds a policy on the victim vault (on other paths), so the vault is visible
	revoked   bool   // deactivated: every authenticated request is 401
	ownVault  string // a vault the attacker manages in its own org ("" for none), for mixed probes
	// canaries are the victim values that must appear in no answer to this attacker.
	canaries map[string]string
}

type matrixScope int

const (
	scopeVault matrixScope = iota // addressed under /v1/vaults/{vault_id}
	scopeAgent                    // /v1/agents/{agent_id}
	scopeKey                      // /v1/auth/api-keys/{key_id}
	scopeMixed                    // the attacker's own vault with the victim's inner ids
	scopeList                     // a list or query that takes no path id
)

// matrixProbe is one route. url builds the path (and query) from the ids; inner reports whether the
// route names an object inside the vault, so that "real vault, random object" is a distinct variant.
type matrixProbe struct {
	name, method string
	scope        matrixScope
	inner        bool
	url          func(id matrixIDs, a *matrixAttacker) string
	body         func(id matrixIDs, a *matrixAttacker) string
	// want is the status for the real ids, when it does not follow from the scope (lists, mixed probes).
	want func(a *matrixAttacker) []int
}

// expect returns the statuses spec §1.7, §3.7 and §4 allow for attacker a on probe p with the ids of
// variant.
func (p matrixProbe) expect(a *matrixAttacker, variant string) []int {
	if a.revoked {
		return []int{http.StatusUnauthorized}
	}
	if p.want != nil {
		return p.want(a)
	}
	switch p.scope {
	case scopeAgent:
		if a.agent && p.method == http.MethodGet {
			// An agent may GET only its own record: §4.7 says 404 otherwise, §3.7 reads as a route-level
			// 403. Either is fine as long as real and random ids get the same answer.
			return []int{http.StatusForbidden, http.StatusNotFound}
		}
		if a.agent {
			return []int{http.StatusForbidden} // §1.7.6: human-only route
		}
		return []int{http.StatusNotFound}
	case scopeKey:
		if a.agent {
			return []int{http.StatusForbidden}
		}
		return []int{http.StatusNotFound}
	}
	// Vault-scoped: another org's vault, an invisible one, a random or malformed id → 404 (§1.7.1).
	if !a.seesVault || variant == "random" || variant == "malformed" {
		return []int{http.StatusNotFound}
	}
	switch p.name {
	case "get vault", "list secrets":
		return []int{http.StatusOK}
	}
	return []int{http.StatusForbidden} // §1.7.2 inside a visible vault; §3.7 policy managers; §4.4 delete
}

func TestCrossTenantMatrix(t *testing.T) {
	env := clavistest.New(t)
	tag := clavistest.RandHex(6)

	// The victim org: an owner with a vault of versioned secrets, an agent with a policy, an API key.
	owner := env.Signup(t)
	vault, err := owner.C.CreateVault(ctx, clavis.VaultInput{Name: "victim-vault-" + tag, Description: "victim-description-" + tag})
	if err != nil {
		t.Fatal(err)
	}
	paths := []string{"api-keys/openai", "db/password", "deep/a/b/c"}
	values := map[string][]string{}
	secretIDs := map[string]string{}
	for _, p := range paths {
		for v := 1; v <= 2; v++ {
			val := fmt.Sprintf("CANARY-%s-v%d-%s", strings.ReplaceAll(p, "/", "-"), v, clavistest.RandHex(8))
			m, err := owner.C.PutSecret(ctx, vault.ID, p, clavis.SecretInput{Value: clavis.Sensitive(val)})
			if err != nil {
				t.Fatalf("put %s: %v", p, err)
			}
			values[p] = append(values[p], val)
			secretIDs[p] = m.Secret.ID
		}
	}
	victimAgent := env.NewAgent(t, owner, clavis.AgentInput{Name: "victim-agent-" + tag, Description: "victim-agent-about-" + tag})
	victimAgentTok := secAgentToken(t, env, victimAgent)
	victimPolicy, err := owner.C.CreatePolicy(ctx, vault.ID, clavis.PolicyInput{Pattern: "api-keys/*",
		PrincipalType: "agent", PrincipalID: victimAgent.ID, Permissions: []string{"read"}})
	if err != nil {
		t.Fatal(err)
	}
	apiKey, rawAPIKey, err := owner.C.CreateAPIKey(ctx, clavis.APIKeyInput{Name: "victim-key-" + tag})
	if err != nil {
		t.Fatal(err)
	}

	// The attackers.
	stranger := env.Signup(t)
	strangerVault, err := stranger.C.CreateVault(ctx, clavis.VaultInput{Name: "stranger-vault"})
	if err != nil {
		t.Fatal(err)
	}
	strangerAgent := env.NewAgent(t, stranger, clavis.AgentInput{})
	strangerAgentVault, err := strangerAgent.C.CreateVault(ctx, clavis.VaultInput{Name: "stranger-agent-vault"})
	if err != nil {
		t.Fatal(err)
	}
	noPolicy := env.NewAgent(t, owner, clavis.AgentInput{})
	elsewhere := env.NewAgent(t, owner, clavis.AgentInput{})
	if _, err := owner.C.CreatePolicy(ctx, vault.ID, clavis.PolicyInput{Pattern: "elsewhere/**",
		PrincipalType: "agent", PrincipalID: elsewhere.ID, Permissions: []string{"read"}}); err != nil {
		t.Fatal(err)
	}
	deactivated := env.NewAgent(t, owner, clavis.AgentInput{})
	if _, err := owner.C.CreatePolicy(ctx, vault.ID, clavis.PolicyInput{Pattern: "**",
		PrincipalType: "agent", PrincipalID: deactivated.ID, Permissions: []string{"read", "write", "delete", "rotate", "share"}}); err != nil {
		t.Fatal(err)
	}
	deactivatedTok := secAgentToken(t, env, deactivated) // obtained while the agent was active
	if _, err := deactivated.C.GetSecret(ctx, vault.ID, "db/password"); err != nil {
		t.Fatalf("the agent to be deactivated must read before deactivation: %v", err)
	}
	if _, err := owner.C.UpdateAgent(ctx, deactivated.ID, clavis.AgentPatch{Active: new(false)}); err != nil {
		t.Fatal(err)
	}

	// Canaries: what no attacker may learn. Same-org attackers legitimately know the org id and the
	// owner's id (AgentSelf.created_by); the one that holds a policy on the vault also sees the vault.
	base := map[string]string{
		"victim agent name":        "victim-agent-" + tag,
		"victim agent description": "victim-agent-about-" + tag,
		"victim API key name":      "victim-key-" + tag,
		"victim API key prefix":    apiKey.Prefix,
		"victim API key":           string(rawAPIKey),
		"victim agent key":         victimAgent.Key,
		"owner email":              owner.Email,
		"owner password":           owner.Password,
	}
	for _, p := range paths {
		base["secret id of "+p] = secretIDs[p]
		for i, v := range values[p] {
			base[fmt.Sprintf("value v%d of %s", i+1, p)] = v
		}
	}
	with := func(m map[string]string, more map[string]string) map[string]string {
		out := map[string]string{}
		for k, v := range m {
			out[k] = v
		}
		for k, v := range more {
			out[k] = v
		}
		return out
	}
	vaultCanaries := map[string]string{"vault name": vault.Name, "vault description": vault.Description}
	foreignCanaries := with(vaultCanaries, map[string]string{"owner id": owner.ID, "victim org id": owner.OrgID})

	strangerTok := bearer(t, env, stranger)
	attackers := []*matrixAttacker{
		{name: "other-org user", bearer: strangerTok, id: stranger.ID, orgID: stranger.OrgID,
			ownVault: strangerVault.ID, canaries: with(base, foreignCanaries)},
		{name: "other-org agent", bearer: secAgentToken(t, env, strangerAgent), id: strangerAgent.ID, orgID: stranger.OrgID,
			agent: true, ownVault: strangerAgentVault.ID, canaries: with(base, foreignCanaries)},
		{name: "same-org agent without policy", bearer: secAgentToken(t, env, noPolicy), id: noPolicy.ID, orgID: owner.OrgID,
			agent: true, canaries: with(base, vaultCanaries)},
		{name: "same-org agent with a policy elsewhere", bearer: secAgentToken(t, env, elsewhere), id: elsewhere.ID,
			orgID: owner.OrgID, agent: true, seesVault: true, canaries: base},
		{name: "deactivated agent (token)", bearer: deactivatedTok, id: deactivated.ID, orgID: owner.OrgID,
			agent: true, revoked: true, canaries: base},
		{name: "deactivated agent (raw key)", bearer: deactivated.Key, id: deactivated.ID, orgID: owner.OrgID,
			agent: true, revoked: true, canaries: base},
	}

	v := func(id matrixIDs, rest string) string { return "/v1/vaults/" + id.vault + rest }
	fixed := func(s string) func(matrixIDs, *matrixAttacker) string {
		return func(matrixIDs, *matrixAttacker) string { return s }
	}
	selfGrant := func(id matrixIDs, a *matrixAttacker) string {
		typ := "agent"
		if !a.agent {
			typ = "user"
		}
		return `{"secret_path_pattern":"**","principal_type":"` + typ + `","principal_id":"` + a.id +
			`","permissions":["read","write","delete","rotate","share"]}`
	}
	explainQuery := func(typ, principal string) string {
		return "?" + url.Values{"principal_type": {typ}, "principal_id": {principal}, "path": {"api-keys/openai"},
			"permission": {"read"}}.Encode()
	}
	statuses := func(codes ...int) func(*matrixAttacker) []int { return func(*matrixAttacker) []int { return codes } }
	humanOnly := func(a *matrixAttacker) []int {
		if a.agent {
			return []int{http.StatusForbidden}
		}
		return []int{http.StatusOK}
	}
	probes := []matrixProbe{
		// Reads first, then writes, then deletes, so that a wrongly successful delete cannot mask the rest.
		{name: "get vault", method: "GET", scope: scopeVault, url: func(id matrixIDs, _ *matrixAttacker) string { return v(id, "") }},
		{name: "list secrets", method: "GET", scope: scopeVault, url: func(id matrixIDs, _ *matrixAttacker) string { return v(id, "/secrets?prefix=") }},
		{name: "get secret", method: "GET", scope: scopeVault, inner: true, url: func(id matrixIDs, _ *matrixAttacker) string { return v(id, "/secrets/"+id.path) }},
		{name: "get secret (%2F)", method: "GET", scope: scopeVault, inner: true, url: func(id matrixIDs, _ *matrixAttacker) string {
			return v(id, "/secrets/"+strings.ReplaceAll(id.path, "/", "%2F"))
		}},
		{name: "list versions", method: "GET", scope: scopeVault, inner: true, url: func(id matrixIDs, _ *matrixAttacker) string { return v(id, "/secret-versions/"+id.path) }},
		{name: "get version", method: "GET", scope: scopeVault, inner: true, url: func(id matrixIDs, _ *matrixAttacker) string { return v(id, "/secret-version/"+id.path+"/1") }},
		{name: "list policies", method: "GET", scope: scopeVault, url: func(id matrixIDs, _ *matrixAttacker) string { return v(id, "/policies") }},
		{name: "explain", method: "GET", scope: scopeVault, inner: true, url: func(id matrixIDs, _ *matrixAttacker) string {
			return v(id, "/policies/explain"+explainQuery("agent", id.agent))
		}},
		{name: "get agent", method: "GET", scope: scopeAgent, url: func(id matrixIDs, _ *matrixAttacker) string { return "/v1/agents/" + id.agent }},

		{name: "put secret", method: "PUT", scope: scopeVault, inner: true, url: func(id matrixIDs, _ *matrixAttacker) string { return v(id, "/secrets/"+id.path) },
			body: fixed(`{"value":"ATTACKER-WRITE-` + tag + `"}`)},
		{name: "disable version", method: "POST", scope: scopeVault, inner: true, url: func(id matrixIDs, _ *matrixAttacker) string {
			return v(id, "/secret-version-disable/"+id.path+"/1")
		}},
		{name: "rotate secret", method: "POST", scope: scopeVault, inner: true, url: func(id matrixIDs, _ *matrixAttacker) string { return v(id, "/secret-rotate/"+id.path) },
			body: fixed(`{}`)},
		{name: "restore version", method: "POST", scope: scopeVault, inner: true, url: func(id matrixIDs, _ *matrixAttacker) string { return v(id, "/secret-restore/"+id.path+"/1") }},
		{name: "create policy", method: "POST", scope: scopeVault, url: func(id matrixIDs, _ *matrixAttacker) string { return v(id, "/policies") },
			body: selfGrant},
		{name: "update policy", method: "PUT", scope: scopeVault, inner: true, url: func(id matrixIDs, _ *matrixAttacker) string { return v(id, "/policies/"+id.policy) },
			body: fixed(`{"permissions":["read","write","delete","rotate","share"]}`)},
		{name: "patch agent", method: "PATCH", scope: scopeAgent, url: func(id matrixIDs, _ *matrixAttacker) string { return "/v1/agents/" + id.agent },
			body: fixed(`{"name":"pwned","is_active":false,"scopes":["**"]}`)},
		{name: "rotate agent key", method: "POST", scope: scopeAgent, url: func(id matrixIDs, _ *matrixAttacker) string { return "/v1/agents/" + id.agent + "/rotate-key" }},

		{name: "delete secret", method: "DELETE", scope: scopeVault, inner: true, url: func(id matrixIDs, _ *matrixAttacker) string { return v(id, "/secrets/"+id.path) }},
		{name: "delete policy", method: "DELETE", scope: scopeVault, inner: true, url: func(id matrixIDs, _ *matrixAttacker) string { return v(id, "/policies/"+id.policy) }},
		{name: "delete API key", method: "DELETE", scope: scopeKey, url: func(id matrixIDs, _ *matrixAttacker) string { return "/v1/auth/api-keys/" + id.key }},
		{name: "delete agent", method: "DELETE", scope: scopeAgent, url: func(id matrixIDs, _ *matrixAttacker) string { return "/v1/agents/" + id.agent }},
		{name: "delete vault", method: "DELETE", scope: scopeVault, url: func(id matrixIDs, _ *matrixAttacker) string { return v(id, "") }},

		// Mixed: the attacker's own vault, the victim's inner ids (§4.9: "404 (also a policy of another
		// vault)"; explain: "404 principal not in the org"; create: principal of another org → 400).
		{name: "own vault: update victim policy", method: "PUT", scope: scopeMixed, url: func(id matrixIDs, a *matrixAttacker) string {
			return "/v1/vaults/" + a.ownVault + "/policies/" + id.policy
		}, body: fixed(`{"permissions":["read","write"]}`), want: statuses(http.StatusNotFound)},
		{name: "own vault: delete victim policy", method: "DELETE", scope: scopeMixed, url: func(id matrixIDs, a *matrixAttacker) string {
			return "/v1/vaults/" + a.ownVault + "/policies/" + id.policy
		}, want: statuses(http.StatusNotFound)},
		{name: "own vault: explain victim agent", method: "GET", scope: scopeMixed, url: func(id matrixIDs, a *matrixAttacker) string {
			return "/v1/vaults/" + a.ownVault + "/policies/explain" + explainQuery("agent", id.agent)
		}, want: statuses(http.StatusNotFound)},
		{name: "own vault: grant victim agent", method: "POST", scope: scopeMixed, url: func(id matrixIDs, a *matrixAttacker) string {
			return "/v1/vaults/" + a.ownVault + "/policies"
		}, body: func(id matrixIDs, _ *matrixAttacker) string {
			return `{"secret_path_pattern":"**","principal_type":"agent","principal_id":"` + id.agent + `","permissions":["read"]}`
		}, want: statuses(http.StatusBadRequest)},

		// Lists and queries: no victim object may show up in them.
		{name: "list vaults", method: "GET", scope: scopeList, url: fixed("/v1/vaults"), want: statuses(http.StatusOK)},
		{name: "list agents", method: "GET", scope: scopeList, url: fixed("/v1/agents"), want: humanOnly},
		{name: "list API keys", method: "GET", scope: scopeList, url: fixed("/v1/auth/api-keys"), want: humanOnly},
		{name: "audit by vault", method: "GET", scope: scopeList, url: func(id matrixIDs, _ *matrixAttacker) string {
			return "/v1/audit/events?limit=1000&vault_id=" + id.vault
		}, want: statuses(http.StatusOK)},
		{name: "audit by resource", method: "GET", scope: scopeList, url: func(id matrixIDs, _ *matrixAttacker) string {
			return "/v1/audit/events?limit=1000&resource_id=" + id.vault
		}, want: statuses(http.StatusOK)},
		{name: "audit by victim agent", method: "GET", scope: scopeList, url: func(id matrixIDs, _ *matrixAttacker) string {
			return "/v1/audit/events?limit=1000&resource_id=" + id.agent
		}, want: statuses(http.StatusOK)},
		{name: "audit by owner", method: "GET", scope: scopeList, url: fixed("/v1/audit/events?limit=1000&actor_id=" + owner.ID),
			want: statuses(http.StatusOK)},
		{name: "audit unfiltered", method: "GET", scope: scopeList, url: fixed("/v1/audit/events?limit=1000"), want: statuses(http.StatusOK)},
	}

	realIDs := matrixIDs{vault: vault.ID, path: "db/password", policy: victimPolicy.ID, agent: victimAgent.ID, key: apiKey.ID}
	random := func() matrixIDs {
		return matrixIDs{vault: secUUID(), path: "probe-" + clavistest.RandHex(4) + "/x", policy: secUUID(), agent: secUUID(), key: secUUID()}
	}
	malformed := matrixIDs{vault: "not-a-uuid", path: "probe/x", policy: "not-a-uuid", agent: "not-a-uuid", key: "not-a-uuid"}

	before, err := owner.C.ListAudit(ctx, clavis.AuditQuery{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, e := range before {
		seen[e.ID] = true
	}

	probesSent, leaks := 0, 0
	for _, a := range attackers {
		for _, p := range probes {
			if p.scope == scopeMixed && (a.ownVault == "" || a.revoked) {
				continue
			}
			type variant struct {
				name string
				ids  matrixIDs
			}
			variants := []variant{{"real", realIDs}}
			switch p.scope {
			case scopeVault:
				variants = append(variants, variant{"random", random()}, variant{"malformed", malformed})
				if p.inner {
					in := random()
					in.vault = realIDs.vault
					variants = append(variants, variant{"real vault, random object", in})
					if p.name != "explain" && p.name != "update policy" && p.name != "delete policy" {
						// every real secret path, so that no path answers differently from a missing one
						for _, path := range paths {
							if path != realIDs.path {
								other := realIDs
								other.path = path
								variants = append(variants, variant{"real path " + path, other})
							}
						}
					}
				}
			case scopeAgent, scopeKey, scopeMixed:
				variants = append(variants, variant{"random", random()})
				if p.body == nil || p.method != "POST" {
					// A malformed id in a body is a syntax error (400 "must be a UUID"), which is allowed
					// to differ from a well-formed id that names nothing; in a URL it means 404 (§1.1).
					variants = append(variants, variant{"malformed", malformed})
				}
			}
			byStatus := map[int]secProblem{}
			byStatusFrom := map[int]string{}
			for _, vr := range variants {
				body := ""
				if p.body != nil {
					body = p.body(vr.ids, a)
				}
				target := p.url(vr.ids, a)
				ans := secDo(t, p.method, env.URL+target, a.bearer, body)
				probesSent++
				what := fmt.Sprintf("%s: %s (%s) %s %s", a.name, p.name, vr.name, p.method, target)

				want := p.expect(a, vr.name)
				if !slices.Contains(want, ans.Status) {
					t.Errorf("%s: got %d %s, want %v", what, ans.Status, ans.Body, want)
				}
				canaries := a.canaries
				if (p.scope == scopeList && !strings.HasPrefix(p.name, "audit")) || p.name == "list secrets" {
					// Lists must not name the victim's objects at all. (Audit answers may legitimately
					// carry an agent's own denials, which name the vault and the paths it asked for.)
					canaries = with(canaries, map[string]string{"victim agent id": victimAgent.ID, "victim API key id": apiKey.ID,
						"victim policy id": victimPolicy.ID})
					for _, path := range paths {
						canaries["path "+path] = path
					}
					if p.name == "list vaults" && !a.seesVault {
						canaries["victim vault id"] = vault.ID
					}
				}
				if found := secLeaks(ans.Body, canaries); len(found) > 0 {
					leaks++
					t.Errorf("%s: LEAK of %v in %d %s", what, found, ans.Status, ans.Body)
				}
				if ans.Status >= 400 {
					if ct := ans.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/problem+json") {
						t.Errorf("%s: %d with Content-Type %q, want a problem document", what, ans.Status, ct)
					}
					prob, extra, err := secProblemOf(ans)
					if err != nil {
						t.Errorf("%s: %d body is not a problem document: %s (%v)", what, ans.Status, ans.Body, err)
						continue
					}
					if len(extra) > 0 {
						leaks++
						t.Errorf("%s: LEAK: problem carries extra keys %v: %s", what, extra, ans.Body)
					}
					if prev, ok := byStatus[ans.Status]; ok && prev != prob {
						t.Errorf("%s: existence oracle: %+v differs from the %s answer %+v", what, prob, byStatusFrom[ans.Status], prev)
					} else if !ok {
						byStatus[ans.Status], byStatusFrom[ans.Status] = prob, vr.name
					}
					continue
				}
				leaks += matrixCheckSuccess(t, what, p, a, ans)
			}
		}
	}
	t.Logf("cross-tenant probes: %d, leaks: %d", probesSent, leaks)
	if leaks > 0 {
		t.Errorf("%d leaks in %d cross-tenant probes", leaks, probesSent)
	}

	// Nothing changed: the owner reads every secret at the same version and value; versions, policies,
	// the agent, its key and token, and the API key are as they were.
	for _, p := range paths {
		s, err := owner.C.GetSecret(ctx, vault.ID, p)
		if err != nil || string(s.Value) != values[p][1] || s.Version.Version != 2 || s.Secret.ID != secretIDs[p] {
			t.Errorf("after the probes, %s: %+v, same value %v, %v; want version 2 with its value", p, s, err == nil && string(s.Value) == values[p][1], err)
		}
		vs, err := owner.C.ListVersions(ctx, vault.ID, p)
		if err != nil || len(vs) != 2 || vs[0].Version.Disabled || vs[1].Version.Disabled {
			t.Errorf("after the probes, versions of %s: %+v, %v; want 2 enabled versions", p, vs, err)
		}
		if old, err := owner.C.GetVersion(ctx, vault.ID, p, 1); err != nil || string(old.Value) != values[p][0] {
			t.Errorf("after the probes, version 1 of %s unreadable or changed: %v", p, err)
		}
	}
	if list, err := owner.C.ListSecrets(ctx, vault.ID, ""); err != nil || len(list) != len(paths) {
		t.Errorf("after the probes, the vault lists %d secrets (%v), want %d", len(list), err, len(paths))
	}
	if got, err := owner.C.GetVault(ctx, vault.ID); err != nil || got.Name != vault.Name {
		t.Errorf("after the probes, vault: %+v, %v", got, err)
	}
	pols, err := owner.C.ListPolicies(ctx, vault.ID)
	if err != nil || len(pols) != 3 {
		t.Errorf("after the probes, %d policies (%v), want the 3 the owner made", len(pols), err)
	}
	for _, pol := range pols {
		if pol.PrincipalID == stranger.ID || pol.PrincipalID == strangerAgent.ID || pol.PrincipalID == noPolicy.ID {
			t.Errorf("after the probes, an attacker holds a policy: %+v", pol)
		}
		if pol.ID == victimPolicy.ID && (!slices.Equal(pol.Permissions, []clavis.Permission{clavis.PermRead}) || pol.Pattern != "api-keys/*") {
			t.Errorf("after the probes, the victim policy changed: %+v", pol)
		}
	}
	if ag, err := owner.C.GetAgent(ctx, victimAgent.ID); err != nil || ag.Name != "victim-agent-"+tag || !ag.Active || len(ag.Scopes) != 0 {
		t.Errorf("after the probes, victim agent: %+v, %v", ag, err)
	}
	if _, err := env.Client().AgentToken(ctx, victimAgent.Key, victimAgent.ID); err != nil {
		t.Errorf("after the probes, the victim agent's key no longer exchanges (rotated?): %v", err)
	}
	if s, err := env.Client().WithToken(victimAgentTok).GetSecret(ctx, vault.ID, "api-keys/openai"); err != nil || string(s.Value) != values["api-keys/openai"][1] {
		t.Errorf("after the probes, the victim agent's token no longer reads: %v", err)
	}
	if me, err := env.Client().WithToken(string(rawAPIKey)).Me(ctx); err != nil || me.ID != owner.ID {
		t.Errorf("after the probes, the victim API key no longer works: %v", err)
	}
	if ag, err := owner.C.GetAgent(ctx, deactivated.ID); err != nil || ag.Active {
		t.Errorf("after the probes, the deactivated agent: %+v, %v", ag, err)
	}
	// Since the probes began, the victim org's audit log holds no action by an attacker other than its
	// own denials and logins.
	evs, err := owner.C.ListAudit(ctx, clavis.AuditQuery{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	attackerIDs := map[string]bool{}
	for _, a := range attackers {
		attackerIDs[a.id] = true
	}
	for _, e := range evs {
		if !seen[e.ID] && attackerIDs[e.ActorID] && e.Action != "access.denied" && e.Action != "auth.success" && e.Action != "auth.failure" {
			t.Errorf("after the probes, audit shows %s by attacker %s on %s %s", e.Action, e.ActorID, e.ResourceType, e.ResourceID)
		}
	}
	// Nor do the server's debug logs or the audit log carry a value or a key.
	evJSON, _ := json.Marshal(evs)
	secrets := map[string]string{"victim API key": string(rawAPIKey), "victim agent key": victimAgent.Key, "owner password": owner.Password}
	for _, p := range paths {
		for i, val := range values[p] {
			secrets[fmt.Sprintf("value v%d of %s", i+1, p)] = val
		}
	}
	for where, b := range map[string][]byte{"debug logs": []byte(env.Logs()), "audit events": evJSON} {
		if found := secLeaks(b, secrets); len(found) > 0 {
			t.Errorf("%s carry %v", where, found)
		}
	}
}

// matrixCheckSuccess checks a 2xx answer to an attacker: lists hold nothing of the victim (the leak scan
// already ran), audit queries show only the attacker's own org (users) or own actions (agents). It returns
// the number of leaks found.
func matrixCheckSuccess(t *testing.T, what string, p matrixProbe, a *matrixAttacker, ans secAnswer) int {
	t.Helper()
	leaks := 0
	switch {
	case p.name == "list secrets":
		var out struct {
			Secrets []json.RawMessage `json:"secrets"`
		}
		if err := json.Unmarshal(ans.Body, &out); err != nil || len(out.Secrets) != 0 {
			leaks++
			t.Errorf("%s: LEAK: listed %d secrets (%v), want none", what, len(out.Secrets), err)
		}
	case strings.HasPrefix(p.name, "audit"):
		var out struct {
			Events []struct {
				ID      string `json:"id"`
				Action  string `json:"action"`
				ActorID string `json:"actor_id"`
				OrgID   string `json:"org_id"`
			} `json:"events"`
		}
		if err := json.Unmarshal(ans.Body, &out); err != nil {
			t.Errorf("%s: %v", what, err)
			return leaks
		}
		for _, e := range out.Events {
			if (a.agent && e.ActorID != a.id) || e.OrgID != a.orgID {
				leaks++
				t.Errorf("%s: LEAK: event %s %s by %s of org %s", what, e.Action, e.ID, e.ActorID, e.OrgID)
			}
		}
	}
	return leaks
}
