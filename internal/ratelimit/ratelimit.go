// Package ratelimit implements keyed token buckets (spec §6.2). A Limiter is safe for concurrent use and
// bounds its memory: idle buckets (full again) are dropped, and the number of keys is capped.
package ratelimit

import (
	"container/list"
	"math"
	"sync"
	"time"
)

// Rule is a bucket shape: Burst tokens, refilled at Rate tokens per second.
type Rule struct {
	Burst int
	Rate  float64
}

// Limiter holds one token bucket per key.
type Limiter struct {
	rule    Rule
	maxKeys int
	now     func() time.Time

	mu      sync.Mutex
	buckets map[string]*list.Element // of *bucket, in lru
	lru     *list.List               // most recently used at the front
	sweep   time.Time
}

type bucket struct {
	key    string
	tokens float64
	last   time.Time
}

// New returns a limiter for rule. maxKeys caps memory (default 100 000); when the cap is reached the
// limiter forgets the least recently used key, so a full table never refuses a new client. A forgotten
// key starts again with a full bucket; forcing that takes maxKeys other keys, each with a bucket of its own.
func New(rule Rule, maxKeys int, now func() time.Time) *Limiter {
	if maxKeys <= 0 {
		maxKeys = 100_000
	}
	if now == nil {
		now = time.Now
	}
	return &Limiter{rule: rule, maxKeys: maxKeys, now: now, buckets: map[string]*list.Element{}, lru: list.New()}
}

// Allow takes one token from key's bucket. When the bucket is empty it returns false and how long until
// a token is available.
func (l *Limiter) Allow(key string) (bool, time.Duration) {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Sub(l.sweep) > time.Minute {
		l.dropIdle(now)
	}
	var b *bucket
	if e, ok := l.buckets[key]; !ok {
		if len(l.buckets) >= l.maxKeys {
			l.remove(l.lru.Back())
		}
		b = &bucket{key: key, tokens: float64(l.rule.Burst), last: now}
		l.buckets[key] = l.lru.PushFront(b)
	} else {
		l.lru.MoveToFront(e)
		b = e.Value.(*bucket)
		b.tokens = math.Min(float64(l.rule.Burst), b.tokens+now.Sub(b.last).Seconds()*l.rule.Rate)
		b.last = now
	}
	if b.tokens >= 1 {
		b.tokens--
		return true, 0
	}
	if l.rule.Rate <= 0 {
		return false, time.Hour
	}
	return false, time.Duration((1 - b.tokens) / l.rule.Rate * float64(time.Second))
}

// dropIdle forgets buckets that have refilled completely (they behave exactly like new ones).
func (l *Limiter) dropIdle(now time.Time) {
	l.sweep = now
	for e := l.lru.Back(); e != nil; {
		prev := e.Prev()
		if b := e.Value.(*bucket); b.tokens+now.Sub(b.last).Seconds()*l.rule.Rate >= float64(l.rule.Burst) {
			l.remove(e)
		}
		e = prev
	}
}

func (l *Limiter) remove(e *list.Element) {
	delete(l.buckets, l.lru.Remove(e).(*bucket).key)
}

// RetryAfterSeconds rounds a wait up to whole seconds, at least 1 (the Retry-After header's unit).
func RetryAfterSeconds(d time.Duration) int {
	s := int(math.Ceil(d.Seconds()))
	if s < 1 {
		s = 1
	}
	return s
}

// Peek reports whether key's bucket has a token, without taking it, and otherwise how long until it
// has one. Callers that charge only failures (wrong passphrases) Peek before the attempt and Allow
// after a failure.
func (l *Limiter) Peek(key string) (bool, time.Duration) {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	e, ok := l.buckets[key]
	if !ok {
		return l.rule.Burst >= 1, 0
	}
	b := e.Value.(*bucket)
	tokens := math.Min(float64(l.rule.Burst), b.tokens+now.Sub(b.last).Seconds()*l.rule.Rate)
	if tokens >= 1 {
		return true, 0
	}
	if l.rule.Rate <= 0 {
		return false, time.Hour
	}
	return false, time.Duration((1 - tokens) / l.rule.Rate * float64(time.Second))
}
