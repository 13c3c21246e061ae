package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// Checkpoints. A commit only appends to the write-ahead log and syncs it. SQLite's automatic checkpoint
// would copy the log into the database file, and sync that file, inside the commit that crosses 1000
// pages of log, and every request waiting on that commit (a read waits for its audit event) would pay
// for it. The write connection turns it off; a checkpointer goroutine does the work instead:
//
//   - every ckptInterval a PASSIVE checkpoint on a connection of its own copies the log into the
//     database file and syncs it, without taking any lock that writers or readers wait for;
//   - a PASSIVE checkpoint cannot let the log start over, since commits keep adding to it while it runs.
//     So once the log holds ckptRestartFrames or more, the checkpointer borrows the write connection
//     between two transactions and runs one more PASSIVE checkpoint there: it copies the few pages
//     committed since the first one (writers wait for that, typically one sync of the database file),
//     and the next commit then writes the log from its start.
//
// A reader holding an old snapshot for long (VACUUM INTO, a long export) keeps the log from starting
// over, as with SQLite's own checkpoints: the log grows meanwhile and starts over once that reader is
// done; journal_size_limit then trims the file to walSizeLimit. Durability does not depend on the
// checkpointer: a commit is durable once the log is synced, and a checkpoint syncs the database file
// before the log may be overwritten. A checkpoint that fails loses nothing and is retried next tick.
const (
	ckptInterval      = 200 * time.Millisecond
	ckptRestartFrames = 8192     // 32 MiB of log at 4 KiB pages
	walSizeLimit      = 64 << 20 // bytes; journal_size_limit of the write connection
)

// checkpointer runs the checkpoints described above until close.
type checkpointer struct {
	db     *sql.DB // its own connection
	write  *sql.DB // the store's write connection, borrowed to let the log start over
	cancel context.CancelFunc
	done   chan struct{}
}

// startCheckpointer opens the checkpointer's connection to the database file abs (already in WAL mode)
// and starts its loop; write is the store's one write connection.
func startCheckpointer(ctx context.Context, abs string, write *sql.DB) (*checkpointer, error) {
	// synchronous(FULL) like the other connections: a checkpoint syncs the database file.
	db, err := sql.Open("sqlite", abs+fmt.Sprintf("?_pragma=busy_timeout(%d)&_pragma=synchronous(FULL)", busyTimeoutMS))
	if err != nil {
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	db.SetMaxOpenConns(1)
	db.SetMaxIdleConns(1)
	db.SetConnMaxLifetime(0)
	db.SetConnMaxIdleTime(0)
	if err := db.PingContext(ctx); err != nil {
		_ = db.Close() // the ping error is the one to report
		return nil, fmt.Errorf("sqlite: checkpointer: %w", err)
	}
	// The loop's context ends at close, so that close never waits for the write connection.
	loop, cancel := context.WithCancel(context.Background())
	c := &checkpointer{db: db, write: write, cancel: cancel, done: make(chan struct{})}
	go c.run(loop)
	return c, nil
}

func (c *checkpointer) run(ctx context.Context) {
	defer close(c.done)
	t := time.NewTicker(ckptInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		logFrames, err := checkpoint(ctx, c.db)
		if err != nil || logFrames < ckptRestartFrames {
			continue
		}
		conn, err := c.write.Conn(ctx) // waits for the transaction in progress, if any
		if err != nil {
			continue
		}
		_, _ = checkpoint(ctx, conn)
		_ = conn.Close() // returns the write connection to its pool; a failed checkpoint is retried next tick
	}
}

// checkpoint runs a PASSIVE checkpoint on db (a *sql.DB or *sql.Conn) and returns the number of frames
// in the log.
func checkpoint(ctx context.Context, db interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
}) (logFrames int, err error) {
	var busy, done int
	err = db.QueryRowContext(ctx, "PRAGMA wal_checkpoint(PASSIVE)").Scan(&busy, &logFrames, &done)
	return logFrames, err
}

// close stops the loop (interrupting a checkpoint in progress, which loses nothing) and closes the
// checkpointer's connection.
func (c *checkpointer) close() error {
	c.cancel()
	<-c.done
	return c.db.Close()
}
