package main

import (
	"context"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"os"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

// newTransport is the one client configuration used for every server: HTTP/1.1 keep-alive, enough idle
// connections per host that no client ever reconnects, no compression.
func newTransport(clients int) *http.Transport {
	idle := max(clients, 64)
	return &http.Transport{
		Proxy:               nil,
		DialContext:         (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:        idle,
		MaxIdleConnsPerHost: idle,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
		ForceAttemptHTTP2:   false,
	}
}

// cell is one measurement: one operation on one server at one client count in one repetition.
type cell struct {
	Rep        int     `json:"rep"`
	Target     string  `json:"target"` // ceiling | clavis
	N          int     `json:"n"`      // 0 for the ceiling
	Op         string  `json:"op"`
	Clients    int     `json:"clients"`
	Requests   int     `json:"requests"` // completed in the measured window, errors included
	Errors     int     `json:"errors"`   // transport errors and unexpected statuses
	Seconds    float64 `json:"seconds"`
	RPS        float64 `json:"rps"`               // successful requests per second
	P50ms      float64 `json:"p50_ms"`            // of successful requests
	P99ms      float64 `json:"p99_ms"`            // of successful requests
	CPUus      float64 `json:"cpu_us_per_req"`    // server user+system CPU in the window / requests; -1 if unknown
	PeakRSSMiB float64 `json:"peak_rss_mib"`      // highest server VmRSS sampled every 100 ms during warm-up and window; -1 if unknown
	MaxMs      float64 `json:"max_ms"`            // slowest successful request in the window
	Over50ms   int     `json:"over_50ms"`         // successful requests in the window slower than 50 ms
	BusyPct    float64 `json:"box_busy_pct"`      // whole machine's CPU busy % in the window (/proc/stat, all cores, load generator included); -1 if unknown
	WriteKiB   float64 `json:"write_kib_per_req"` // server's write_bytes (/proc/<pid>/io) in the window ÷ requests; -1 if unknown
	PeakWALMiB float64 `json:"peak_wal_mib"`      // largest size of the SQLite -wal file, sampled with RSS; -1 if unknown or not SQLite
	FirstError string  `json:"first_error,omitempty"`
}

// Phases of a cell: clients run through warm-up and the window; only completions inside the window count.
const (
	phaseWarmup int32 = iota
	phaseMeasure
	phaseStop
)

// worker is one client's record.
type worker struct {
	lat      []int64 // ns, successful requests completed in the window
	slow     []slowReq
	requests int
	errors   int
	firstErr string
}

// slowReq is one request of the window slower than the -trace-slow threshold.
type slowReq struct {
	start   time.Time
	elapsed time.Duration
	status  int // 0 on a transport error
}

// measure runs clients closed-loop clients (each sends its next request as soon as the previous answer is
// read) against srv for warmup + duration, and returns the figures of the window.
// It is long on purpose: warm-up, window and the figures of one cell share their state.
// Requests of the window slower than traceSlow (when > 0) are listed on trace, in the order they started.
func measure(ctx context.Context, srv *child, op opSpec, clients int, warmup, duration, traceSlow time.Duration, trace io.Writer) cell {
	tr := newTransport(clients)
	hc := &http.Client{Transport: tr, Timeout: 30 * time.Second}
	defer tr.CloseIdleConnections()

	var phase atomic.Int32
	workers := make([]worker, clients)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func(rec *worker, seed uint64) {
			defer wg.Done()
			rng := mrand.New(mrand.NewPCG(seed, uint64(time.Now().UnixNano()))) // #nosec G404 -- picks requests of the load mix, not security-relevant
			rec.lat = make([]int64, 0, 4096)
			for phase.Load() != phaseStop && ctx.Err() == nil {
				req, err := op.newReq(rng)
				if err != nil {
					rec.errors++
					rec.firstErr = err.Error()
					return
				}
				req = req.WithContext(ctx)
				start := time.Now()
				resp, err := hc.Do(req)
				status := 0
				if err == nil {
					status = resp.StatusCode
					_, err = io.Copy(io.Discard, resp.Body)
					_ = resp.Body.Close() // a read body: a read error is in err already
				}
				elapsed := time.Since(start)
				if phase.Load() != phaseMeasure {
					continue
				}
				rec.requests++
				if traceSlow > 0 && elapsed > traceSlow {
					rec.slow = append(rec.slow, slowReq{start, elapsed, status})
				}
				switch {
				case err != nil:
					rec.errors++
					if rec.firstErr == "" {
						rec.firstErr = err.Error()
					}
				case status != op.want:
					rec.errors++
					if rec.firstErr == "" {
						rec.firstErr = fmt.Sprintf("status %d, want %d", status, op.want)
					}
				default:
					rec.lat = append(rec.lat, int64(elapsed))
				}
			}
		}(&workers[w], uint64(w)+1)
	}

	// Peak RSS and WAL size: sampled every 100 ms from the start of the warm-up to the end of the window.
	rssStop := make(chan struct{})
	rssDone := make(chan [2]int64)
	go func() {
		var peak, wal int64 = -1, -1
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		for {
			if v, err := procKiB(srv.pid(), "VmRSS"); err == nil && v > peak {
				peak = v
			}
			if srv.walFile != "" {
				if st, err := os.Stat(srv.walFile); err == nil && st.Size() > wal {
					wal = st.Size()
				}
			}
			select {
			case <-rssStop:
				rssDone <- [2]int64{peak, wal}
				return
			case <-t.C:
			}
		}
	}()

	sleep(ctx, warmup)
	cpu0, cpuErr0 := cpuMicros(srv.pid())
	box0, boxErr0 := boxTicks()
	wb0, wbErr0 := writeBytes(srv.pid())
	t0 := time.Now()
	phase.Store(phaseMeasure)
	sleep(ctx, duration)
	phase.Store(phaseStop)
	window := time.Since(t0)
	cpu1, cpuErr1 := cpuMicros(srv.pid())
	box1, boxErr1 := boxTicks()
	wb1, wbErr1 := writeBytes(srv.pid())
	close(rssStop)
	peaks := <-rssDone
	peak := peaks[0]
	wg.Wait()

	c := cell{Target: op.target, Op: op.name, Clients: clients, Seconds: window.Seconds(), CPUus: -1, PeakRSSMiB: -1, BusyPct: -1, PeakWALMiB: -1, WriteKiB: -1}
	if peaks[1] >= 0 {
		c.PeakWALMiB = float64(peaks[1]) / (1 << 20)
	}
	var lat []int64
	var slow []slowReq
	for _, w := range workers {
		slow = append(slow, w.slow...)
		c.Requests += w.requests
		c.Errors += w.errors
		if c.FirstError == "" {
			c.FirstError = w.firstErr
		}
		lat = append(lat, w.lat...)
	}
	slices.Sort(lat)
	if traceSlow > 0 {
		fmt.Fprintf(trace, "load: window of %s %s: %s to %s\n", op.target, op.name,
			t0.UTC().Format("15:04:05.000"), t0.Add(window).UTC().Format("15:04:05.000"))
	}
	slices.SortFunc(slow, func(a, b slowReq) int { return a.start.Compare(b.start) })
	for _, r := range slow {
		fmt.Fprintf(trace, "load: slow %s %s: started %s (+%.3f s into the window), %.1f ms, status %d\n",
			op.target, op.name, r.start.UTC().Format("15:04:05.000"), r.start.Sub(t0).Seconds(), float64(r.elapsed)/1e6, r.status)
	}
	c.RPS = float64(len(lat)) / window.Seconds()
	c.P50ms = float64(percentile(lat, 0.50)) / 1e6
	c.P99ms = float64(percentile(lat, 0.99)) / 1e6
	if len(lat) > 0 {
		c.MaxMs = float64(lat[len(lat)-1]) / 1e6
		c.Over50ms = len(lat) - sort.Search(len(lat), func(i int) bool { return lat[i] > int64(50*time.Millisecond) })
	}
	if wbErr0 == nil && wbErr1 == nil && c.Requests > 0 {
		c.WriteKiB = float64(wb1-wb0) / 1024 / float64(c.Requests)
	}
	if boxErr0 == nil && boxErr1 == nil {
		c.BusyPct = box1.busyPctSince(box0)
	}
	if cpuErr0 == nil && cpuErr1 == nil && c.Requests > 0 {
		c.CPUus = float64(cpu1-cpu0) / float64(c.Requests)
	}
	if peak >= 0 {
		c.PeakRSSMiB = kibToMiB(peak)
	}
	return c
}

// percentile returns the nearest-rank q-quantile of sorted (0 when empty).
func percentile(sorted []int64, q float64) int64 {
	if len(sorted) == 0 {
		return 0
	}
	i := int(q*float64(len(sorted))+0.999999999) - 1 // ceil(q·n) − 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}
