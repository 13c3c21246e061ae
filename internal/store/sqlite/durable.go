package sqlite

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"sync"

	"clavis.dev/clavis/internal/store"
)

// Durability. The write connection runs with synchronous=NORMAL: a commit appends its frames to the
// write-ahead log and returns without syncing it. The store syncs the log itself (durability.until),
// so that the sync of one commit can run while the next transaction is built and committed
// (WriteBatchNoSync); whoever waits first syncs, and one sync covers every commit that returned before
// it began. The contract to callers is unchanged: nothing is reported written, and nothing read is
// returned, before it is durable —
//
//   - Write and WriteBatch return only once their commit is synced;
//   - Read returns only once every commit its snapshot may have seen is synced, so no caller acts on
//     data that a power loss could still take back. (A reader in another process that shares the file
//     may see a commit of this process up to one sync before it is durable.)
//
// A failed sync is sticky: the pages it failed to write may be lost and a later sync would not say so,
// so every wait for a commit that was not durable before it fails with store.ErrCommit (and every Read
// that may see one) until the store is reopened.
type durability struct {
	walPath string
	sync    func(path string) error // syncFile; tests replace it before the first write

	mu       sync.Mutex
	cond     *sync.Cond
	started  uint64 // commits begun: a reader's snapshot may include any of them
	finished uint64 // commits that returned (committed or not): their frames are written
	durable  uint64 // every commit up to this one is synced
	syncing  bool
	failed   error
}

func newDurability(dbPath string) *durability {
	d := &durability{walPath: dbPath + "-wal", sync: syncFile}
	d.cond = sync.NewCond(&d.mu)
	return d
}

// begin is called just before a commit; it returns the commit's sequence number for end and until.
func (d *durability) begin() uint64 {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.started++
	return d.started
}

// end is called once the commit seq returned, whether it committed or not.
func (d *durability) end(seq uint64) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.finished = max(d.finished, seq)
	d.cond.Broadcast() // a waiter may be waiting for this commit to return before it can sync it
}

// visible is the newest commit a snapshot taken so far may include.
func (d *durability) visible() uint64 {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.started
}

// until returns once commit seq is durable, syncing the log if no one else is.
func (d *durability) until(seq uint64) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	for d.durable < seq {
		if d.failed != nil {
			return d.failed
		}
		if d.syncing || d.finished < seq {
			d.cond.Wait()
			continue
		}
		d.syncing = true
		target := d.finished
		d.mu.Unlock()
		err := d.sync(d.walPath)
		d.mu.Lock()
		d.syncing = false
		if err != nil {
			d.failed = fmt.Errorf("%w: sqlite: sync of the write-ahead log failed: %v", store.ErrCommit, err)
		} else {
			d.durable = max(d.durable, target)
		}
		d.cond.Broadcast()
	}
	return nil
}

// syncFile flushes the file at path to stable storage. The file is opened afresh each time, so that a
// log SQLite removed and created again is never missed through a stale descriptor. Syncing one
// descriptor flushes the writes made through every descriptor of the file.
func syncFile(path string) error {
	f, err := os.Open(path) // #nosec G304 -- the write-ahead log of the operator-configured database
	if errors.Is(err, fs.ErrNotExist) {
		return nil // SQLite removes the log only after checkpointing it into the synced database file
	}
	if err != nil {
		return err
	}
	err = datasync(f)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}
