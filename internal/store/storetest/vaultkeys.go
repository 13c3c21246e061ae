package storetest

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"testing"

	"clavis.dev/clavis"
	"clavis.dev/clavis/internal/store"
)

func newVaultKey(v *clavis.Vault, version int) *clavis.VaultKey {
	return &clavis.VaultKey{VaultID: v.ID, Version: version, Wrapped: fmt.Appendf(nil, "wrapped-%s-%d", v.ID, version),
		CreatedAt: at(version)}
}

// addVaultKeys inserts the keys in one Write transaction.
func addVaultKeys(t *testing.T, s store.Store, keys ...*clavis.VaultKey) {
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

	for _, want := range []*clavis.VaultKey{v1, v2, v10, otherV1, otherV99} {
		got := get(t, s, func(tx store.Tx) (*clavis.VaultKey, error) { return tx.GetVaultKey(want.VaultID, want.Version) })
		check(t, "GetVaultKey", got, want)
	}
	got := get(t, s, func(tx store.Tx) (*clavis.VaultKey, error) { return tx.CurrentVaultKey(v.ID) })
	check(t, "CurrentVaultKey", got, v10)
	got = get(t, s, func(tx store.Tx) (*clavis.VaultKey, error) { return tx.CurrentVaultKey(other.ID) })
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
	got = get(t, s, func(tx store.Tx) (*clavis.VaultKey, error) { return tx.GetVaultKey(v.ID, 2) })
	check(t, "GetVaultKey after a duplicate AddVaultKey", got, v2)
	got = get(t, s, func(tx store.Tx) (*clavis.VaultKey, error) { return tx.GetVaultKey(v.ID, 3) })
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
	_, err = getErr(t, s, func(tx store.Tx) (*clavis.VaultKey, error) { return tx.CurrentVaultKey(empty.ID) })
	wantKind(t, "CurrentVaultKey after a rolled-back AddVaultKey", err, clavis.KindNotFound)

	write(t, s, func(tx store.Tx) error { return tx.DeleteVault(v.ID) })
	read(t, s, func(tx store.Tx) error {
		for _, n := range []int{1, 2, 3, 10} {
			_, err := tx.GetVaultKey(v.ID, n)
			wantKind(t, "GetVaultKey of a deleted vault", err, clavis.KindNotFound)
		}
		_, err := tx.CurrentVaultKey(v.ID)
		wantKind(t, "CurrentVaultKey of a deleted vault", err, clavis.KindNotFound)
		for _, want := range []*clavis.VaultKey{otherV1, otherV99} {
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
	_, err = getErr(t, s, func(tx store.Tx) (*clavis.VaultKey, error) { return tx.CurrentVaultKey(v.ID) })
	wantKind(t, "CurrentVaultKey of a vault re-created with a deleted vault's id", err, clavis.KindNotFound)
	addVaultKeys(t, s, v1) // no conflict with the deleted vault's version 1
}

var errRollback = errors.New("roll back")

// testCountEncryptionConcurrent: 50 concurrent writers counting on one key version get exactly the
// counts 1..50; other versions and other vaults' keys are not counted; the count continues from the
// stored Encryptions; a rolled-back count does not stick; a missing version is ErrNotFound.
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
		get(t, s, func(tx store.Tx) (*clavis.VaultKey, error) { return tx.GetVaultKey(v.ID, 1) }), &wantHot)
	check(t, "another version of the vault",
		get(t, s, func(tx store.Tx) (*clavis.VaultKey, error) { return tx.GetVaultKey(v.ID, 2) }), next)
	check(t, "the same version of another vault",
		get(t, s, func(tx store.Tx) (*clavis.VaultKey, error) { return tx.GetVaultKey(other.ID, 1) }), otherHot)

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
	if k := get(t, s, func(tx store.Tx) (*clavis.VaultKey, error) { return tx.GetVaultKey(v.ID, 1) }); k.Encryptions != n {
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
		for _, ver := range []*clavis.Version{full, second} {
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
		get(t, s, func(tx store.Tx) (*clavis.Version, error) { return tx.GetVersion(sec.ID, 1) }), &want)
	check(t, "another version of the secret",
		get(t, s, func(tx store.Tx) (*clavis.Version, error) { return tx.GetVersion(sec.ID, 2) }), second)
	check(t, "a version of another secret",
		get(t, s, func(tx store.Tx) (*clavis.Version, error) { return tx.GetVersion(neighbour.ID, 1) }), neighbourVersions[0])
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
		get(t, s, func(tx store.Tx) (*clavis.Version, error) { return tx.GetVersion(sec.ID, 1) }), &want)

	for _, tc := range []struct {
		name     string
		secretID string
		version  int
	}{{"missing version", sec.ID, 3}, {"missing secret", newID(), 1}} {
		err := s.Write(t.Context(), func(tx store.Tx) error { return tx.ReplaceCiphertext(tc.secretID, tc.version, ct, dek) })
		wantKind(t, "ReplaceCiphertext of a "+tc.name, err, clavis.KindNotFound)
	}
	check(t, "GetVersion after failed ReplaceCiphertext calls",
		get(t, s, func(tx store.Tx) (*clavis.Version, error) { return tx.GetVersion(sec.ID, 1) }), &want)
}
