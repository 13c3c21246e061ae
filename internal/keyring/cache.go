package keyring

import (
	"container/list"
	"context"
	"crypto/cipher"
	"sync"
	"time"

	"clavis.dev/clavis"
)

// vaultRef names one key version of a vault.
type vaultRef struct {
	orgID, vaultID string
	keyVersion     int
}

// cacheKey names one wrapped form of a vault's key: the vault plus the SHA-256 of the wrapped bytes, so
// that a changed wrapped key is never answered from the cache.
type cacheKey struct {
	orgID, vaultID string
	keyVersion     int
	sum            [32]byte
}

func (c cacheKey) ref() vaultRef { return vaultRef{c.orgID, c.vaultID, c.keyVersion} }

type cacheEntry struct {
	ref     vaultRef
	sum     [32]byte
	aead    cipher.AEAD // holds the vault key schedule; the raw key was cleared after unwrap
	expires time.Time
}

// flight is one unwrap in progress; concurrent misses on the same key wait for it instead of calling the
// root key again.
type flight struct {
	done chan struct{}
	aead cipher.AEAD
	err  error
}

// vaultKeyCache holds unwrapped vault keys: at most one entry per vault key version, at most size entries (least
// recently used evicted first), each for ttl after it was unwrapped. A size below zero disables it.
// It is safe for concurrent use.
type vaultKeyCache struct {
	size int
	ttl  time.Duration
	now  func() time.Time

	mu      sync.Mutex
	entries map[vaultRef]*list.Element // Value is *cacheEntry
	lru     *list.List                 // front is most recently used
	flights map[cacheKey]*flight
	forgets uint64 // bumped by forget; an unwrap that started before a forget is not cached
}

func newVaultKeyCache(size int, ttl time.Duration, now func() time.Time) *vaultKeyCache {
	return &vaultKeyCache{
		size: size, ttl: ttl, now: now,
		entries: make(map[vaultRef]*list.Element),
		lru:     list.New(),
		flights: make(map[cacheKey]*flight),
	}
}

// get returns the cached AEAD for ck, or calls load once (shared by concurrent callers for the same ck)
// and caches its result. A waiting caller gives up when ctx is done; if the shared load fails, each
// waiter calls load itself, so one caller's cancelled context does not fail the others.
func (c *vaultKeyCache) get(ctx context.Context, ck cacheKey, load func() (cipher.AEAD, error)) (cipher.AEAD, error) {
	if c.size < 0 {
		return load()
	}
	c.mu.Lock()
	if el, ok := c.entries[ck.ref()]; ok {
		e := el.Value.(*cacheEntry)
		switch {
		case c.now().After(e.expires):
			c.remove(el)
		case e.sum == ck.sum:
			c.lru.MoveToFront(el)
			c.mu.Unlock()
			return e.aead, nil
		}
	}
	if f, ok := c.flights[ck]; ok {
		c.mu.Unlock()
		select {
		case <-f.done:
		case <-ctx.Done():
			return nil, clavis.Internal(context.Cause(ctx))
		}
		if f.err == nil && f.aead != nil {
			return f.aead, nil
		}
		return load()
	}
	f := &flight{done: make(chan struct{})}
	c.flights[ck] = f
	forgets := c.forgets
	c.mu.Unlock()

	defer func() {
		c.mu.Lock()
		delete(c.flights, ck)
		if f.err == nil && f.aead != nil && c.forgets == forgets {
			c.put(ck, f.aead)
		}
		c.mu.Unlock()
		close(f.done)
	}()
	f.aead, f.err = load()
	return f.aead, f.err
}

// put stores aead for ck, replacing the vault's previous entry, then drops expired entries and evicts
// the least recently used beyond size. c.mu must be held.
func (c *vaultKeyCache) put(ck cacheKey, aead cipher.AEAD) {
	now := c.now()
	e := &cacheEntry{ref: ck.ref(), sum: ck.sum, aead: aead, expires: now.Add(c.ttl)}
	if el, ok := c.entries[e.ref]; ok {
		el.Value = e
		c.lru.MoveToFront(el)
	} else {
		c.entries[e.ref] = c.lru.PushFront(e)
	}
	// Misses are rare, so a full sweep here keeps expired keys from lingering in memory.
	for el := c.lru.Back(); el != nil; {
		prev := el.Prev()
		if now.After(el.Value.(*cacheEntry).expires) {
			c.remove(el)
		}
		el = prev
	}
	for c.lru.Len() > c.size {
		c.remove(c.lru.Back())
	}
}

// remove drops one entry. c.mu must be held.
func (c *vaultKeyCache) remove(el *list.Element) {
	e := c.lru.Remove(el).(*cacheEntry)
	delete(c.entries, e.ref)
	e.aead = nil
}

// forget drops the entries of every key version of the vault and keeps unwraps already in flight from
// caching their result.
func (c *vaultKeyCache) forget(orgID, vaultID string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.forgets++
	for ref, el := range c.entries {
		if ref.orgID == orgID && ref.vaultID == vaultID {
			c.remove(el)
		}
	}
}

// count reports the number of cached vault keys.
func (c *vaultKeyCache) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lru.Len()
}
