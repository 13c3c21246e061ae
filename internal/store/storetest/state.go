package storetest

import (
	"errors"
	"testing"
	"time"

	"clavis.dev/clavis"
	"clavis.dev/clavis/internal/store"
)

// epoch reads the state epoch.
func epoch(t *testing.T, s store.Store) int64 {
	t.Helper()
	var n int64
	read(t, s, func(tx store.Tx) error {
		var err error
		n, err = tx.StateEpoch()
		return err
	})
	return n
}

// testStateEpoch: every change to what the engine caches moves the state epoch, in the transaction that
// makes it (a rolled-back change moves nothing); changes to columns that move on every use do not.
func testStateEpoch(t *testing.T, s store.Store) {
	org, u, v := seed(t, s)
	k := newAPIKey(u)
	a := newAgent(u)
	p := newPolicy(v, clavis.PrincipalAgent, a.ID)
	create(t, s, k, a, p)

	moves := []struct {
		name string
		fn   func(tx store.Tx) error
	}{
		{"disable a user", func(tx store.Tx) error { c := *u; c.Disabled = true; return tx.UpdateUser(&c) }},
		{"change a user's role", func(tx store.Tx) error { c := *u; c.Role = clavis.RoleMember; return tx.UpdateUser(&c) }},
		{"bump a user's token generation", func(tx store.Tx) error { c := *u; c.TokenGen++; return tx.UpdateUser(&c) }},
		{"create a user", func(tx store.Tx) error { return tx.CreateUser(newUser(org)) }},
		{"deactivate a key", func(tx store.Tx) error { c := *k; c.Active = false; return tx.UpdateAPIKey(&c) }},
		{"change a key's scopes", func(tx store.Tx) error { c := *k; c.Scopes = []string{"x/*"}; return tx.UpdateAPIKey(&c) }},
		{"deactivate an agent", func(tx store.Tx) error { c := *a; c.Active = false; return tx.UpdateAgent(&c) }},
		{"expire an agent", func(tx store.Tx) error { c := *a; c.ExpiresAt = ptr(at(5)); return tx.UpdateAgent(&c) }},
		{"rotate an agent's key", func(tx store.Tx) error { c := *a; c.KeyHash = []byte("new-hash"); return tx.UpdateAgent(&c) }},
		{"bind an agent to vaults", func(tx store.Tx) error { c := *a; c.VaultIDs = []string{v.ID}; return tx.UpdateAgent(&c) }},
		{"change an agent's scopes", func(tx store.Tx) error { c := *a; c.Scopes = []string{"y/**"}; return tx.UpdateAgent(&c) }},
		{"revoke a token", func(tx store.Tx) error { return tx.RevokeToken(newID(), at(100)) }},
		{"create a policy", func(tx store.Tx) error { return tx.CreatePolicy(newPolicy(v, clavis.PrincipalAgent, a.ID)) }},
		{"change a policy", func(tx store.Tx) error { c := *p; c.Pattern = "z/**"; return tx.UpdatePolicy(&c) }},
		{"delete a policy", func(tx store.Tx) error { return tx.DeletePolicy(p.ID) }},
		{"create an IP rule", func(tx store.Tx) error {
			return tx.CreateIPRule(&clavis.IPRule{ID: newID(), OrgID: org.ID, RuleType: clavis.IPRuleDeny, CIDR: "10.0.0.0/8",
				Label: "rule", AppliesTo: clavis.IPRulesForAll, CreatedBy: u.ID, CreatedAt: t0})
		}},
		{"create a vault", func(tx store.Tx) error { return tx.CreateVault(newVault(u)) }},
		{"delete a vault", func(tx store.Tx) error { return tx.DeleteVault(v.ID) }},
		{"delete an agent", func(tx store.Tx) error { return tx.DeleteAgent(a.ID) }},
	}
	for _, m := range moves {
		before := epoch(t, s)
		err := s.Write(t.Context(), func(tx store.Tx) error {
			if err := m.fn(tx); err != nil {
				return err
			}
			return errRollback
		})
		if err != errRollback {
			t.Fatalf("%s (rolled back): %v", m.name, err)
		}
		if got := epoch(t, s); got != before {
			t.Errorf("%s, rolled back: epoch %d -> %d, want unchanged", m.name, before, got)
		}
		var inside int64
		write(t, s, func(tx store.Tx) error {
			if err := m.fn(tx); err != nil {
				return err
			}
			var err error
			inside, err = tx.StateEpoch()
			return err
		})
		after := epoch(t, s)
		if after <= before || inside != after {
			t.Errorf("%s: epoch %d -> %d (%d inside the transaction), want it to move within the transaction", m.name, before, after, inside)
		}
	}

	u2 := newUser(org)
	k2 := newAPIKey(u2)
	a2 := newAgent(u2)
	v2 := newVault(u2)
	create(t, s, u2, k2, a2, v2)
	sec := newSecret(v2, "k")
	stays := []struct {
		name string
		fn   func(tx store.Tx) error
	}{
		{"count a failed login", func(tx store.Tx) error {
			c := *u2
			c.FailedLogins = 3
			c.LockedUntil = ptr(at(60))
			return tx.UpdateUser(&c)
		}},
		{"mark a key used", func(tx store.Tx) error {
			c := *k2
			c.LastUsedAt = ptr(at(7))
			c.Name = "renamed"
			return tx.UpdateAPIKey(&c)
		}},
		{"mark an agent active", func(tx store.Tx) error {
			c := *a2
			c.LastActiveAt = ptr(at(7))
			c.Name = "renamed"
			return tx.UpdateAgent(&c)
		}},
		{"prune revocations", func(tx store.Tx) error { return tx.PruneRevokedTokens(time.Now().Add(24 * time.Hour)) }},
		{"write a secret", func(tx store.Tx) error {
			got, err := tx.EnsureSecret(sec)
			if err != nil {
				return err
			}
			n, err := tx.NextVersion(got.ID)
			if err != nil {
				return err
			}
			return tx.CreateVersion(newVersion(got, n))
		}},
		{"append an audit event", func(tx store.Tx) error { return tx.AppendAudit(newEvent(org.ID, "", "", t0)) }},
	}
	for _, m := range stays {
		before := epoch(t, s)
		write(t, s, m.fn)
		if got := epoch(t, s); got != before {
			t.Errorf("%s: epoch %d -> %d, want unchanged", m.name, before, got)
		}
	}
}

// testGetSecretVersion: the secret and one version (0: the latest) in one lookup; ErrNotFound without a
// secret; the secret and a nil version when it has no such version; deleted secrets come back too.
func testGetSecretVersion(t *testing.T, s store.Store) {
	_, _, v := seed(t, s)
	sec, vs := addSecret(t, s, v, "a/b", 3)
	for _, tc := range []struct{ ask, want int }{{0, 3}, {1, 1}, {3, 3}} {
		var gs *clavis.Secret
		var gv *store.Version
		read(t, s, func(tx store.Tx) error {
			var err error
			gs, gv, err = tx.GetSecretVersion(v.ID, "a/b", tc.ask)
			return err
		})
		check(t, "GetSecretVersion secret", gs, sec)
		check(t, "GetSecretVersion version", gv, vs[tc.want-1])
	}
	read(t, s, func(tx store.Tx) error {
		gs, gv, err := tx.GetSecretVersion(v.ID, "a/b", 4)
		if err != nil || gv != nil || gs == nil || gs.ID != sec.ID {
			t.Errorf("GetSecretVersion of a missing version: %v, %v, %v; want the secret, no version", gs, gv, err)
		}
		_, _, err = tx.GetSecretVersion(v.ID, "a/c", 0)
		wantKind(t, "GetSecretVersion of a missing path", err, clavis.KindNotFound)
		return nil
	})
	write(t, s, func(tx store.Tx) error { return tx.SetSecretDeleted(sec.ID, true) })
	read(t, s, func(tx store.Tx) error {
		gs, gv, err := tx.GetSecretVersion(v.ID, "a/b", 0)
		if err != nil || gs == nil || !gs.Deleted || gv == nil || gv.Version.Version != 3 {
			t.Errorf("GetSecretVersion of a deleted secret: %+v, %+v, %v; want it, deleted, with version 3", gs, gv, err)
		}
		return nil
	})
}

// testAuditBatchRollback: units of one group commit chain events onto the head they read; a unit that
// fails after appending leaves neither its event nor a head behind, so the next unit chains onto the
// last kept event (stores that keep heads in memory within a transaction must forget the failed
// unit's).
func testAuditBatchRollback(t *testing.T, s store.Store) {
	b, ok := s.(store.Batcher)
	if !ok {
		t.Skip("the store does not group-commit")
	}
	org := newOrg().ID
	appendEvents(t, s, org, 1)
	var kept [5]*clavis.AuditEvent
	unit := func(i int, fail bool) func(store.Tx) error {
		return func(tx store.Tx) error {
			id, hash, err := tx.AuditHead(org)
			if err != nil {
				return err
			}
			e := newEvent(org, id, hash, at(i))
			if err := tx.AppendAudit(e); err != nil {
				return err
			}
			if fail {
				return errRollback
			}
			kept[i] = e
			return nil
		}
	}
	errs := b.WriteBatch(t.Context(), []func(store.Tx) error{unit(0, false), unit(1, true), unit(2, false), unit(3, true), unit(4, false)})
	for i, err := range errs {
		if want := kept[i] == nil; (err != nil) != want {
			t.Errorf("unit %d: %v", i, err)
		}
	}
	var evs []*clavis.AuditEvent
	var h store.ChainHead
	read(t, s, func(tx store.Tx) error {
		var err error
		if evs, err = tx.AuditChain(org, nil, nil, 0); err != nil {
			return err
		}
		h, err = tx.AuditChainHead(org)
		return err
	})
	if len(evs) != 4 {
		t.Fatalf("chain has %d events, want 4 (1 before the batch, 3 kept)", len(evs))
	}
	for i, want := range []*clavis.AuditEvent{kept[0], kept[2], kept[4]} {
		got := evs[i+1]
		if got.ID != want.ID || got.PrevEventID != evs[i].ID {
			t.Errorf("event %d: id %s prev %s, want id %s prev %s", i+1, got.ID, got.PrevEventID, want.ID, evs[i].ID)
		}
	}
	if h.EventID != kept[4].ID || h.Count != 4 {
		t.Errorf("head %+v, want event %s, count 4", h, kept[4].ID)
	}
}

// testAuditBatchConflict: in a group commit where no unit fails on its own, a duplicate audit event id
// is still the ErrConflict of exactly the unit that appended it (even where the store defers audit
// inserts to the end of the batch), and a unit that reads the chain after appending sees its own event.
func testAuditBatchConflict(t *testing.T, s store.Store) {
	b, ok := s.(store.Batcher)
	if !ok {
		t.Skip("the store does not group-commit")
	}
	org := newOrg().ID
	before := appendEvents(t, s, org, 1)[0]
	var kept [3]*clavis.AuditEvent
	var seen int
	unit := func(i int, dup, look bool) func(store.Tx) error {
		return func(tx store.Tx) error {
			id, hash, err := tx.AuditHead(org)
			if err != nil {
				return err
			}
			e := newEvent(org, id, hash, at(i+1))
			if dup {
				e.ID = before.ID
			}
			if err := tx.AppendAudit(e); err != nil {
				return err
			}
			if look {
				evs, err := tx.AuditChain(org, nil, nil, 0)
				if err != nil {
					return err
				}
				seen = len(evs)
			}
			kept[i] = e
			return nil
		}
	}
	// The engine's committer ends each batch with a unit that reads the state epoch and ignores a failure.
	var epochErr error
	tail := func(tx store.Tx) error { _, epochErr = tx.StateEpoch(); return nil }
	errs := b.WriteBatch(t.Context(), []func(store.Tx) error{unit(0, false, false), unit(1, true, false), unit(2, false, true), tail})
	if errs[0] != nil || errs[2] != nil || errs[3] != nil || !errors.Is(errs[1], store.ErrConflict) {
		t.Fatalf("errs %v, want nil, ErrConflict, nil, nil", errs)
	}
	if epochErr != nil {
		t.Errorf("the state epoch read that ended the committed batch: %v", epochErr)
	}
	if seen != 3 {
		t.Errorf("a unit that appended saw %d events in the chain, want 3 (its own included)", seen)
	}
	// Without a conflict too (a store that defers audit inserts sends them before the read).
	seen = 0
	if errs := b.WriteBatch(t.Context(), []func(store.Tx) error{unit(0, false, false), unit(2, false, true), tail}); errors.Join(errs...) != nil {
		t.Fatal(errs)
	}
	if seen != 5 {
		t.Errorf("a unit that appended saw %d events in the chain, want 5 (its own included)", seen)
	}
	var evs []*clavis.AuditEvent
	read(t, s, func(tx store.Tx) error {
		var err error
		evs, err = tx.AuditChain(org, nil, nil, 0)
		return err
	})
	if len(evs) != 5 || evs[3].ID != kept[0].ID || evs[4].ID != kept[2].ID || evs[4].PrevEventID != kept[0].ID {
		t.Errorf("chain after the batches: %d events, want 5 ending %s, %s linked", len(evs), kept[0].ID, kept[2].ID)
	}
}

// testEpochAtCommit: a batch's last unit that asks for the state epoch at commit (store.EpochAtCommit,
// as the engine's committer does) gets the epoch its transaction committed, its own units' state changes
// included, whether the batch ran together, again with savepoints (a failed unit), or began with the
// read; the last answer it gets is that one.
func testEpochAtCommit(t *testing.T, s store.Store) {
	b, ok := s.(store.Batcher)
	if !ok {
		t.Skip("the store does not group-commit")
	}
	org, u, v := seed(t, s)
	a := newAgent(u)
	create(t, s, a)
	var (
		got   int64
		gotOK bool
		calls int
	)
	tail := func(tx store.Tx) error {
		ask := func(epoch int64, err error) { got, gotOK, calls = epoch, err == nil, calls+1 }
		if ac, ok := tx.(store.EpochAtCommit); ok {
			ac.StateEpochAtCommit(ask)
		} else {
			ask(tx.StateEpoch())
		}
		return nil
	}
	appendOne := func(tx store.Tx) error {
		id, hash, err := tx.AuditHead(org.ID)
		if err != nil {
			return err
		}
		return tx.AppendAudit(newEvent(org.ID, id, hash, t0))
	}
	changeState := func(tx store.Tx) error { return tx.CreatePolicy(newPolicy(v, clavis.PrincipalAgent, a.ID)) }
	fail := func(store.Tx) error { return errRollback }
	for _, c := range []struct {
		name    string
		units   []func(store.Tx) error
		moves   bool // the batch changes the state
		failing int  // the unit that fails, or -1
	}{
		{"a batch that only reads it", nil, false, -1},
		{"a batch of appends", []func(store.Tx) error{appendOne, appendOne}, false, -1},
		{"a batch that changes the state", []func(store.Tx) error{appendOne, changeState, appendOne}, true, -1},
		{"a batch with a failed unit", []func(store.Tx) error{appendOne, fail, changeState}, true, 1},
	} {
		before := epoch(t, s)
		got, gotOK, calls = 0, false, 0
		errs := b.WriteBatch(t.Context(), append(c.units, tail))
		for i, err := range errs {
			if want := c.failing == i; (err == errRollback) != want || (err != nil && !want) {
				t.Fatalf("%s: unit %d: %v", c.name, i, err)
			}
		}
		after := epoch(t, s)
		if c.moves == (after == before) {
			t.Errorf("%s: epoch %d -> %d, moves %v", c.name, before, after, c.moves)
		}
		if calls == 0 || !gotOK || got != after {
			t.Errorf("%s: the tail was told epoch %d (ok %v, %d answers), want %d", c.name, got, gotOK, calls, after)
		}
	}
}
