package ratelimit

import (
	"fmt"
	"sync"
	"testing"
	"time"
)

type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func TestBurstThenRefill(t *testing.T) {
	c := &clock{t: time.Unix(1000, 0)}
	l := New(Rule{Burst: 3, Rate: 2}, 0, c.now)
	for i := 0; i < 3; i++ {
		if ok, _ := l.Allow("k"); !ok {
			t.Fatalf("request %d within burst refused", i+1)
		}
	}
	ok, wait := l.Allow("k")
	if ok {
		t.Fatalf("request beyond burst allowed")
	}
	if wait != 500*time.Millisecond {
		t.Fatalf("wait = %v, want 500ms at 2 tokens/s", wait)
	}
	c.t = c.t.Add(500 * time.Millisecond)
	if ok, _ := l.Allow("k"); !ok {
		t.Fatalf("token not refilled after 500ms")
	}
	if ok, _ := l.Allow("other"); !ok {
		t.Fatalf("keys must not share a bucket")
	}
}

func TestRefillCapsAtBurst(t *testing.T) {
	c := &clock{t: time.Unix(1000, 0)}
	l := New(Rule{Burst: 2, Rate: 10}, 0, c.now)
	l.Allow("k")
	c.t = c.t.Add(time.Hour)
	got := 0
	for i := 0; i < 5; i++ {
		if ok, _ := l.Allow("k"); ok {
			got++
		}
	}
	if got != 2 {
		t.Fatalf("after a long idle period %d requests passed, want the burst of 2", got)
	}
}

// TestKeyCapEvictsLeastRecentlyUsed: a full key table never refuses a new key (that would lock every
// new client out while someone holds the table); it forgets the key used longest ago, and keeps the
// state of the recently used ones.
func TestKeyCapEvictsLeastRecentlyUsed(t *testing.T) {
	c := &clock{t: time.Unix(1000, 0)}
	l := New(Rule{Burst: 1, Rate: 0.001}, 2, c.now)
	l.Allow("a")
	c.t = c.t.Add(time.Millisecond)
	l.Allow("b")
	c.t = c.t.Add(time.Millisecond)
	if ok, _ := l.Allow("a"); ok { // a is now the most recently used, b the least
		t.Fatalf("a's empty bucket allowed a request")
	}
	c.t = c.t.Add(time.Millisecond)
	if ok, _ := l.Allow("c"); !ok {
		t.Fatalf("a new key beyond the cap was refused while the others are busy")
	}
	if ok, _ := l.Allow("a"); ok {
		t.Fatalf("a recently used, empty bucket was evicted instead of the least recently used one")
	}
	if got := len(l.buckets); got != 2 {
		t.Fatalf("%d buckets held, want the cap of 2", got)
	}
	if ok, _ := l.Allow("b"); !ok {
		t.Fatalf("the evicted key b did not start afresh")
	}
}

func TestKeyCapDropsIdleBuckets(t *testing.T) {
	c := &clock{t: time.Unix(1000, 0)}
	l := New(Rule{Burst: 1, Rate: 1}, 2, c.now)
	l.Allow("a")
	l.Allow("b")
	c.t = c.t.Add(2 * time.Minute) // a and b are full again: idle, dropped by the next sweep
	if ok, _ := l.Allow("c"); !ok {
		t.Fatalf("new key refused although idle buckets could be dropped")
	}
	if got := len(l.buckets); got != 1 {
		t.Fatalf("%d buckets held after the sweep, want 1", got)
	}
}

func TestConcurrentExactness(t *testing.T) {
	l := New(Rule{Burst: 50, Rate: 0}, 0, nil)
	var wg sync.WaitGroup
	var mu sync.Mutex
	allowed := 0
	for i := 0; i < 200; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if ok, _ := l.Allow("k"); ok {
				mu.Lock()
				allowed++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if allowed != 50 {
		t.Fatalf("%d of 200 concurrent requests allowed, want exactly the burst of 50", allowed)
	}
}

func TestRetryAfterSeconds(t *testing.T) {
	for _, c := range []struct {
		in   time.Duration
		want int
	}{{0, 1}, {time.Millisecond, 1}, {time.Second, 1}, {1001 * time.Millisecond, 2}, {10 * time.Second, 10}} {
		if got := RetryAfterSeconds(c.in); got != c.want {
			t.Errorf("RetryAfterSeconds(%v) = %d, want %d", c.in, got, c.want)
		}
	}
}

func BenchmarkAllow(b *testing.B) {
	l := New(Rule{Burst: 200, Rate: 1e9}, 0, nil)
	keys := make([]string, 64)
	for i := range keys {
		keys[i] = fmt.Sprintf("agent:%d", i)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		l.Allow(keys[i%len(keys)])
	}
}
