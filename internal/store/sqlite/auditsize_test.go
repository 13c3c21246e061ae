package sqlite

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/google/uuid"

	"clavis.dev/clavis"
	"clavis.dev/clavis/internal/audit"
	"clavis.dev/clavis/internal/store"
)

// readLoad appends secret.read events shaped like the engine's (secretDetails, an agent caller, an
// HMAC chain) to one org's chain: reads of `secrets` secrets of one vault by 4 agents, in group commits
// of `batch` units of one event each, as the engine's committer runs them under load.
type readLoad struct {
	s       *Store
	newID   func() string
	org     string
	vault   string
	agents  []string
	secrets []string
	key     []byte
	rng     *rand.Rand
	units   []func(store.Tx) error
}

func newReadLoad(s *Store, secrets, batch int, newID func() string) *readLoad {
	l := &readLoad{s: s, newID: newID, org: uuid.NewString(), vault: uuid.NewString(), key: []byte("audit key"),
		rng: rand.New(rand.NewPCG(1, 2))} // #nosec G404 -- reproducible test data, not a secret
	for range 4 {
		l.agents = append(l.agents, uuid.NewString())
	}
	for range secrets {
		l.secrets = append(l.secrets, uuid.NewString())
	}
	l.units = make([]func(store.Tx) error, batch)
	for i := range l.units {
		l.units[i] = l.appendOne
	}
	return l
}

// appendOne does what engine.record does for a read: take the head, chain the event, append it.
func (l *readLoad) appendOne(tx store.Tx) error {
	i := l.rng.IntN(len(l.secrets))
	e := &clavis.AuditEvent{ID: l.newID(), OrgID: l.org, Action: "secret.read", ActorID: l.agents[i%len(l.agents)],
		ActorType: clavis.PrincipalAgent, ResourceType: "secret", ResourceID: l.secrets[i],
		Details:   map[string]any{"vault_id": l.vault, "path": fmt.Sprintf("bench/g%d/s%d", i/100, i), "version": 1},
		IPAddress: "127.0.0.1", CreatedAt: clavis.Now()}
	id, hash, err := tx.AuditHead(l.org)
	if err != nil {
		return err
	}
	audit.Chain(l.key, id, hash, e)
	return tx.AppendAudit(e)
}

// batch appends one group commit of events.
func (l *readLoad) batch(tb testing.TB) {
	for _, err := range l.s.WriteBatch(context.Background(), l.units) {
		if err != nil {
			tb.Fatal(err)
		}
	}
}

// usedBytes is the size of the database's used pages (free pages excluded), WAL content included.
func usedBytes(tb testing.TB, s *Store) int64 {
	var pages, free, size int64
	for q, p := range map[string]*int64{"PRAGMA page_count": &pages, "PRAGMA freelist_count": &free, "PRAGMA page_size": &size} {
		if err := s.write.QueryRowContext(context.Background(), q).Scan(p); err != nil {
			tb.Fatal(err)
		}
	}
	return (pages - free) * size
}

// cpuTime is the CPU time (user and system) the process has used, in nanoseconds.
func cpuTime(tb testing.TB) int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		tb.Fatal(err)
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}

// writtenBytes is what the process has written with write(2) and its kin (Linux: wchar of
// /proc/self/io): for the store, the WAL frames it appended (and checkpoints); 0 elsewhere.
func writtenBytes(tb testing.TB) int64 {
	b, err := os.ReadFile("/proc/self/io")
	if err != nil {
		return 0
	}
	for line := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(line, "wchar: "); ok {
			n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			if err != nil {
				tb.Fatal(err)
			}
			return n
		}
	}
	return 0
}

func newV7(tb testing.TB) func() string {
	return func() string {
		id, err := uuid.NewV7()
		if err != nil {
			tb.Fatal(err)
		}
		return id.String()
	}
}

// TestAuditBytesPerReadEvent: a secret.read event costs at most 400 bytes of database, indexes and
// interned names included, with ids minted as the engine mints them (UUIDv7) and each of 2000 secrets
// read 10 times on average.
func TestAuditBytesPerReadEvent(t *testing.T) {
	if testing.Short() {
		t.Skip("appends 20 000 events")
	}
	s, _ := open(t)
	defer s.Close()
	l := newReadLoad(s, 2000, 250, newV7(t))
	l.batch(t) // the org's first events and head exist before the measurement
	before := usedBytes(t, s)
	const events = 20000
	for range events / len(l.units) {
		l.batch(t)
	}
	per := float64(usedBytes(t, s)-before) / events
	t.Logf("%.0f bytes per secret.read event", per)
	if per > 400 {
		t.Errorf("%.0f bytes per secret.read event, want <= 400", per)
	}
}

// BenchmarkAppendReadEvents appends read events in group commits of 32 to a chain that already holds
// 20 000 events of reads of 10 000 secrets, with event ids minted as UUIDv4 (random) or UUIDv7 (time
// ordered). It reports the cost per event (the commit's fsync shared by 32) and the database growth.
func BenchmarkAppendReadEvents(b *testing.B) {
	for _, ids := range []struct {
		name  string
		newID func() string
	}{{"uuid-v4", uuid.NewString}, {"uuid-v7", newV7(b)}} {
		b.Run(ids.name, func(b *testing.B) {
			s := openBench(b)
			l := newReadLoad(s, 10000, 250, ids.newID)
			for range 80 {
				l.batch(b)
			}
			l.units = l.units[:32]
			before, cpu, written := usedBytes(b, s), cpuTime(b), writtenBytes(b)
			for b.Loop() {
				l.batch(b)
			}
			n := float64(b.N * len(l.units))
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/n, "ns/event")
			b.ReportMetric(float64(cpuTime(b)-cpu)/n, "cpu-ns/event")
			b.ReportMetric(float64(writtenBytes(b)-written)/n, "written-B/event")
			b.ReportMetric(float64(usedBytes(b, s)-before)/n, "B/event")
		})
	}
}
