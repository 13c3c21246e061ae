package clavistest

import (
	"context"
	"fmt"
	"sync/atomic"

	"clavis.dev/clavis/internal/store"
)

// FaultyStore is a real store whose commits can be made to fail, as a full disk or a lost database
// would: while Fail is set, every write transaction fails with store.ErrCommit and records nothing.
type FaultyStore struct {
	store.Store
	Fail atomic.Bool
}

var errInjected = fmt.Errorf("%w: injected fault", store.ErrCommit)

// Write fails while Fail is set.
func (f *FaultyStore) Write(ctx context.Context, fn func(store.Tx) error) error {
	if f.Fail.Load() {
		return errInjected
	}
	return f.Store.Write(ctx, fn)
}

// WriteBatch fails every unit while Fail is set.
func (f *FaultyStore) WriteBatch(ctx context.Context, fns []func(store.Tx) error) []error {
	if f.Fail.Load() {
		errs := make([]error, len(fns))
		for i := range errs {
			errs[i] = errInjected
		}
		return errs
	}
	return f.Store.(store.Batcher).WriteBatch(ctx, fns)
}
