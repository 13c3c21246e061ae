package engine

import (
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"clavis.dev/clavis"
	"clavis.dev/clavis/internal/store"
	"clavis.dev/clavis/internal/store/sqlite"
)

// allowPatternsByVault is the reference for allowPatterns: the vaults with an unexpired policy of the
// agent (PolicyVaultIDs, in the order of each vault's first such policy), then each vault's unexpired
// allow policies in creation order, each pattern once.
func allowPatternsByVault(tx store.Tx, agentID string, now time.Time) ([]string, error) {
	vids, err := tx.PolicyVaultIDs(clavis.PrincipalAgent, agentID, now)
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	out := []string{}
	for _, vid := range vids {
		ps, err := tx.ListPrincipalPolicies(vid, clavis.PrincipalAgent, agentID)
		if err != nil {
			return nil, err
		}
		for _, p := range ps {
			if p.Effect == clavis.EffectDeny || (p.ExpiresAt != nil && !now.Before(*p.ExpiresAt)) || seen[p.Pattern] {
				continue
			}
			seen[p.Pattern] = true
			out = append(out, p.Pattern)
		}
	}
	return out, nil
}

// TestAllowPatternsOneQuery checks allowPatterns (one query over all vaults) against the per-vault
// reference on random policies: several vaults, allow and deny, expired and live, repeated patterns,
// other principals.
func TestAllowPatternsOneQuery(t *testing.T) {
	st, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "clavis.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	now := clavis.Now()
	rng := rand.New(rand.NewPCG(3, 4)) // #nosec G404 -- reproducible test data, not a secret
	vaults := []string{"v0", "v1", "v2", "v3"}
	agents := []string{"a0", "a1"}
	if err := st.Write(t.Context(), func(tx store.Tx) error {
		if err := tx.CreateOrg(&clavis.Org{ID: "o", Name: "o", CreatedAt: now}); err != nil {
			return err
		}
		for _, v := range vaults {
			if err := tx.CreateVault(&store.Vault{Vault: clavis.Vault{ID: v, OrgID: "o", Name: v, CreatedAt: now}}); err != nil {
				return err
			}
		}
		for i := range 60 {
			p := &clavis.Policy{ID: fmt.Sprintf("p%02d", i), VaultID: vaults[rng.IntN(len(vaults))],
				Pattern: []string{"a/**", "b/*", "c", "d/**", "**"}[rng.IntN(5)], PrincipalType: clavis.PrincipalAgent,
				PrincipalID: agents[rng.IntN(len(agents))], Permissions: []clavis.Permission{clavis.PermRead},
				Conditions: []byte("{}"), Effect: []clavis.Effect{clavis.EffectAllow, clavis.EffectAllow, clavis.EffectDeny}[rng.IntN(3)],
				CreatedBy: "u", CreatedByType: clavis.PrincipalUser, CreatedAt: now}
			switch rng.IntN(4) {
			case 0:
				p.ExpiresAt = new(now.Add(-time.Minute))
			case 1:
				p.ExpiresAt = new(now) // expires at now: expired
			case 2:
				p.ExpiresAt = new(now.Add(time.Minute))
			}
			if err := tx.CreatePolicy(p); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	for _, a := range append(agents, "nobody") {
		if err := st.Read(t.Context(), func(tx store.Tx) error {
			got, err := (*Engine)(nil).allowPatterns(tx, a, now)
			if err != nil {
				return err
			}
			want, err := allowPatternsByVault(tx, a, now)
			if err != nil {
				return err
			}
			if !slices.Equal(got, want) {
				t.Errorf("allowPatterns(%s) = %q, want %q", a, got, want)
			}
			if a != "nobody" && len(want) < 2 {
				t.Errorf("allowPatterns(%s): only %d patterns; the case is too weak", a, len(want))
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
}
