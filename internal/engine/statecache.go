package engine

import (
	"context"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"clavis.dev/clavis/internal/store"
)

// stateCache keeps in memory what nearly every request reads and rarely changes: the live state of the
// principal behind an access token, the org's IP rules, and a vault with the caller's policies on it.
// It is correct by invalidation, not by expiry (DESIGN §3, Caching):
//
//   - Every change to that state, by any process, bumps the store's state epoch in the same
//     transaction (triggers; see store.Tx.StateEpoch).
//   - The group committer reads the epoch at the end of each of its transactions and, once that
//     transaction has committed and before any request in it is answered, drops every entry if the
//     epoch moved. So a change made through this engine applies to the very next request here.
//   - A watcher polls the epoch every bound/2 (and at once on a PostgreSQL notification), so a
//     change made by another process or replica applies here within the bound; and entries are
//     served only while the last successful check is younger than the bound, so a watcher that cannot
//     reach the database cannot stretch that bound.
//
// Entries are loaded only in read transactions (never from a write transaction, whose uncommitted
// changes may still roll back), under the generation current before the load began: a load that raced
// with an invalidation is never served.
type stateCache struct {
	gen      atomic.Uint64 // bumped by every invalidation; an entry is valid only under its own generation
	checked  atomic.Int64  // monotonic nanoseconds (since start) of the last successful epoch check
	start    time.Time     // the monotonic origin of checked
	bound    time.Duration // staleness bound for changes made elsewhere
	maxItems int

	mu      sync.Mutex
	epoch   int64 // the epoch the current generation was checked against; -1 unknown
	entries map[string]cacheEntry
}

type cacheEntry struct {
	gen   uint64
	epoch int64 // the epoch of gen: the entry holds the state as of this epoch (or later); -1 unknown
	v     any
}

// stateCacheItems caps the entries; reaching it empties the cache.
const stateCacheItems = 50_000

func newStateCache(bound time.Duration, maxItems int) *stateCache {
	c := &stateCache{start: time.Now(), bound: bound, maxItems: maxItems, epoch: -1, entries: map[string]cacheEntry{}}
	c.checked.Store(math.MinInt64 / 2) // nothing is served before the first check
	return c
}

// since is the monotonic time since the cache was made.
func (c *stateCache) since() int64 { return int64(time.Since(c.start)) }

// generation returns the generation to load entries under; call it before the read transaction begins.
func (c *stateCache) generation() uint64 { return c.gen.Load() }

// get returns the entry for key if it is current.
func (c *stateCache) get(key string) (any, bool) {
	if c.since()-c.checked.Load() > int64(c.bound) {
		return nil, false
	}
	v, _, ok := c.getAt(key)
	return v, ok
}

// getAt returns the entry for key of the current generation, whatever its age, with the state epoch
// it is exact at: a transaction that reads that same epoch sees the same state (every change bumps it).
func (c *stateCache) getAt(key string) (any, int64, bool) {
	g := c.gen.Load()
	c.mu.Lock()
	e, ok := c.entries[key]
	c.mu.Unlock()
	if !ok || e.gen != g || e.epoch < 0 {
		return nil, 0, false
	}
	return e.v, e.epoch, true
}

// put stores v under key if no invalidation happened since gen was taken.
func (c *stateCache) put(gen uint64, key string, v any) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if gen != c.gen.Load() {
		return
	}
	if len(c.entries) >= c.maxItems {
		clear(c.entries)
	}
	// Loaded after gen began, so from a snapshot at least as recent as the epoch gen was made for.
	c.entries[key] = cacheEntry{gen: gen, epoch: c.epoch, v: v}
}

// observe takes the epoch read by a transaction that began after the time at (monotonic, see since):
// entries are dropped if it differs from the one the cache was checked against, and the cache may be
// served until at+bound. ok false (the epoch could not be read after a commit) drops everything.
func (c *stateCache) observe(epoch int64, ok bool, at int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !ok || epoch != c.epoch {
		c.gen.Add(1)
		clear(c.entries)
		c.epoch = -1
		if !ok {
			return
		}
		c.epoch = epoch
	}
	if at > c.checked.Load() {
		c.checked.Store(at)
	}
}

// watch keeps the cache checked until ctx is done: a poll every bound/2, and one at once when the store
// hears of a change made elsewhere.
func (c *stateCache) watch(ctx context.Context, st store.Store, logf func(msg string, err error)) {
	poke := make(chan struct{}, 1)
	if w, ok := st.(store.StateWatcher); ok {
		go func() {
			for ctx.Err() == nil {
				err := w.WatchState(ctx, func() {
					select {
					case poke <- struct{}{}:
					default:
					}
				})
				if ctx.Err() != nil {
					return
				}
				logf("state change notifications lost; polling only until they are back", err)
				select {
				case <-ctx.Done():
				case <-time.After(c.bound):
				}
			}
		}()
	}
	t := time.NewTicker(c.bound / 2)
	defer t.Stop()
	for {
		at := c.since()
		var epoch int64
		err := st.Read(ctx, func(tx store.Tx) error {
			var err error
			epoch, err = tx.StateEpoch()
			return err
		})
		if err == nil {
			c.observe(epoch, true, at)
		} else if ctx.Err() == nil {
			logf("checking the state epoch failed; cached state expires", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-poke:
		}
	}
}
