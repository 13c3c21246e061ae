package engine

import (
	"sync"
	"time"

	"clavis.dev/clavis/internal/token"
)

// tokenCache remembers the claims of access tokens whose signature already verified, keyed by the exact
// token bytes, so each distinct token pays for Ed25519 verification once. It only short-cuts the
// signature and claim checks: revocation and principal state are still checked on every request.
// Bounded: at capacity an arbitrary entry is evicted.
type tokenCache struct {
	mu     sync.Mutex
	m      map[string]*token.Claims
	max    int
	leeway time.Duration
}

func newTokenCache(max int, leeway time.Duration) *tokenCache {
	return &tokenCache{m: make(map[string]*token.Claims, max), max: max, leeway: leeway}
}

// get returns the cached claims of raw if they are still within their lifetime at now.
func (c *tokenCache) get(raw string, now time.Time) *token.Claims {
	c.mu.Lock()
	defer c.mu.Unlock()
	cl, ok := c.m[raw]
	if !ok {
		return nil
	}
	if now.Unix() > cl.Expires+int64(c.leeway/time.Second) {
		delete(c.m, raw)
		return nil
	}
	return cl
}

func (c *tokenCache) put(raw string, cl *token.Claims) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) >= c.max {
		for k := range c.m { // random eviction: map iteration order is unspecified
			delete(c.m, k)
			break
		}
	}
	c.m[raw] = cl
}
