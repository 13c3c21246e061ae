package sqlite

import (
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"clavis.dev/clavis"
	"clavis.dev/clavis/internal/store"
)

// gateSyncs makes every sync of s's log wait until the test sends on the returned channel (or closes it),
// counting the syncs that finished.
func gateSyncs(s *Store) (release chan struct{}, synced *atomic.Int64) {
	release, synced = make(chan struct{}), new(atomic.Int64)
	s.dur.sync = func(path string) error {
		<-release
		defer synced.Add(1)
		return syncFile(path)
	}
	return release, synced
}

func createOrg(id string) func(store.Tx) error {
	return func(tx store.Tx) error {
		return tx.CreateOrg(&clavis.Org{ID: id, Name: id, CreatedAt: clavis.Now()})
	}
}

// returnsAfter runs fn on a goroutine and fails the test if it returns within a pause, that is before
// release; it then releases the sync and returns fn's result.
func returnsAfter(t *testing.T, release chan<- struct{}, fn func() error) error {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- fn() }()
	select {
	case err := <-done:
		t.Fatalf("returned before its commit was synced (err %v)", err)
	case <-time.After(100 * time.Millisecond):
	}
	close(release)
	select {
	case err := <-done:
		return err
	case <-time.After(10 * time.Second):
		t.Fatal("did not return after the sync")
		return nil
	}
}

func TestWriteReturnsOnceSynced(t *testing.T) {
	s, _ := open(t)
	defer s.Close()
	release, synced := gateSyncs(s)
	if err := returnsAfter(t, release, func() error { return s.Write(t.Context(), createOrg("org-1")) }); err != nil {
		t.Fatal(err)
	}
	if synced.Load() == 0 {
		t.Error("Write returned without a sync of the log")
	}
	release, _ = gateSyncs(s)
	if err := returnsAfter(t, release, func() error {
		return errors.Join(s.WriteBatch(t.Context(), []func(store.Tx) error{createOrg("org-2")})...)
	}); err != nil {
		t.Fatal(err)
	}
}

// A batch committed without a sync is visible to readers at once; a Read that saw it must not return
// before the sync, and the next batch commits meanwhile.
func TestPipelinedBatches(t *testing.T) {
	s, _ := open(t)
	defer s.Close()
	release, synced := gateSyncs(s)

	errs, durable := s.WriteBatchNoSync(t.Context(), []func(store.Tx) error{createOrg("org-1"), createOrg("org-2")})
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	// Committed, not durable: the next batch is written while the first waits for its sync.
	errs2, durable2 := s.WriteBatchNoSync(t.Context(), []func(store.Tx) error{createOrg("org-3")})
	if err := errors.Join(errs2...); err != nil {
		t.Fatal(err)
	}
	var seen *clavis.Org
	err := returnsAfter(t, release, func() error {
		return s.Read(t.Context(), func(tx store.Tx) error {
			var err error
			seen, err = tx.GetOrg("org-3")
			return err
		})
	})
	if err != nil || seen == nil {
		t.Fatalf("Read: %v, %v", seen, err)
	}
	if err := durable(); err != nil {
		t.Fatal(err)
	}
	if err := durable2(); err != nil {
		t.Fatal(err)
	}
	// One sync, begun after both commits, covered both batches and the read.
	if n := synced.Load(); n != 1 {
		t.Errorf("%d syncs for two batches committed before the first sync, want 1", n)
	}
}

// A Read that cannot have seen an unsynced commit does not wait for it.
func TestReadWithNothingPending(t *testing.T) {
	s, _ := open(t)
	defer s.Close()
	if err := s.Write(t.Context(), createOrg("org-1")); err != nil {
		t.Fatal(err)
	}
	gateSyncs(s) // never released: a Read that waited would hang
	if err := s.Read(t.Context(), func(tx store.Tx) error { _, err := tx.GetOrg("org-1"); return err }); err != nil {
		t.Fatal(err)
	}
}

// A failed sync fails the commits it was to cover and every later one, and every Read that may have
// seen them, with store.ErrCommit; what was durable before stays readable.
func TestFailedSyncIsSticky(t *testing.T) {
	s, _ := open(t)
	defer s.Close()
	if err := s.Write(t.Context(), createOrg("org-1")); err != nil {
		t.Fatal(err)
	}
	var fail atomic.Bool
	s.dur.sync = func(path string) error {
		if fail.Load() {
			return fmt.Errorf("injected: input/output error")
		}
		return syncFile(path)
	}
	fail.Store(true)
	if err := s.Write(t.Context(), createOrg("org-2")); !errors.Is(err, store.ErrCommit) {
		t.Fatalf("Write with a failing sync: %v, want ErrCommit", err)
	}
	fail.Store(false) // the device recovers, but what the failed sync lost is not known
	if err := s.Write(t.Context(), createOrg("org-3")); !errors.Is(err, store.ErrCommit) {
		t.Errorf("Write after a failed sync: %v, want ErrCommit", err)
	}
	for _, errs := range [][]error{s.WriteBatch(t.Context(), []func(store.Tx) error{createOrg("org-4")})} {
		if !errors.Is(errs[0], store.ErrCommit) {
			t.Errorf("WriteBatch after a failed sync: %v, want ErrCommit", errs[0])
		}
	}
	if err := s.Read(t.Context(), func(tx store.Tx) error { return nil }); !errors.Is(err, store.ErrCommit) {
		t.Errorf("Read after a failed sync: %v, want ErrCommit", err)
	}
}
