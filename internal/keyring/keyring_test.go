package keyring_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"clavis.dev/clavis"
	"clavis.dev/clavis/internal/keyring"
	"clavis.dev/clavis/internal/keyring/file"
)

const canary = "CANARY-7d3c9a0e-do-not-leak"

// countingRoot is a real file root key that counts calls, so tests can see when the keyring goes to the
// root key. failNext makes the next call fail with the given error.
type countingRoot struct {
	*file.Provider
	wraps, unwraps atomic.Int64
	failNext       atomic.Pointer[error]
}

func (c *countingRoot) Wrap(ctx context.Context, plaintext, aad []byte) ([]byte, error) {
	c.wraps.Add(1)
	if err := c.failNext.Swap(nil); err != nil {
		return nil, *err
	}
	return c.Provider.Wrap(ctx, plaintext, aad)
}

func (c *countingRoot) Unwrap(ctx context.Context, wrapped, aad []byte) ([]byte, error) {
	c.unwraps.Add(1)
	if err := c.failNext.Swap(nil); err != nil {
		return nil, *err
	}
	return c.Provider.Unwrap(ctx, wrapped, aad)
}

func newRoot(t testing.TB) *countingRoot {
	t.Helper()
	p, err := file.Open(filepath.Join(t.TempDir(), "root.key"), true)
	if err != nil {
		t.Fatalf("file.Open: %v", err)
	}
	return &countingRoot{Provider: p}
}

// fakeClock is a settable Options.Now.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func newVaultKey(t testing.TB, k *keyring.Keyring, orgID, vaultID string) []byte {
	t.Helper()
	wk, err := k.NewVaultKey(context.Background(), orgID, vaultID)
	if err != nil {
		t.Fatalf("NewVaultKey(%q, %q): %v", orgID, vaultID, err)
	}
	return wk
}

func seal(t testing.TB, k *keyring.Keyring, wk []byte, aad keyring.AAD, plaintext []byte) keyring.Sealed {
	t.Helper()
	s, err := k.Seal(context.Background(), wk, aad, plaintext)
	if err != nil {
		t.Fatalf("Seal: %v", err)
	}
	return s
}

func open(t testing.TB, k *keyring.Keyring, wk []byte, aad keyring.AAD, s keyring.Sealed) []byte {
	t.Helper()
	got, err := k.Open(context.Background(), wk, aad, s)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return got
}

// mustNotOpen checks that Open fails the way the contract says: an internal *clavis.Error, no output,
// nothing secret in the error.
func mustNotOpen(t *testing.T, k *keyring.Keyring, wk []byte, aad keyring.AAD, s keyring.Sealed) {
	t.Helper()
	got, err := k.Open(context.Background(), wk, aad, s)
	if err == nil {
		t.Fatalf("Open = %d bytes, nil error; want an error", len(got))
	}
	if got != nil {
		t.Errorf("Open returned %d bytes with its error, want nil", len(got))
	}
	checkInternal(t, err)
}

func checkInternal(t *testing.T, err error) {
	t.Helper()
	var ce *clavis.Error
	if !errors.As(err, &ce) {
		t.Fatalf("error %v is %T, want *clavis.Error", err, err)
	}
	if got, want := ce.Kind, clavis.KindInternal; got != want {
		t.Errorf("error kind = %v, want %v", got, want)
	}
	if got, want := ce.Message, "internal error"; got != want {
		t.Errorf("error message = %q, want %q", got, want)
	}
	if strings.Contains(err.Error(), canary) {
		t.Errorf("error %q contains the plaintext canary", err)
	}
}

var aad1 = keyring.AAD{OrgID: "org-1", VaultID: "vault-1", SecretID: "secret-1", Path: "api/stripe", Version: 3}

func TestSealOpenRoundTrip(t *testing.T) {
	k := keyring.New(newRoot(t), keyring.Options{})
	wk := newVaultKey(t, k, aad1.OrgID, aad1.VaultID)
	tests := []struct {
		name      string
		plaintext []byte
	}{
		{"empty", []byte{}},
		{"nil", nil},
		{"canary", []byte(canary)},
		{"binary", []byte{0, 1, 2, 0xff, 0}},
		{"512 KiB", bytes.Repeat([]byte(canary+"-"), 512*1024/(len(canary)+1)+1)[:512*1024]},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := seal(t, k, wk, aad1, tt.plaintext)
			if len(tt.plaintext) > 0 {
				probe := tt.plaintext[:min(len(tt.plaintext), len(canary))]
				if bytes.Contains(s.Ciphertext, probe) || bytes.Contains(s.WrappedDEK, probe) {
					t.Error("Sealed contains the plaintext")
				}
			}
			got := open(t, k, wk, aad1, s)
			if !bytes.Equal(got, tt.plaintext) {
				t.Errorf("Open = %d bytes, want %d bytes equal to the sealed value", len(got), len(tt.plaintext))
			}
			if got == nil {
				t.Error("Open = nil, want a non-nil (possibly empty) slice")
			}
		})
	}
}

func TestSealUsesFreshDataKey(t *testing.T) {
	k := keyring.New(newRoot(t), keyring.Options{})
	wk := newVaultKey(t, k, aad1.OrgID, aad1.VaultID)
	a := seal(t, k, wk, aad1, []byte(canary))
	b := seal(t, k, wk, aad1, []byte(canary))
	if bytes.Equal(a.WrappedDEK, b.WrappedDEK) || bytes.Equal(a.Ciphertext, b.Ciphertext) {
		t.Error("two Seals of one value produced equal output, want a fresh data key and nonce each time")
	}
	// Data keys are per version: one version's wrapped key does not open another's ciphertext.
	mustNotOpen(t, k, wk, aad1, keyring.Sealed{Ciphertext: a.Ciphertext, WrappedDEK: b.WrappedDEK})
}

func TestOpenTamperedFails(t *testing.T) {
	k := keyring.New(newRoot(t), keyring.Options{})
	wk := newVaultKey(t, k, aad1.OrgID, aad1.VaultID)
	s := seal(t, k, wk, aad1, []byte(canary))
	fields := []struct {
		name string
		get  func(*keyring.Sealed) *[]byte
	}{
		{"Ciphertext", func(s *keyring.Sealed) *[]byte { return &s.Ciphertext }},
		{"WrappedDEK", func(s *keyring.Sealed) *[]byte { return &s.WrappedDEK }},
	}
	for _, f := range fields {
		t.Run(f.name, func(t *testing.T) {
			orig := *f.get(&s)
			for i := range orig {
				for _, mask := range []byte{0x01, 0x80} {
					bad := keyring.Sealed{Ciphertext: bytes.Clone(s.Ciphertext), WrappedDEK: bytes.Clone(s.WrappedDEK)}
					(*f.get(&bad))[i] ^= mask
					if got, err := k.Open(context.Background(), wk, aad1, bad); err == nil || got != nil {
						t.Errorf("Open with byte %d of %d xor %#02x = %d bytes, %v; want nil, error", i, len(orig), mask, len(got), err)
					}
				}
			}
			for n := range len(orig) {
				bad := keyring.Sealed{Ciphertext: s.Ciphertext, WrappedDEK: s.WrappedDEK}
				*f.get(&bad) = bytes.Clone(orig[:n])
				if got, err := k.Open(context.Background(), wk, aad1, bad); err == nil || got != nil {
					t.Errorf("Open truncated to %d of %d bytes = %d bytes, %v; want nil, error", n, len(orig), len(got), err)
				}
			}
			bad := keyring.Sealed{Ciphertext: s.Ciphertext, WrappedDEK: s.WrappedDEK}
			*f.get(&bad) = append(bytes.Clone(orig), 0)
			mustNotOpen(t, k, wk, aad1, bad)
		})
	}
	t.Run("swapped fields", func(t *testing.T) {
		mustNotOpen(t, k, wk, aad1, keyring.Sealed{Ciphertext: s.WrappedDEK, WrappedDEK: s.Ciphertext})
	})
	t.Run("zero Sealed", func(t *testing.T) {
		mustNotOpen(t, k, wk, aad1, keyring.Sealed{})
	})
	// The untouched original still opens.
	if got := open(t, k, wk, aad1, s); string(got) != canary {
		t.Errorf("Open original = %q, want %q", got, canary)
	}
}

func TestOpenMovedFails(t *testing.T) {
	ctx := context.Background()
	k := keyring.New(newRoot(t), keyring.Options{})
	wk := newVaultKey(t, k, aad1.OrgID, aad1.VaultID)
	s := seal(t, k, wk, aad1, []byte(canary))

	with := func(f func(*keyring.AAD)) keyring.AAD { a := aad1; f(&a); return a }
	moves := []struct {
		name string
		aad  keyring.AAD
	}{
		{"other org", with(func(a *keyring.AAD) { a.OrgID = "org-2" })},
		{"other vault", with(func(a *keyring.AAD) { a.VaultID = "vault-2" })},
		{"other secret", with(func(a *keyring.AAD) { a.SecretID = "secret-2" })},
		{"other path", with(func(a *keyring.AAD) { a.Path = "api/stripe2" })},
		{"path moved into secret id", with(func(a *keyring.AAD) { a.SecretID, a.Path = "secret-1api", "/stripe" })},
		{"other version", with(func(a *keyring.AAD) { a.Version = 4 })},
		{"negative version", with(func(a *keyring.AAD) { a.Version = -3 })},
		{"zero AAD", keyring.AAD{}},
	}
	for _, tt := range moves {
		t.Run(tt.name, func(t *testing.T) {
			// Each move is tried with the original vault key and, when the vault changes, also with a key
			// of the target vault (so the value's own binding is what fails).
			movedVault := tt.aad.OrgID != aad1.OrgID || tt.aad.VaultID != aad1.VaultID
			if movedVault && tt.aad.OrgID != "" && tt.aad.VaultID != "" {
				mustNotOpen(t, k, newVaultKey(t, k, tt.aad.OrgID, tt.aad.VaultID), tt.aad, s)
			}
			mustNotOpen(t, k, wk, tt.aad, s)
		})
	}

	t.Run("another vault's key", func(t *testing.T) {
		other := newVaultKey(t, k, "org-1", "vault-2")
		// Same AAD, but the vault key belongs elsewhere: its root wrap is bound to vault-2.
		mustNotOpen(t, k, other, aad1, s)
		// A second key made for the same ids (a vault re-created) cannot open the first key's data.
		again := newVaultKey(t, k, aad1.OrgID, aad1.VaultID)
		mustNotOpen(t, k, again, aad1, s)
		// And the value, moved with its data key into vault-2 and re-addressed there, does not open.
		moved := aad1
		moved.VaultID = "vault-2"
		mustNotOpen(t, k, other, moved, s)
	})

	if _, err := k.Open(ctx, wk, aad1, s); err != nil {
		t.Errorf("Open at its own AAD after the moves: %v", err)
	}
}

func TestVaultKeyMovedFails(t *testing.T) {
	tests := []struct {
		name                   string
		fromOrg, fromVault     string
		toOrg, toVault         string
		warmCacheBeforeTheMove bool
	}{
		{"other vault", "org-1", "vault-1", "org-1", "vault-2", false},
		{"other org", "org-1", "vault-1", "org-2", "vault-1", false},
		{"other vault, cache warm", "org-1", "vault-1", "org-1", "vault-2", true},
		{"other org, cache warm", "org-1", "vault-1", "org-2", "vault-1", true},
		{"boundary shift", "ab", "c", "a", "bc", true},
		{"boundary shift back", "a", "bc", "ab", "c", false},
		{"fields swapped", "x", "y", "y", "x", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k := keyring.New(newRoot(t), keyring.Options{})
			wk := newVaultKey(t, k, tt.fromOrg, tt.fromVault)
			from := keyring.AAD{OrgID: tt.fromOrg, VaultID: tt.fromVault, SecretID: "s", Path: "p", Version: 1}
			if tt.warmCacheBeforeTheMove {
				seal(t, k, wk, from, []byte(canary))
			}
			to := from
			to.OrgID, to.VaultID = tt.toOrg, tt.toVault
			s, err := k.Seal(context.Background(), wk, to, []byte(canary))
			if err == nil {
				t.Fatalf("Seal with a vault key of %s/%s used as %s/%s: no error", tt.fromOrg, tt.fromVault, tt.toOrg, tt.toVault)
			}
			if s.Ciphertext != nil || s.WrappedDEK != nil {
				t.Error("failed Seal returned output")
			}
			checkInternal(t, err)
		})
	}
}

func TestWrappedVaultKeyTamperedFails(t *testing.T) {
	root := newRoot(t)
	k := keyring.New(root, keyring.Options{})
	wk := newVaultKey(t, k, aad1.OrgID, aad1.VaultID)
	s := seal(t, k, wk, aad1, []byte(canary)) // the good key is now cached
	for i := range wk {
		bad := bytes.Clone(wk)
		bad[i] ^= 0x01
		mustNotOpen(t, k, bad, aad1, s)
	}
	for n := range len(wk) {
		mustNotOpen(t, k, bytes.Clone(wk[:n]), aad1, s)
	}
	if got := open(t, k, wk, aad1, s); string(got) != canary {
		t.Errorf("Open with the good key = %q, want %q", got, canary)
	}
}

func TestOtherRootKeyFails(t *testing.T) {
	ctx := context.Background()
	k1 := keyring.New(newRoot(t), keyring.Options{})
	k2 := keyring.New(newRoot(t), keyring.Options{})
	wk := newVaultKey(t, k1, aad1.OrgID, aad1.VaultID)
	s := seal(t, k1, wk, aad1, []byte(canary))
	mustNotOpen(t, k2, wk, aad1, s)
	wrapped, err := k1.WrapServerSecret(ctx, "jwt-signing-key", []byte(canary))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := k2.UnwrapServerSecret(ctx, "jwt-signing-key", wrapped); err == nil {
		t.Error("UnwrapServerSecret under another root key: no error")
	}
}

func TestCacheUnwrapsOnceForManyOpens(t *testing.T) {
	root := newRoot(t)
	k := keyring.New(root, keyring.Options{})
	wk := newVaultKey(t, k, aad1.OrgID, aad1.VaultID)
	s := seal(t, k, wk, aad1, []byte(canary))
	for range 100 {
		open(t, k, wk, aad1, s)
	}
	other := aad1
	other.SecretID, other.Path, other.Version = "secret-2", "db/password", 1
	for range 10 {
		open(t, k, wk, other, seal(t, k, wk, other, []byte(canary)))
	}
	if got, want := root.unwraps.Load(), int64(1); got != want {
		t.Errorf("root Unwrap calls = %d for 1 vault and 120 operations, want %d", got, want)
	}
}

func TestCacheConcurrentMissUnwrapsOnce(t *testing.T) {
	root := newRoot(t)
	k := keyring.New(root, keyring.Options{})
	wk := newVaultKey(t, k, aad1.OrgID, aad1.VaultID)
	s := seal(t, keyring.New(root, keyring.Options{}), wk, aad1, []byte(canary)) // another keyring: k stays cold
	root.unwraps.Store(0)

	var wg sync.WaitGroup
	start := make(chan struct{})
	for range 32 {
		wg.Go(func() {
			<-start
			got, err := k.Open(context.Background(), wk, aad1, s)
			if err != nil || string(got) != canary {
				t.Errorf("concurrent Open = %q, %v; want %q", got, err, canary)
			}
		})
	}
	close(start)
	wg.Wait()
	if got, want := root.unwraps.Load(), int64(1); got != want {
		t.Errorf("root Unwrap calls = %d for 32 concurrent Opens on a cold cache, want %d", got, want)
	}
}

func TestCacheRefetches(t *testing.T) {
	const ttl = time.Minute
	tests := []struct {
		name string
		// between runs after the key was cached; wantUnwraps counts root unwraps for one more Open.
		between     func(t *testing.T, k *keyring.Keyring, clock *fakeClock)
		wantUnwraps int64
	}{
		{"nothing", func(*testing.T, *keyring.Keyring, *fakeClock) {}, 0},
		{"just before TTL", func(_ *testing.T, _ *keyring.Keyring, c *fakeClock) { c.Advance(ttl - time.Second) }, 0},
		{"after TTL", func(_ *testing.T, _ *keyring.Keyring, c *fakeClock) { c.Advance(ttl + time.Second) }, 1},
		{"Forget", func(_ *testing.T, k *keyring.Keyring, _ *fakeClock) { k.Forget(aad1.OrgID, aad1.VaultID) }, 1},
		{"Forget another vault", func(_ *testing.T, k *keyring.Keyring, _ *fakeClock) { k.Forget(aad1.OrgID, "vault-2") }, 0},
		{"Forget same vault id in another org", func(_ *testing.T, k *keyring.Keyring, _ *fakeClock) { k.Forget("org-2", aad1.VaultID) }, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := newRoot(t)
			clock := &fakeClock{now: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
			k := keyring.New(root, keyring.Options{CacheTTL: ttl, Now: clock.Now})
			wk := newVaultKey(t, k, aad1.OrgID, aad1.VaultID)
			s := seal(t, k, wk, aad1, []byte(canary))
			open(t, k, wk, aad1, s)
			tt.between(t, k, clock)
			before := root.unwraps.Load()
			if got := open(t, k, wk, aad1, s); string(got) != canary {
				t.Fatalf("Open = %q, want %q", got, canary)
			}
			if got := root.unwraps.Load() - before; got != tt.wantUnwraps {
				t.Errorf("root Unwrap calls for one Open = %d, want %d", got, tt.wantUnwraps)
			}
		})
	}
}

func TestCacheChangedWrappedKeyIsNotServedStale(t *testing.T) {
	root := newRoot(t)
	k := keyring.New(root, keyring.Options{})
	wk1 := newVaultKey(t, k, aad1.OrgID, aad1.VaultID)
	s1 := seal(t, k, wk1, aad1, []byte(canary)) // wk1 cached for org-1/vault-1
	// The vault's stored key changes (say, the vault was re-created under the same ids).
	wk2 := newVaultKey(t, k, aad1.OrgID, aad1.VaultID)
	s2 := seal(t, k, wk2, aad1, []byte(canary))
	mustNotOpen(t, k, wk2, aad1, s1)
	mustNotOpen(t, k, wk1, aad1, s2)
	if got := open(t, k, wk2, aad1, s2); string(got) != canary {
		t.Errorf("Open under the new key = %q, want %q", got, canary)
	}
	if got := open(t, k, wk1, aad1, s1); string(got) != canary {
		t.Errorf("Open under the old key = %q, want %q", got, canary)
	}
}

func TestCacheSizeBound(t *testing.T) {
	root := newRoot(t)
	k := keyring.New(root, keyring.Options{CacheSize: 2})
	vaults := map[string][]byte{}
	sealed := map[string]keyring.Sealed{}
	aadOf := func(v string) keyring.AAD {
		return keyring.AAD{OrgID: "org-1", VaultID: v, SecretID: "s", Path: "p", Version: 1}
	}
	for _, v := range []string{"A", "B", "C"} {
		vaults[v] = newVaultKey(t, k, "org-1", v)
		sealed[v] = seal(t, keyring.New(root, keyring.Options{}), vaults[v], aadOf(v), []byte(canary))
	}
	steps := []struct {
		vault      string
		wantUnwrap bool
	}{
		{"A", true},
		{"B", true},
		{"A", false},
		{"C", true},  // evicts B, the least recently used
		{"A", false}, // still cached
		{"B", true},  // was evicted; evicts C
		{"C", true},
		{"B", false},
	}
	for i, st := range steps {
		before := root.unwraps.Load()
		open(t, k, vaults[st.vault], aadOf(st.vault), sealed[st.vault])
		if got := root.unwraps.Load() > before; got != st.wantUnwrap {
			t.Errorf("step %d (Open in vault %s): unwrapped = %v, want %v", i, st.vault, got, st.wantUnwrap)
		}
		if got := keyring.CachedVaultKeys(k); got > 2 {
			t.Errorf("step %d: %d cached vault keys, want at most 2", i, got)
		}
	}
}

func TestCacheDisabled(t *testing.T) {
	root := newRoot(t)
	k := keyring.New(root, keyring.Options{CacheSize: -1})
	wk := newVaultKey(t, k, aad1.OrgID, aad1.VaultID)
	s := seal(t, k, wk, aad1, []byte(canary))
	for range 3 {
		open(t, k, wk, aad1, s)
	}
	if got, want := root.unwraps.Load(), int64(4); got != want {
		t.Errorf("root Unwrap calls with the cache disabled = %d, want %d (one per operation)", got, want)
	}
	if got := keyring.CachedVaultKeys(k); got != 0 {
		t.Errorf("%d cached vault keys with the cache disabled, want 0", got)
	}
}

func TestForgetDuringUnwrapDoesNotCache(t *testing.T) {
	root := newRoot(t)
	k := keyring.New(root, keyring.Options{})
	wk := newVaultKey(t, k, aad1.OrgID, aad1.VaultID)
	s := seal(t, keyring.New(root, keyring.Options{}), wk, aad1, []byte(canary))
	blocking := &blockingRoot{countingRoot: root, entered: make(chan struct{}), release: make(chan struct{})}
	k = keyring.New(blocking, keyring.Options{})
	done := make(chan error)
	go func() {
		_, err := k.Open(context.Background(), wk, aad1, s)
		done <- err
	}()
	<-blocking.entered
	k.Forget(aad1.OrgID, aad1.VaultID)
	close(blocking.release)
	if err := <-done; err != nil {
		t.Fatalf("Open: %v", err)
	}
	if got := keyring.CachedVaultKeys(k); got != 0 {
		t.Errorf("%d cached vault keys after Forget raced an unwrap, want 0", got)
	}
}

// blockingRoot pauses the first Unwrap until release is closed.
type blockingRoot struct {
	*countingRoot
	once             sync.Once
	entered, release chan struct{}
}

func (b *blockingRoot) Unwrap(ctx context.Context, wrapped, aad []byte) ([]byte, error) {
	b.once.Do(func() {
		close(b.entered)
		<-b.release
	})
	return b.countingRoot.Unwrap(ctx, wrapped, aad)
}

func TestRootErrorsKeepTheirKind(t *testing.T) {
	tests := []struct {
		name     string
		rootErr  error
		wantKind clavis.Kind
	}{
		{"plain error", errors.New("token not present"), clavis.KindInternal},
		{"unavailable", clavis.E(clavis.KindUnavailable, "key provider unavailable"), clavis.KindUnavailable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			root := newRoot(t)
			k := keyring.New(root, keyring.Options{})
			wk := newVaultKey(t, k, aad1.OrgID, aad1.VaultID)
			calls := []struct {
				name string
				call func() error
			}{
				{"NewVaultKey", func() error { _, err := k.NewVaultKey(ctx, "o", "v"); return err }},
				{"Seal", func() error { _, err := k.Seal(ctx, wk, aad1, []byte(canary)); return err }},
				{"WrapServerSecret", func() error { _, err := k.WrapServerSecret(ctx, "p", []byte(canary)); return err }},
			}
			for _, c := range calls {
				root.failNext.Store(&tt.rootErr)
				err := c.call()
				if got := clavis.KindOf(err); err == nil || got != tt.wantKind {
					t.Errorf("%s with a failing root: error %v of kind %v, want kind %v", c.name, err, got, tt.wantKind)
				}
				if !errors.Is(err, tt.rootErr) {
					t.Errorf("%s: error %v does not wrap the root's error", c.name, err)
				}
			}
			// A failed unwrap is not cached: the next call succeeds.
			if _, err := k.Seal(ctx, wk, aad1, []byte(canary)); err != nil {
				t.Errorf("Seal after a failed unwrap: %v", err)
			}
		})
	}
}

func TestServerSecret(t *testing.T) {
	ctx := context.Background()
	root := newRoot(t)
	k := keyring.New(root, keyring.Options{})
	secret := []byte(canary + "-jwt-signing-key")
	wrapped, err := k.WrapServerSecret(ctx, "jwt-signing-key", secret)
	if err != nil {
		t.Fatalf("WrapServerSecret: %v", err)
	}
	if bytes.Contains(wrapped, []byte(canary)) {
		t.Error("wrapped server secret contains the plaintext")
	}
	got, err := k.UnwrapServerSecret(ctx, "jwt-signing-key", wrapped)
	if err != nil {
		t.Fatalf("UnwrapServerSecret: %v", err)
	}
	if !bytes.Equal(got, secret) {
		t.Errorf("UnwrapServerSecret = %q, want %q", got, secret)
	}
	// The same root key reopened from its file (a server restart) unwraps it too.
	restarted := keyring.New(root.Provider, keyring.Options{})
	if got, err := restarted.UnwrapServerSecret(ctx, "jwt-signing-key", wrapped); err != nil || !bytes.Equal(got, secret) {
		t.Errorf("UnwrapServerSecret after restart = %q, %v; want %q", got, err, secret)
	}

	vaultKey := newVaultKey(t, k, "org-1", "vault-1")
	failures := []struct {
		name    string
		purpose string
		wrapped []byte
	}{
		{"wrong purpose", "api-key-pepper", wrapped},
		{"purpose prefix", "jwt-signing", wrapped},
		{"empty purpose", "", wrapped},
		{"empty input", "jwt-signing-key", nil},
		{"a wrapped vault key", "jwt-signing-key", vaultKey},
		{"truncated", "jwt-signing-key", wrapped[:len(wrapped)-1]},
	}
	for i := range wrapped {
		bad := bytes.Clone(wrapped)
		bad[i] ^= 0x01
		failures = append(failures, struct {
			name    string
			purpose string
			wrapped []byte
		}{fmt.Sprintf("byte %d flipped", i), "jwt-signing-key", bad})
	}
	for _, tt := range failures {
		t.Run(tt.name, func(t *testing.T) {
			got, err := k.UnwrapServerSecret(ctx, tt.purpose, tt.wrapped)
			if err == nil || got != nil {
				t.Fatalf("UnwrapServerSecret = %d bytes, %v; want nil, error", len(got), err)
			}
			checkInternal(t, err)
		})
	}
	if _, err := k.WrapServerSecret(ctx, "", secret); err == nil {
		t.Error("WrapServerSecret with an empty purpose: no error")
	}
}

func TestEmptyIDsRefused(t *testing.T) {
	ctx := context.Background()
	k := keyring.New(newRoot(t), keyring.Options{})
	wk := newVaultKey(t, k, aad1.OrgID, aad1.VaultID)
	tests := []struct {
		name string
		call func() error
	}{
		{"NewVaultKey empty org", func() error { _, err := k.NewVaultKey(ctx, "", "v"); return err }},
		{"NewVaultKey empty vault", func() error { _, err := k.NewVaultKey(ctx, "o", ""); return err }},
		{"Seal empty org", func() error { _, err := k.Seal(ctx, wk, keyring.AAD{VaultID: "v"}, nil); return err }},
		{"Open empty vault", func() error {
			_, err := k.Open(ctx, wk, keyring.AAD{OrgID: "o"}, keyring.Sealed{})
			return err
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.call(); clavis.KindOf(err) != clavis.KindInternal || err == nil {
				t.Errorf("error = %v, want an internal *clavis.Error", err)
			}
		})
	}
}

func TestRedaction(t *testing.T) {
	root := newRoot(t)
	k := keyring.New(root, keyring.Options{})
	wk := newVaultKey(t, k, aad1.OrgID, aad1.VaultID)
	s := seal(t, k, wk, aad1, []byte(canary))
	open(t, k, wk, aad1, s) // something is cached
	var logged bytes.Buffer
	slog.New(slog.NewTextHandler(&logged, nil)).Info("x", "keyring", k, "sealed", s)
	tests := []struct {
		name, got, want string
	}{
		{"Keyring %v", fmt.Sprintf("%v", k), "keyring(root " + root.ID() + ")"},
		{"Keyring %#v", fmt.Sprintf("%#v", k), "keyring(root " + root.ID() + ")"},
		{"Sealed %v", fmt.Sprintf("%v", s), fmt.Sprintf("keyring.Sealed{ciphertext: %d bytes, wrapped_dek: %d bytes}", len(s.Ciphertext), len(s.WrappedDEK))},
		{"Sealed %+v", fmt.Sprintf("%+v", s), "bytes"},
		{"Sealed %#v", fmt.Sprintf("%#v", s), "bytes"},
		{"slog", logged.String(), "ciphertext_bytes="},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !strings.Contains(tt.got, tt.want) {
				t.Errorf("got %q, want it to contain %q", tt.got, tt.want)
			}
			if strings.Contains(tt.got, fmt.Sprintf("%x", s.Ciphertext[:8])) || strings.Contains(tt.got, fmt.Sprint(s.Ciphertext[:8])) {
				t.Errorf("got %q, which dumps ciphertext", tt.got)
			}
		})
	}
}

// FuzzOpen feeds arbitrary bytes as a stored value: Open must never panic, and must succeed only on the
// exact bytes Seal produced.
func FuzzOpen(f *testing.F) {
	k := keyring.New(newRoot(f), keyring.Options{})
	wk := newVaultKey(f, k, aad1.OrgID, aad1.VaultID)
	s := seal(f, k, wk, aad1, []byte(canary))
	f.Add(s.Ciphertext, s.WrappedDEK)
	f.Add([]byte{}, []byte{})
	f.Add([]byte{1}, []byte{1})
	f.Add(s.Ciphertext[:29], s.WrappedDEK)
	f.Fuzz(func(t *testing.T, ciphertext, wrappedDEK []byte) {
		got, err := k.Open(context.Background(), wk, aad1, keyring.Sealed{Ciphertext: ciphertext, WrappedDEK: wrappedDEK})
		exact := bytes.Equal(ciphertext, s.Ciphertext) && bytes.Equal(wrappedDEK, s.WrappedDEK)
		switch {
		case err == nil && !exact:
			t.Fatalf("Open of altered input succeeded: %q", got)
		case err != nil && exact:
			t.Fatalf("Open of the sealed bytes: %v", err)
		case err != nil && got != nil:
			t.Fatalf("Open returned %d bytes with an error", len(got))
		}
	})
}

func BenchmarkOpen(b *testing.B) {
	k := keyring.New(newRoot(b), keyring.Options{})
	wk := newVaultKey(b, k, aad1.OrgID, aad1.VaultID)
	s := seal(b, k, wk, aad1, bytes.Repeat([]byte{'x'}, 64))
	ctx := context.Background()
	b.ReportAllocs()
	b.SetBytes(64)
	for b.Loop() {
		if _, err := k.Open(ctx, wk, aad1, s); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkOpenUncached is BenchmarkOpen with the cache disabled: the baseline the cache saves against
// (with a file root key; an HSM round trip costs far more).
func BenchmarkOpenUncached(b *testing.B) {
	k := keyring.New(newRoot(b), keyring.Options{CacheSize: -1})
	wk := newVaultKey(b, k, aad1.OrgID, aad1.VaultID)
	s := seal(b, k, wk, aad1, bytes.Repeat([]byte{'x'}, 64))
	ctx := context.Background()
	b.ReportAllocs()
	b.SetBytes(64)
	for b.Loop() {
		if _, err := k.Open(ctx, wk, aad1, s); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSeal(b *testing.B) {
	k := keyring.New(newRoot(b), keyring.Options{})
	wk := newVaultKey(b, k, aad1.OrgID, aad1.VaultID)
	value := bytes.Repeat([]byte{'x'}, 64)
	ctx := context.Background()
	b.ReportAllocs()
	b.SetBytes(64)
	for b.Loop() {
		if _, err := k.Seal(ctx, wk, aad1, value); err != nil {
			b.Fatal(err)
		}
	}
}
