// Package engine implements clavis.Service: authentication, authorization, versioning, encryption and
// audit. It is the only place where the rules live; transports parse and call it, stores persist for it.
//
// Every method that takes a Caller authorizes before it looks anything up, so a refusal never tells
// whether the addressed object exists (spec §1.7).
package engine

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"clavis.dev/clavis"
	"clavis.dev/clavis/internal/audit"
	"clavis.dev/clavis/internal/egress"
	"clavis.dev/clavis/internal/keyring"
	"clavis.dev/clavis/internal/netguard"
	"clavis.dev/clavis/internal/password"
	"clavis.dev/clavis/internal/ratelimit"
	"clavis.dev/clavis/internal/store"
	"clavis.dev/clavis/internal/token"
)

// Signup modes (spec §2.1).
const (
	SignupOpen      = "open"
	SignupFirstUser = "first-user"
	SignupClosed    = "closed"
)

// Config holds the engine's settings. Zero values take the spec's defaults.
type Config struct {
	Issuer        string          // public base URL, JWT iss
	SignupMode    string          // open | first-user | closed; default first-user
	UserTokenTTL  time.Duration   // default 900 s
	AgentTokenTTL time.Duration   // default 3600 s
	Leeway        time.Duration   // default 5 s
	MaxValueBytes int             // default 512 KiB
	PasswordHash  password.Params // default password.DefaultParams
	HashWorkers   int             // concurrent password hashes; default min(NumCPU, 4), bounding hash memory
	Version       string          // reported by /v1/health
	Logger        *slog.Logger    // default slog.Default()
	// AuditTimeout bounds how long a request waits for the commit holding its audit event before it is
	// answered 503 (spec §5.4); default 2 s.
	AuditTimeout time.Duration
	// MaxBatch caps the units of work in one group commit; default 256.
	MaxBatch int
	// Sink receives committed audit events (and the failures that belong to no org); nil for none.
	Sink audit.Sink
	// Notifier receives committed audit events too, for the notifications of approvals and enrolments;
	// nil for none.
	Notifier Notifier
	// VaultKeyMaxEncryptions is how many values one vault key version seals before the vault rotates to
	// a new version automatically; default 2^31 (well below the 2^32 limit for random GCM nonces).
	VaultKeyMaxEncryptions int64
	// KeyRefresh is how often the engine looks for signing keys rotated by another process (and prunes
	// expired token revocations); default 30 s.
	KeyRefresh time.Duration
	// Clock is the engine's time source; default time.Now. Tests set it to step through expiries
	// (secrets, agents, tokens, lockouts, TOTP steps) without sleeping.
	Clock func() time.Time
	// ExistingKeysOnly makes New fail with an error wrapping ErrNoServerKeys instead of creating a missing
	// server key: operator commands must not initialise a database on which no server has started.
	ExistingKeysOnly bool
	// Egress sends the calls of use without read (spec use.md); default: a client behind a network guard
	// that opens no private range.
	Egress *egress.Client
	// UseRateLimit is how many uses of one secret one principal may make a minute; default 60.
	UseRateLimit int
	// StateStaleness bounds how long a change to principals, credentials, revocations, vaults, policies
	// or IP rules made by another process or replica may take to reach this engine's in-memory cache of
	// them (changes made through this engine apply at once); default 2 s.
	StateStaleness time.Duration
}

// ErrNoServerKeys is returned by New with Config.ExistingKeysOnly when the store lacks a server key.
var ErrNoServerKeys = errors.New("the database has no server keys yet")

func (c *Config) defaults() {
	if c.Clock == nil {
		c.Clock = time.Now
	}
	if c.SignupMode == "" {
		c.SignupMode = SignupFirstUser
	}
	if c.UserTokenTTL == 0 {
		c.UserTokenTTL = 900 * time.Second
	}
	if c.AgentTokenTTL == 0 {
		c.AgentTokenTTL = 3600 * time.Second
	}
	if c.Leeway == 0 {
		c.Leeway = 5 * time.Second
	}
	if c.MaxValueBytes == 0 {
		c.MaxValueBytes = 512 << 10
	}
	if c.HashWorkers <= 0 {
		c.HashWorkers = min(runtime.NumCPU(), 4)
	}
	if c.PasswordHash == (password.Params{}) {
		c.PasswordHash = password.DefaultParams
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.AuditTimeout == 0 {
		c.AuditTimeout = 2 * time.Second
	}
	if c.MaxBatch == 0 {
		c.MaxBatch = 256
	}
	if c.VaultKeyMaxEncryptions == 0 {
		c.VaultKeyMaxEncryptions = 1 << 31
	}
	if c.KeyRefresh == 0 {
		c.KeyRefresh = 30 * time.Second
	}
	if c.Egress == nil {
		c.Egress = egress.New(netguard.New(nil))
	}
	if c.UseRateLimit <= 0 {
		c.UseRateLimit = 60
	}
	if c.StateStaleness <= 0 {
		c.StateStaleness = 2 * time.Second
	}
}

// Engine implements clavis.Service. It is safe for concurrent use.
type Engine struct {
	cfg    Config
	store  store.Store
	keys   *keyring.Keyring
	tokens atomic.Pointer[token.Issuer] // replaced whole when signing keys rotate
	// keysChecked (unix nanoseconds) limits how often a verification failure may look for a new key.
	keysChecked    atomic.Int64
	signingVersion atomic.Int64 // the newest signing key version loaded
	hasher         *password.Hasher
	pepper         []byte // keys API-key hashes
	auditKey       []byte // keys the audit chain
	log            *slog.Logger
	commits        *committer
	cache          *stateCache
	stopWatch      context.CancelFunc
	watchDone      chan struct{}
	verified       *tokenCache
	mfaWrong       mfaFailures
	mfaCodeChecks  *ratelimit.Limiter // codes given to MFA disable, per user
	shareGuesses   *ratelimit.Limiter // wrong share passphrases, per share
	useLimit       *ratelimit.Limiter // uses per (principal, secret), spec use.md §4

	stopHousekeeping, housekeepingDone chan struct{}
	healthy                            atomic.Bool // false after a failed commit, until one succeeds
	skipReadAudit                      atomic.Bool // see SkipReadAuditForBenchmark
	// readsInCommit: the store is a store.WarmWriter, so secret reads look up in their commit unit.
	readsInCommit bool
}

var _ clavis.Service = (*Engine)(nil)

// Format prints the engine's issuer URL only, under every verb: the struct holds server keys (the API-key
// pepper, the audit key) that fmt would otherwise print.
func (e *Engine) Format(f fmt.State, _ rune) {
	_, _ = fmt.Fprintf(f, "engine.Engine{issuer:%q}", e.cfg.Issuer)
}

// LogValue logs the engine's issuer URL only.
func (e *Engine) LogValue() slog.Value { return slog.GroupValue(slog.String("issuer", e.cfg.Issuer)) }

// Names of the server secrets kept (wrapped by the root key) in the store.
const (
	keyJWT    = "jwt-signing-key"
	keyPepper = "api-key-pepper"
	keyAudit  = "audit-hmac-key"
)

// New loads the server's own keys from st (creating them on first start, wrapped by the root key behind
// kr) and returns a ready engine.
func New(ctx context.Context, st store.Store, kr *keyring.Keyring, cfg Config) (*Engine, error) {
	cfg.defaults()
	e := &Engine{cfg: cfg, store: st, keys: kr, log: cfg.Logger, cache: newStateCache(cfg.StateStaleness, stateCacheItems)}
	e.healthy.Store(true)
	e.hasher = password.NewHasher(cfg.PasswordHash, cfg.HashWorkers)
	seed, err := e.serverSecret(ctx, keyJWT, newSigningSeed) // created on first start; loaded below
	if err != nil {
		return nil, err
	}
	clear(seed)
	if err := e.loadSigningKeys(ctx); err != nil {
		return nil, err
	}
	random32 := func() ([]byte, error) {
		b := make([]byte, 32)
		_, err := rand.Read(b)
		return b, err
	}
	if e.pepper, err = e.serverSecret(ctx, keyPepper, random32); err != nil {
		return nil, err
	}
	if e.auditKey, err = e.serverSecret(ctx, keyAudit, random32); err != nil {
		return nil, err
	}
	e.commits = newCommitter(st, cfg.MaxBatch, e.cache)
	_, e.readsInCommit = st.(store.WarmWriter)
	watchCtx, stop := context.WithCancel(context.WithoutCancel(ctx))
	e.stopWatch, e.watchDone = stop, make(chan struct{})
	go func() { // #nosec G118 -- runs for the engine's life, stopped by Close, not by a request
		defer close(e.watchDone)
		e.cache.watch(watchCtx, st, func(msg string, err error) { e.log.Warn(msg, "err", err) })
	}()
	e.stopHousekeeping = make(chan struct{})
	e.housekeepingDone = make(chan struct{})
	go e.housekeeping(cfg.KeyRefresh) // #nosec G118 -- runs for the engine's life, stopped by Close, not by a request
	e.verified = newTokenCache(10_000, cfg.Leeway)
	e.mfaWrong.n = map[string]int{}
	e.mfaCodeChecks = ratelimit.New(mfaCodeRule, 0, cfg.Clock)
	e.shareGuesses = ratelimit.New(shareGuessRule, 0, cfg.Clock)
	e.useLimit = ratelimit.New(ratelimit.Rule{Burst: cfg.UseRateLimit, Rate: float64(cfg.UseRateLimit) / 60}, 0, cfg.Clock)
	return e, nil
}

// Close stops background work and the group committer, and clears the server keys the engine holds;
// requests must have finished, and no method may be called after it. The store is the caller's to close.
func (e *Engine) Close() {
	close(e.stopHousekeeping)
	<-e.housekeepingDone
	e.stopWatch()
	<-e.watchDone
	e.commits.close()
	e.tokens.Load().Retire()
	clear(e.pepper)
	clear(e.auditKey)
}

// housekeeping picks up signing keys rotated by another process and prunes token revocations whose
// tokens have expired anyway, every interval.
func (e *Engine) housekeeping(interval time.Duration) {
	defer close(e.housekeepingDone)
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-e.stopHousekeeping:
			return
		case <-t.C:
			if err := e.loadSigningKeys(context.Background()); err != nil {
				e.log.Warn("reloading signing keys failed", "err", err)
			}
			err := e.write(context.Background(), func(tx store.Tx) error { return tx.PruneRevokedTokens(e.now()) })
			if err != nil {
				e.log.Warn("pruning expired token revocations failed", "err", err)
			}
		}
	}
}

// serverSecret returns the named server secret, generating and storing it on first use; the caller owns
// the returned slice and clears it when done. When several processes start at once, the first stored
// value wins and every process uses it.
func (e *Engine) serverSecret(ctx context.Context, name string, gen func() ([]byte, error)) ([]byte, error) {
	var wrapped []byte
	err := e.store.Read(ctx, func(tx store.Tx) error {
		var err error
		wrapped, err = tx.ServerKey(name)
		return err
	})
	if clavis.IsKind(err, clavis.KindNotFound) && e.cfg.ExistingKeysOnly {
		return nil, fmt.Errorf("%w (%s is missing)", ErrNoServerKeys, name)
	} else if clavis.IsKind(err, clavis.KindNotFound) {
		fresh, err := gen()
		if err != nil {
			return nil, err
		}
		w, err := e.keys.WrapServerSecret(ctx, name, fresh)
		clear(fresh)
		if err != nil {
			return nil, err
		}
		err = e.store.Write(ctx, func(tx store.Tx) error {
			var err error
			wrapped, err = tx.PutServerKey(name, w)
			return err
		})
		if err != nil {
			return nil, err
		}
	} else if err != nil {
		return nil, err
	}
	secret, err := e.keys.UnwrapServerSecret(ctx, name, wrapped)
	if err != nil {
		return nil, errors.New("cannot unwrap server key " + name + " (wrong root key?)")
	}
	return secret, nil
}

// probePad is the size of the readiness probe's write: a few pages, like a real write's.
const probePad = 8 << 10

// Ready reports whether the database answers and the audit log can record. After a failed commit it
// probes with a write that needs new pages (an empty transaction commits even on a full disk), so
// readiness stays red while real writes fail and recovers by itself once the database does.
func (e *Engine) Ready(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if err := e.store.Ping(ctx); err != nil {
		return clavis.E(clavis.KindUnavailable, "database unavailable")
	}
	if !e.healthy.Load() {
		pad := make([]byte, probePad)
		_, _ = rand.Read(pad) // random, so that no storage layer compresses it away
		if err := e.write(ctx, func(tx store.Tx) error { return tx.WriteProbe(e.now(), pad) }); err != nil {
			return clavis.E(clavis.KindUnavailable, "audit log cannot record")
		}
	}
	return nil
}

// JWKS returns the JSON Web Key Set of every verification key.
func (e *Engine) JWKS() []byte { return e.tokens.Load().JWKS() }

// PublicKey returns the current raw Ed25519 verification key.
func (e *Engine) PublicKey() []byte {
	_, pub := e.tokens.Load().Current()
	return pub
}

// IssuerURL returns the public base URL used as JWT issuer.
func (e *Engine) IssuerURL() string { return e.cfg.Issuer }

// now is the current instant from the configured clock, at the precision of clavis.TimeFormat.
func (e *Engine) now() time.Time { return clavis.Truncate(e.cfg.Clock()) }

func newID() string { return uuid.NewString() }

// newEventID mints an audit event id: a UUIDv7, time ordered, so that the stores' indexes of event ids
// grow at their end instead of at a random page per event.
func newEventID() string { return uuid.Must(uuid.NewV7()).String() }

// kept marks an error that must reach the caller while its transaction still commits (so that the audit
// event recording a denial or failure is kept).
type kept struct{ err error }

func (k kept) Error() string { return k.err.Error() }

// keep wraps err so that write commits its transaction and then returns err.
func keep(err error) error { return kept{err} }

// read runs fn in a read transaction. Its Tx is a *readTx: what it reads may fill the state cache.
func (e *Engine) read(ctx context.Context, fn func(tx store.Tx) error) error {
	gen := e.cache.generation() // before the transaction's snapshot: entries it loads are at least this recent
	return e.classify(ctx, e.store.Read(ctx, func(tx store.Tx) error { return fn(&readTx{Tx: tx, gen: gen}) }))
}

// readOneStatement is read for a transaction that usually runs one statement, through
// store.OneStatementReader when the store has it: fn may then run twice and must set its results afresh.
func (e *Engine) readOneStatement(ctx context.Context, fn func(tx store.Tx) error) error {
	r, ok := e.store.(store.OneStatementReader)
	if !ok {
		return e.read(ctx, fn)
	}
	gen := e.cache.generation()
	return e.classify(ctx, r.ReadOneStatement(ctx, func(tx store.Tx) error { return fn(&readTx{Tx: tx, gen: gen}) }))
}

// readTx is the Tx of e.read, with the state cache generation taken before its snapshot.
type readTx struct {
	store.Tx
	gen uint64
}

// logger is the engine's logger with the request id of ctx, so that a line can be matched to the request
// id its caller was given.
func (e *Engine) logger(ctx context.Context) *slog.Logger { return clavis.Log(ctx, e.log) }

// classify passes *clavis.Error through and turns anything else into a logged internal error.
func (e *Engine) classify(ctx context.Context, err error) error {
	if err == nil {
		return nil
	}
	var ce *clavis.Error
	if errors.As(err, &ce) {
		if ce.Kind == clavis.KindInternal && ce.Err != nil {
			e.logger(ctx).Error("internal error", "err", ce.Err)
		}
		return ce
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return clavis.E(clavis.KindUnavailable, "request cancelled or timed out")
	}
	e.logger(ctx).Error("internal error", "err", err)
	return clavis.Internal(err)
}

// event is an audit event about to be recorded.
type event struct {
	org, action, resType, resID string
	actor                       clavis.Principal
	ip                          string
	details                     map[string]any
}

// record chains and appends one audit event inside tx.
func (e *Engine) record(tx store.Tx, ev event) error {
	if ev.details == nil {
		ev.details = map[string]any{}
	}
	actorID := ev.actor.ID
	actorType := ev.actor.Type
	if actorType == "" {
		actorType, actorID = clavis.PrincipalAnonymous, "anonymous"
	}
	a := &clavis.AuditEvent{
		ID: newEventID(), OrgID: ev.org, Action: ev.action, ActorID: actorID, ActorType: actorType,
		ResourceType: ev.resType, ResourceID: ev.resID, Details: ev.details, IPAddress: ev.ip,
		CreatedAt: e.now(),
	}
	headID, headHash, err := tx.AuditHead(ev.org)
	if err != nil {
		return err
	}
	audit.Chain(e.auditKey, headID, headHash, a)
	if err := tx.AppendAudit(a); err != nil {
		return err
	}
	if at, ok := tx.(*auditTx); ok {
		at.events = append(at.events, a)
	}
	return nil
}

// emit hands committed events to the notifier and the sink. A failing sink loses nothing: the events are
// in the database.
func (e *Engine) emit(ctx context.Context, events []*clavis.AuditEvent) {
	if n := e.cfg.Notifier; n != nil {
		for _, ev := range events {
			n.Notify(ev)
		}
	}
	if e.cfg.Sink == nil || len(events) == 0 {
		return
	}
	if err := e.cfg.Sink.Write(events); err != nil {
		e.logger(ctx).Warn("audit sink failed; events are kept in the database", "err", err, "events", len(events))
	}
}

// sinkOnly reports a failure that belongs to no org (unknown email, garbage credential) to the sink
// only (spec §5.1).
func (e *Engine) sinkOnly(ctx context.Context, action, method, reason, ip string) {
	e.emit(ctx, []*clavis.AuditEvent{{ID: newID(), Action: action, ActorID: "anonymous", ActorType: clavis.PrincipalAnonymous,
		Details: map[string]any{"method": method, "reason": reason}, IPAddress: ip, CreatedAt: e.now()}})
}

// operatorEvent reports a server-level operator action (key rotations) to the log and the sink. It
// belongs to no org, so it is not part of any org's chain (spec §5.2 lists the org actions).
func (e *Engine) operatorEvent(ctx context.Context, action, resType, resID string, details map[string]any) {
	e.logger(ctx).Info("operator action", "action", action, "resource_type", resType, "resource_id", resID, "details", details)
	e.emit(ctx, []*clavis.AuditEvent{{ID: newID(), Action: action, ActorID: "operator", ActorType: "operator",
		ResourceType: resType, ResourceID: resID, Details: details, CreatedAt: e.now()}})
}

// callerEvent starts an event performed by c.
func callerEvent(c *clavis.Caller, action, resType, resID string, details map[string]any) event {
	if c.Via != "" {
		if details == nil {
			details = map[string]any{}
		}
		details["via"] = c.Via
	}
	return event{org: c.OrgID, action: action, resType: resType, resID: resID, actor: c.Principal,
		ip: ipString(c.IP), details: details}
}
