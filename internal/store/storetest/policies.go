package storetest

import (
	"encoding/json"
	"slices"
	"testing"

	"clavis.dev/clavis"
	"clavis.dev/clavis/internal/store"
)

func testPolicies(t *testing.T, s store.Store) {
	_, u, v := seed(t, s)
	agent := newAgent(u)
	create(t, s, agent)
	full := newPolicy(v, clavis.PrincipalAgent, agent.ID)
	full.Pattern = "prod/db/*"
	full.Permissions = clavis.Permissions()
	// Conditions are kept byte for byte.
	full.Conditions = json.RawMessage(`{"ip_allowlist": ["10.0.0.0/8"],  "time_window":{"days":["mon"]}}`)
	full.Effect = clavis.EffectDeny
	full.Priority = -7
	full.RequireApproval = true
	full.ExpiresAt = ptr(at(3600))
	full.CreatedBy, full.CreatedByType = agent.ID, clavis.PrincipalAgent
	bare := newPolicy(v, clavis.PrincipalUser, u.ID)
	bare.Permissions, bare.Conditions = nil, nil
	create(t, s, full, bare)

	wantBare := *bare
	wantBare.Conditions = json.RawMessage(`{}`)
	for _, want := range []*clavis.Policy{full, &wantBare} {
		got := get(t, s, func(tx store.Tx) (*clavis.Policy, error) { return tx.GetPolicy(want.ID) })
		check(t, "GetPolicy", got, want)
	}
	dup := newPolicy(v, clavis.PrincipalUser, u.ID)
	dup.ID = full.ID
	err := s.Write(t.Context(), func(tx store.Tx) error { return tx.CreatePolicy(dup) })
	wantKind(t, "CreatePolicy with a duplicate id", err, clavis.KindConflict)
}

// testListPolicies: a vault's policies, and a principal's policies on a vault and on every vault, in
// creation order.
func testListPolicies(t *testing.T, s store.Store) {
	_, u, v := seed(t, s)
	other := newVault(u)
	create(t, s, other)
	principal := newID()
	type pick struct {
		vault *store.Vault
		pt    clavis.PrincipalType
		id    string
	}
	picks := []pick{
		{v, clavis.PrincipalAgent, principal},
		{v, clavis.PrincipalUser, u.ID},
		{other, clavis.PrincipalAgent, principal},
		{v, clavis.PrincipalUser, principal}, // same id, other principal type
		{v, clavis.PrincipalAgent, principal},
		{v, clavis.PrincipalAgent, newID()},
		{v, clavis.PrincipalAgent, principal},
	}
	var wantVault, wantPrincipal, wantEverywhere []string
	for i, id := range descendingIDs(len(picks)) {
		p := newPolicy(picks[i].vault, picks[i].pt, picks[i].id)
		p.ID = id
		create(t, s, p)
		if picks[i].pt == clavis.PrincipalAgent && picks[i].id == principal {
			wantEverywhere = append(wantEverywhere, id)
		}
		if picks[i].vault == v {
			wantVault = append(wantVault, id)
			if picks[i].pt == clavis.PrincipalAgent && picks[i].id == principal {
				wantPrincipal = append(wantPrincipal, id)
			}
		}
	}
	policyID := func(p *clavis.Policy) string { return p.ID }
	got := get(t, s, func(tx store.Tx) ([]*clavis.Policy, error) { return tx.ListPolicies(v.ID) })
	check(t, "ListPolicies ids", ids(got, policyID), wantVault)
	got = get(t, s, func(tx store.Tx) ([]*clavis.Policy, error) {
		return tx.ListPrincipalPolicies(v.ID, clavis.PrincipalAgent, principal)
	})
	check(t, "ListPrincipalPolicies ids", ids(got, policyID), wantPrincipal)
	got = get(t, s, func(tx store.Tx) ([]*clavis.Policy, error) {
		return tx.ListPrincipalPolicies(v.ID, clavis.PrincipalAgent, newID())
	})
	check(t, "ListPrincipalPolicies of an unknown principal", len(got), 0)
	got = get(t, s, func(tx store.Tx) ([]*clavis.Policy, error) {
		return tx.PrincipalPolicies(clavis.PrincipalAgent, principal)
	})
	check(t, "PrincipalPolicies ids", ids(got, policyID), wantEverywhere)
	got = get(t, s, func(tx store.Tx) ([]*clavis.Policy, error) {
		return tx.PrincipalPolicies(clavis.PrincipalAgent, newID())
	})
	check(t, "PrincipalPolicies of an unknown principal", len(got), 0)
}

// testUpdatePolicy: UpdatePolicy writes Permissions, Conditions, Effect, Priority, RequireApproval and
// ExpiresAt only.
func testUpdatePolicy(t *testing.T, s store.Store) {
	_, u, v := seed(t, s)
	p := newPolicy(v, clavis.PrincipalUser, u.ID)
	p.ExpiresAt = ptr(at(5))
	create(t, s, p)
	tests := []struct {
		name   string
		update func(p *clavis.Policy)
	}{
		{"set", func(p *clavis.Policy) {
			p.Permissions = []clavis.Permission{clavis.PermWrite, clavis.PermRead}
			p.Conditions = json.RawMessage(`{"max_reads":  3}`)
			p.Effect, p.Priority, p.RequireApproval, p.ExpiresAt = clavis.EffectDeny, 100, true, ptr(at(99))
		}},
		{"clear", func(p *clavis.Policy) {
			p.Permissions, p.Conditions = nil, json.RawMessage(`{}`)
			p.Effect, p.Priority, p.RequireApproval, p.ExpiresAt = clavis.EffectAllow, 0, false, nil
		}},
	}
	for _, tc := range tests {
		want := get(t, s, func(tx store.Tx) (*clavis.Policy, error) { return tx.GetPolicy(p.ID) })
		tc.update(want)
		arg := *want
		arg.VaultID, arg.Pattern, arg.PrincipalID = newID(), "changed/**", newID() // not written
		arg.CreatedBy, arg.CreatedAt = newID(), at(1000)
		write(t, s, func(tx store.Tx) error { return tx.UpdatePolicy(&arg) })
		got := get(t, s, func(tx store.Tx) (*clavis.Policy, error) { return tx.GetPolicy(p.ID) })
		check(t, "UpdatePolicy: "+tc.name, got, want)
	}
}

func testDeletePolicies(t *testing.T, s store.Store) {
	_, u, v := seed(t, s)
	other := newVault(u)
	create(t, s, other)
	agent := newID()
	single := newPolicy(v, clavis.PrincipalUser, u.ID)
	agentHere := newPolicy(v, clavis.PrincipalAgent, agent)
	agentThere := newPolicy(other, clavis.PrincipalAgent, agent)
	userSameID := newPolicy(v, clavis.PrincipalUser, agent)
	kept := newPolicy(other, clavis.PrincipalUser, u.ID)
	create(t, s, single, agentHere, agentThere, userSameID, kept)

	write(t, s, func(tx store.Tx) error { return tx.DeletePolicy(single.ID) })
	write(t, s, func(tx store.Tx) error { return tx.DeletePrincipalPolicies(clavis.PrincipalAgent, agent) })
	write(t, s, func(tx store.Tx) error { return tx.DeletePrincipalPolicies(clavis.PrincipalAgent, newID()) })

	read(t, s, func(tx store.Tx) error {
		for _, p := range []*clavis.Policy{single, agentHere, agentThere} {
			_, err := tx.GetPolicy(p.ID)
			wantKind(t, "GetPolicy of a deleted policy", err, clavis.KindNotFound)
		}
		for _, p := range []*clavis.Policy{userSameID, kept} {
			if _, err := tx.GetPolicy(p.ID); err != nil {
				t.Errorf("GetPolicy of a policy that was not deleted: %v", err)
			}
		}
		return nil
	})
	err := s.Write(t.Context(), func(tx store.Tx) error { return tx.DeletePolicy(single.ID) })
	wantKind(t, "DeletePolicy twice", err, clavis.KindNotFound)
}

// testPolicyVaultIDs: the vaults with a policy naming the principal that has not expired at now
// (no expiry, or expiry after now), each once.
func testPolicyVaultIDs(t *testing.T, s store.Store) {
	_, u, _ := seed(t, s)
	now := at(0)
	principal := newID()
	vaults := make([]*store.Vault, 8)
	for i := range vaults {
		vaults[i] = newVault(u)
		create(t, s, vaults[i])
	}
	policy := func(v *store.Vault, pt clavis.PrincipalType, id string, expires *int) *clavis.Policy {
		p := newPolicy(v, pt, id)
		if expires != nil {
			p.ExpiresAt = ptr(at(*expires))
		}
		return p
	}
	create(t, s,
		policy(vaults[0], clavis.PrincipalAgent, principal, nil),       // no expiry
		policy(vaults[1], clavis.PrincipalAgent, principal, ptr(1)),    // expires after now
		policy(vaults[2], clavis.PrincipalAgent, principal, ptr(0)),    // expires at now: expired
		policy(vaults[3], clavis.PrincipalAgent, principal, ptr(-1)),   // expired
		policy(vaults[4], clavis.PrincipalAgent, principal, ptr(-1)),   // one expired,
		policy(vaults[4], clavis.PrincipalAgent, principal, nil),       // one not
		policy(vaults[5], clavis.PrincipalAgent, principal, nil),       // two policies,
		policy(vaults[5], clavis.PrincipalAgent, principal, ptr(3600)), // listed once
		policy(vaults[6], clavis.PrincipalUser, principal, nil),        // other principal type
		policy(vaults[7], clavis.PrincipalAgent, newID(), nil),         // other principal
	)
	got := get(t, s, func(tx store.Tx) ([]string, error) {
		return tx.PolicyVaultIDs(clavis.PrincipalAgent, principal, now)
	})
	slices.Sort(got)
	want := []string{vaults[0].ID, vaults[1].ID, vaults[4].ID, vaults[5].ID}
	slices.Sort(want)
	check(t, "PolicyVaultIDs", got, want)

	none := get(t, s, func(tx store.Tx) ([]string, error) { return tx.PolicyVaultIDs(clavis.PrincipalAgent, newID(), now) })
	check(t, "PolicyVaultIDs of an unknown principal", len(none), 0)
}
