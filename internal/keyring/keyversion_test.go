package keyring_test

import (
	"bytes"
	"context"
	"testing"

	"clavis.dev/clavis/internal/keyring"
)

// TestVaultKeyVersions: a value sealed under a rotated vault key opens only under that key version, and
// a wrapped vault key cannot stand in for another version.
func TestVaultKeyVersions(t *testing.T) {
	ctx := context.Background()
	k := keyring.New(newRoot(t), keyring.Options{})
	v1 := newVaultKey(t, k, "org-1", "vault-1")
	v2, err := k.NewVaultKeyVersion(ctx, "org-1", "vault-1", 2)
	if err != nil {
		t.Fatal(err)
	}
	aad1 := keyring.AAD{OrgID: "org-1", VaultID: "vault-1", SecretID: "s", Path: "p", Version: 3}
	aad2 := aad1
	aad2.KeyVersion = 2

	old := seal(t, k, v1, aad1, []byte("under v1"))
	cur := seal(t, k, v2, aad2, []byte("under v2"))
	if got := open(t, k, v1, aad1, old); !bytes.Equal(got, []byte("under v1")) {
		t.Fatalf("v1 value = %q", got)
	}
	if got := open(t, k, v2, aad2, cur); !bytes.Equal(got, []byte("under v2")) {
		t.Fatalf("v2 value = %q", got)
	}
	for _, c := range []struct {
		name string
		s    keyring.Sealed
		want int
	}{{"v1", old, 1}, {"v2", cur, 2}} {
		if got, err := keyring.KeyVersionOf(c.s); err != nil || got != c.want {
			t.Errorf("KeyVersionOf(%s) = %d, %v; want %d", c.name, got, err, c.want)
		}
	}
	for _, c := range []struct {
		name string
		wk   []byte
		aad  keyring.AAD
		s    keyring.Sealed
	}{
		{"v2 value claimed as v1", v1, aad1, cur},
		{"v2 value with the v1 key", v1, aad2, cur},
		{"v1 value claimed as v2", v2, aad2, old},
		{"v2 wrapped key used as v1", v2, aad1, old},
		{"v1 wrapped key used as v2", v1, aad2, cur},
	} {
		if _, err := k.Open(ctx, c.wk, c.aad, c.s); err == nil {
			t.Errorf("%s: opened", c.name)
		}
	}
	if _, err := keyring.KeyVersionOf(keyring.Sealed{WrappedDEK: []byte{9, 9}}); err == nil {
		t.Errorf("KeyVersionOf accepted an unknown format")
	}
}
