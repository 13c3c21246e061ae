// Package clavistest runs the full Clavis stack — SQLite store, file root key, engine, HTTP API — on an
// httptest server and hands out real clients. Tests only.
package clavistest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"net/http/httptest"
	"net/netip"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"clavis.dev/clavis"
	"clavis.dev/clavis/client"
	"clavis.dev/clavis/internal/audit"
	"clavis.dev/clavis/internal/egress"
	"clavis.dev/clavis/internal/engine"
	"clavis.dev/clavis/internal/httpapi"
	"clavis.dev/clavis/internal/keyring"
	"clavis.dev/clavis/internal/keyring/file"
	"clavis.dev/clavis/internal/netguard"
	"clavis.dev/clavis/internal/notify"
	"clavis.dev/clavis/internal/password"
	"clavis.dev/clavis/internal/store"
	"clavis.dev/clavis/internal/store/sqlite"
)

// The engine is the service the HTTP API serves (httpapi declares what it needs; the engine must keep
// satisfying it).
var _ httpapi.Service = (*engine.Engine)(nil)

// Env is one running server with its data directory.
type Env struct {
	URL     string
	DataDir string
	DBPath  string
	Engine  *engine.Engine
	logs    *syncBuffer
}

// Options adjust the environment.
type Options struct {
	RateLimits bool                          // spec default buckets instead of none
	WrapStore  func(store.Store) store.Store // e.g. to inject faults into the real store
	Sink       audit.Sink                    // receives committed audit events
	// SkipReadAudit turns off read auditing (engine.SkipReadAuditForBenchmark), for benchmarks only.
	SkipReadAudit bool
	// ProductionHashing uses the default argon2id cost instead of the cheap test cost.
	ProductionHashing bool
	// VaultKeyMaxEncryptions lowers the automatic vault key rotation threshold (engine default 2^31).
	VaultKeyMaxEncryptions int64
	// RootKey replaces the data directory's root.key file as the root key.
	RootKey keyring.RootKey
	// DataDir runs on an existing data directory (database and root key) instead of a fresh one.
	DataDir string
	// Clock replaces the engine's time source (see Clock).
	Clock func() time.Time
	// AuditTimeout replaces the engine's 2 s bound on waiting for a commit.
	AuditTimeout time.Duration
	// Notifier receives the engine's committed audit events and is started over the engine (and closed
	// before it).
	Notifier *notify.Notifier
	// API adjusts the HTTP API's options before the server starts (e.g. to serve /mcp over the engine).
	API func(e *engine.Engine, o *httpapi.Options)
	// SignupMode replaces the default open signup (engine.SignupFirstUser, engine.SignupClosed).
	SignupMode string
	// Egress sends the calls of use without read (default: a guard that opens no private range, so a
	// loopback upstream is refused; see UseLoopback).
	Egress *egress.Client
	// UseRateLimit replaces the engine's 60 uses a minute per principal and secret.
	UseRateLimit int
	// StateStaleness replaces the engine's 2 s bound on how long a state change made by another
	// process takes to reach its cache.
	StateStaleness time.Duration
}

// UseLoopback is an Egress whose guard opens 127.0.0.0/8 (the server's --use-allow-private 127.0.0.0/8),
// for tests with a loopback upstream.
func UseLoopback() *egress.Client {
	return egress.New(netguard.New([]netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}))
}

// Clock is a settable time source for Options.Clock, safe for concurrent use. It starts at the real
// time, so that everything it stamps looks plausible.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// NewClock returns a clock stopped at the current real time.
func NewClock() *Clock { return &Clock{t: time.Now().UTC()} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Set moves the clock to t.
func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

// Advance moves the clock by d.
func (c *Clock) Advance(d time.Duration) { c.Set(c.Now().Add(d)) }

// New starts a server in open-signup mode with cheap password hashing; everything is torn down with t.
func New(t testing.TB, opts ...Options) *Env {
	t.Helper()
	var o Options
	if len(opts) > 0 {
		o = opts[0]
	}
	dir := o.DataDir
	if dir == "" {
		dir = t.TempDir()
	}
	e := &Env{DataDir: dir, DBPath: filepath.Join(dir, "clavis.db"), logs: &syncBuffer{}}
	log := slog.New(slog.NewJSONHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	ctx := context.Background()
	sq, err := sqlite.Open(ctx, e.DBPath)
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() {
		if err := sq.Close(); err != nil {
			t.Errorf("close store: %v", err)
		}
	})
	var st store.Store = sq
	if o.WrapStore != nil {
		st = o.WrapStore(sq)
	}
	var root keyring.RootKey = o.RootKey
	if root == nil {
		if root, err = file.Open(filepath.Join(dir, "root.key"), true); err != nil {
			t.Fatalf("root key: %v", err)
		}
	}
	srv := httptest.NewUnstartedServer(nil)
	e.URL = "http://" + srv.Listener.Addr().String()
	hashing := password.Params{Memory: 1024, Time: 1, Threads: 1}
	if o.ProductionHashing {
		hashing = password.DefaultParams
	}
	mode := o.SignupMode
	if mode == "" {
		mode = engine.SignupOpen
	}
	e.Engine, err = engine.New(ctx, st, keyring.New(root, keyring.Options{}), engine.Config{
		Issuer: e.URL, SignupMode: mode, Logger: log, PasswordHash: hashing, Version: "test",
		Sink: o.Sink, KeyRefresh: time.Second, Notifier: notifierOf(o.Notifier),
		VaultKeyMaxEncryptions: o.VaultKeyMaxEncryptions, Clock: o.Clock, AuditTimeout: o.AuditTimeout,
		Egress: o.Egress, UseRateLimit: o.UseRateLimit, StateStaleness: o.StateStaleness,
	})
	if err != nil {
		t.Fatalf("engine: %v", err)
	}
	t.Cleanup(e.Engine.Close)
	if o.Notifier != nil {
		o.Notifier.Start(e.Engine)
		t.Cleanup(o.Notifier.Close)
	}
	if o.SkipReadAudit {
		engine.SkipReadAuditForBenchmark(e.Engine)
	}
	hopts := httpapi.Options{Version: "test", PublicURL: e.URL, Logger: log}
	if o.RateLimits {
		hopts.RateLimits = httpapi.DefaultRateLimits()
	}
	if o.API != nil {
		o.API(e.Engine, &hopts)
	}
	srv.Config.Handler = httpapi.New(e.Engine, hopts)
	srv.Start()
	t.Cleanup(srv.Close)
	return e
}

// notifierOf keeps a nil *notify.Notifier a nil engine.Notifier.
func notifierOf(n *notify.Notifier) engine.Notifier {
	if n == nil {
		return nil
	}
	return n
}

// Client returns an unauthenticated client.
func (e *Env) Client() *client.Client { return client.New(e.URL) }

// Logs returns everything the server logged so far (debug level included).
func (e *Env) Logs() string { return e.logs.String() }

// User is a signed-up human with an authenticated client.
type User struct {
	Email, Password string
	ID, OrgID       string
	Token           string // the access token C authenticates with
	C               *client.Client
}

// Signup creates an account in its own org.
func (e *Env) Signup(t testing.TB) *User {
	t.Helper()
	ctx := context.Background()
	u := &User{Email: "u-" + RandHex(6) + "@example.com", Password: "Pw-" + RandHex(10)}
	tok, err := e.Client().Signup(ctx, u.Email, u.Password, "")
	if err != nil {
		t.Fatalf("signup: %v", err)
	}
	u.Token = string(tok.AccessToken)
	u.C = e.Client().WithToken(u.Token)
	me, err := u.C.Me(ctx)
	if err != nil {
		t.Fatalf("me: %v", err)
	}
	u.ID, u.OrgID = me.ID, me.OrgID
	return u
}

// Agent is a registered agent with a client authenticated by its exchanged token.
type Agent struct {
	ID, Key string
	Token   string // the access token C authenticates with
	C       *client.Client
}

// NewAgent registers an agent for u and exchanges its key.
func (e *Env) NewAgent(t testing.TB, u *User, in clavis.AgentInput) *Agent {
	t.Helper()
	ctx := context.Background()
	if in.Name == "" {
		in.Name = "agent-" + RandHex(3)
	}
	ak, err := u.C.CreateAgent(ctx, in)
	if err != nil {
		t.Fatalf("create agent: %v", err)
	}
	tok, err := e.Client().AgentToken(ctx, string(ak.Key), ak.Agent.ID)
	if err != nil {
		t.Fatalf("agent token: %v", err)
	}
	return &Agent{ID: ak.Agent.ID, Key: string(ak.Key), Token: string(tok.AccessToken), C: e.Client().WithToken(string(tok.AccessToken))}
}

// RandHex returns n random bytes in hex.
func RandHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
