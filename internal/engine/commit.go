package engine

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"clavis.dev/clavis"
	"clavis.dev/clavis/internal/store"
)

// committer group-commits units of work (DESIGN §3, Audit): one goroutine takes every unit waiting,
// runs them in one transaction (a savepoint each, when the store is a store.Batcher) and commits once,
// so concurrent requests share one durable commit. Each unit's caller waits for the commit that holds it.
type committer struct {
	st       store.Store
	batcher  store.Batcher // nil: one Write per unit
	single   bool          // a unit alone goes through the batcher too (store.SingleBatcher)
	units    chan *unit
	maxBatch int
	stop     chan struct{}
	stopped  chan struct{}
	// cache learns the state epoch at the end of every transaction, before its units are answered.
	cache *stateCache
}

// unit is one request's transaction body; done receives its outcome once it is durable (or failed).
type unit struct {
	ctx  context.Context
	fn   func(store.Tx) error
	done chan error
	// abandoned is set when the caller stopped waiting (audit timeout); a unit not yet started is then
	// skipped, so a request answered 503 does not, say, consume a read of a limited secret later.
	abandoned atomic.Bool
}

func newCommitter(st store.Store, maxBatch int, cache *stateCache) *committer {
	c := &committer{st: st, units: make(chan *unit, 4*maxBatch), maxBatch: maxBatch,
		stop: make(chan struct{}), stopped: make(chan struct{}), cache: cache}
	c.batcher, _ = st.(store.Batcher)
	_, c.single = st.(store.SingleBatcher)
	go c.run()
	return c
}

func (c *committer) run() {
	defer close(c.stopped)
	for {
		var first *unit
		select {
		case first = <-c.units:
		case <-c.stop:
			return
		}
		batch := []*unit{first}
	drain:
		for len(batch) < c.maxBatch {
			select {
			case u := <-c.units:
				batch = append(batch, u)
			default:
				break drain
			}
		}
		c.commit(batch)
	}
}

// commit runs one batch; units whose callers gave up before it started are skipped.
func (c *committer) commit(batch []*unit) {
	live := batch[:0]
	for _, u := range batch {
		if err := u.ctx.Err(); err != nil {
			u.done <- err
			continue
		}
		if u.abandoned.Load() {
			u.done <- errAuditTimeout
			continue
		}
		live = append(live, u)
	}
	if len(live) == 0 {
		return
	}
	var t epochTail
	if c.batcher == nil || len(live) == 1 && !c.single {
		for _, u := range live {
			t = epochTail{}
			err := c.st.Write(context.WithoutCancel(u.ctx), func(tx store.Tx) error {
				if err := safe(u.fn)(tx); err != nil {
					return err
				}
				return t.read(tx, c.cache)
			})
			t.observe(c.cache, err == nil)
			u.done <- err
		}
		return
	}
	fns := make([]func(store.Tx) error, len(live), len(live)+1)
	ranIn := make([]store.Tx, len(live)) // the transaction each unit last ran in
	for i, u := range live {
		fn := safe(u.fn)
		fns[i] = func(tx store.Tx) error { ranIn[i] = tx; return fn(tx) }
	}
	fns = append(fns, func(tx store.Tx) error { return t.read(tx, c.cache) })
	// The batch belongs to many requests: one caller's cancellation must not abort the others.
	errs := c.batcher.WriteBatch(context.Background(), fns)
	committed := errs[len(live)] == nil
	for i := range live {
		if errs[i] == nil && ranIn[i] != t.tx {
			committed = false // the store ran this unit in a transaction of its own, after the batch's
		}
	}
	if !committed {
		t.reread(c.st, c.cache)
	}
	t.observe(c.cache, true)
	for i, u := range live {
		u.done <- errs[i]
	}
}

// epochTail reads the state epoch as the last statement of a transaction, so that the cache learns
// of the transaction's own state changes (if any) once it has committed.
type epochTail struct {
	tx    store.Tx
	epoch int64
	at    int64
	ok    bool
}

// read runs inside the transaction. A failure to read costs the cache its entries (and, on a store
// where a failed statement aborts the transaction, that commit: the units are then run again apart).
func (t *epochTail) read(tx store.Tx, cache *stateCache) error {
	t.tx, t.at = tx, cache.since()
	if ac, ok := tx.(store.EpochAtCommit); ok {
		t.ok = false
		ac.StateEpochAtCommit(func(epoch int64, err error) { t.epoch, t.ok = epoch, err == nil })
		return nil
	}
	var err error
	t.epoch, err = tx.StateEpoch()
	t.ok = err == nil
	return nil
}

// reread reads the epoch after the fact, when the read inside the transaction cannot tell.
func (t *epochTail) reread(st store.Store, cache *stateCache) {
	t.at = cache.since()
	err := st.Read(context.Background(), func(tx store.Tx) error {
		var err error
		t.epoch, err = tx.StateEpoch()
		return err
	})
	t.ok = err == nil
}

// observe tells the cache what the transaction saw, after its commit (committed) or rollback.
func (t *epochTail) observe(cache *stateCache, committed bool) {
	if committed || t.ok {
		cache.observe(t.epoch, t.ok, t.at)
	}
}

// safe turns a panic in fn into an error, so that one request cannot take the committer down.
func safe(fn func(store.Tx) error) func(store.Tx) error {
	return func(tx store.Tx) (err error) {
		defer func() {
			if p := recover(); p != nil {
				err = fmt.Errorf("panic in transaction: %v", p)
			}
		}()
		return fn(tx)
	}
}

// do submits u and waits for its outcome, at most timeout: a request never waits longer than that for
// the audit log (fail closed, spec §5.4).
func (c *committer) do(u *unit, timeout time.Duration) error {
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case c.units <- u:
	case <-t.C:
		return errAuditTimeout
	case <-u.ctx.Done():
		return u.ctx.Err()
	}
	select {
	case err := <-u.done:
		return err
	case <-t.C:
		u.abandoned.Store(true)
		return errAuditTimeout
	case <-u.ctx.Done():
		u.abandoned.Store(true)
		return u.ctx.Err()
	}
}

func (c *committer) close() {
	close(c.stop)
	<-c.stopped
}

var errAuditTimeout = fmt.Errorf("%w: commit did not finish in time", store.ErrCommit)

// auditTx is the Tx handed to engine transaction bodies: it remembers the audit events recorded in it,
// so that they reach the sink once they are committed.
type auditTx struct {
	store.Tx
	events []*clavis.AuditEvent
}

// write runs fn as one unit of a group commit. An error wrapped with keep commits and is returned
// unwrapped; any other error rolls back fn's changes. When write returns an error other than fn's own,
// fn may still be running (the caller stopped waiting): the caller must then read nothing fn writes. A commit that fails or does not finish within the
// audit timeout is a 503 and marks the engine unready until a commit succeeds again.
func (e *Engine) write(ctx context.Context, fn func(tx store.Tx) error) error {
	var deferred error
	var recorded []*clavis.AuditEvent
	u := &unit{ctx: ctx, done: make(chan error, 1), fn: func(tx store.Tx) error {
		deferred, recorded = nil, nil // the store may run fn again after a deadlock; start afresh
		at := &auditTx{Tx: tx}
		err := fn(at)
		var k kept
		if errors.As(err, &k) {
			err, deferred = nil, k.err
		}
		if err == nil {
			recorded = at.events
		}
		return err
	}}
	err := e.commits.do(u, e.cfg.AuditTimeout)
	if errors.Is(err, store.ErrCommit) {
		e.healthy.Store(false)
		e.logger(ctx).Error("write transaction not committed: failing closed", "err", err)
		return store.ErrCommit
	}
	if err != nil {
		return e.classify(ctx, err)
	}
	e.healthy.Store(true)
	e.emit(ctx, recorded)
	return deferred
}
