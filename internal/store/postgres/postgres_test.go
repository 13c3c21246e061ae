package postgres

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"clavis.dev/clavis"
	"clavis.dev/clavis/internal/store"
	"clavis.dev/clavis/internal/store/storetest"
)

// defaultServer is the PostgreSQL of the development machine and CI; CLAVIS_TEST_POSTGRES overrides it.
// Tests connect to it to create a database of their own and drop it when they end.
const defaultServer = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"

// server returns the DSN of the test server after checking that it answers. It skips the test if the
// default server is not reachable, and fails it if an explicitly configured one is not.
func server(t testing.TB) string {
	t.Helper()
	dsn, explicit := os.LookupEnv("CLAVIS_TEST_POSTGRES")
	if !explicit {
		dsn = defaultServer
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	if err == nil {
		err = conn.Ping(ctx)
		_ = conn.Close(ctx)
	}
	if err != nil {
		if explicit {
			t.Fatalf("PostgreSQL not reachable at CLAVIS_TEST_POSTGRES: %v", err)
		}
		t.Skipf("PostgreSQL not reachable at %s: %v", dsn, err)
	}
	return dsn
}

// freshDB creates an empty database clavis_test_<random> on the server and returns a DSN for it; the
// database is dropped (with any connections still open to it) when the test ends. The DSN caps the pool
// at 4 connections, so that parallel tests stay under the server's max_connections, and sets a session
// time zone far from UTC, so that the tests would notice a time that is not returned in UTC.
func freshDB(t testing.TB, srv string) string {
	t.Helper()
	return freshDBWith(t, srv, "")
}

// freshDBWith is freshDB with options appended to CREATE DATABASE (a locale, for instance).
func freshDBWith(t testing.TB, srv, options string) string {
	t.Helper()
	b := make([]byte, 8)
	rand.Read(b)
	name := "clavis_test_" + hex.EncodeToString(b)
	admin := func(stmt string) error {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		conn, err := pgx.Connect(ctx, srv)
		if err != nil {
			return err
		}
		defer conn.Close(ctx)
		_, err = conn.Exec(ctx, stmt)
		return err
	}
	if err := admin("CREATE DATABASE " + name + " " + options); err != nil {
		t.Fatalf("create database: %v", err)
	}
	t.Cleanup(func() {
		if err := admin("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)"); err != nil {
			t.Errorf("drop database %s: %v", name, err)
		}
	})
	dsn, err := withDatabase(srv, name, map[string]string{"pool_max_conns": "4", "timezone": "Pacific/Chatham"})
	if err != nil {
		t.Fatal(err)
	}
	return dsn
}

// withDatabase returns dsn (a URL or a keyword/value string) with its database replaced by name and
// the given parameters added.
func withDatabase(dsn, name string, params map[string]string) (string, error) {
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		u, err := url.Parse(dsn)
		if err != nil {
			return "", fmt.Errorf("parse %s: %w", "test server URL", err)
		}
		u.Path = "/" + name
		q := u.Query()
		for k, v := range params {
			q.Set(k, v)
		}
		u.RawQuery = q.Encode()
		return u.String(), nil
	}
	s := dsn + " dbname=" + name // a later keyword wins
	for k, v := range params {
		s += " " + k + "=" + v
	}
	return s, nil
}

// open opens a Store on a fresh database and closes it when the test ends.
func open(t testing.TB) (*Store, string) {
	t.Helper()
	dsn := freshDB(t, server(t))
	s, err := Open(context.Background(), dsn)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s, dsn
}

func TestConformance(t *testing.T) {
	srv := server(t)
	// At most 8 databases at once, whatever -parallel is: each holds up to 4 connections.
	slots := make(chan struct{}, 8)
	storetest.Run(t, func(t *testing.T) store.Store {
		slots <- struct{}{}
		t.Cleanup(func() { <-slots }) // runs last: after Run closes the store and the database is dropped
		s, err := Open(t.Context(), freshDB(t, srv))
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		return s // Run closes it
	})
}

// TestMigrateConcurrent: replicas that start at once on a new database all open it, and the schema is
// migrated once.
func TestMigrateConcurrent(t *testing.T) {
	dsn := freshDB(t, server(t))
	const replicas = 3
	stores := make([]*Store, replicas)
	errs := make([]error, replicas)
	var wg sync.WaitGroup
	for i := range replicas {
		wg.Go(func() { stores[i], errs[i] = Open(t.Context(), dsn) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("replica %d: Open: %v", i, err)
			continue
		}
		defer stores[i].Close()
	}
	if t.Failed() {
		return
	}
	ms, err := migrations()
	if err != nil {
		t.Fatal(err)
	}
	rows, err := stores[0].pool.Query(t.Context(), "SELECT version FROM schema_migrations ORDER BY version")
	if err != nil {
		t.Fatal(err)
	}
	versions, err := pgx.CollectRows(rows, pgx.RowTo[int])
	if err != nil {
		t.Fatal(err)
	}
	var want []int
	for _, m := range ms {
		want = append(want, m.Version)
	}
	if !slices.Equal(versions, want) {
		t.Errorf("schema_migrations versions = %v, want %v (each migration once)", versions, want)
	}
	// Every replica works on the one schema.
	for i, s := range stores {
		org := &clavis.Org{ID: uuid.NewString(), Name: fmt.Sprint(i), CreatedAt: clavis.Now()}
		if err := s.Write(t.Context(), func(tx store.Tx) error { return tx.CreateOrg(org) }); err != nil {
			t.Errorf("replica %d: CreateOrg: %v", i, err)
		}
	}
	var n int
	_ = stores[0].Read(t.Context(), func(tx store.Tx) error { n, err = tx.CountOrgs(); return err })
	if n != replicas {
		t.Errorf("CountOrgs = %d, %v; want %d", n, err, replicas)
	}
}

func TestOpenErrors(t *testing.T) {
	srv := server(t)
	missing, err := withDatabase(srv, "clavis_test_does_not_exist", nil)
	if err != nil {
		t.Fatal(err)
	}
	for name, dsn := range map[string]string{
		"not a DSN":        "postgres://[::1",
		"missing database": missing,
	} {
		s, err := Open(t.Context(), dsn)
		if err == nil {
			_ = s.Close()
			t.Errorf("Open(%s) succeeded, want an error", name)
		}
	}
}

// TestConflictKeepsTransaction: as in SQLite, a conflict fails only its statement; the transaction
// goes on and commits what else it did.
func TestConflictKeepsTransaction(t *testing.T) {
	s, _ := open(t)
	now := clavis.Now()
	org := &clavis.Org{ID: uuid.NewString(), CreatedAt: now}
	u := &store.User{User: clavis.User{ID: uuid.NewString(), OrgID: org.ID, Email: "a@example.com", CreatedAt: now}}
	a := &store.Agent{Agent: clavis.Agent{ID: uuid.NewString(), OrgID: org.ID, CreatedBy: u.ID, CreatedAt: now},
		KeyHash: []byte("a")}
	b := &store.Agent{Agent: clavis.Agent{ID: uuid.NewString(), OrgID: org.ID, CreatedBy: u.ID, CreatedAt: now},
		KeyHash: []byte("b")}
	write(t, s, func(tx store.Tx) error {
		return errors.Join(tx.CreateOrg(org), tx.CreateUser(u), tx.CreateAgent(a), tx.CreateAgent(b))
	})

	later := &clavis.Org{ID: uuid.NewString(), CreatedAt: now}
	moved := *b
	moved.KeyHash = a.KeyHash
	tests := []struct {
		name string
		fn   func(tx store.Tx) error
	}{
		{"CreateOrg", func(tx store.Tx) error { return tx.CreateOrg(org) }},
		{"CreateUser", func(tx store.Tx) error { dup := *u; dup.ID = uuid.NewString(); return tx.CreateUser(&dup) }},
		{"UpdateAgent", func(tx store.Tx) error { return tx.UpdateAgent(&moved) }},
		{"AppendAudit", func(tx store.Tx) error {
			e := &clavis.AuditEvent{ID: "e1", OrgID: org.ID, CreatedAt: now, IntegrityHash: "h"}
			if err := tx.AppendAudit(e); err != nil {
				return err
			}
			return tx.AppendAudit(e)
		}},
	}
	for _, tc := range tests {
		write(t, s, func(tx store.Tx) error {
			if err := tc.fn(tx); clavis.KindOf(err) != clavis.KindConflict {
				t.Errorf("%s: got %v, want a conflict", tc.name, err)
			}
			later.ID = uuid.NewString()
			return tx.CreateOrg(later) // fails if the conflict aborted the transaction
		})
	}
	read(t, s, func(tx store.Tx) error {
		got, err := tx.GetAgent(b.ID)
		if err != nil {
			return err
		}
		if string(got.KeyHash) != "b" {
			t.Errorf("UpdateAgent that conflicted changed the key hash to %q", got.KeyHash)
		}
		id, _, err := tx.AuditHead(org.ID)
		if id != "e1" || err != nil {
			t.Errorf("AuditHead = %q, %v; want e1", id, err)
		}
		return nil
	})
}

// TestWriteRetriesDeadlock: two Writes that lock two rows in opposite orders deadlock; PostgreSQL
// aborts one, and Write runs that one's fn again, so both commit.
func TestWriteRetriesDeadlock(t *testing.T) {
	s, _ := open(t)
	_, a := seedSecret(t, s, "a")
	_, b := seedSecret(t, s, "b")
	var runs atomic.Int32
	var bothLocked sync.WaitGroup
	bothLocked.Add(2)
	first := [2]sync.Once{}
	lockBoth := func(i int, x, y string) error {
		return s.Write(t.Context(), func(tx store.Tx) error {
			runs.Add(1)
			if _, err := tx.NextVersion(x); err != nil {
				return err
			}
			first[i].Do(func() { bothLocked.Done(); bothLocked.Wait() }) // only the first run waits
			_, err := tx.NextVersion(y)
			return err
		})
	}
	var wg sync.WaitGroup
	errs := make([]error, 2)
	wg.Go(func() { errs[0] = lockBoth(0, a.ID, b.ID) })
	wg.Go(func() { errs[1] = lockBoth(1, b.ID, a.ID) })
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("Write %d: %v", i, err)
		}
	}
	if got := runs.Load(); got != 3 {
		t.Errorf("fn ran %d times, want 3 (one deadlock victim run again)", got)
	}
	read(t, s, func(tx store.Tx) error {
		for _, sec := range []*clavis.Secret{a, b} {
			got, err := tx.GetSecret(sec.VaultID, sec.Path)
			if err != nil {
				return err
			}
			if got.LatestVersion != 2 {
				t.Errorf("secret %s: LatestVersion = %d, want 2", sec.Path, got.LatestVersion)
			}
		}
		return nil
	})
}

// TestWriteBatchLockOrder: the units of two batches, on two instances, lock two rows in opposite
// orders, which would deadlock; the units that wait too long run again on their own, and every unit
// commits, well before PostgreSQL's deadlock detector would have stepped in.
func TestWriteBatchLockOrder(t *testing.T) {
	s1, dsn := open(t)
	s2, err := Open(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	_, a := seedSecret(t, s1, "a")
	_, b := seedSecret(t, s1, "b")
	var runs atomic.Int32
	var bothLocked sync.WaitGroup
	bothLocked.Add(2)
	first := [2]sync.Once{}
	batch := func(i int, s *Store, x, y string) []error {
		return s.WriteBatch(t.Context(), []func(store.Tx) error{
			func(tx store.Tx) error {
				runs.Add(1)
				_, err := tx.NextVersion(x)
				first[i].Do(func() { bothLocked.Done(); bothLocked.Wait() }) // only the first run waits
				return err
			},
			func(tx store.Tx) error {
				runs.Add(1)
				_, err := tx.NextVersion(y)
				return err
			},
		})
	}
	var wg sync.WaitGroup
	errs := make([][]error, 2)
	wg.Go(func() { errs[0] = batch(0, s1, a.ID, b.ID) })
	wg.Go(func() { errs[1] = batch(1, s2, b.ID, a.ID) })
	wg.Wait()
	for i, es := range errs {
		if len(es) != 2 || errors.Join(es...) != nil {
			t.Errorf("batch %d: errors %v, want [nil nil]", i, es)
		}
	}
	// Each batch first runs both units without savepoints: the first to time out gives up that attempt
	// (2 runs), which frees its lock, so the other batch may commit at once (2 runs). The one that gave up
	// runs both units again with savepoints (2 runs) and, if its second unit times out once more, that
	// unit on its own (1 run); so does the other batch if it timed out too. Between 6 and 10 runs in all.
	if got := runs.Load(); got < 6 || got > 10 {
		t.Errorf("units ran %d times, want 6 to 10", got)
	}
	read(t, s1, func(tx store.Tx) error {
		for _, sec := range []*clavis.Secret{a, b} {
			got, err := tx.GetSecret(sec.VaultID, sec.Path)
			if err != nil {
				return err
			}
			if got.LatestVersion != 2 {
				t.Errorf("secret %s: LatestVersion = %d, want 2", sec.Path, got.LatestVersion)
			}
		}
		return nil
	})
}

// TestWriteBatchRetries: a unit that fails with a serialization failure runs the whole batch again, so
// what the other units did in the failed attempt is not kept twice.
func TestWriteBatchRetries(t *testing.T) {
	s, _ := open(t)
	org := &clavis.Org{ID: uuid.NewString(), CreatedAt: clavis.Now()}
	var runs [2]int
	errs := s.WriteBatch(t.Context(), []func(store.Tx) error{
		func(tx store.Tx) error { runs[0]++; return tx.CreateOrg(org) }, // a conflict if kept from attempt 1
		func(tx store.Tx) error {
			if runs[1]++; runs[1] == 1 {
				return fmt.Errorf("wrapped: %w", &pgconn.PgError{Code: "40001"})
			}
			return nil
		},
	})
	if len(errs) != 2 || errors.Join(errs...) != nil {
		t.Errorf("WriteBatch errors %v, want [nil nil]", errs)
	}
	if runs != [2]int{2, 2} {
		t.Errorf("units ran %v times, want [2 2]", runs)
	}
	var n int
	read(t, s, func(tx store.Tx) (err error) { n, err = tx.CountOrgs(); return err })
	if n != 1 {
		t.Errorf("CountOrgs = %d, want 1", n)
	}
}

// TestTwoInstances: two Stores on one database, like two server processes, stay exact when they write
// the same rows at once.
func TestTwoInstances(t *testing.T) {
	s1, dsn := open(t)
	s2, err := Open(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	instances := []*Store{s1, s2}
	vault, _ := seedSecret(t, s1, "unused")

	t.Run("NextVersion", func(t *testing.T) {
		sec := ensureSecret(t, s1, vault, "hot")
		const n = 50
		got := make([]int, n)
		errs := parallel(n, func(i int) error {
			return instances[i%2].Write(t.Context(), func(tx store.Tx) error {
				num, err := tx.NextVersion(sec.ID)
				if err != nil {
					return err
				}
				got[i] = num
				return tx.CreateVersion(newVersion(sec.ID, num, 0))
			})
		})
		checkErrs(t, errs)
		slices.Sort(got)
		for i, num := range got {
			if num != i+1 {
				t.Fatalf("version numbers %v, want exactly 1..%d", got, n)
			}
		}
	})

	t.Run("ConsumeAccess", func(t *testing.T) {
		sec := ensureSecret(t, s1, vault, "once")
		write(t, s1, func(tx store.Tx) error {
			num, err := tx.NextVersion(sec.ID)
			if err != nil {
				return err
			}
			return tx.CreateVersion(newVersion(sec.ID, num, 1))
		})
		const n = 100
		ok := make([]bool, n)
		errs := parallel(n, func(i int) error {
			return instances[i%2].Write(t.Context(), func(tx store.Tx) error {
				var err error
				ok[i], err = tx.ConsumeAccess(sec.ID, 1)
				return err
			})
		})
		checkErrs(t, errs)
		if got := len(slices.DeleteFunc(ok, func(b bool) bool { return !b })); got != 1 {
			t.Errorf("%d of %d ConsumeAccess calls with MaxAccessCount 1 succeeded, want 1", got, n)
		}
		var v *store.Version
		read(t, s2, func(tx store.Tx) (err error) { v, err = tx.GetVersion(sec.ID, 1); return err })
		if v.AccessCount != 1 {
			t.Errorf("AccessCount = %d, want 1", v.AccessCount)
		}
	})

	// checkChain checks that the org's events form one linear chain of n events.
	checkChain := func(t *testing.T, org string, n int) {
		t.Helper()
		var chain []*clavis.AuditEvent
		read(t, s2, func(tx store.Tx) (err error) { chain, err = tx.AuditChain(org, nil, nil, 0); return err })
		if len(chain) != n {
			t.Fatalf("AuditChain returned %d events, want %d", len(chain), n)
		}
		prevID, prevHash := "", ""
		for i, e := range chain {
			if e.PrevEventID != prevID || e.IntegrityHash != prevHash+"/"+e.ID {
				t.Fatalf("event %d: PrevEventID %q, want %q: the chain forked", i, e.PrevEventID, prevID)
			}
			prevID, prevHash = e.ID, e.IntegrityHash
		}
		for i, s := range instances {
			var id string
			read(t, s, func(tx store.Tx) (err error) { id, _, err = tx.AuditHead(org); return err })
			if id != prevID {
				t.Errorf("instance %d: AuditHead = %q, want the last event %q", i, id, prevID)
			}
		}
	}

	t.Run("AuditChain", func(t *testing.T) {
		org := uuid.NewString()
		const n = 20
		errs := parallel(n, func(i int) error { return instances[i%2].Write(t.Context(), appendEvent(org)) })
		checkErrs(t, errs)
		checkChain(t, org, n)
	})

	// Group commit: batches of appenders, on both instances at once, and across two orgs, so that
	// batches lock the orgs' heads in different orders.
	t.Run("AuditChainBatches", func(t *testing.T) {
		orgs := []string{uuid.NewString(), uuid.NewString()}
		const batches, units = 10, 6
		errs := parallel(batches, func(i int) error {
			fns := make([]func(store.Tx) error, units)
			for j := range fns {
				fns[j] = appendEvent(orgs[(i+j)%2])
			}
			return errors.Join(instances[i%2].WriteBatch(t.Context(), fns)...)
		})
		checkErrs(t, errs)
		for _, org := range orgs {
			checkChain(t, org, batches*units/2)
		}
	})
}

// --- helpers ---

// appendEvent chains one event after the org's head: what the engine does for every request.
func appendEvent(org string) func(tx store.Tx) error {
	return func(tx store.Tx) error {
		id, hash, err := tx.AuditHead(org)
		if err != nil {
			return err
		}
		e := &clavis.AuditEvent{ID: uuid.NewString(), OrgID: org, Action: "secret.read",
			ActorType: clavis.PrincipalAgent, CreatedAt: clavis.Now(), PrevEventID: id}
		e.IntegrityHash = hash + "/" + e.ID // any function of the previous hash and the event
		return tx.AppendAudit(e)
	}
}

func write(t testing.TB, s *Store, fn func(store.Tx) error) {
	t.Helper()
	if err := s.Write(t.Context(), fn); err != nil {
		t.Fatalf("Write: %v", err)
	}
}

func read(t testing.TB, s *Store, fn func(store.Tx) error) {
	t.Helper()
	if err := s.Read(t.Context(), fn); err != nil {
		t.Fatalf("Read: %v", err)
	}
}

// seedSecret creates an org, a user, a vault and an empty secret at path, and returns the vault and
// the secret.
func seedSecret(t testing.TB, s *Store, path string) (*store.Vault, *clavis.Secret) {
	t.Helper()
	now := clavis.Now()
	org := &clavis.Org{ID: uuid.NewString(), Name: "test", CreatedAt: now}
	u := &store.User{User: clavis.User{ID: uuid.NewString(), OrgID: org.ID, Email: org.ID + "@example.com",
		CreatedAt: now}}
	v := &store.Vault{Vault: clavis.Vault{ID: uuid.NewString(), OrgID: org.ID, Name: "v", CreatedBy: u.ID,
		CreatedByType: clavis.PrincipalUser, OwnerUserID: u.ID, CreatedAt: now}, WrappedKey: make([]byte, 60)}
	write(t, s, func(tx store.Tx) error { return errors.Join(tx.CreateOrg(org), tx.CreateUser(u), tx.CreateVault(v)) })
	return v, ensureSecret(t, s, v, path)
}

func ensureSecret(t testing.TB, s *Store, v *store.Vault, path string) *clavis.Secret {
	t.Helper()
	var sec *clavis.Secret
	write(t, s, func(tx store.Tx) (err error) {
		sec, err = tx.EnsureSecret(&clavis.Secret{ID: uuid.NewString(), VaultID: v.ID, Path: path, CreatedAt: clavis.Now()})
		return err
	})
	return sec
}

// newVersion returns version n of a secret with a 1 KiB ciphertext.
func newVersion(secretID string, n, maxAccess int) *store.Version {
	return &store.Version{Version: clavis.Version{SecretID: secretID, Version: n, Type: "generic",
		Metadata: []byte(`{"env":"prod"}`), MaxAccessCount: maxAccess, CreatedBy: "user:" + secretID, CreatedAt: clavis.Now()}, Ciphertext: make([]byte, 1024), WrappedDEK: make([]byte, 60)}
}

// parallel runs fn(i) for i in [0, n) concurrently and returns the errors in order of i.
func parallel(n int, fn func(i int) error) []error {
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { errs[i] = fn(i) })
	}
	wg.Wait()
	return errs
}

func checkErrs(t *testing.T, errs []error) {
	t.Helper()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("writer %d: %v", i, err)
		}
	}
}

// backend gives the shared migration tests of storetest fresh databases and raw SQL on them.
func backend(t *testing.T) storetest.Backend {
	srv := server(t)
	ms, err := migrations()
	if err != nil {
		t.Fatal(err)
	}
	return storetest.Backend{
		Fresh:                  func(tb testing.TB) string { return freshDB(tb, srv) },
		Open:                   storetest.Opener(Open),
		Migrations:             ms,
		CreateSchemaMigrations: createSchemaMigrations,
		Exec: func(tb testing.TB, dsn, query string, args ...any) {
			tb.Helper()
			pool, err := pgxpool.New(context.Background(), dsn) // a pool: the DSN holds pool settings
			if err != nil {
				tb.Fatal(err)
			}
			defer pool.Close()
			if _, err := pool.Exec(context.Background(), query, args...); err != nil {
				tb.Fatalf("%.60s: %v", query, err)
			}
		},
	}
}

func TestNewerSchemaRefused(t *testing.T)        { storetest.NewerSchemaRefused(t, backend(t)) }
func TestMigrateVaultKeys(t *testing.T)          { storetest.MigrateVaultKeys(t, backend(t)) }
func TestMigrationCountsAuditHeads(t *testing.T) { storetest.MigrationCountsAuditHeads(t, backend(t)) }

// The parallel writers of BenchmarkWriteVersion all add versions to one secret, so they queue on its
// row lock.
func BenchmarkGetVersion(b *testing.B)   { storetest.BenchGetVersion(b, openBench(b)) }
func BenchmarkWriteVersion(b *testing.B) { storetest.BenchWriteVersion(b, openBench(b)) }
func BenchmarkAppendAudit(b *testing.B)  { storetest.BenchAppendAudit(b, openBench(b)) }

// openBench opens a Store on a fresh database; it is closed when the benchmark ends.
func openBench(b *testing.B) *Store {
	s, _ := open(b)
	return s
}
