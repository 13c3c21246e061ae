package sqlite

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"fmt"
	mrand "math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"clavis.dev/clavis/internal/store"
)

// walFrames returns the number of frames in the log, by a PASSIVE checkpoint on the checkpointer's
// connection (it takes no lock that writers wait for).
func walFrames(t *testing.T, s *Store) int {
	t.Helper()
	var busy, logFrames, done int
	if err := s.ckpt.db.QueryRowContext(t.Context(), "PRAGMA wal_checkpoint(PASSIVE)").Scan(&busy, &logFrames, &done); err != nil {
		t.Fatal(err)
	}
	return logFrames
}

// fill commits n transactions of one random blob of size bytes each to a scratch table on the write
// connection, as the committer would, and returns the blobs' total size.
func fill(t *testing.T, s *Store, n, size int) int64 {
	t.Helper()
	ctx := t.Context()
	if _, err := s.write.ExecContext(ctx, "CREATE TABLE IF NOT EXISTS scratch (b BLOB NOT NULL)"); err != nil {
		t.Fatal(err)
	}
	b := make([]byte, size)
	for range n {
		_, _ = rand.Read(b)
		if _, err := s.write.ExecContext(ctx, "INSERT INTO scratch (b) VALUES (?)", b); err != nil {
			t.Fatal(err)
		}
	}
	return int64(n) * int64(size)
}

func fileSize(t *testing.T, path string) int64 {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}

// The write connection never checkpoints: commits leave the database file alone, and the checkpointer
// copies the log into it within a few ticks.
func TestCheckpointerCopiesTheLogOutsideCommits(t *testing.T) {
	s, path := open(t)
	defer s.Close()
	var autockpt int
	if err := s.write.QueryRowContext(t.Context(), "PRAGMA wal_autocheckpoint").Scan(&autockpt); err != nil {
		t.Fatal(err)
	}
	if autockpt != 0 {
		t.Errorf("wal_autocheckpoint of the write connection = %d, want 0 (no checkpoint inside a commit)", autockpt)
	}
	before := fileSize(t, path)
	wrote := fill(t, s, 40, 100<<10) // 4 MB, more than SQLite's automatic threshold of 1000 pages
	deadline := time.Now().Add(5 * time.Second)
	for fileSize(t, path) < before+wrote {
		if time.Now().After(deadline) {
			t.Fatalf("database file grew from %d to %d bytes in 5 s after %d bytes were committed: the log was not checkpointed", before, fileSize(t, path), wrote)
		}
		time.Sleep(ckptInterval / 2)
	}
}

// Under a steady stream of commits, which never leaves a PASSIVE checkpoint the chance to copy the
// whole log, the log still starts over once it passes ckptRestartFrames.
func TestCheckpointerBoundsTheLog(t *testing.T) {
	if testing.Short() {
		t.Skip("writes up to 200 MiB")
	}
	s, _ := open(t)
	defer s.Close()
	fill(t, s, 1, 1) // creates the table
	const size = 64 << 10
	stop := make(chan struct{})
	streamed := make(chan int)
	go func() {
		b := make([]byte, size)
		n := 0
		defer func() { streamed <- n }()
		for ; n < 200<<20/size; n++ {
			select {
			case <-stop:
				return
			default:
			}
			_, _ = rand.Read(b)
			if _, err := s.write.Exec("INSERT INTO scratch (b) VALUES (?)", b); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	peak, deadline := 0, time.Now().Add(20*time.Second)
	for {
		time.Sleep(ckptInterval / 4)
		f := walFrames(t, s)
		peak = max(peak, f)
		if peak >= ckptRestartFrames && f < ckptRestartFrames/2 {
			break // started over
		}
		if time.Now().After(deadline) {
			break
		}
	}
	close(stop)
	n := <-streamed
	if peak < ckptRestartFrames {
		t.Fatalf("the log never reached %d frames (peak %d after %d MiB of commits): the test did not test", ckptRestartFrames, peak, n*size>>20)
	}
	if f := walFrames(t, s); f >= ckptRestartFrames/2 && peak >= ckptRestartFrames {
		t.Errorf("after %d MiB of commits the log holds %d frames (peak %d): it never started over", n*size>>20, f, peak)
	}
}

// Close stops the checkpointer and leaves a database that holds everything committed, with no log.
func TestCloseStopsTheCheckpointer(t *testing.T) {
	s, path := open(t)
	want := make([]byte, 64<<10)
	_, _ = rand.Read(want)
	fill(t, s, 1, 1)
	if _, err := s.write.ExecContext(t.Context(), "INSERT INTO scratch (b) VALUES (?)", want); err != nil {
		t.Fatal(err)
	}
	ckpt := s.ckpt
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	select {
	case <-ckpt.done:
	default:
		t.Fatal("the checkpointer still runs after Close")
	}
	if _, err := os.Stat(path + "-wal"); !os.IsNotExist(err) {
		t.Errorf("log file after Close: %v, want none (the last connection checkpoints and removes it)", err)
	}
	s2, err := OpenCurrent(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	var got []byte
	if err := s2.read.QueryRowContext(t.Context(), "SELECT b FROM scratch WHERE length(b) = ?", len(want)).Scan(&got); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Error("the row committed before Close reads back different")
	}
}

// killHelperEnv names the database file when the test binary runs as TestKillHelper's writer.
const killHelperEnv = "CLAVIS_SQLITE_KILL_HELPER_DB"

// TestKillHelper is not a test: run by TestKillDuringCheckpointsLosesNothing in a child process, it
// commits row after row (each 128 KiB, deleting the row 64 before it so that the file stays small while
// the log keeps passing ckptRestartFrames) and prints the number of each row once its commit returned.
func TestKillHelper(t *testing.T) {
	path := os.Getenv(killHelperEnv)
	if path == "" {
		t.Skip("helper process only")
	}
	s, err := Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	var next int64
	if err := s.write.QueryRow("SELECT coalesce(max(rowid), 0) + 1 FROM scratch").Scan(&next); err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 128<<10)
	for ; ; next++ {
		_, _ = rand.Read(b)
		if err := s.Write(t.Context(), func(store.Tx) error { return nil }); err != nil { // exercises the pool
			t.Fatal(err)
		}
		tx, err := s.write.Begin()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tx.Exec("INSERT INTO scratch (rowid, b) VALUES (?, ?)", next, b); err != nil {
			t.Fatal(err)
		}
		if _, err := tx.Exec("DELETE FROM scratch WHERE rowid = ?", next-64); err != nil {
			t.Fatal(err)
		}
		if err := tx.Commit(); err != nil {
			t.Fatal(err)
		}
		fmt.Println(next)
	}
}

// A commit that returned survives kill -9 at any moment, also while the checkpointer copies the log and
// while the log starts over.
func TestKillDuringCheckpointsLosesNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("kills a writer process several times")
	}
	path := filepath.Join(t.TempDir(), "clavis.db")
	s, err := Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	fill(t, s, 0, 0)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	var acked int64
	for cycle := range 5 {
		cmd := exec.Command(os.Args[0], "-test.run=^TestKillHelper$", "-test.count=1") // #nosec G204 G702 -- this test binary
		cmd.Env = append(os.Environ(), killHelperEnv+"="+path)
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		// Killed after 300 to 600 more rows (37.5 to 75 MiB of log, past ckptRestartFrames), at a point
		// that depends on the machine's speed, not on the test.
		killAfter := acked + 300 + mrand.Int64N(300) // #nosec G404 -- picks a moment to kill, not security-relevant
		lines := bufio.NewScanner(out)
		for lines.Scan() {
			if v, err := strconv.ParseInt(lines.Text(), 10, 64); err == nil {
				acked = v
			}
			if acked >= killAfter {
				break
			}
		}
		_ = cmd.Process.Kill()
		_ = cmd.Wait() // killed: its exit status says so
		if acked < killAfter {
			t.Fatalf("cycle %d: the writer stopped at row %d before it was killed", cycle, acked)
		}

		s, err := Open(t.Context(), path)
		if err != nil {
			t.Fatalf("cycle %d: reopening after kill -9: %v", cycle, err)
		}
		var newest, present int64
		if err := s.read.QueryRowContext(t.Context(), "SELECT max(rowid), count(*) FROM scratch WHERE rowid > (SELECT max(rowid) - 64 FROM scratch)").Scan(&newest, &present); err != nil {
			t.Fatal(err)
		}
		var integrity string
		if err := s.read.QueryRowContext(t.Context(), "PRAGMA integrity_check").Scan(&integrity); err != nil {
			t.Fatal(err)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		// The writer may have committed rows after the last one it acknowledged, each deleting the row 64
		// before it: the newest row is at least the last acknowledged one, and the 64 up to it are all there.
		if newest < acked {
			t.Errorf("cycle %d: acknowledged rows up to %d, but the newest row after kill -9 is %d", cycle, acked, newest)
		}
		if want := min(newest, 64); present != want {
			t.Errorf("cycle %d: %d of the %d rows up to the newest (%d) are there, want all", cycle, present, want, newest)
		}
		if integrity != "ok" {
			t.Errorf("cycle %d: integrity_check: %s", cycle, integrity)
		}
		t.Logf("cycle %d: %d rows acknowledged so far", cycle, acked)
	}
}
