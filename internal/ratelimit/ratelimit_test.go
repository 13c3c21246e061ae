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

func TestKeyCapFailsClosedAndRecovers(t *testing.T) {
	c := &clock{t: time.Unix(1000, 0)}
	l := New(Rule{Burst: 1, Rate: 1}, 2, c.now)
	l.Allow("a")
	l.Allow("b")
	if ok, _ := l.Allow("c"); ok {
		t.Fatalf("a third key beyond the cap was admitted while the others are busy")
	}
	c.t = c.t.Add(2 * time.Second) // a and b are full again: idle
	if ok, _ := l.Allow("c"); !ok {
		t.Fatalf("new key refused although idle buckets could be dropped")
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
