package storetest

import (
	"slices"
	"testing"

	"clavis.dev/clavis"
	"clavis.dev/clavis/internal/store"
)

// newShare is a link share of sec by u.
func newShare(u *store.User, v *store.Vault, sec *clavis.Secret, maxAccess int) *store.Share {
	return &store.Share{Share: clavis.Share{ID: newID(), OrgID: u.OrgID, SecretID: sec.ID, VaultID: v.ID, SecretPath: sec.Path,
		CreatedBy: u.ID, CreatedByType: clavis.PrincipalUser, RecipientType: clavis.ShareToAnyone, ExpiresAt: at(3600),
		MaxAccessCount: maxAccess, IPAllowlist: []string{"192.0.2.0/24", "2001:db8::/32"}, CreatedAt: t0}}
}

func createShare(t *testing.T, s store.Store, sh *store.Share) {
	t.Helper()
	write(t, s, func(tx store.Tx) error { return tx.CreateShare(sh) })
}

func testShares(t *testing.T, s store.Store) {
	_, u, v := seed(t, s)
	sec, _ := addSecret(t, s, v, "app/db", 1)
	link := newShare(u, v, sec, 3)
	link.PassphraseHash, link.HasPassphrase = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA", true
	createShare(t, s, link)
	got := get(t, s, func(tx store.Tx) (*store.Share, error) { return tx.GetShare(link.ID) })
	check(t, "GetShare", got, link)

	directed := newShare(u, v, sec, 1)
	directed.RecipientType, directed.RecipientID, directed.IPAllowlist = clavis.ShareToAgent, newID(), nil
	createShare(t, s, directed)
	byU := get(t, s, func(tx store.Tx) ([]*store.Share, error) { return tx.ListSharesBy(u.ID) })
	if len(byU) != 2 || byU[0].ID != directed.ID || byU[1].ID != link.ID {
		t.Errorf("ListSharesBy: want the two shares newest first, got %d", len(byU))
	}
	to := get(t, s, func(tx store.Tx) ([]*store.Share, error) { return tx.ListSharesTo(directed.RecipientID) })
	if len(to) != 1 || to[0].ID != directed.ID {
		t.Errorf("ListSharesTo: want the directed share, got %d", len(to))
	}
	write(t, s, func(tx store.Tx) error { return tx.SetShareAnswer(directed.ID, false, true) })
	if to := get(t, s, func(tx store.Tx) ([]*store.Share, error) { return tx.ListSharesTo(directed.RecipientID) }); len(to) != 0 {
		t.Errorf("ListSharesTo lists a declined share")
	}
	wantKind(t, "SetShareAnswer absent", s.Write(t.Context(), func(tx store.Tx) error { return tx.SetShareAnswer(newID(), true, false) }), clavis.KindNotFound)

	// external_email shares are bound to the user that signs up with the address, once.
	email := newShare(u, v, sec, 1)
	email.RecipientType, email.RecipientEmail = clavis.ShareToExternalEmail, "bo@example.com"
	createShare(t, s, email)
	claimer, other := newID(), newID()
	write(t, s, func(tx store.Tx) error { return tx.BindEmailShares("bo@example.com", claimer) })
	write(t, s, func(tx store.Tx) error { return tx.BindEmailShares("bo@example.com", other) })
	if got := get(t, s, func(tx store.Tx) (*store.Share, error) { return tx.GetShare(email.ID) }); got.RecipientID != claimer {
		t.Errorf("BindEmailShares: recipient %q, want the first claimer", got.RecipientID)
	}

	write(t, s, func(tx store.Tx) error { return tx.DeleteSharesTo(directed.RecipientID) })
	wantKind(t, "GetShare after DeleteSharesTo", getErrOnly(t, s, directed.ID), clavis.KindNotFound)
	write(t, s, func(tx store.Tx) error { return tx.DeleteShare(link.ID) })
	wantKind(t, "GetShare after DeleteShare", getErrOnly(t, s, link.ID), clavis.KindNotFound)
	wantKind(t, "DeleteShare again", s.Write(t.Context(), func(tx store.Tx) error { return tx.DeleteShare(link.ID) }), clavis.KindNotFound)

	// Deleting the vault deletes its shares.
	write(t, s, func(tx store.Tx) error { return tx.DeleteVault(v.ID) })
	wantKind(t, "GetShare after DeleteVault", getErrOnly(t, s, email.ID), clavis.KindNotFound)
}

func getErrOnly(t *testing.T, s store.Store, id string) error {
	t.Helper()
	_, err := getErr(t, s, func(tx store.Tx) (*store.Share, error) { return tx.GetShare(id) })
	return err
}

// testConsumeShareConcurrent: with 100 concurrent accesses of a share allowing 3, exactly 3 succeed,
// each with a distinct count.
func testConsumeShareConcurrent(t *testing.T, s store.Store) {
	_, u, v := seed(t, s)
	sec, _ := addSecret(t, s, v, "app/db", 1)
	sh := newShare(u, v, sec, 3)
	createShare(t, s, sh)
	const n = 100
	counts := make([]int, n)
	errs := parallel(n, func(i int) error {
		return s.Write(t.Context(), func(tx store.Tx) error {
			c, ok, err := tx.ConsumeShare(sh.ID)
			if ok {
				counts[i] = c
			}
			return err
		})
	})
	for i, err := range errs {
		if err != nil {
			t.Fatalf("access %d: %v", i, err)
		}
	}
	var got []int
	for _, c := range counts {
		if c > 0 {
			got = append(got, c)
		}
	}
	slices.Sort(got)
	check(t, "counts of the successful accesses", got, []int{1, 2, 3})
	if after := get(t, s, func(tx store.Tx) (*store.Share, error) { return tx.GetShare(sh.ID) }); after.AccessCount != 3 {
		t.Errorf("AccessCount = %d, want 3", after.AccessCount)
	}
	_, _, err := putErr(s, t, func(tx store.Tx) (int, bool, error) { return tx.ConsumeShare(newID()) })
	wantKind(t, "ConsumeShare absent", err, clavis.KindNotFound)
}

func putErr(s store.Store, t *testing.T, fn func(tx store.Tx) (int, bool, error)) (int, bool, error) {
	var n int
	var ok bool
	err := s.Write(t.Context(), func(tx store.Tx) error {
		var err error
		n, ok, err = fn(tx)
		return err
	})
	return n, ok, err
}

func testGetSecretByID(t *testing.T, s store.Store) {
	_, _, v := seed(t, s)
	sec, _ := addSecret(t, s, v, "app/db", 1)
	got := get(t, s, func(tx store.Tx) (*clavis.Secret, error) { return tx.GetSecretByID(sec.ID) })
	if got.ID != sec.ID || got.Path != "app/db" || got.VaultID != v.ID {
		t.Errorf("GetSecretByID = %+v, want %+v", got, sec)
	}
	_, err := getErr(t, s, func(tx store.Tx) (*clavis.Secret, error) { return tx.GetSecretByID(newID()) })
	wantKind(t, "GetSecretByID absent", err, clavis.KindNotFound)
}

func testInvites(t *testing.T, s store.Store) {
	org, u, _ := seed(t, s)
	inv := &clavis.Invite{Email: "bo@example.com", OrgID: org.ID, Role: clavis.RoleAdmin, InvitedBy: u.ID, ExpiresAt: at(60), CreatedAt: t0}
	write(t, s, func(tx store.Tx) error { return tx.PutInvite(inv) })
	check(t, "GetInvite", get(t, s, func(tx store.Tx) (*clavis.Invite, error) { return tx.GetInvite("bo@example.com") }), inv)
	again := *inv
	again.Role, again.ExpiresAt = clavis.RoleMember, at(120)
	write(t, s, func(tx store.Tx) error { return tx.PutInvite(&again) })
	check(t, "GetInvite after re-invite", get(t, s, func(tx store.Tx) (*clavis.Invite, error) { return tx.GetInvite("bo@example.com") }), &again)
	write(t, s, func(tx store.Tx) error { return tx.DeleteInvite("bo@example.com") })
	write(t, s, func(tx store.Tx) error { return tx.DeleteInvite("bo@example.com") })
	_, err := getErr(t, s, func(tx store.Tx) (*clavis.Invite, error) { return tx.GetInvite("bo@example.com") })
	wantKind(t, "GetInvite after delete", err, clavis.KindNotFound)
	write(t, s, func(tx store.Tx) error { return tx.LockOrg(org.ID) })
	wantKind(t, "LockOrg absent", s.Write(t.Context(), func(tx store.Tx) error { return tx.LockOrg(newID()) }), clavis.KindNotFound)
}

func testIPRules(t *testing.T, s store.Store) {
	org, u, _ := seed(t, s)
	other, _, _ := seed(t, s)
	var rules []*clavis.IPRule
	for i, cidr := range []string{"192.0.2.0/24", "2001:db8::/32", "198.51.100.7/32"} {
		r := &clavis.IPRule{ID: newID(), OrgID: org.ID, RuleType: clavis.IPRuleDeny, CIDR: cidr, Label: "rule",
			AppliesTo: clavis.IPRulesForAgents, CreatedBy: u.ID, CreatedAt: t0}
		if i == 1 {
			r.RuleType, r.AppliesTo, r.Label = clavis.IPRuleAllow, clavis.IPRulesForAll, ""
		}
		write(t, s, func(tx store.Tx) error { return tx.CreateIPRule(r) })
		rules = append(rules, r)
	}
	check(t, "ListIPRules in creation order", get(t, s, func(tx store.Tx) ([]*clavis.IPRule, error) { return tx.ListIPRules(org.ID) }), rules)
	check(t, "GetIPRule", get(t, s, func(tx store.Tx) (*clavis.IPRule, error) { return tx.GetIPRule(rules[1].ID) }), rules[1])
	if rs := get(t, s, func(tx store.Tx) ([]*clavis.IPRule, error) { return tx.ListIPRules(other.ID) }); len(rs) != 0 {
		t.Errorf("ListIPRules of another org: %d rules", len(rs))
	}
	write(t, s, func(tx store.Tx) error { return tx.DeleteIPRule(rules[0].ID) })
	wantKind(t, "DeleteIPRule again", s.Write(t.Context(), func(tx store.Tx) error { return tx.DeleteIPRule(rules[0].ID) }), clavis.KindNotFound)
	check(t, "ListIPRules after delete", get(t, s, func(tx store.Tx) ([]*clavis.IPRule, error) { return tx.ListIPRules(org.ID) }), rules[1:])
}
