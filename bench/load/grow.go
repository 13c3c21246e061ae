package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// growBigBytes is the length of the large values the grow phase writes (random hex): within the server's
// 512 KiB value limit and its 1 MiB request limit.
const growBigBytes = 480 << 10

// growSmallPerBig is how many small writes (new 64-character versions of random bench secrets) the grow
// phase makes per large write, so that the version index and the audit log grow along with the file.
const growSmallPerBig = 32

// growPaths is how many paths (grow/b<k>) the large values are spread over, as versions of each.
const growPaths = 64

// grow writes through the API, as the vault owner, until the database reaches targetMB megabytes
// (10^6 bytes): large values as new versions of growPaths paths outside the measured bench/** set,
// mixed with growSmallPerBig small writes per large one to the N bench secrets. The size is the size of
// dbFile plus its write-ahead log dbFile-wal (pages not yet checkpointed live only there; a WAL already
// checkpointed counts too, so the file alone may be smaller by up to the WAL's size); when dbFile is ""
// (another database) it is the bytes of values the server acknowledged. Progress goes to progress every
// two seconds.
// It is long on purpose: workers, the size watcher and the progress line share one phase's counters.
func grow(ctx context.Context, fx *fixture, dbFile string, targetMB, workers int, progress io.Writer) (growInfo, error) {
	a := &apiClient{base: fx.base, hc: &http.Client{Timeout: 60 * time.Second, Transport: newTransport(workers)}}
	defer a.hc.CloseIdleConnections()
	info := growInfo{N: fx.n, Measure: "size of " + filepath.Base(dbFile) + " and its -wal"}
	if dbFile == "" {
		info.Measure = "bytes of values written; the database itself is larger"
	}
	var acked atomic.Int64 // value bytes acknowledged
	size := func() float64 {
		if dbFile == "" {
			return float64(acked.Load()) / 1e6
		}
		var n int64
		for _, f := range []string{dbFile, dbFile + "-wal"} {
			if st, err := os.Stat(f); err == nil {
				n += st.Size()
			}
		}
		return float64(n) / 1e6
	}
	target := float64(targetMB)
	if size() >= target {
		info.MB = size()
		return info, nil
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var next, big, small atomic.Int64
	var errOnce sync.Once
	var firstErr error
	start := time.Now()
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			value := []byte(randomHex(growBigBytes / 2)) // made once; a fresh prefix per write
			for ctx.Err() == nil {
				i := next.Add(1) - 1
				var path string
				var body map[string]any
				if i%(growSmallPerBig+1) == 0 {
					copy(value, randomHex(16))
					path = "grow/b" + strconv.FormatInt((i/(growSmallPerBig+1))%growPaths, 10)
					body = map[string]any{"value": string(value), "type": "generic"}
				} else {
					path = secretPath(int(i) % fx.n)
					body = map[string]any{"value": randomHex(32), "type": "generic"}
				}
				err := a.call(ctx, "PUT", "/v1/vaults/"+fx.vaultID+"/secrets/"+path, fx.userKey, body, nil, http.StatusCreated)
				if err != nil {
					if ctx.Err() == nil {
						errOnce.Do(func() { firstErr = fmt.Errorf("grow: writing %s: %w", path, err); cancel() })
					}
					return
				}
				if strings.HasPrefix(path, "grow/") {
					big.Add(1)
					acked.Add(growBigBytes)
				} else {
					small.Add(1)
					acked.Add(64)
				}
			}
		}()
	}
	t := time.NewTicker(250 * time.Millisecond)
	lastReport := time.Now()
	for ctx.Err() == nil {
		select {
		case <-ctx.Done():
		case <-t.C:
		}
		mb := size()
		if mb >= target {
			cancel()
			break
		}
		if time.Since(lastReport) >= 2*time.Second {
			lastReport = time.Now()
			el := time.Since(start).Seconds()
			fmt.Fprintf(progress, "load: N=%d growing: %.0f/%d MB (%.1f MB/s of values; %d large, %d small writes)\n",
				fx.n, mb, targetMB, float64(acked.Load())/1e6/el, big.Load(), small.Load())
		}
	}
	t.Stop()
	wg.Wait()
	if firstErr != nil {
		return info, firstErr
	}
	info.MB, info.Seconds, info.BigWrites, info.SmallWrites = size(), time.Since(start).Seconds(), big.Load(), small.Load()
	if info.MB < target { // interrupted
		return info, fmt.Errorf("grow: stopped at %.0f of %d MB", info.MB, targetMB)
	}
	fmt.Fprintf(progress, "load: N=%d grown to %.0f MB in %v (%d large, %d small writes)\n",
		fx.n, info.MB, time.Since(start).Round(100*time.Millisecond), info.BigWrites, info.SmallWrites)
	return info, nil
}

// dbFileFor returns the SQLite file the server with data dir dir uses: the default <dir>/clavis.db, the
// file of a sqlite:PATH DSN, or "" for another database.
func dbFileFor(database, dir string) string {
	if database == "" {
		return filepath.Join(dir, "clavis.db")
	}
	if f, ok := strings.CutPrefix(database, "sqlite:"); ok {
		return f
	}
	return ""
}
