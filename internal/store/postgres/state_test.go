package postgres

import (
	"context"
	"testing"
	"time"

	"clavis.dev/clavis"
	"clavis.dev/clavis/internal/store"
)

// TestWatchStateHearsOtherInstances: a state change committed through one instance reaches the watcher
// of another (LISTEN/NOTIFY, delivered at commit); a rolled-back change does not; cancelling the
// context ends the watch.
func TestWatchStateHearsOtherInstances(t *testing.T) {
	s1, dsn := open(t)
	s2, err := Open(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	heard := make(chan struct{}, 16)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- s1.WatchState(ctx, func() { heard <- struct{}{} }) }()
	time.Sleep(200 * time.Millisecond) // let LISTEN take effect: earlier notifications are not delivered

	v, _ := seedSecret(t, s2, "p") // creates a vault: a state change
	select {
	case <-heard:
	case <-time.After(10 * time.Second):
		t.Fatal("no notification of a committed state change within 10 s")
	}
	for len(heard) > 0 {
		<-heard
	}
	err = s2.Write(t.Context(), func(tx store.Tx) error {
		if err := tx.DeleteVault(v.ID); err != nil {
			return err
		}
		return errRollbackTest
	})
	if err != errRollbackTest {
		t.Fatal(err)
	}
	select {
	case <-heard:
		t.Fatal("a rolled-back change was notified")
	case <-time.After(500 * time.Millisecond):
	}
	cancel()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("WatchState did not return after its context ended")
	}
}

const errRollbackTest clavis.Sentinel = "roll back"
