package clavistest_test

import (
	"database/sql"
	"fmt"
	"testing"

	"clavis.dev/clavis"
	"clavis.dev/clavis/internal/clavistest"
	"clavis.dev/clavis/internal/keyring"
)

// keyVersions returns, for each version number of the secret at path, the vault key version it is
// sealed under (read from the stored wrapped data key), and the vault's key versions.
func keyVersions(t *testing.T, dbPath, vaultID, path string) (map[int]int, []int) {
	t.Helper()
	db, err := sql.Open("sqlite", dbPath)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Query(`SELECT v.version, v.wrapped_dek FROM versions v JOIN secrets s ON s.id = v.secret_id
		WHERE s.vault_id = ? AND s.path = ?`, vaultID, path)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	sealedUnder := map[int]int{}
	for rows.Next() {
		var n int
		var dek []byte
		if err := rows.Scan(&n, &dek); err != nil {
			t.Fatal(err)
		}
		if sealedUnder[n], err = keyring.KeyVersionOf(keyring.Sealed{WrappedDEK: dek}); err != nil {
			t.Fatal(err)
		}
	}
	var keys []int
	krows, err := db.Query(`SELECT version FROM vault_keys WHERE vault_id = ? ORDER BY version`, vaultID)
	if err != nil {
		t.Fatal(err)
	}
	defer krows.Close()
	for krows.Next() {
		var v int
		if err := krows.Scan(&v); err != nil {
			t.Fatal(err)
		}
		keys = append(keys, v)
	}
	return sealedUnder, keys
}

// TestVaultKeyRotation: a vault key rotates by itself after its encryption limit, an operator rotation
// makes new writes use a new key while old versions still open, and a rewrap moves every stored version
// to the current key without changing a value.
func TestVaultKeyRotation(t *testing.T) {
	env := clavistest.New(t, clavistest.Options{VaultKeyMaxEncryptions: 3})
	u := env.Signup(t)
	v, _ := u.C.CreateVault(ctx, clavis.VaultInput{Name: "rotating"})
	values := map[int]string{}
	put := func() int {
		t.Helper()
		val := "value-" + clavistest.RandHex(4)
		m, err := u.C.PutSecret(ctx, v.ID, "db/pw", clavis.SecretInput{Value: clavis.Sensitive(val)})
		if err != nil {
			t.Fatal(err)
		}
		values[m.Version.Version] = val
		return m.Version.Version
	}
	checkAll := func(when string) {
		t.Helper()
		for n, want := range values {
			s, err := u.C.GetVersion(ctx, v.ID, "db/pw", n)
			if err != nil || string(s.Value) != want {
				t.Fatalf("%s: version %d: %v", when, n, err)
			}
		}
	}
	for range 10 {
		put()
	}
	sealed, keys := keyVersions(t, env.DBPath, v.ID, "db/pw")
	if fmt.Sprint(keys) != "[1 2 3 4]" {
		t.Fatalf("after 10 writes with a limit of 3 the vault has key versions %v, want [1 2 3 4]", keys)
	}
	for n := 1; n <= 10; n++ {
		if want := (n-1)/3 + 1; sealed[n] != want {
			t.Fatalf("version %d sealed under key %d, want %d (%v)", n, sealed[n], want, sealed)
		}
	}
	checkAll("after automatic rotations")

	kv, err := env.Engine.RotateVaultKey(ctx, v.ID)
	if err != nil || kv != 5 {
		t.Fatalf("RotateVaultKey = %d, %v; want 5", kv, err)
	}
	n := put()
	if sealed, _ := keyVersions(t, env.DBPath, v.ID, "db/pw"); sealed[n] != 5 {
		t.Fatalf("a write after the rotation is sealed under key %d, want 5", sealed[n])
	}
	checkAll("after an operator rotation")

	var last int
	done, err := env.Engine.RewrapVault(ctx, v.ID, func(i, total int) { last = total })
	if err != nil || done != 10 || last != 10 {
		t.Fatalf("RewrapVault = %d (progress total %d), %v; want the 10 older versions", done, last, err)
	}
	// Every version now uses a key at least as new as the one current when the rewrap began (with a limit
	// of 3 encryptions per key, the rewrap itself rotates further).
	sealed, _ = keyVersions(t, env.DBPath, v.ID, "db/pw")
	for n, k := range sealed {
		if k < kv {
			t.Fatalf("after rewrap version %d is still sealed under key %d, older than %d", n, k, kv)
		}
	}
	checkAll("after rewrap")
	if res, err := u.C.VerifyAudit(ctx, nil, nil, 0); err != nil || !res.Valid {
		t.Fatalf("audit chain: %+v, %v", res, err)
	}
}
