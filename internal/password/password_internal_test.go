package password

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"clavis.dev/clavis"
)

func TestNewHasherDefaults(t *testing.T) {
	h := NewHasher(Params{}, 0)
	if got, want := h.params, DefaultParams; got != want {
		t.Errorf("params = %+v, want %+v", got, want)
	}
	if got := cap(h.sem); got < 1 {
		t.Errorf("concurrency = %d, want NumCPU >= 1", got)
	}
}

// TestHasherBoundsConcurrency holds every computation inside the argon2 call until the test releases it:
// exactly limit calls enter while 3×limit are waiting, and each release lets exactly one more in. An
// unbounded Hasher would let more in, one that serialised too much would never reach limit.
func TestHasherBoundsConcurrency(t *testing.T) {
	for _, limit := range []int{1, 2, 3} {
		t.Run("", func(t *testing.T) {
			h := NewHasher(Params{Memory: 64, Time: 1, Threads: 1}, limit)
			enc, err := h.Hash(context.Background(), "a long enough password")
			if err != nil {
				t.Fatal(err)
			}
			calls := 3 * limit
			entered, release := make(chan struct{}, calls), make(chan struct{})
			h.derive = func(password, salt []byte, p Params, keyLen uint32) []byte {
				entered <- struct{}{}
				<-release
				return argon2id(password, salt, p, keyLen)
			}
			var wg sync.WaitGroup
			for n := range calls {
				wg.Go(func() {
					var err error
					switch n % 3 {
					case 0:
						_, err = h.Hash(context.Background(), "a long enough password")
					case 1:
						_, err = h.Verify(context.Background(), enc, "a long enough password")
					case 2:
						err = h.Dummy(context.Background())
					}
					if err != nil {
						t.Error(err)
					}
				})
			}
			awaitEntries := func(n int) {
				t.Helper()
				for range n {
					select {
					case <-entered:
					case <-time.After(10 * time.Second):
						t.Fatalf("fewer than %d computations entered", n)
					}
				}
				// nobody else may be inside: the bound is full until a release
				select {
				case <-entered:
					t.Fatalf("more than %d computations in flight", limit)
				case <-time.After(50 * time.Millisecond):
				}
			}
			awaitEntries(limit)
			for left := calls - limit; left > 0; left-- {
				release <- struct{}{}
				awaitEntries(1)
			}
			close(release)
			wg.Wait()
		})
	}
}

// TestHasherWaitEndsWithContext: a caller waiting for a slot gets ctx.Err() when its context ends.
func TestHasherWaitEndsWithContext(t *testing.T) {
	h := NewHasher(Params{Memory: 64, Time: 1, Threads: 1}, 1)
	entered, release := make(chan struct{}), make(chan struct{})
	h.derive = func(password, salt []byte, p Params, keyLen uint32) []byte {
		select {
		case entered <- struct{}{}:
			<-release // the first computation holds the only slot
		default:
		}
		return argon2id(password, salt, p, keyLen)
	}
	done := make(chan error, 1)
	go func() {
		_, err := h.Hash(context.Background(), "holder of the only slot")
		done <- err
	}()
	<-entered

	cancelled, cancel := context.WithCancel(context.Background())
	time.AfterFunc(20*time.Millisecond, cancel)
	deadline, cancel2 := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel2()
	tests := []struct {
		name string
		ctx  context.Context
		call func(context.Context) error
		want error
	}{
		{"Hash cancelled", cancelled, func(ctx context.Context) error { _, err := h.Hash(ctx, "x"); return err }, context.Canceled},
		{"Verify past deadline", deadline, func(ctx context.Context) error {
			_, err := h.Verify(ctx, "$argon2id$v=19$m=64,t=1,p=1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAA", "x")
			return err
		}, context.DeadlineExceeded},
		{"Dummy cancelled", cancelled, h.Dummy, context.Canceled},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start := time.Now()
			err := tt.call(tt.ctx)
			if !errors.Is(err, tt.want) {
				t.Errorf("err = %v, want %v", err, tt.want)
			}
			if d := time.Since(start); d > 5*time.Second {
				t.Errorf("returned after %v, want promptly after the context ended", d)
			}
		})
	}
	close(release)
	if err := <-done; err != nil {
		t.Errorf("slot holder: %v", err)
	}
}

// TestDummyCostsOneHash: Dummy runs exactly one computation with the Hasher's own parameters and output
// length, so an unknown-email login costs what a known one does.
func TestDummyCostsOneHash(t *testing.T) {
	p := Params{Memory: 64, Time: 1, Threads: 1}
	h := NewHasher(p, 1)
	type call struct {
		p      Params
		keyLen uint32
	}
	var calls []call
	h.derive = func(password, salt []byte, p Params, keyLen uint32) []byte {
		calls = append(calls, call{p, keyLen})
		return argon2id(password, salt, p, keyLen)
	}
	if err := h.Dummy(context.Background()); err != nil {
		t.Fatal(err)
	}
	if want := []call{{p, hashLen}}; len(calls) != 1 || calls[0] != want[0] {
		t.Errorf("Dummy computed %+v, want %+v", calls, want)
	}
}

// TestVerifyRefusesCostlyStoredParams: a tampered stored hash cannot make Verify compute beyond the
// bounds (256 MiB, a few passes and lanes). Such a hash is an internal error (corruption), and no
// computation runs at all.
func TestVerifyRefusesCostlyStoredParams(t *testing.T) {
	h := NewHasher(Params{Memory: 64, Time: 1, Threads: 1}, 1)
	computed := 0
	h.derive = func(password, salt []byte, p Params, keyLen uint32) []byte {
		computed++
		return make([]byte, keyLen)
	}
	const tail = "$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
	for _, params := range []string{
		"m=4194304,t=1,p=1", // 4 GiB
		"m=262145,t=1,p=1",  // 256 MiB + 1 KiB
		"m=65536,t=100,p=1",
		"m=65536,t=11,p=1",
		"m=65536,t=1,p=255",
		"m=65536,t=1,p=5",
	} {
		enc := "$argon2id$v=19$" + params + tail
		ok, err := h.Verify(context.Background(), enc, "a long enough password")
		if ok || !clavis.IsKind(err, clavis.KindInternal) {
			t.Errorf("Verify(%s) = %v, %v; want false, internal error", params, ok, err)
		}
	}
	if computed != 0 {
		t.Errorf("%d argon2 computations ran for out-of-bounds stored hashes, want none", computed)
	}
	// At the bounds a hash is still computed.
	if _, err := h.Verify(context.Background(), "$argon2id$v=19$m=262144,t=10,p=4"+tail, "x"); err != nil || computed != 1 {
		t.Errorf("Verify at the bounds = %v after %d computations; want nil after 1", err, computed)
	}
}
