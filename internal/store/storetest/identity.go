package storetest

import (
	"slices"
	"testing"
	"time"

	"clavis.dev/clavis"
	"clavis.dev/clavis/internal/store"
)

// testServerKeys: PutServerKey stores a blob once; the first writer wins.
func testServerKeys(t *testing.T, s store.Store) {
	first := []byte{0, 1, 2, 0xff, 'k'}
	got := put(t, s, func(tx store.Tx) ([]byte, error) { return tx.PutServerKey("jwt", first) })
	check(t, "PutServerKey of a new name", got, first)
	got = put(t, s, func(tx store.Tx) ([]byte, error) { return tx.PutServerKey("jwt", []byte("second")) })
	check(t, "PutServerKey of an existing name", got, first)
	got = get(t, s, func(tx store.Tx) ([]byte, error) { return tx.ServerKey("jwt") })
	check(t, "ServerKey", got, first)

	other := []byte("pepper")
	put(t, s, func(tx store.Tx) ([]byte, error) { return tx.PutServerKey("pepper", other) })
	got = get(t, s, func(tx store.Tx) ([]byte, error) { return tx.ServerKey("pepper") })
	check(t, "ServerKey of a second name", got, other)
}

// testServerKeysConcurrent: of concurrent PutServerKey calls for one name, every caller gets the same blob.
func testServerKeysConcurrent(t *testing.T, s store.Store) {
	const n = 20
	got := make([][]byte, n)
	errs := parallel(n, func(i int) error {
		return s.Write(t.Context(), func(tx store.Tx) error {
			var err error
			got[i], err = tx.PutServerKey("audit", []byte{byte(i)}) // #nosec G115 -- i < 10, the loop bound
			return err
		})
	})
	for i, err := range errs {
		if err != nil {
			t.Fatalf("writer %d: %v", i, err)
		}
	}
	stored := get(t, s, func(tx store.Tx) ([]byte, error) { return tx.ServerKey("audit") })
	for i := range got {
		check(t, "PutServerKey result of a concurrent writer", got[i], stored)
	}
}

// testServerKeyRotation: ServerKeyNames lists every name in byte order; ReplaceServerKey overwrites
// one existing blob and nothing else, stores nothing for a missing name (ErrNotFound, the transaction
// still usable), and PutServerKey afterwards keeps returning the replaced blob.
// Long on purpose: one scenario whose steps depend on each other.
func testServerKeyRotation(t *testing.T, s store.Store) {
	names := func() []string {
		return get(t, s, func(tx store.Tx) ([]string, error) { return tx.ServerKeyNames() })
	}
	if got := names(); len(got) != 0 {
		t.Errorf("ServerKeyNames of an empty store = %q, want none", got)
	}

	// Stored in neither byte nor dictionary order; a case- or accent-aware collation orders them otherwise.
	stored := map[string][]byte{
		"jwt":     {0, 1, 2, 0xff, 'k'},
		"pepper":  []byte("pepper"),
		"audit":   []byte("audit key"),
		"Zeta":    []byte("zeta"),
		"_legacy": []byte("legacy"),
		"é":       []byte("accent"),
		"a-b":     []byte("dash"),
		"ab":      []byte("plain"),
		"B":       []byte("upper"),
	}
	order := []string{"jwt", "pepper", "audit", "Zeta", "_legacy", "é", "a-b", "ab", "B"}
	write(t, s, func(tx store.Tx) error {
		for _, n := range order {
			if _, err := tx.PutServerKey(n, stored[n]); err != nil {
				return err
			}
		}
		return nil
	})
	want := []string{"B", "Zeta", "_legacy", "a-b", "ab", "audit", "jwt", "pepper", "é"}
	if !slices.IsSorted(want) || len(want) != len(stored) {
		t.Fatalf("fixture: %q", want)
	}
	check(t, "ServerKeyNames", names(), want)

	// Replace one blob: only that one changes.
	rotated := append([]byte("rewrapped jwt key, longer than the old one"), 0, 0xfe, 0)
	write(t, s, func(tx store.Tx) error { return tx.ReplaceServerKey("jwt", rotated) })
	stored["jwt"] = rotated
	for n, v := range stored {
		got := get(t, s, func(tx store.Tx) ([]byte, error) { return tx.ServerKey(n) })
		check(t, "ServerKey "+n+" after ReplaceServerKey of jwt", got, v)
	}
	check(t, "ServerKeyNames after ReplaceServerKey", names(), want)

	// A later PutServerKey of the name (another replica starting) gets the replaced blob.
	got := put(t, s, func(tx store.Tx) ([]byte, error) { return tx.PutServerKey("jwt", []byte("fresh")) })
	check(t, "PutServerKey of a replaced name", got, rotated)
	got = get(t, s, func(tx store.Tx) ([]byte, error) { return tx.ServerKey("jwt") })
	check(t, "ServerKey after PutServerKey of a replaced name", got, rotated)

	// Replaced again: the new blob wins, also over a shorter one.
	write(t, s, func(tx store.Tx) error { return tx.ReplaceServerKey("jwt", []byte("v3")) })
	stored["jwt"] = []byte("v3")
	got = get(t, s, func(tx store.Tx) ([]byte, error) { return tx.ServerKey("jwt") })
	check(t, "ServerKey after a second ReplaceServerKey", got, stored["jwt"])

	// A missing name is not found, is not created, and leaves the transaction usable.
	write(t, s, func(tx store.Tx) error {
		wantKind(t, "ReplaceServerKey of a missing name", tx.ReplaceServerKey("missing", []byte("x")), clavis.KindNotFound)
		wantKind(t, "ReplaceServerKey of a name differing in case", tx.ReplaceServerKey("JWT", []byte("x")), clavis.KindNotFound)
		return tx.ReplaceServerKey("pepper", []byte("pepper 2"))
	})
	stored["pepper"] = []byte("pepper 2")
	err := s.Write(t.Context(), func(tx store.Tx) error { return tx.ReplaceServerKey("missing", []byte("x")) })
	wantKind(t, "Write with ReplaceServerKey of a missing name", err, clavis.KindNotFound)
	_, err = getErr(t, s, func(tx store.Tx) ([]byte, error) { return tx.ServerKey("missing") })
	wantKind(t, "ServerKey after ReplaceServerKey of a missing name", err, clavis.KindNotFound)
	check(t, "ServerKeyNames after ReplaceServerKey of missing names", names(), want)

	// A rolled-back replacement does not stick.
	err = s.Write(t.Context(), func(tx store.Tx) error {
		if err := tx.ReplaceServerKey("audit", []byte("rolled back")); err != nil {
			return err
		}
		return errRollback
	})
	if err != errRollback {
		t.Errorf("Write returned %v, want %v", err, errRollback)
	}
	for n, v := range stored {
		got := get(t, s, func(tx store.Tx) ([]byte, error) { return tx.ServerKey(n) })
		check(t, "ServerKey "+n+" at the end", got, v)
	}
}

func testOrgs(t *testing.T, s store.Store) {
	if n := get(t, s, func(tx store.Tx) (int, error) { return tx.CountOrgs() }); n != 0 {
		t.Errorf("CountOrgs of an empty store = %d, want 0", n)
	}
	plain := newOrg()
	// Times are returned at microsecond precision in UTC.
	precise := &clavis.Org{ID: newID(), Name: "Ünïcode Org",
		CreatedAt: time.Date(2031, 2, 3, 4, 5, 6, 123456789, time.FixedZone("CET", 3600))}
	create(t, s, plain, precise)

	tests := []struct {
		name string
		id   string
		want *clavis.Org
	}{
		{"plain", plain.ID, plain},
		{"precise", precise.ID, &clavis.Org{ID: precise.ID, Name: precise.Name,
			CreatedAt: time.Date(2031, 2, 3, 3, 5, 6, 123456000, time.UTC)}},
	}
	for _, tc := range tests {
		got := get(t, s, func(tx store.Tx) (*clavis.Org, error) { return tx.GetOrg(tc.id) })
		check(t, "GetOrg "+tc.name, got, tc.want)
	}
	if n := get(t, s, func(tx store.Tx) (int, error) { return tx.CountOrgs() }); n != 2 {
		t.Errorf("CountOrgs = %d, want 2", n)
	}
	err := s.Write(t.Context(), func(tx store.Tx) error { return tx.CreateOrg(&clavis.Org{ID: plain.ID, CreatedAt: t0}) })
	wantKind(t, "CreateOrg with a duplicate id", err, clavis.KindConflict)
}

func testUsers(t *testing.T, s store.Store) {
	org := newOrg()
	create(t, s, org)
	full := newUser(org)
	full.DisplayName = "Ada Lovelace"
	full.Role = clavis.RoleAdmin
	full.MarketingEmails = true
	full.TOTPEnabled = true
	full.Disabled = true
	full.TokenGen = 1 << 40
	full.FailedLogins = 3
	full.LockedUntil = ptr(at(3600))
	minimal := &store.User{User: clavis.User{ID: newID(), OrgID: org.ID, Email: "min@example.com", CreatedAt: t0}}
	create(t, s, full, minimal)

	for _, want := range []*store.User{full, minimal} {
		got := get(t, s, func(tx store.Tx) (*store.User, error) { return tx.GetUser(want.ID) })
		check(t, "GetUser "+want.Email, got, want)
		got = get(t, s, func(tx store.Tx) (*store.User, error) { return tx.GetUserByEmail(want.Email) })
		check(t, "GetUserByEmail "+want.Email, got, want)
	}

	sameEmail := newUser(org)
	sameEmail.Email = full.Email
	sameID := newUser(org)
	sameID.ID = full.ID
	for name, u := range map[string]*store.User{"email": sameEmail, "id": sameID} {
		err := s.Write(t.Context(), func(tx store.Tx) error { return tx.CreateUser(u) })
		wantKind(t, "CreateUser with a duplicate "+name, err, clavis.KindConflict)
	}
}

// testUpdateUser: UpdateUser writes every field but ID, OrgID, Email and CreatedAt.
func testUpdateUser(t *testing.T, s store.Store) {
	org, u, _ := seed(t, s)
	other := newOrg()
	create(t, s, other)
	locked := newUser(org)
	locked.LockedUntil = ptr(at(10))
	create(t, s, locked)

	tests := []struct {
		name   string
		before *store.User
		update func(u *store.User)
	}{
		{"set everything", u, func(u *store.User) {
			u.DisplayName, u.PasswordHash, u.Role = "New Name", "new-hash", clavis.RoleMember
			u.MarketingEmails, u.TOTPEnabled, u.Disabled = true, true, true
			u.TokenGen, u.FailedLogins, u.LockedUntil = 7, 5, ptr(at(99))
		}},
		{"clear everything", locked, func(u *store.User) {
			u.DisplayName, u.PasswordHash, u.Role = "", "", ""
			u.TokenGen, u.FailedLogins, u.LockedUntil = 0, 0, nil
		}},
	}
	for _, tc := range tests {
		want := *tc.before
		tc.update(&want)
		arg := want
		arg.OrgID, arg.Email, arg.CreatedAt = other.ID, "changed@example.com", at(1000) // immutable: ignored
		write(t, s, func(tx store.Tx) error { return tx.UpdateUser(&arg) })
		got := get(t, s, func(tx store.Tx) (*store.User, error) { return tx.GetUser(want.ID) })
		check(t, "UpdateUser: "+tc.name, got, &want)
	}
}

// testListUsers: users of one org in creation order, even with identical CreatedAt.
func testListUsers(t *testing.T, s store.Store) {
	a, b := newOrg(), newOrg()
	create(t, s, a, b)
	var want []string
	for i, id := range descendingIDs(6) {
		org := a
		if i%3 == 2 {
			org = b
		} else {
			want = append(want, id)
		}
		u := newUser(org)
		u.ID = id
		create(t, s, u)
	}
	got := get(t, s, func(tx store.Tx) ([]*store.User, error) { return tx.ListUsers(a.ID) })
	check(t, "ListUsers ids", ids(got, func(u *store.User) string { return u.ID }), want)
	empty := get(t, s, func(tx store.Tx) ([]*store.User, error) { return tx.ListUsers(newID()) })
	if len(empty) != 0 {
		t.Errorf("ListUsers of an unknown org: got %d users, want 0", len(empty))
	}
}

func testAPIKeys(t *testing.T, s store.Store) {
	_, u, _ := seed(t, s)
	full := newAPIKey(u)
	full.Scopes = []string{"vaults:read", "secrets:*"}
	full.ExpiresAt = ptr(at(86400))
	full.LastUsedAt = ptr(at(5))
	noScopes := newAPIKey(u)
	noScopes.Scopes = nil
	noScopes.Active = false
	emptyScopes := newAPIKey(u)
	emptyScopes.Scopes = []string{}
	create(t, s, full, noScopes, emptyScopes)

	for _, want := range []*store.APIKey{full, noScopes, emptyScopes} {
		got := get(t, s, func(tx store.Tx) (*store.APIKey, error) { return tx.GetAPIKey(want.ID) })
		check(t, "GetAPIKey", got, want)
		got = get(t, s, func(tx store.Tx) (*store.APIKey, error) { return tx.GetAPIKeyByHash(want.Hash) })
		check(t, "GetAPIKeyByHash", got, want)
	}

	dup := newAPIKey(u)
	dup.Hash = full.Hash
	err := s.Write(t.Context(), func(tx store.Tx) error { return tx.CreateAPIKey(dup) })
	wantKind(t, "CreateAPIKey with a duplicate hash", err, clavis.KindConflict)

	// ListAPIKeys: one user's keys in creation order.
	other := newUser(&clavis.Org{ID: u.OrgID})
	create(t, s, other)
	want := []string{full.ID, noScopes.ID, emptyScopes.ID}
	for i, id := range descendingIDs(4) {
		k := newAPIKey(u)
		if i%2 == 1 {
			k = newAPIKey(other)
		}
		k.ID = id
		create(t, s, k)
		if i%2 == 0 {
			want = append(want, id)
		}
	}
	got := get(t, s, func(tx store.Tx) ([]*store.APIKey, error) { return tx.ListAPIKeys(u.ID) })
	check(t, "ListAPIKeys ids", ids(got, func(k *store.APIKey) string { return k.ID }), want)
}

// testUpdateAPIKey: UpdateAPIKey writes Name, Scopes, Active, ExpiresAt and LastUsedAt only.
func testUpdateAPIKey(t *testing.T, s store.Store) {
	_, u, _ := seed(t, s)
	k := newAPIKey(u)
	create(t, s, k)
	tests := []struct {
		name   string
		update func(k *store.APIKey)
	}{
		{"set", func(k *store.APIKey) {
			k.Name, k.Scopes, k.Active = "renamed", []string{"a", "b"}, false
			k.ExpiresAt, k.LastUsedAt = ptr(at(50)), ptr(at(40))
		}},
		{"clear", func(k *store.APIKey) {
			k.Name, k.Scopes, k.Active, k.ExpiresAt, k.LastUsedAt = "", nil, true, nil, nil
		}},
	}
	for _, tc := range tests {
		want := get(t, s, func(tx store.Tx) (*store.APIKey, error) { return tx.GetAPIKey(k.ID) })
		tc.update(want)
		arg := *want
		arg.Prefix, arg.Hash, arg.CreatedAt = "1ck_zzzz", []byte("other-hash"), at(77) // not written
		write(t, s, func(tx store.Tx) error { return tx.UpdateAPIKey(&arg) })
		got := get(t, s, func(tx store.Tx) (*store.APIKey, error) { return tx.GetAPIKey(k.ID) })
		check(t, "UpdateAPIKey: "+tc.name, got, want)
	}
}

func testAgents(t *testing.T, s store.Store) {
	_, u, v := seed(t, s)
	full := newAgent(u)
	full.Description = "deploys things"
	full.Scopes = []string{"prod/**", "shared/*"}
	full.VaultIDs = []string{v.ID}
	full.ExpiresAt = ptr(at(3600))
	full.TokenTTL = 900
	full.TokenGen = 1 << 35
	full.SSHPublicKey = "ssh-ed25519 AAAA"
	full.ECDHPublicKey = "BASE64=="
	full.LastActiveAt = ptr(at(1))
	minimal := &store.Agent{Agent: clavis.Agent{ID: newID(), OrgID: u.OrgID, CreatedBy: u.ID, CreatedAt: t0},
		KeyHash: []byte("minimal")}
	emptySlices := newAgent(u)
	emptySlices.Scopes, emptySlices.VaultIDs = []string{}, []string{}
	create(t, s, full, minimal, emptySlices)

	for _, want := range []*store.Agent{full, minimal, emptySlices} {
		got := get(t, s, func(tx store.Tx) (*store.Agent, error) { return tx.GetAgent(want.ID) })
		check(t, "GetAgent", got, want)
		got = get(t, s, func(tx store.Tx) (*store.Agent, error) { return tx.GetAgentByKeyHash(want.KeyHash) })
		check(t, "GetAgentByKeyHash", got, want)
	}

	dup := newAgent(u)
	dup.KeyHash = full.KeyHash
	err := s.Write(t.Context(), func(tx store.Tx) error { return tx.CreateAgent(dup) })
	wantKind(t, "CreateAgent with a duplicate key hash", err, clavis.KindConflict)
	moved := *minimal
	moved.KeyHash = full.KeyHash
	err = s.Write(t.Context(), func(tx store.Tx) error { return tx.UpdateAgent(&moved) })
	wantKind(t, "UpdateAgent to another agent's key hash", err, clavis.KindConflict)

	// ListAgents: one org's agents in creation order.
	otherOrg := newOrg()
	otherUser := newUser(otherOrg)
	create(t, s, otherOrg, otherUser)
	want := []string{full.ID, minimal.ID, emptySlices.ID}
	for i, id := range descendingIDs(4) {
		a := newAgent(u)
		if i%2 == 1 {
			a = newAgent(otherUser)
		}
		a.ID = id
		create(t, s, a)
		if i%2 == 0 {
			want = append(want, id)
		}
	}
	got := get(t, s, func(tx store.Tx) ([]*store.Agent, error) { return tx.ListAgents(u.OrgID) })
	check(t, "ListAgents ids", ids(got, func(a *store.Agent) string { return a.ID }), want)
}

// testUpdateAgent: UpdateAgent writes every field but ID, OrgID, CreatedBy and CreatedAt; a new key
// hash replaces the old one for GetAgentByKeyHash.
func testUpdateAgent(t *testing.T, s store.Store) {
	_, u, v := seed(t, s)
	a := newAgent(u)
	a.Scopes, a.VaultIDs, a.ExpiresAt, a.LastActiveAt = []string{"x/*"}, []string{v.ID}, ptr(at(9)), ptr(at(8))
	create(t, s, a)
	oldHash := a.KeyHash
	want := *a
	want.Name, want.Description = "renamed", "new description"
	want.Scopes, want.VaultIDs = []string{"y/**", "z"}, nil
	want.Active, want.ExpiresAt, want.TokenTTL = false, nil, 60
	want.KeyHash, want.TokenGen = []byte("rotated-key-hash"), a.TokenGen+1
	want.SSHPublicKey, want.ECDHPublicKey, want.LastActiveAt = "ssh-ed25519 BBBB", "ECDH", ptr(at(100))
	arg := want
	arg.OrgID, arg.CreatedBy, arg.CreatedAt = newID(), newID(), at(500) // not written
	write(t, s, func(tx store.Tx) error { return tx.UpdateAgent(&arg) })

	got := get(t, s, func(tx store.Tx) (*store.Agent, error) { return tx.GetAgent(a.ID) })
	check(t, "UpdateAgent", got, &want)
	got = get(t, s, func(tx store.Tx) (*store.Agent, error) { return tx.GetAgentByKeyHash(want.KeyHash) })
	check(t, "GetAgentByKeyHash of the new hash", got, &want)
	err := s.Read(t.Context(), func(tx store.Tx) error { _, err := tx.GetAgentByKeyHash(oldHash); return err })
	wantKind(t, "GetAgentByKeyHash of the replaced hash", err, clavis.KindNotFound)
}

// testDeleteAgent: DeleteAgent removes the agent row and nothing else.
func testDeleteAgent(t *testing.T, s store.Store) {
	_, u, v := seed(t, s)
	a, keep := newAgent(u), newAgent(u)
	create(t, s, a, keep)
	p := newPolicy(v, clavis.PrincipalAgent, a.ID)
	create(t, s, p)
	write(t, s, func(tx store.Tx) error { return tx.DeleteAgent(a.ID) })

	read(t, s, func(tx store.Tx) error {
		_, err := tx.GetAgent(a.ID)
		wantKind(t, "GetAgent of a deleted agent", err, clavis.KindNotFound)
		_, err = tx.GetAgentByKeyHash(a.KeyHash)
		wantKind(t, "GetAgentByKeyHash of a deleted agent", err, clavis.KindNotFound)
		if _, err := tx.GetAgent(keep.ID); err != nil {
			t.Errorf("GetAgent of another agent: %v", err)
		}
		if _, err := tx.GetPolicy(p.ID); err != nil {
			t.Errorf("GetPolicy naming the deleted agent: %v (DeleteAgent must remove only the agent)", err)
		}
		return nil
	})
	err := s.Write(t.Context(), func(tx store.Tx) error { return tx.DeleteAgent(a.ID) })
	wantKind(t, "DeleteAgent twice", err, clavis.KindNotFound)
}
