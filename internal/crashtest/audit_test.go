package crashtest

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"clavis.dev/clavis"
)

// GET /v1/audit/verify walks at most verifyLimit events (its maximum limit). The chain grows past
// that (every read-back is audited), so the test walks it in windows between checkpoints: created_at
// instants of events, taken at most checkpointEvery requests apart. Window i runs from checkpoint i-2
// (inclusive) to checkpoint i (inclusive), so consecutive windows overlap by a whole segment: every
// link between two events is checked inside some window, also when an event at a checkpoint went
// missing (verify anchors a walk that starts mid-chain on its first event, whose own link it cannot
// check). The first two windows start at the org's first event. A window holds about two segments,
// so 2*checkpointEvery plus the requests of one checkpoint interval must stay below verifyLimit; a
// window that reaches it fails the test rather than being trusted.
const (
	verifyLimit     = 10000
	checkpointEvery = 4000
)

// checkpoints is the growing, strictly increasing list of checkpoint instants. Safe for concurrent use.
type checkpoints struct {
	mu    sync.Mutex
	times []time.Time
}

// take records the created_at of the org's newest audit event. Within one server the chain order and
// created_at order agree (events are stamped inside the serial group commit).
func (c *checkpoints) take(ctx context.Context, s *session) error {
	evs, err := s.cl.ListAudit(ctx, clavis.AuditQuery{Limit: 1})
	if err != nil {
		return fmt.Errorf("audit checkpoint: %w", err)
	}
	if len(evs) == 0 {
		return fmt.Errorf("audit checkpoint: the org has no audit events")
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if t := evs[0].CreatedAt; len(c.times) == 0 || t.After(c.times[len(c.times)-1]) {
		c.times = append(c.times, t)
	}
	return nil
}

// every takes a checkpoint whenever ops has grown by checkpointEvery since the last one, until the
// returned stop is called; stop returns the first error (nil when ignoreErrors, for a phase that ends
// with a kill).
func (c *checkpoints) every(ctx context.Context, s *session, ops *atomic.Int64, ignoreErrors bool) (stop func() error) {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		last := ops.Load()
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				done <- nil
				return
			case <-tick.C:
			}
			if n := ops.Load(); n-last >= checkpointEvery {
				if err := c.take(ctx, s); err != nil && !ignoreErrors && ctx.Err() == nil {
					done <- err
					return
				}
				last = n
			}
		}
	}()
	return func() error {
		cancel()
		return <-done
	}
}

func (c *checkpoints) snapshot() []time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]time.Time(nil), c.times...)
}

// chainWalk is the outcome of verifying the whole chain.
type chainWalk struct {
	valid    bool
	events   int // events in the chain, derived from the window counts
	windows  int
	brokenAt string
}

// verifyChain walks the whole audit chain, window by window; it stops at the first broken window.
func verifyChain(ctx context.Context, s *session, cp *checkpoints) (chainWalk, error) {
	times := cp.snapshot()
	w := chainWalk{valid: true}
	var segs []int // segs[j]: events after checkpoint j-1 up to checkpoint j (the last: after the last)
	for i := 0; i <= len(times); i++ {
		var from, to *time.Time
		if i >= 2 {
			from = &times[i-2]
		}
		if i < len(times) {
			end := times[i].Add(time.Microsecond) // to is exclusive
			to = &end
		}
		v, err := verifyWindow(ctx, s, from, to)
		if err != nil {
			return w, err
		}
		w.windows++
		if !v.Valid {
			w.valid = false
			w.brokenAt = v.BrokenAt
			return w, nil
		}
		if v.Checked >= verifyLimit {
			return w, fmt.Errorf("audit window %d (%v → %v) holds %d or more events: checkpoints too sparse", i, from, to, verifyLimit)
		}
		// Window i holds segments i-1 and i, plus the event at checkpoint i-2 from i = 2 on.
		seg := v.Checked
		switch {
		case i == 1:
			seg -= segs[0]
		case i >= 2:
			seg -= 1 + segs[i-1]
		}
		segs = append(segs, seg)
		w.events += seg
	}
	return w, nil
}

// verifyWindow verifies the audit chain within [from, to) with the maximum limit.
func verifyWindow(ctx context.Context, s *session, from, to *time.Time) (*clavis.AuditVerification, error) {
	v, err := s.cl.VerifyAudit(ctx, from, to, verifyLimit)
	if err != nil {
		return nil, fmt.Errorf("audit verify: %w", err)
	}
	return v, nil
}

// checkWriteEvents checks that the audit log holds exactly one secret.write event for every version
// that exists and none for a version that does not: a version and its audit event commit in one
// transaction, so a crash can keep both or neither.
func checkWriteEvents(ctx context.Context, s *session, led *ledger) (int, error) {
	const page = 1000 // the server's maximum for GET /v1/audit/events
	seen := map[string]int{}
	n := 0
	for offset := 0; ; offset += page {
		evs, err := s.cl.ListAudit(ctx, clavis.AuditQuery{Action: "secret.write", VaultID: s.vault, Limit: page, Offset: offset})
		if err != nil {
			return n, fmt.Errorf("list secret.write events: %w", err)
		}
		for _, e := range evs {
			path, _ := e.Details["path"].(string)
			version, _ := e.Details["version"].(float64)
			seen[fmt.Sprintf("%s@%d", path, int(version))]++
		}
		n += len(evs)
		if len(evs) < page {
			break
		}
	}
	for _, p := range led.paths() {
		latest, _, _ := led.expectation(p)
		for v := 1; v <= latest; v++ {
			key := fmt.Sprintf("%s@%d", p, v)
			if c := seen[key]; c != 1 {
				led.addCorrupt(key+" audit write", fmt.Sprintf("version has %d secret.write audit events, want 1", c))
			}
			delete(seen, key)
		}
	}
	for key, c := range seen {
		led.addCorrupt(key+" audit write", fmt.Sprintf("%d secret.write audit events for a version that does not exist", c))
	}
	return n, nil
}
