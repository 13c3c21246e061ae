package crashtest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"clavis.dev/clavis"
)

// checkStats describes one check after a restart.
type checkStats struct {
	paths, read    int // paths listed, versions read back
	found, dropped int // in-flight writes found committed, and absent
	took           time.Duration
}

// checkStore reads the whole vault back after a restart and compares it with the ledger:
//   - every path's version list is exactly 1..N, one secret id, N at least the highest known version;
//   - every known version (acknowledged, or found after an earlier restart) reads back with exactly
//     its value; an acknowledged one that does not is lost;
//   - every other listed version holds the value of a write of this cycle whose answer the kill cut off.
//
// Findings go to the ledger. The returned error is a failure of the check itself (transport, a server
// that does not answer sensibly), not a finding.
func checkStore(ctx context.Context, s *session, led *ledger, ops *atomic.Int64) (checkStats, error) {
	start := time.Now()
	paths := led.paths()
	st := checkStats{paths: len(paths)}

	type task struct {
		path    string
		version int
		known   *record // nil: listed but not known before the restart
		id      string
	}
	var (
		mu     sync.Mutex
		tasks  []task
		listed = map[string]int{}
	)
	err := parallel(ctx, len(paths), readers, func(ctx context.Context, i int) error {
		p := paths[i]
		latest, known, id := led.expectation(p)
		ops.Add(1)
		vs, err := s.cl.ListVersions(ctx, s.vault, p)
		n := 0
		var ce *clavis.Error
		switch {
		case err == nil:
			n, id = checkList(led, p, vs, latest, id)
		case errors.As(err, &ce) && ce.Kind == clavis.KindNotFound:
			if latest > 0 {
				led.addCorrupt(p+" list missing", fmt.Sprintf("path answers 404 but version %d is known", latest))
			}
		case errors.As(err, &ce):
			led.addCorrupt(p+" list error", fmt.Sprintf("listing versions: %v", err))
		default:
			return fmt.Errorf("list versions of %s: %w", p, err)
		}
		mu.Lock()
		defer mu.Unlock()
		listed[p] = n
		for v := 1; v <= max(n, latest); v++ {
			t := task{path: p, version: v, id: id}
			if r, ok := known[v]; ok {
				t.known = &r
			} else if v > n {
				continue // neither known nor listed: nothing to read
			}
			tasks = append(tasks, t)
		}
		return nil
	})
	if err != nil {
		return st, err
	}

	var found atomic.Int64
	err = parallel(ctx, len(tasks), readers, func(ctx context.Context, i int) error {
		t := tasks[i]
		key := fmt.Sprintf("%s@%d", t.path, t.version)
		sec, err := getVersion(ctx, s, t.path, t.version, ops)
		var ce *clavis.Error
		switch {
		case err == nil:
		case errors.As(err, &ce):
			switch {
			case t.known == nil:
				led.addCorrupt(key+" unreadable", fmt.Sprintf("listed version does not read: %v", err))
			case t.known.acked:
				led.loseAcked(t.path, t.version, fmt.Sprintf("acknowledged version does not read: %v", err))
			default:
				led.addCorrupt(key+" vanished", fmt.Sprintf("version found committed earlier does not read: %v", err))
			}
			return nil
		default:
			return fmt.Errorf("read %s: %w", key, err)
		}
		if sec.Secret.Path != t.path || sec.Version.Version != t.version || (t.id != "" && sec.Secret.ID != t.id) {
			led.addCorrupt(key+" read identity", fmt.Sprintf("read answered path %q version %d id %s (want id %s)",
				sec.Secret.Path, sec.Version.Version, sec.Secret.ID, t.id))
		}
		got := string(sec.Value)
		switch {
		case t.known == nil:
			if led.found(t.path, t.version, got) {
				found.Add(1)
			}
		case got == t.known.value:
		case t.known.acked:
			led.loseAcked(t.path, t.version, fmt.Sprintf("value differs: %d bytes read, %d acknowledged", len(got), len(t.known.value)))
		default:
			led.addCorrupt(key+" altered", "version found committed earlier now holds another value")
		}
		return nil
	})
	if err != nil {
		return st, err
	}
	st.read = len(tasks)
	st.found = int(found.Load())
	st.dropped = led.settle(listed)
	st.took = time.Since(start)
	return st, nil
}

// checkList checks one path's version list and returns its N and the secret id.
func checkList(led *ledger, p string, vs []clavis.SecretMeta, latest int, id string) (int, string) {
	nums := make([]int, 0, len(vs))
	for _, v := range vs {
		nums = append(nums, v.Version.Version)
		if v.Secret.Path != p {
			led.addCorrupt(p+" list path", fmt.Sprintf("version list holds path %q", v.Secret.Path))
		}
		if id == "" {
			id = v.Secret.ID
			led.setID(p, id)
		}
		if v.Secret.ID != id {
			led.addCorrupt(p+" list id", fmt.Sprintf("version %d has secret id %s, want %s", v.Version.Version, v.Secret.ID, id))
		}
	}
	slices.Sort(nums)
	for i, n := range nums {
		if n != i+1 {
			led.addCorrupt(p+" list numbering", fmt.Sprintf("versions are %v, want 1..%d without gaps or duplicates", nums, len(nums)))
			break
		}
	}
	n := 0
	if len(nums) > 0 {
		n = nums[len(nums)-1]
	}
	if n < latest {
		led.addCorrupt(p+" list short", fmt.Sprintf("version list ends at %d, but version %d is known", n, latest))
	}
	return n, id
}

// getVersion reads one version, retrying a 503 (the audit log could not commit the read in time) a
// few times: that is an availability problem, not a lost record, and it fails the check if it persists.
func getVersion(ctx context.Context, s *session, path string, v int, ops *atomic.Int64) (*clavis.SecretValue, error) {
	for attempt := 0; ; attempt++ {
		ops.Add(1)
		sec, err := s.cl.GetVersion(ctx, s.vault, path, v)
		var ce *clavis.Error
		if !errors.As(err, &ce) || ce.Kind != clavis.KindUnavailable {
			return sec, err
		}
		if attempt == 3 {
			return sec, fmt.Errorf("still unavailable after %d attempts: %v", attempt+1, err)
		}
		select {
		case <-ctx.Done():
			return sec, ctx.Err()
		case <-time.After(time.Duration(attempt+1) * 100 * time.Millisecond):
		}
	}
}

// parallel runs fn(ctx, i) for every i in [0, n) on at most workers goroutines and returns the first
// error; after an error the remaining calls are skipped and the ctx of running ones is cancelled.
func parallel(ctx context.Context, n, workers int, fn func(ctx context.Context, i int) error) error {
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		next  atomic.Int64
		wg    sync.WaitGroup
		once  sync.Once
		first error
	)
	for range min(workers, n) {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= n || wctx.Err() != nil {
					return
				}
				if err := fn(wctx, i); err != nil {
					once.Do(func() { first = err })
					cancel()
					return
				}
			}
		})
	}
	wg.Wait()
	if first != nil {
		return first
	}
	return ctx.Err()
}
