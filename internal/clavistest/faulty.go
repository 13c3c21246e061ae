package clavistest

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

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

// SlowStore is a real store whose write transactions can be made slow: while Delay is set, every unit of
// work waits that long before it runs, as on a stalled disk, so that its caller gives up first.
type SlowStore struct {
	store.Store
	Delay atomic.Int64 // nanoseconds
}

func (s *SlowStore) slow(fn func(store.Tx) error) func(store.Tx) error {
	return func(tx store.Tx) error {
		time.Sleep(time.Duration(s.Delay.Load()))
		return fn(tx)
	}
}

// Write runs fn late while Delay is set.
func (s *SlowStore) Write(ctx context.Context, fn func(store.Tx) error) error {
	return s.Store.Write(ctx, s.slow(fn))
}

// WriteBatch runs every fn late while Delay is set.
func (s *SlowStore) WriteBatch(ctx context.Context, fns []func(store.Tx) error) []error {
	slowed := make([]func(store.Tx) error, len(fns))
	for i, fn := range fns {
		slowed[i] = s.slow(fn)
	}
	return s.Store.(store.Batcher).WriteBatch(ctx, slowed)
}

// ReadCountingStore is a real store that counts its read transactions, to show which requests need
// one. It wraps the SQLite store and keeps its group commit and warm-writer reads.
type ReadCountingStore struct {
	store.Store
	Reads atomic.Int64
}

var (
	_ store.Batcher    = (*ReadCountingStore)(nil)
	_ store.WarmWriter = (*ReadCountingStore)(nil)
)

// Read counts one read transaction.
func (s *ReadCountingStore) Read(ctx context.Context, fn func(store.Tx) error) error {
	s.Reads.Add(1)
	return s.Store.Read(ctx, fn)
}

// WriteBatch is the wrapped store's.
func (s *ReadCountingStore) WriteBatch(ctx context.Context, fns []func(store.Tx) error) []error {
	return s.Store.(store.Batcher).WriteBatch(ctx, fns)
}

// WarmWriter is the wrapped store's (a panic if it has none).
func (s *ReadCountingStore) WarmWriter() { s.Store.(store.WarmWriter).WarmWriter() }
