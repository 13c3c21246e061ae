package storetest

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"clavis.dev/clavis"
	"clavis.dev/clavis/internal/store"
)

func newVaultKey(v *store.Vault, version int) *store.VaultKey {
	return &store.VaultKey{VaultID: v.ID, Version: version, Wrapped: fmt.Appendf(nil, "wrapped-%s-%d", v.ID, version),
		CreatedAt: at(version)}
}

// addVaultKeys inserts the keys in one Write transaction.
func addVaultKeys(t *testing.T, s store.Store, keys ...*store.VaultKey) {
	t.Helper()
	write(t, s, func(tx store.Tx) error {
		for _, k := range keys {
			if err := tx.AddVaultKey(k); err != nil {
				return err
			}
		}
		return nil
	})
}

// testVaultKeys: key versions round-trip with every field (AddVaultKey stores Encryptions as given,
// which the contract leaves implicit), a version is unique per vault only, CurrentVaultKey is the
// numerically highest version of that vault (not the newest row or the latest CreatedAt), and DeleteVault
// removes the vault's keys and no other vault's.
// Long on purpose: one scenario whose steps depend on each other.
func testVaultKeys(t *testing.T, s store.Store) {
	_, u, v := seed(t, s)
	other := newVault(u)
	empty := newVault(u)
	create(t, s, other, empty)

	v1 := newVaultKey(v, 1)
	v1.Wrapped = []byte{0, 1, 0xfe, 0xff, 0} // binary, with NUL bytes
	v1.CreatedAt = at(300)                   // the latest CreatedAt: not what makes a version current
	v10 := newVaultKey(v, 10)
	v10.Encryptions = 1 << 33 // beyond 32 bits
	v10.CreatedAt = at(100)
	v2 := newVaultKey(v, 2)
	v2.Encryptions = 7
	v2.CreatedAt = at(200)
	otherV1 := newVaultKey(other, 1) // the same version number in another vault is no conflict
	otherV99 := newVaultKey(other, 99)
	// Inserted out of order: the last row inserted for v is version 2, which is also what a text
	// comparison of versions ("2" > "10") would pick.
	addVaultKeys(t, s, v1, v10, otherV1, otherV99)
	addVaultKeys(t, s, v2)

	for _, want := range []*store.VaultKey{v1, v2, v10, otherV1, otherV99} {
		got := get(t, s, func(tx store.Tx) (*store.VaultKey, error) { return tx.GetVaultKey(want.VaultID, want.Version) })
		check(t, "GetVaultKey", got, want)
	}
	got := get(t, s, func(tx store.Tx) (*store.VaultKey, error) { return tx.CurrentVaultKey(v.ID) })
	check(t, "CurrentVaultKey", got, v10)
	got = get(t, s, func(tx store.Tx) (*store.VaultKey, error) { return tx.CurrentVaultKey(other.ID) })
	check(t, "CurrentVaultKey of another vault", got, otherV99)

	read(t, s, func(tx store.Tx) error {
		_, err := tx.GetVaultKey(v.ID, 3)
		wantKind(t, "GetVaultKey of a missing version", err, clavis.KindNotFound)
		_, err = tx.GetVaultKey(v.ID, 99) // another vault's version
		wantKind(t, "GetVaultKey of another vault's version", err, clavis.KindNotFound)
		_, err = tx.GetVaultKey(newID(), 1)
		wantKind(t, "GetVaultKey of a missing vault", err, clavis.KindNotFound)
		_, err = tx.CurrentVaultKey(empty.ID)
		wantKind(t, "CurrentVaultKey of a vault without keys", err, clavis.KindNotFound)
		_, err = tx.CurrentVaultKey(newID())
		wantKind(t, "CurrentVaultKey of a missing vault", err, clavis.KindNotFound)
		return nil
	})

	// A duplicate version is a conflict that leaves the stored key alone and the transaction usable.
	dup := newVaultKey(v, 2)
	dup.Wrapped = []byte("another key")
	v3 := newVaultKey(v, 3)
	write(t, s, func(tx store.Tx) error {
		wantKind(t, "AddVaultKey of an existing version", tx.AddVaultKey(dup), clavis.KindConflict)
		if got, err := tx.GetVaultKey(v.ID, 2); err != nil {
			t.Errorf("GetVaultKey after a conflict, in the same transaction: %v", err)
		} else {
			check(t, "GetVaultKey after a conflict, in the same transaction", got, v2)
		}
		return tx.AddVaultKey(v3) // still usable, and commits
	})
	got = get(t, s, func(tx store.Tx) (*store.VaultKey, error) { return tx.GetVaultKey(v.ID, 2) })
	check(t, "GetVaultKey after a duplicate AddVaultKey", got, v2)
	got = get(t, s, func(tx store.Tx) (*store.VaultKey, error) { return tx.GetVaultKey(v.ID, 3) })
	check(t, "GetVaultKey added after a conflict", got, v3)
	err := s.Write(t.Context(), func(tx store.Tx) error { return tx.AddVaultKey(dup) })
	wantKind(t, "Write with a duplicate AddVaultKey", err, clavis.KindConflict)

	// A vault whose keys were all added in a rolled-back Write has none.
	err = s.Write(t.Context(), func(tx store.Tx) error {
		if err := tx.AddVaultKey(newVaultKey(empty, 1)); err != nil {
			return err
		}
		return errRollback
	})
	if err != errRollback {
		t.Errorf("Write returned %v, want %v", err, errRollback)
	}
	_, err = getErr(t, s, func(tx store.Tx) (*store.VaultKey, error) { return tx.CurrentVaultKey(empty.ID) })
	wantKind(t, "CurrentVaultKey after a rolled-back AddVaultKey", err, clavis.KindNotFound)

	write(t, s, func(tx store.Tx) error { return tx.DeleteVault(v.ID) })
	read(t, s, func(tx store.Tx) error {
		for _, n := range []int{1, 2, 3, 10} {
			_, err := tx.GetVaultKey(v.ID, n)
			wantKind(t, "GetVaultKey of a deleted vault", err, clavis.KindNotFound)
		}
		_, err := tx.CurrentVaultKey(v.ID)
		wantKind(t, "CurrentVaultKey of a deleted vault", err, clavis.KindNotFound)
		for _, want := range []*store.VaultKey{otherV1, otherV99} {
			got, err := tx.GetVaultKey(want.VaultID, want.Version)
			if err != nil {
				t.Errorf("GetVaultKey of another vault after DeleteVault: %v", err)
				continue
			}
			check(t, "GetVaultKey of another vault after DeleteVault", got, want)
		}
		return nil
	})
	err = s.Write(t.Context(), func(tx store.Tx) error { _, err := tx.CountEncryption(v.ID, 1); return err })
	wantKind(t, "CountEncryption of a deleted vault", err, clavis.KindNotFound)

	// The keys went with the vault: a vault created again with the same id starts without keys.
	again := *v
	create(t, s, &again)
	_, err = getErr(t, s, func(tx store.Tx) (*store.VaultKey, error) { return tx.CurrentVaultKey(v.ID) })
	wantKind(t, "CurrentVaultKey of a vault re-created with a deleted vault's id", err, clavis.KindNotFound)
	addVaultKeys(t, s, v1) // no conflict with the deleted vault's version 1
}

var errRollback = errors.New("roll back")

// testCountEncryptionConcurrent: 50 concurrent writers counting on one key version get exactly the
// counts 1..50; other versions and other vaults' keys are not counted; the count continues from the
// stored Encryptions; a rolled-back count does not stick; a missing version is ErrNotFound.
// Long on purpose: one scenario whose steps depend on each other.
func testCountEncryptionConcurrent(t *testing.T, s store.Store) {
	_, u, v := seed(t, s)
	other := newVault(u)
	create(t, s, other)
	hot := newVaultKey(v, 1)
	next := newVaultKey(v, 2)
	next.Encryptions = 41
	otherHot := newVaultKey(other, 1)
	otherHot.Encryptions = 5
	addVaultKeys(t, s, hot, next, otherHot)

	const n = 50
	got := make([]int64, n)
	errs := parallel(n, func(i int) error {
		return s.Write(t.Context(), func(tx store.Tx) error {
			c, err := tx.CountEncryption(v.ID, 1)
			got[i] = c // set afresh on every run: Write may run fn again
			return err
		})
	})
	for i, err := range errs {
		if err != nil {
			t.Fatalf("writer %d: %v", i, err)
		}
	}
	slices.Sort(got)
	want := make([]int64, n)
	for i := range want {
		want[i] = int64(i + 1)
	}
	check(t, "counts returned by CountEncryption", got, want)
	wantHot := *hot
	wantHot.Encryptions = n
	check(t, "key version after the counts",
		get(t, s, func(tx store.Tx) (*store.VaultKey, error) { return tx.GetVaultKey(v.ID, 1) }), &wantHot)
	check(t, "another version of the vault",
		get(t, s, func(tx store.Tx) (*store.VaultKey, error) { return tx.GetVaultKey(v.ID, 2) }), next)
	check(t, "the same version of another vault",
		get(t, s, func(tx store.Tx) (*store.VaultKey, error) { return tx.GetVaultKey(other.ID, 1) }), otherHot)

	// Counting continues from the stored value, one per call, also within one transaction.
	var seq []int64
	write(t, s, func(tx store.Tx) error {
		seq = nil
		for range 2 {
			c, err := tx.CountEncryption(v.ID, 2)
			if err != nil {
				return err
			}
			seq = append(seq, c)
		}
		return nil
	})
	check(t, "CountEncryption from Encryptions 41, twice", seq, []int64{42, 43})

	err := s.Write(t.Context(), func(tx store.Tx) error {
		if _, err := tx.CountEncryption(v.ID, 1); err != nil {
			return err
		}
		return errRollback
	})
	if err != errRollback {
		t.Errorf("Write returned %v, want %v", err, errRollback)
	}
	if k := get(t, s, func(tx store.Tx) (*store.VaultKey, error) { return tx.GetVaultKey(v.ID, 1) }); k.Encryptions != n {
		t.Errorf("Encryptions after a rolled-back CountEncryption = %d, want %d", k.Encryptions, n)
	}

	for _, tc := range []struct {
		name    string
		vaultID string
		version int
	}{{"missing version", v.ID, 3}, {"missing vault", newID(), 1}} {
		var c int64
		err := s.Write(t.Context(), func(tx store.Tx) (err error) { c, err = tx.CountEncryption(tc.vaultID, tc.version); return err })
		wantKind(t, "CountEncryption of a "+tc.name, err, clavis.KindNotFound)
		if c != 0 {
			t.Errorf("CountEncryption of a %s returned %d, want 0", tc.name, c)
		}
	}
}

// byVaultVersion orders key versions as AllVaultKeys does: by vault id in byte order, then by version.
func byVaultVersion(a, b *store.VaultKey) int {
	if c := strings.Compare(a.VaultID, b.VaultID); c != 0 {
		return c
	}
	return a.Version - b.Version
}

// testAllVaultKeys: every key version of every vault, with every field, ordered by vault id in byte
// order and then numerically by version (not in insertion, vault creation or CreatedAt order); vaults
// without keys contribute nothing, and a deleted vault's keys are gone.
func testAllVaultKeys(t *testing.T, s store.Store) {
	all := func() []*store.VaultKey {
		return get(t, s, func(tx store.Tx) ([]*store.VaultKey, error) { return tx.AllVaultKeys() })
	}
	if got := all(); len(got) != 0 {
		t.Errorf("AllVaultKeys of an empty store = %s, want none", show(got))
	}

	_, u, _ := seed(t, s) // a vault without keys
	// Vault ids created in neither byte order nor the order of a case- or accent-aware collation.
	prefixes := []string{"b", "é", "B", "a", "_", "Z", "a-"}
	vaults := make([]*store.Vault, len(prefixes))
	for i, p := range prefixes {
		vaults[i] = newVault(u)
		vaults[i].ID = p + vaults[i].ID
		vaults[i].CreatedAt = at(i)
	}
	entities := make([]any, len(vaults))
	for i, v := range vaults {
		entities[i] = v
	}
	create(t, s, entities...)
	var keys []*store.VaultKey
	for i, v := range vaults {
		if i == 3 {
			continue // another vault without keys
		}
		for _, n := range []int{2, 10, 1, 3} { // inserted out of order; "10" < "2" as text
			if i%2 == 1 && n == 3 {
				continue // vaults have different numbers of versions
			}
			k := newVaultKey(v, n)
			k.Encryptions = int64(i*100 + n)
			k.CreatedAt = at(1000 - 10*i - n) // decreasing: not the order either
			keys = append(keys, k)
		}
	}
	keys[0].Encryptions = 1 << 33
	keys[1].Wrapped = []byte{0, 1, 0xfe, 0xff, 0}
	addVaultKeys(t, s, keys[:len(keys)/2]...)
	addVaultKeys(t, s, keys[len(keys)/2:]...)

	want := slices.Clone(keys)
	slices.SortFunc(want, byVaultVersion)
	if slices.Equal(want, keys) || want[0].VaultID[0] != 'B' || want[1].Version != 2 {
		t.Fatalf("fixture: %s", show(want))
	}
	check(t, "AllVaultKeys", all(), want)

	// Counting encryptions shows in the listing; a deleted vault's keys are gone from it.
	write(t, s, func(tx store.Tx) error { _, err := tx.CountEncryption(keys[0].VaultID, keys[0].Version); return err })
	keys[0].Encryptions++
	write(t, s, func(tx store.Tx) error { return tx.DeleteVault(vaults[2].ID) })
	want = slices.DeleteFunc(want, func(k *store.VaultKey) bool { return k.VaultID == vaults[2].ID })
	check(t, "AllVaultKeys after CountEncryption and DeleteVault", all(), want)
}

// testRewrapVaultKey: RewrapVaultKey replaces the Wrapped of one key version and nothing else: not its
// Encryptions or CreatedAt, not other versions or other vaults' keys, and not the vault's WrappedKey,
// except for version 1, whose rewrap also replaces the vault's WrappedKey (and no other field of the
// vault). A missing version is ErrNotFound and, the suite pins down, changes nothing and leaves the
// transaction usable.
// Long on purpose: one scenario whose steps depend on each other.
func testRewrapVaultKey(t *testing.T, s store.Store) {
	_, u, v := seed(t, s)
	other := newVault(u)
	other.WrappedKey = []byte("other vault key")
	keyless := newVault(u) // a WrappedKey but no key versions
	keyless.WrappedKey = []byte("keyless vault key")
	create(t, s, other, keyless)
	vaultNow := func(id string) *store.Vault {
		return get(t, s, func(tx store.Tx) (*store.Vault, error) { return tx.GetVault(id) })
	}
	keyNow := func(vaultID string, version int) *store.VaultKey {
		return get(t, s, func(tx store.Tx) (*store.VaultKey, error) { return tx.GetVaultKey(vaultID, version) })
	}

	v1, v2, v3 := newVaultKey(v, 1), newVaultKey(v, 2), newVaultKey(v, 3)
	v1.Wrapped = v.WrappedKey // version 1 is the key the vault was created with
	v1.Encryptions, v2.Encryptions, v3.Encryptions = 1<<33, 7, 3
	o1, o2 := newVaultKey(other, 1), newVaultKey(other, 2)
	o1.Wrapped = other.WrappedKey
	o1.Encryptions, o2.Encryptions = 11, 12
	addVaultKeys(t, s, v1, v2, v3, o1, o2)
	wantV, wantOther, wantKeyless := *vaultNow(v.ID), *vaultNow(other.ID), *vaultNow(keyless.ID)
	checkAll := func(what string, keys ...*store.VaultKey) {
		t.Helper()
		for _, k := range keys {
			check(t, fmt.Sprintf("%s: key %d of %s", what, k.Version, k.VaultID), keyNow(k.VaultID, k.Version), k)
		}
		check(t, what+": vault", vaultNow(v.ID), &wantV)
		check(t, what+": other vault", vaultNow(other.ID), &wantOther)
		check(t, what+": vault without keys", vaultNow(keyless.ID), &wantKeyless)
	}

	// Version 2: only that row.
	w2 := append([]byte("v2 under the new root key, longer than before"), 0, 0xff, 0)
	write(t, s, func(tx store.Tx) error { return tx.RewrapVaultKey(v.ID, 2, w2) })
	v2.Wrapped = w2
	checkAll("after RewrapVaultKey of version 2", v1, v2, v3, o1, o2)

	// Version 1: the row and the vault's WrappedKey, nothing else of the vault, not the other vault.
	w1 := []byte{1, 0, 0xfe}
	write(t, s, func(tx store.Tx) error { return tx.RewrapVaultKey(v.ID, 1, w1) })
	v1.Wrapped, wantV.WrappedKey = w1, w1
	checkAll("after RewrapVaultKey of version 1", v1, v2, v3, o1, o2)

	// Again, in one transaction with other versions and another vault's version 1.
	w1b, w3, wo1 := []byte("v1 again"), []byte("v3"), []byte("other v1")
	write(t, s, func(tx store.Tx) error {
		return errors.Join(tx.RewrapVaultKey(v.ID, 1, w1b), tx.RewrapVaultKey(v.ID, 3, w3),
			tx.RewrapVaultKey(other.ID, 1, wo1))
	})
	v1.Wrapped, wantV.WrappedKey, v3.Wrapped, o1.Wrapped, wantOther.WrappedKey = w1b, w1b, w3, wo1, wo1
	checkAll("after a second round of RewrapVaultKey", v1, v2, v3, o1, o2)
	check(t, "AllVaultKeys after RewrapVaultKey",
		get(t, s, func(tx store.Tx) ([]*store.VaultKey, error) { return tx.AllVaultKeys() }),
		slices.SortedFunc(slices.Values([]*store.VaultKey{v1, v2, v3, o1, o2}), byVaultVersion))

	// Encryptions counted after a rewrap continue from the stored count.
	n := put(t, s, func(tx store.Tx) (int64, error) { return tx.CountEncryption(v.ID, 1) })
	if n != 1<<33+1 {
		t.Errorf("CountEncryption after RewrapVaultKey = %d, want %d", n, int64(1<<33+1))
	}
	v1.Encryptions = n

	// Missing versions: not found, nothing changed (not even the vault's WrappedKey for version 1), and
	// the transaction stays usable.
	missing := []struct {
		name    string
		vaultID string
		version int
	}{
		{"missing version", v.ID, 4},
		{"version 0", v.ID, 0},
		{"version 1 of a vault without key versions", keyless.ID, 1},
		{"missing vault", newID(), 1},
	}
	w4 := []byte("v4")
	write(t, s, func(tx store.Tx) error {
		for _, tc := range missing {
			wantKind(t, "RewrapVaultKey of a "+tc.name, tx.RewrapVaultKey(tc.vaultID, tc.version, []byte("x")), clavis.KindNotFound)
		}
		got, err := tx.GetVault(keyless.ID)
		if err != nil {
			return err
		}
		check(t, "vault without key versions after RewrapVaultKey of its version 1, same transaction", got, &wantKeyless)
		return tx.RewrapVaultKey(v.ID, 2, w4)
	})
	v2.Wrapped = w4
	checkAll("after RewrapVaultKey of missing versions", v1, v2, v3, o1, o2)
	for _, tc := range missing {
		err := s.Write(t.Context(), func(tx store.Tx) error { return tx.RewrapVaultKey(tc.vaultID, tc.version, []byte("x")) })
		wantKind(t, "Write with RewrapVaultKey of a "+tc.name, err, clavis.KindNotFound)
	}
	_, err := getErr(t, s, func(tx store.Tx) (*store.VaultKey, error) { return tx.GetVaultKey(keyless.ID, 1) })
	wantKind(t, "GetVaultKey after RewrapVaultKey of a missing version", err, clavis.KindNotFound)

	// A rolled-back rewrap of version 1 changes neither the key version nor the vault.
	err = s.Write(t.Context(), func(tx store.Tx) error {
		if err := tx.RewrapVaultKey(v.ID, 1, []byte("rolled back")); err != nil {
			return err
		}
		return errRollback
	})
	if err != errRollback {
		t.Errorf("Write returned %v, want %v", err, errRollback)
	}
	checkAll("after a rolled-back RewrapVaultKey", v1, v2, v3, o1, o2)
}

// testAllSecrets: every secret of the vault, soft-deleted ones and ones without versions included, in
// byte order of path, with every field; nothing of other vaults.
func testAllSecrets(t *testing.T, s store.Store) {
	_, u, v := seed(t, s)
	other := newVault(u)
	empty := newVault(u)
	create(t, s, other, empty)

	// Created in neither path nor id order.
	paths := []string{"b", "é", "a_b", "Z", "a/x", "ü/x", "B", "a", "a%"}
	secretIDs := descendingIDs(len(paths))
	stored := map[string]*clavis.Secret{}
	for i, p := range paths {
		sec := newSecret(v, p)
		sec.ID = secretIDs[i]
		sec.CreatedAt = at(i)
		create(t, s, sec)
		n := i % 3 // some secrets without versions
		write(t, s, func(tx store.Tx) error {
			for range n {
				num, err := tx.NextVersion(sec.ID)
				if err != nil {
					return err
				}
				if err := tx.CreateVersion(newVersion(sec, num)); err != nil {
					return err
				}
			}
			return nil
		})
		stored[p] = get(t, s, func(tx store.Tx) (*clavis.Secret, error) { return tx.GetSecret(v.ID, p) })
	}
	write(t, s, func(tx store.Tx) error { return tx.SetSecretDeleted(stored["a_b"].ID, true) })
	stored["a_b"].Deleted = true
	addSecret(t, s, other, "a/other-vault", 1)
	addSecret(t, s, other, "a_b", 1)

	var want []*clavis.Secret
	for _, p := range []string{"B", "Z", "a", "a%", "a/x", "a_b", "b", "é", "ü/x"} {
		want = append(want, stored[p])
	}
	got := get(t, s, func(tx store.Tx) ([]*clavis.Secret, error) { return tx.AllSecrets(v.ID) })
	check(t, "AllSecrets", got, want)
	if len(want) != len(paths) || !want[5].Deleted || want[0].LatestVersion != 0 {
		t.Fatalf("fixture: %s", show(want))
	}

	if got := get(t, s, func(tx store.Tx) ([]*clavis.Secret, error) { return tx.AllSecrets(empty.ID) }); len(got) != 0 {
		t.Errorf("AllSecrets of an empty vault = %s, want none", show(got))
	}
	if got := get(t, s, func(tx store.Tx) ([]*clavis.Secret, error) { return tx.AllSecrets(newID()) }); len(got) != 0 {
		t.Errorf("AllSecrets of a missing vault = %s, want none", show(got))
	}
}

// testReplaceCiphertext: ReplaceCiphertext changes a version's Ciphertext and WrappedDEK and nothing
// else: not the version's other fields, not the secret, not other versions.
func testReplaceCiphertext(t *testing.T, s store.Store) {
	_, _, v := seed(t, s)
	sec, _ := addSecret(t, s, v, "db/password", 0)
	full := newVersion(sec, 1)
	full.Type = "password"
	full.Metadata = json.RawMessage(`{"z": 1,  "a": [true, null]}`)
	full.ExpiresAt = ptr(at(3600))
	full.MaxAccessCount = 5
	full.AccessCount = 2
	full.Disabled = true
	full.CreatedAt = at(30)
	second := newVersion(sec, 2)
	second.ExpiresAt = ptr(at(7200))
	write(t, s, func(tx store.Tx) error {
		for _, ver := range []*store.Version{full, second} {
			if _, err := tx.NextVersion(sec.ID); err != nil {
				return err
			}
			if err := tx.CreateVersion(ver); err != nil {
				return err
			}
		}
		return tx.SetSecretDeleted(sec.ID, true)
	})
	neighbour, neighbourVersions := addSecret(t, s, v, "db/user", 1)
	secBefore := get(t, s, func(tx store.Tx) (*clavis.Secret, error) { return tx.GetSecret(v.ID, sec.Path) })

	ct, dek := []byte{2, 0, 0xff, 0, 1, 2, 3}, []byte("new wrapped data key, longer than the old one")
	write(t, s, func(tx store.Tx) error { return tx.ReplaceCiphertext(sec.ID, 1, ct, dek) })

	want := *full
	want.Ciphertext, want.WrappedDEK = ct, dek
	check(t, "GetVersion after ReplaceCiphertext",
		get(t, s, func(tx store.Tx) (*store.Version, error) { return tx.GetVersion(sec.ID, 1) }), &want)
	check(t, "another version of the secret",
		get(t, s, func(tx store.Tx) (*store.Version, error) { return tx.GetVersion(sec.ID, 2) }), second)
	check(t, "a version of another secret",
		get(t, s, func(tx store.Tx) (*store.Version, error) { return tx.GetVersion(neighbour.ID, 1) }), neighbourVersions[0])
	check(t, "the secret after ReplaceCiphertext",
		get(t, s, func(tx store.Tx) (*clavis.Secret, error) { return tx.GetSecret(v.ID, sec.Path) }), secBefore)
	if !secBefore.Deleted || secBefore.LatestVersion != 2 {
		t.Fatalf("fixture: %s", show(secBefore))
	}

	// Again on the same version: replaced again, not appended to or kept.
	ct2, dek2 := []byte("third"), []byte("dek3")
	write(t, s, func(tx store.Tx) error { return tx.ReplaceCiphertext(sec.ID, 1, ct2, dek2) })
	want.Ciphertext, want.WrappedDEK = ct2, dek2
	check(t, "GetVersion after a second ReplaceCiphertext",
		get(t, s, func(tx store.Tx) (*store.Version, error) { return tx.GetVersion(sec.ID, 1) }), &want)

	for _, tc := range []struct {
		name     string
		secretID string
		version  int
	}{{"missing version", sec.ID, 3}, {"missing secret", newID(), 1}} {
		err := s.Write(t.Context(), func(tx store.Tx) error { return tx.ReplaceCiphertext(tc.secretID, tc.version, ct, dek) })
		wantKind(t, "ReplaceCiphertext of a "+tc.name, err, clavis.KindNotFound)
	}
	check(t, "GetVersion after failed ReplaceCiphertext calls",
		get(t, s, func(tx store.Tx) (*store.Version, error) { return tx.GetVersion(sec.ID, 1) }), &want)
}
