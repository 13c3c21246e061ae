package clavistest_test

import (
	"testing"
	"time"

	"clavis.dev/clavis"
	"clavis.dev/clavis/internal/clavistest"
	"clavis.dev/clavis/internal/store"
)

// TestSecretReadsInTheCommitUnit: on the SQLite store (a store.WarmWriter) a secret read whose vault
// and rules are cached runs in the commit unit that records it, with no read transaction; every rule
// still applies there (limits, deletion, versions, expiry), and what it does not serve (a denial, an
// approval gate) takes the general path with the same answer and audit as before.
func TestSecretReadsInTheCommitUnit(t *testing.T) {
	var st *clavistest.ReadCountingStore
	env := clavistest.New(t, clavistest.Options{WrapStore: func(s store.Store) store.Store {
		st = &clavistest.ReadCountingStore{Store: s}
		return st
	}})
	u := env.Signup(t)
	v, err := u.C.CreateVault(ctx, clavis.VaultInput{Name: "hot"})
	if err != nil {
		t.Fatal(err)
	}
	put := func(path, value string, in clavis.SecretInput) {
		t.Helper()
		in.Value = clavis.Sensitive(value)
		if _, err := u.C.PutSecret(ctx, v.ID, path, in); err != nil {
			t.Fatal(err)
		}
	}
	put("open", "v1", clavis.SecretInput{})
	put("open", "v2", clavis.SecretInput{})
	put("limited", "once-or-twice", clavis.SecretInput{MaxAccessCount: new(2)})
	put("gone", "x", clavis.SecretInput{})
	expires := time.Now().Add(1500 * time.Millisecond)
	put("soon", "x", clavis.SecretInput{ExpiresAt: &expires})
	put("off", "x", clavis.SecretInput{})
	put("off", "y", clavis.SecretInput{})
	put("denied", "x", clavis.SecretInput{})
	put("gated/k", "x", clavis.SecretInput{})
	if err := u.C.DeleteSecret(ctx, v.ID, "gone"); err != nil {
		t.Fatal(err)
	}
	if err := u.C.DisableVersion(ctx, v.ID, "off", 1); err != nil {
		t.Fatal(err)
	}
	ag := env.NewAgent(t, u, clavis.AgentInput{Name: "reader"})
	policies := []clavis.PolicyInput{
		{Pattern: "**", Permissions: []string{"read"}},
		{Pattern: "denied", Permissions: []string{"read"}, Effect: new(clavis.EffectDeny), Priority: 10},
		{Pattern: "gated/**", Permissions: []string{"read"}, RequireApproval: true, Priority: 5},
	}
	for _, p := range policies {
		p.PrincipalType, p.PrincipalID = clavis.PrincipalAgent, ag.ID
		if _, err := u.C.CreatePolicy(ctx, v.ID, p); err != nil {
			t.Fatal(err)
		}
	}
	for range 2 { // fills the state cache
		if _, err := ag.C.GetSecret(ctx, v.ID, "open"); err != nil {
			t.Fatal(err)
		}
	}
	events := func(action string) int {
		t.Helper()
		evs, err := u.C.ListAudit(ctx, clavis.AuditQuery{Action: action, Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		return len(evs)
	}
	readsBefore, deniedBefore := events("secret.read"), events("access.denied")

	steps := []struct {
		name, path string
		version    int
		want       clavis.Kind // -1: served
		value      string
		general    bool // answered by the general path (one read transaction)
	}{
		{"latest", "open", 0, -1, "v2", false},
		{"again", "open", 0, -1, "v2", false},
		{"explicit version", "open", 1, -1, "v1", false},
		{"no such version", "open", 9, clavis.KindNotFound, "", false},
		{"limited 1", "limited", 0, -1, "once-or-twice", false},
		{"limited 2", "limited", 0, -1, "once-or-twice", false},
		{"limited exhausted", "limited", 0, clavis.KindGone, "", false},
		{"missing", "nothing/here", 0, clavis.KindNotFound, "", false},
		{"deleted", "gone", 0, clavis.KindGone, "", false},
		{"disabled version", "off", 1, clavis.KindGone, "", false},
		{"enabled version", "off", 2, -1, "y", false},
		{"denied", "denied", 0, clavis.KindForbidden, "", true},
		{"gated", "gated/k", 0, clavis.KindApprovalRequired, "", true},
		{"expired", "soon", 0, clavis.KindGone, "", false},
	}
	served := 0
	for _, s := range steps {
		if s.name == "expired" {
			time.Sleep(time.Until(expires.Add(100 * time.Millisecond)))
		}
		before := st.Reads.Load()
		var got *clavis.SecretValue
		if s.version == 0 {
			got, err = ag.C.GetSecret(ctx, v.ID, s.path)
		} else {
			got, err = ag.C.GetVersion(ctx, v.ID, s.path, s.version)
		}
		switch {
		case s.want < 0 && err != nil:
			t.Errorf("%s: %v, want the value", s.name, err)
		case s.want < 0 && string(got.Value) != s.value:
			t.Errorf("%s: value %q, want %q", s.name, got.Value, s.value)
		case s.want >= 0 && !clavis.IsKind(err, s.want):
			t.Errorf("%s: %v, want %v", s.name, err, s.want)
		}
		if s.want < 0 {
			served++
		}
		if n := st.Reads.Load() - before; s.general != (n > 0) {
			t.Errorf("%s: %d read transactions, want general path %v", s.name, n, s.general)
		}
	}
	if got := events("secret.read") - readsBefore; got != served {
		t.Errorf("%d secret.read events for %d values served", got, served)
	}
	if got := events("access.denied") - deniedBefore; got != 2 { // the denial, and the gate's request for approval
		t.Errorf("%d access.denied events, want 2", got)
	}
}
