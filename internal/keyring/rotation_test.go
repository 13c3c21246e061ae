package keyring_test

import (
	"bytes"
	"context"
	"testing"

	"clavis.dev/clavis/internal/keyring"
)

// TestRootRotation: a keyring with the old root key as Previous still opens what the old root wrapped;
// rewrapping moves vault keys and server secrets under the new root without changing them, after which
// the new root alone opens everything.
func TestRootRotation(t *testing.T) {
	ctx := context.Background()
	oldRoot, newRoot := newRoot(t), newRoot(t)
	before := keyring.New(oldRoot, keyring.Options{})
	wk := newVaultKey(t, before, "org", "vault")
	aad := keyring.AAD{OrgID: "org", VaultID: "vault", SecretID: "s", Path: "p", Version: 1}
	sealed := seal(t, before, wk, aad, []byte("kept"))
	secret, err := before.WrapServerSecret(ctx, "audit-hmac-key", []byte("audit key"))
	if err != nil {
		t.Fatal(err)
	}

	during := keyring.New(newRoot, keyring.Options{Previous: []keyring.RootKey{oldRoot}})
	if got := open(t, during, wk, aad, sealed); !bytes.Equal(got, []byte("kept")) {
		t.Fatalf("open through Previous = %q", got)
	}
	after := keyring.New(newRoot, keyring.Options{})
	if _, err := after.Open(ctx, wk, aad, sealed); err == nil {
		t.Fatalf("the new root alone opened a vault key wrapped by the old root")
	}
	wk2, err := during.RewrapVaultKey(ctx, after, "org", "vault", 1, wk)
	if err != nil {
		t.Fatal(err)
	}
	if id, _ := keyring.WrappedUnder(wk2); id != newRoot.ID() || id == oldRoot.ID() {
		t.Fatalf("rewrapped vault key is under %q, want the new root %q", id, newRoot.ID())
	}
	if got := open(t, after, wk2, aad, sealed); !bytes.Equal(got, []byte("kept")) {
		t.Fatalf("value after rewrap = %q", got)
	}
	if _, err := during.RewrapVaultKey(ctx, after, "org", "other-vault", 1, wk); err == nil {
		t.Fatalf("rewrap under the wrong vault id succeeded")
	}
	secret2, err := during.RewrapServerSecret(ctx, after, "audit-hmac-key", secret)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := after.UnwrapServerSecret(ctx, "audit-hmac-key", secret2); err != nil || string(got) != "audit key" {
		t.Fatalf("server secret after rewrap = %q, %v", got, err)
	}
}
