package storetest

import (
	"encoding/json"
	"fmt"
	"slices"
	"testing"

	"clavis.dev/clavis"
	"clavis.dev/clavis/internal/store"
)

func testVaults(t *testing.T, s store.Store) {
	org, u, v := seed(t, s)
	agent := newAgent(u)
	create(t, s, agent)
	sys := &store.Vault{Vault: clavis.Vault{ID: newID(), OrgID: org.ID, Name: "__agent-keys",
		Description: "agent keys", CreatedBy: agent.ID, CreatedByType: clavis.PrincipalAgent, OwnerUserID: u.ID, System: true, CreatedAt: at(1)}, WrappedKey: []byte{0, 1, 2, 3}}
	bare := &store.Vault{Vault: clavis.Vault{ID: newID(), OrgID: org.ID, CreatedAt: t0}}
	create(t, s, sys, bare)

	for _, want := range []*store.Vault{v, sys, bare} {
		got := get(t, s, func(tx store.Tx) (*store.Vault, error) { return tx.GetVault(want.ID) })
		check(t, "GetVault "+want.Name, got, want)
	}
	got := get(t, s, func(tx store.Tx) (*store.Vault, error) { return tx.SystemVault(org.ID) })
	check(t, "SystemVault", got, sys)

	// Not in store.go: SystemVault returns "the" system vault, so there is at most one per org.
	second := *sys
	second.ID = newID()
	err := s.Write(t.Context(), func(tx store.Tx) error { return tx.CreateVault(&second) })
	wantKind(t, "CreateVault of a second system vault", err, clavis.KindConflict)
	dupID := *bare
	err = s.Write(t.Context(), func(tx store.Tx) error { return tx.CreateVault(&dupID) })
	wantKind(t, "CreateVault with a duplicate id", err, clavis.KindConflict)

	// ListVaults: one org's vaults in creation order, identical CreatedAt notwithstanding.
	otherOrg := newOrg()
	otherUser := newUser(otherOrg)
	create(t, s, otherOrg, otherUser)
	want := []string{v.ID, sys.ID, bare.ID}
	for i, id := range descendingIDs(4) {
		x := newVault(u)
		if i%2 == 1 {
			x = newVault(otherUser)
		}
		x.ID = id
		create(t, s, x)
		if i%2 == 0 {
			want = append(want, id)
		}
	}
	list := get(t, s, func(tx store.Tx) ([]*store.Vault, error) { return tx.ListVaults(org.ID) })
	check(t, "ListVaults ids", ids(list, func(v *store.Vault) string { return v.ID }), want)
}

// testDeleteVault: DeleteVault removes the vault with its key, secrets, versions and policies, and
// nothing of other vaults; audit events stay.
func testDeleteVault(t *testing.T, s store.Store) {
	org, u, doomed := seed(t, s)
	kept := newVault(u)
	create(t, s, kept)
	var secrets []*clavis.Secret
	for _, v := range []*store.Vault{doomed, kept} {
		sec, _ := addSecret(t, s, v, "db/password", 2)
		secrets = append(secrets, sec)
	}
	doomedPolicy := newPolicy(doomed, clavis.PrincipalUser, u.ID)
	keptPolicy := newPolicy(kept, clavis.PrincipalUser, u.ID)
	event := &clavis.AuditEvent{ID: newID(), OrgID: org.ID, Action: "vault.create", ActorID: u.ID,
		ActorType: clavis.PrincipalUser, ResourceType: "vault", ResourceID: doomed.ID,
		Details: map[string]any{"vault_id": doomed.ID}, CreatedAt: t0, IntegrityHash: "h1"}
	create(t, s, doomedPolicy, keptPolicy, event)

	write(t, s, func(tx store.Tx) error { return tx.DeleteVault(doomed.ID) })

	read(t, s, func(tx store.Tx) error {
		_, err := tx.GetVault(doomed.ID)
		wantKind(t, "GetVault of the deleted vault", err, clavis.KindNotFound)
		_, err = tx.GetSecret(doomed.ID, "db/password")
		wantKind(t, "GetSecret in the deleted vault", err, clavis.KindNotFound)
		_, err = tx.GetVersion(secrets[0].ID, 1)
		wantKind(t, "GetVersion in the deleted vault", err, clavis.KindNotFound)
		if vs, err := tx.ListVersions(secrets[0].ID); err != nil || len(vs) != 0 {
			t.Errorf("ListVersions in the deleted vault = %d versions, %v; want none", len(vs), err)
		}
		if hs, err := tx.ListSecrets(doomed.ID, ""); err != nil || len(hs) != 0 {
			t.Errorf("ListSecrets of the deleted vault = %d secrets, %v; want none", len(hs), err)
		}
		_, err = tx.GetPolicy(doomedPolicy.ID)
		wantKind(t, "GetPolicy of the deleted vault", err, clavis.KindNotFound)
		if ps, err := tx.ListPolicies(doomed.ID); err != nil || len(ps) != 0 {
			t.Errorf("ListPolicies of the deleted vault = %d policies, %v; want none", len(ps), err)
		}
		vids, err := tx.PolicyVaultIDs(clavis.PrincipalUser, u.ID, t0)
		if err != nil {
			return err
		}
		check(t, "PolicyVaultIDs after DeleteVault", vids, []string{kept.ID})

		if _, err := tx.GetVault(kept.ID); err != nil {
			t.Errorf("GetVault of another vault: %v", err)
		}
		if _, err := tx.GetVersion(secrets[1].ID, 2); err != nil {
			t.Errorf("GetVersion in another vault: %v", err)
		}
		if _, err := tx.GetPolicy(keptPolicy.ID); err != nil {
			t.Errorf("GetPolicy of another vault: %v", err)
		}
		events, err := tx.ListAudit(store.AuditFilter{OrgID: org.ID, VaultID: doomed.ID, Limit: 10})
		if err != nil {
			return err
		}
		checkEvents(t, "audit events of the deleted vault", events, []*clavis.AuditEvent{event})
		return nil
	})

	err := s.Write(t.Context(), func(tx store.Tx) error { return tx.DeleteVault(doomed.ID) })
	wantKind(t, "DeleteVault twice", err, clavis.KindNotFound)
}

// testSecrets: EnsureSecret, NextVersion and SetSecretDeleted.
func testSecrets(t *testing.T, s store.Store) {
	_, u, v := seed(t, s)
	other := newVault(u)
	create(t, s, other)

	first := newSecret(v, "api/key")
	got := put(t, s, func(tx store.Tx) (*clavis.Secret, error) { return tx.EnsureSecret(first) })
	check(t, "EnsureSecret of a new path", got, first)
	again := newSecret(v, "api/key")
	again.CreatedAt = at(60)
	got = put(t, s, func(tx store.Tx) (*clavis.Secret, error) { return tx.EnsureSecret(again) })
	check(t, "EnsureSecret of an existing path", got, first)
	elsewhere := newSecret(other, "api/key")
	got = put(t, s, func(tx store.Tx) (*clavis.Secret, error) { return tx.EnsureSecret(elsewhere) })
	check(t, "EnsureSecret of the same path in another vault", got, elsewhere)

	steps := []struct {
		name        string
		fn          func(tx store.Tx) (int, error)
		wantNext    int // 0: not NextVersion
		wantLatest  int
		wantDeleted bool
	}{
		{"NextVersion", func(tx store.Tx) (int, error) { return tx.NextVersion(first.ID) }, 1, 1, false},
		{"NextVersion", func(tx store.Tx) (int, error) { return tx.NextVersion(first.ID) }, 2, 2, false},
		{"SetSecretDeleted(true)", func(tx store.Tx) (int, error) { return 0, tx.SetSecretDeleted(first.ID, true) }, 0, 2, true},
		{"SetSecretDeleted(true) again", func(tx store.Tx) (int, error) { return 0, tx.SetSecretDeleted(first.ID, true) }, 0, 2, true},
		{"NextVersion of a deleted secret", func(tx store.Tx) (int, error) { return tx.NextVersion(first.ID) }, 3, 3, false},
		{"SetSecretDeleted(true)", func(tx store.Tx) (int, error) { return 0, tx.SetSecretDeleted(first.ID, true) }, 0, 3, true},
		{"SetSecretDeleted(false)", func(tx store.Tx) (int, error) { return 0, tx.SetSecretDeleted(first.ID, false) }, 0, 3, false},
	}
	for _, st := range steps {
		n := put(t, s, st.fn)
		if n != st.wantNext {
			t.Errorf("%s returned %d, want %d", st.name, n, st.wantNext)
		}
		got := get(t, s, func(tx store.Tx) (*clavis.Secret, error) { return tx.GetSecret(v.ID, "api/key") })
		if got.LatestVersion != st.wantLatest || got.Deleted != st.wantDeleted {
			t.Errorf("after %s: LatestVersion %d, Deleted %v; want %d, %v",
				st.name, got.LatestVersion, got.Deleted, st.wantLatest, st.wantDeleted)
		}
	}
	got = get(t, s, func(tx store.Tx) (*clavis.Secret, error) { return tx.GetSecret(other.ID, "api/key") })
	check(t, "secret of the same path in another vault", got, elsewhere)
}

// testEnsureSecretConcurrent: concurrent EnsureSecret calls for one path all get the same secret.
func testEnsureSecretConcurrent(t *testing.T, s store.Store) {
	_, _, v := seed(t, s)
	const n = 20
	got := make([]string, n)
	errs := parallel(n, func(i int) error {
		return s.Write(t.Context(), func(tx store.Tx) error {
			sec, err := tx.EnsureSecret(newSecret(v, "shared"))
			if err == nil {
				got[i] = sec.ID
			}
			return err
		})
	})
	for i, err := range errs {
		if err != nil {
			t.Fatalf("writer %d: %v", i, err)
		}
	}
	for i := range got {
		if got[i] != got[0] {
			t.Fatalf("EnsureSecret returned ids %v, want one id", got)
		}
	}
}

// testListSecrets: prefix is a plain byte prefix ('_' and '%' are literal), order is byte order,
// deleted secrets are hidden.
func testListSecrets(t *testing.T, s store.Store) {
	_, u, v := seed(t, s)
	other := newVault(u)
	create(t, s, other)
	paths := []string{"ab", "a_b", "a", "a%", "a%b", "a/b", "B", "A", "b/c", "é", "ü/x", "zeta"}
	for _, p := range paths {
		addSecret(t, s, v, p, 1)
	}
	addSecret(t, s, other, "a/other-vault", 1)
	gone, _ := addSecret(t, s, v, "a/deleted", 1)
	write(t, s, func(tx store.Tx) error { return tx.SetSecretDeleted(gone.ID, true) })

	tests := []struct {
		prefix string
		want   []string
	}{
		{"", []string{"A", "B", "a", "a%", "a%b", "a/b", "a_b", "ab", "b/c", "zeta", "é", "ü/x"}},
		{"a", []string{"a", "a%", "a%b", "a/b", "a_b", "ab"}},
		{"a_", []string{"a_b"}},
		{"a%", []string{"a%", "a%b"}},
		{"a/", []string{"a/b"}},
		{"A", []string{"A"}},
		{"ab", []string{"ab"}},
		{"ü", []string{"ü/x"}},
		{"a/deleted", nil},
		{"zz", nil},
		{"abc", nil},
	}
	for _, tc := range tests {
		heads := get(t, s, func(tx store.Tx) ([]store.SecretHead, error) { return tx.ListSecrets(v.ID, tc.prefix) })
		got := ids(heads, func(h store.SecretHead) string { return h.Secret.Path })
		check(t, "ListSecrets prefix "+tc.prefix, got, tc.want)
	}
}

// testListSecretsLatest: each listed secret carries its latest version's metadata.
func testListSecretsLatest(t *testing.T, s store.Store) {
	_, _, v := seed(t, s)
	sec, _ := addSecret(t, s, v, "svc/token", 1)
	v2 := newVersion(sec, 2)
	v2.Type = "api_key"
	v2.Metadata = json.RawMessage(`{"env": "prod",  "owner":"ops"}`)
	v2.ExpiresAt = ptr(at(3600))
	v2.MaxAccessCount = 5
	v2.AccessCount = 1
	v2.Disabled = true
	v2.CreatedAt = at(10)
	write(t, s, func(tx store.Tx) error {
		if _, err := tx.NextVersion(sec.ID); err != nil {
			return err
		}
		return tx.CreateVersion(v2)
	})
	heads := get(t, s, func(tx store.Tx) ([]store.SecretHead, error) { return tx.ListSecrets(v.ID, "svc/") })
	if len(heads) != 1 {
		t.Fatalf("ListSecrets returned %d secrets, want 1", len(heads))
	}
	wantSecret := *sec
	wantSecret.LatestVersion = 2
	check(t, "ListSecrets secret", heads[0].Secret, &wantSecret)
	if heads[0].Latest == nil {
		t.Fatal("ListSecrets Latest is nil")
	}
	check(t, "ListSecrets latest version", heads[0].Latest, &v2.Version) // metadata only, by its type
}

// testPurgeSecrets: PurgeSecrets hard-deletes the secrets under a byte prefix, deleted or not, with
// their versions.
func testPurgeSecrets(t *testing.T, s store.Store) {
	_, u, v := seed(t, s)
	other := newVault(u)
	create(t, s, other)
	all := map[string]*clavis.Secret{}
	for _, p := range []string{"p/a", "p/b", "p/deleted", "p_x", "pq", "q"} {
		all[p], _ = addSecret(t, s, v, p, 2)
	}
	write(t, s, func(tx store.Tx) error { return tx.SetSecretDeleted(all["p/deleted"].ID, true) })
	otherSecret, _ := addSecret(t, s, other, "p/a", 1)

	steps := []struct {
		prefix    string
		wantGone  []string
		wantAfter []string // ListSecrets(v, "")
	}{
		{"p/", []string{"p/a", "p/b", "p/deleted"}, []string{"p_x", "pq", "q"}},
		{"p_", []string{"p_x"}, []string{"pq", "q"}},
		{"nothing", nil, []string{"pq", "q"}},
	}
	for _, st := range steps {
		write(t, s, func(tx store.Tx) error { return tx.PurgeSecrets(v.ID, st.prefix) })
		read(t, s, func(tx store.Tx) error {
			for _, p := range st.wantGone {
				_, err := tx.GetSecret(v.ID, p)
				wantKind(t, "GetSecret of purged "+p, err, clavis.KindNotFound)
				_, err = tx.GetVersion(all[p].ID, 1)
				wantKind(t, "GetVersion of purged "+p, err, clavis.KindNotFound)
			}
			heads, err := tx.ListSecrets(v.ID, "")
			if err != nil {
				return err
			}
			check(t, "ListSecrets after PurgeSecrets "+st.prefix, ids(heads, func(h store.SecretHead) string { return h.Secret.Path }), st.wantAfter)
			return nil
		})
	}
	got := get(t, s, func(tx store.Tx) (*store.Version, error) { return tx.GetVersion(otherSecret.ID, 1) })
	if got.SecretID != otherSecret.ID {
		t.Errorf("version of the other vault's secret: got secret %s", got.SecretID)
	}
}

func testVersions(t *testing.T, s store.Store) {
	_, _, v := seed(t, s)
	sec, _ := addSecret(t, s, v, "x", 0)
	full := newVersion(sec, 1)
	full.Type = "private_key"
	// Metadata is kept byte for byte: whitespace, key order and all.
	full.Metadata = json.RawMessage(`{"z": 1,  "a": [true, null], "n": {"k": "v"}}`)
	full.ExpiresAt = ptr(at(120))
	full.MaxAccessCount = 5
	full.AccessCount = 2
	full.Disabled = true
	noMeta := newVersion(sec, 2)
	noMeta.Metadata = nil
	noMeta.Ciphertext = []byte{0, 0, 0xff}
	create(t, s, full, noMeta)

	tests := []struct {
		name string
		n    int
		want *store.Version
	}{
		{"full", 1, full},
		{"no metadata", 2, func() *store.Version { w := *noMeta; w.Metadata = json.RawMessage(`{}`); return &w }()},
	}
	for _, tc := range tests {
		got := get(t, s, func(tx store.Tx) (*store.Version, error) { return tx.GetVersion(sec.ID, tc.n) })
		check(t, "GetVersion "+tc.name, got, tc.want)
	}

	dup := newVersion(sec, 1)
	err := s.Write(t.Context(), func(tx store.Tx) error { return tx.CreateVersion(dup) })
	wantKind(t, "CreateVersion of an existing number", err, clavis.KindConflict)

	for range 2 { // idempotent
		write(t, s, func(tx store.Tx) error { return tx.SetVersionDisabled(sec.ID, 2) })
		got := get(t, s, func(tx store.Tx) (*store.Version, error) { return tx.GetVersion(sec.ID, 2) })
		if !got.Disabled {
			t.Errorf("SetVersionDisabled: version not disabled")
		}
	}
}

// testListVersions: the metadata of all versions, newest first.
func testListVersions(t *testing.T, s store.Store) {
	_, _, v := seed(t, s)
	sec, versions := addSecret(t, s, v, "x", 3)
	addSecret(t, s, v, "y", 2) // another secret's versions are not listed
	// A clavis.Version has no ciphertext to return.
	got := get(t, s, func(tx store.Tx) ([]*clavis.Version, error) { return tx.ListVersions(sec.ID) })
	var want []*clavis.Version
	for _, ver := range slices.Backward(versions) {
		want = append(want, &ver.Version)
	}
	check(t, "ListVersions", got, want)

	none := get(t, s, func(tx store.Tx) ([]*clavis.Version, error) { return tx.ListVersions(newID()) })
	if len(none) != 0 {
		t.Errorf("ListVersions of an unknown secret returned %d versions", len(none))
	}
}

// testNextVersionConcurrent: 50 concurrent writers get exactly the numbers 1..50.
func testNextVersionConcurrent(t *testing.T, s store.Store) {
	_, _, v := seed(t, s)
	sec, _ := addSecret(t, s, v, "hot", 0)
	const n = 50
	got := make([]int, n)
	errs := parallel(n, func(i int) error {
		return s.Write(t.Context(), func(tx store.Tx) error {
			num, err := tx.NextVersion(sec.ID)
			if err != nil {
				return err
			}
			got[i] = num
			return tx.CreateVersion(newVersion(sec, num))
		})
	})
	for i, err := range errs {
		if err != nil {
			t.Fatalf("writer %d: %v", i, err)
		}
	}
	slices.Sort(got)
	want := make([]int, n)
	for i := range want {
		want[i] = i + 1
	}
	check(t, "version numbers", got, want)
	latest := get(t, s, func(tx store.Tx) (*clavis.Secret, error) { return tx.GetSecret(v.ID, "hot") })
	if latest.LatestVersion != n {
		t.Errorf("LatestVersion = %d, want %d", latest.LatestVersion, n)
	}
	vs := get(t, s, func(tx store.Tx) ([]*clavis.Version, error) { return tx.ListVersions(sec.ID) })
	if len(vs) != n {
		t.Errorf("ListVersions returned %d versions, want %d", len(vs), n)
	}
}

func testConsumeAccess(t *testing.T, s store.Store) {
	_, _, v := seed(t, s)
	tests := []struct {
		name        string
		max, count  int
		want        []bool
		wantCounted int
	}{
		{"unlimited", 0, 0, []bool{true, true, true}, 3},
		{"limit 2", 2, 0, []bool{true, true, false, false}, 2},
		{"limit 3, already 2", 3, 2, []bool{true, false}, 3},
		{"exhausted", 1, 1, []bool{false}, 1},
	}
	for _, tc := range tests {
		sec, _ := addSecret(t, s, v, tc.name, 0)
		ver := newVersion(sec, 1)
		ver.MaxAccessCount, ver.AccessCount = tc.max, tc.count
		create(t, s, ver)
		var got []bool
		for range tc.want {
			got = append(got, put(t, s, func(tx store.Tx) (bool, error) { return tx.ConsumeAccess(sec.ID, 1) }))
		}
		check(t, "ConsumeAccess results, "+tc.name, got, tc.want)
		after := get(t, s, func(tx store.Tx) (*store.Version, error) { return tx.GetVersion(sec.ID, 1) })
		if after.AccessCount != tc.wantCounted {
			t.Errorf("%s: AccessCount = %d, want %d", tc.name, after.AccessCount, tc.wantCounted)
		}
	}
}

// testConsumeAccessConcurrent: with 100 concurrent readers, exactly MaxAccessCount of them succeed.
func testConsumeAccessConcurrent(t *testing.T, s store.Store) {
	_, _, v := seed(t, s)
	const n = 100
	for _, limit := range []int{1, 10, 0} {
		sec, _ := addSecret(t, s, v, fmt.Sprintf("limit-%d", limit), 0)
		ver := newVersion(sec, 1)
		ver.MaxAccessCount = limit
		create(t, s, ver)
		ok := make([]bool, n)
		errs := parallel(n, func(i int) error {
			return s.Write(t.Context(), func(tx store.Tx) error {
				var err error
				ok[i], err = tx.ConsumeAccess(sec.ID, 1)
				return err
			})
		})
		for i, err := range errs {
			if err != nil {
				t.Fatalf("reader %d: %v", i, err)
			}
		}
		want := limit
		if limit == 0 {
			want = n
		}
		if got := count(ok); got != want {
			t.Errorf("MaxAccessCount %d: %d of %d ConsumeAccess calls succeeded, want %d", limit, got, n, want)
		}
		after := get(t, s, func(tx store.Tx) (*store.Version, error) { return tx.GetVersion(sec.ID, 1) })
		if after.AccessCount != want {
			t.Errorf("MaxAccessCount %d: AccessCount = %d, want %d", limit, after.AccessCount, want)
		}
	}
}

func count(bs []bool) int {
	n := 0
	for _, b := range bs {
		if b {
			n++
		}
	}
	return n
}
