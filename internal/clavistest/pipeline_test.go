package clavistest_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"clavis.dev/clavis"
	"clavis.dev/clavis/internal/clavistest"
	"clavis.dev/clavis/internal/store"
)

// gatedStore is the real store, whose batches, once committed, become durable only when the test says:
// while held, the durable func of each batch waits for release (or returns fail, when set).
type gatedStore struct {
	store.Store
	mu      sync.Mutex
	held    bool
	release chan struct{}
	fail    error
}

func (g *gatedStore) WriteBatch(ctx context.Context, fns []func(store.Tx) error) []error {
	return g.Store.(store.Batcher).WriteBatch(ctx, fns)
}

func (g *gatedStore) WriteBatchNoSync(ctx context.Context, fns []func(store.Tx) error) ([]error, func() error) {
	errs, durable := g.Store.(store.SyncPipeliner).WriteBatchNoSync(ctx, fns)
	g.mu.Lock()
	defer g.mu.Unlock()
	if !g.held {
		return errs, durable
	}
	release, fail := g.release, g.fail
	return errs, func() error {
		<-release
		if fail != nil {
			return fail
		}
		return durable()
	}
}

// hold makes the batches committed from now on wait for the returned release; fail, if not nil, is
// then what their durable func reports.
func (g *gatedStore) hold(fail error) chan struct{} {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.held, g.release, g.fail = true, make(chan struct{}), fail
	return g.release
}

func (g *gatedStore) unhold() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.held = false
}

// The group committer answers a unit only once its batch is durable: a secret written, and a value
// read (whose read event is in the batch), reach the client only after the sync; a failed sync is a 503.
func TestCommitterAnswersOnceDurable(t *testing.T) {
	var g *gatedStore
	env := clavistest.New(t, clavistest.Options{WrapStore: func(s store.Store) store.Store {
		if _, ok := s.(store.SyncPipeliner); !ok {
			t.Skip("the store does not pipeline its syncs")
		}
		g = &gatedStore{Store: s}
		return g
	}})
	ctx := context.Background()
	u := env.Signup(t)
	v, err := u.C.CreateVault(ctx, clavis.VaultInput{Name: "gated"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := u.C.PutSecret(ctx, v.ID, "k", clavis.SecretInput{Value: "v1"}); err != nil {
		t.Fatal(err)
	}

	calls := map[string]func() error{
		"PutSecret": func() error { _, err := u.C.PutSecret(ctx, v.ID, "k", clavis.SecretInput{Value: "v2"}); return err },
		"GetSecret": func() error { _, err := u.C.GetSecret(ctx, v.ID, "k"); return err },
	}
	for name, call := range calls {
		release := g.hold(nil)
		done := make(chan error, 1)
		go func() { done <- call() }()
		select {
		case err := <-done:
			t.Fatalf("%s answered before its batch was durable (err %v)", name, err)
		case <-time.After(200 * time.Millisecond):
		}
		g.unhold()
		close(release)
		if err := <-done; err != nil {
			t.Errorf("%s after the sync: %v", name, err)
		}

		release = g.hold(fmt.Errorf("%w: injected sync failure", store.ErrCommit))
		close(release)
		if err := call(); !clavis.IsKind(err, clavis.KindUnavailable) {
			t.Errorf("%s with a failed sync: %v, want 503", name, err)
		}
		g.unhold()
	}
}
