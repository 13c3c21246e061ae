package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"clavis.dev/clavis"
	"clavis.dev/clavis/internal/audit"
	"clavis.dev/clavis/internal/egress"
	"clavis.dev/clavis/internal/engine"
	"clavis.dev/clavis/internal/httpapi"
	"clavis.dev/clavis/internal/keyring"
	"clavis.dev/clavis/internal/keyring/file"
	"clavis.dev/clavis/internal/keyring/pkcs11"
	"clavis.dev/clavis/internal/netguard"
	"clavis.dev/clavis/internal/notify"
	"clavis.dev/clavis/internal/ratelimit"
	"clavis.dev/clavis/internal/store"
	"clavis.dev/clavis/internal/store/postgres"
	"clavis.dev/clavis/internal/store/sqlite"
	"clavis.dev/clavis/internal/web"
)

// serverConfig is the resolved configuration of `clavis server`.
type serverConfig struct {
	listen, dataDir, database, rootKey, signup, publicURL, rateLimits, logLevel, trustedProxies, auditSink string
	pprofListen, previousRootKey, metricsListen                                                            string
	tlsCert, tlsKey                                                                                        string
	leeway                                                                                                 time.Duration
	ipv6Prefix                                                                                             int
	authLimit, principalLimit, enrollLimit, shareLimit                                                     ratelimit.Rule
	dev, insecureHTTP                                                                                      bool
	mcpAllowUsers, mcpNoValueTools                                                                         bool
	useAllowPrivate                                                                                        []netip.Prefix
	useLimit                                                                                               int // uses per (principal, secret) a minute
	notify                                                                                                 notifyConfig
}

// parseServerFlags resolves flags > environment (CLAVIS_<FLAG>) > config file (--config) > defaults.
func parseServerFlags(args []string, stderr io.Writer) (*serverConfig, error) {
	s, err := newSettings("clavis server", args, stderr)
	if err != nil {
		return nil, err
	}
	c, leeway := declareServerFlags(s)
	if err := s.parse(args, nil); err != nil {
		return nil, err
	}
	if err := c.check(*leeway); err != nil {
		return nil, err
	}
	return c, nil
}

// declareServerFlags declares the settings of clavis server on s. The returned leeway is set by parse.
func declareServerFlags(s *settings) (*serverConfig, *string) {
	fs, env := s.fs, s.env
	c := &serverConfig{}
	fs.StringVar(&c.listen, "listen", env("listen", "127.0.0.1:8080"), "address to listen on (host:port; port 0 picks a free port)")
	fs.StringVar(&c.dataDir, "data-dir", env("data-dir", "./clavis-data"), "directory for the embedded database and the root key file")
	fs.StringVar(&c.database, "database", env("database", ""), "database: sqlite:<file> (default sqlite:<data-dir>/clavis.db) or postgres://user@host:port/db?sslmode=disable")
	fs.StringVar(&c.rootKey, "root-key", env("root-key", ""), "root key provider: file:<path> (default file:<data-dir>/root.key, generated 0600 on first start) or pkcs11:token=…;object=…?module-path=…&pin-source=file:<pin file>")
	fs.StringVar(&c.signup, "signup", env("signup", ""), "signup mode: open | first-user | closed (default first-user; open with --dev)")
	fs.StringVar(&c.publicURL, "public-url", env("public-url", ""), "public base URL used as JWT issuer and in links (default http://<listen address>, https://… with --tls-cert)")
	fs.StringVar(&c.rateLimits, "rate-limits", env("rate-limits", "on"), "rate limits: on | off (off is for benchmarks and trusted networks)")
	fs.StringVar(&c.logLevel, "log-level", env("log-level", "info"), "log level: debug | info | warn | error")
	fs.StringVar(&c.auditSink, "audit-sink", env("audit-sink", ""), "also stream committed audit events as JSON lines: stdout | file:<path> (default none)")
	fs.StringVar(&c.previousRootKey, "previous-root-key", env("previous-root-key", ""), "an earlier root key that still unwraps what it wrapped, while clavis keys rotate-root runs (same forms as --root-key)")
	fs.StringVar(&c.metricsListen, "metrics-listen", env("metrics-listen", ""), "serve /metrics only on this separate address, to every client that reaches it (default: on --listen, to loopback clients only)")
	fs.StringVar(&c.pprofListen, "pprof-listen", env("pprof-listen", ""), "serve Go's /debug/pprof profiles on this separate address (loopback only; default off)")
	fs.StringVar(&c.trustedProxies, "trusted-proxies", env("trusted-proxies", ""), "comma-separated CIDRs of proxies whose X-Forwarded-For is honoured")
	def := httpapi.DefaultRateLimits()
	c.authLimit, c.principalLimit, c.enrollLimit, c.shareLimit = def.PublicAuth, def.Principal, def.Enroll, def.ShareCreate
	for _, l := range []struct {
		name, help string
		dst        *ratelimit.Rule
	}{
		{"rate-limit-auth", "bucket per client IP and route on login, signup, key exchanges and password checks, BURST:PER_SECOND (default 30:10)", &c.authLimit},
		{"rate-limit-principal", "bucket per principal on every authenticated request, BURST:PER_SECOND (default 200:100)", &c.principalLimit},
		{"rate-limit-enroll", "bucket per client IP on agent self-enrolment requests, BURST:PER_SECOND (default 5:1)", &c.enrollLimit},
		{"rate-limit-share-create", "bucket per org on share creation, BURST:PER_SECOND (default 20:0.333, 20 a minute)", &c.shareLimit},
	} {
		dst := l.dst
		set := func(s string) error {
			r, err := parseRule(s)
			if err == nil {
				*dst = r
			}
			return err
		}
		s.funcVar(l.name, l.help, set)
	}
	c.ipv6Prefix = ratelimit.DefaultIPv6Prefix
	s.funcVar("rate-limit-ipv6-prefix", "IPv6 network length (1–128) that counts as one client IP in per-IP rate limits (default 64); IPv4 and IPv4-mapped addresses count singly",
		func(v string) error { return parseIPv6Prefix(v, &c.ipv6Prefix) })
	leeway := env("jwt-leeway", "5s")
	fs.Func("jwt-leeway", "clock skew tolerated on token expiry, 0s–60s (default 5s)", func(s string) error { leeway = s; return nil })
	s.boolVar(&c.dev, "dev", false, "development mode: open signup, loopback only, friendly banner")
	fs.StringVar(&c.tlsCert, "tls-cert", env("tls-cert", ""), "serve HTTPS with this PEM certificate chain (with --tls-key; reloaded on SIGHUP)")
	fs.StringVar(&c.tlsKey, "tls-key", env("tls-key", ""), "PEM private key of --tls-cert (a file only the server's user can read)")
	s.boolVar(&c.insecureHTTP, "insecure-http", false, "allow plaintext HTTP on a non-loopback address (behind a TLS-terminating proxy)")
	s.boolVar(&c.mcpAllowUsers, "mcp-allow-users", false, "let user credentials (1ck_ keys, user tokens) use /mcp, not only agents")
	s.boolVar(&c.mcpNoValueTools, "mcp-no-value-tools", false, "leave get_secret and get_env_bundle out of /mcp")
	s.funcVar("use-allow-private", "comma-separated CIDRs that use without read may reach although private (tests, internal APIs); metadata addresses stay refused",
		func(v string) error {
			ps, err := netguard.ParsePrefixes(v)
			if err == nil {
				c.useAllowPrivate = ps
			}
			return err
		})
	c.useLimit = 60
	s.funcVar("rate-limit-use", "uses of one secret one principal may make a minute through use without read (default 60)",
		func(v string) error {
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 {
				return fmt.Errorf("must be a positive integer")
			}
			c.useLimit = n
			return nil
		})
	declareNotifyFlags(s, &c.notify)
	return c, &leeway
}

// check validates c and fills in the defaults that depend on other settings.
func (c *serverConfig) check(leeway string) error {
	var err error
	if c.leeway, err = time.ParseDuration(leeway); err != nil || c.leeway < 0 || c.leeway > time.Minute {
		return fmt.Errorf("--jwt-leeway must be a duration between 0s and 60s")
	}
	if (c.tlsCert == "") != (c.tlsKey == "") {
		return fmt.Errorf("--tls-cert and --tls-key go together")
	}
	if c.signup == "" {
		c.signup = engine.SignupFirstUser
		if c.dev {
			c.signup = engine.SignupOpen
		}
	}
	switch c.signup {
	case engine.SignupOpen, engine.SignupFirstUser, engine.SignupClosed:
	default:
		return fmt.Errorf("--signup must be open, first-user or closed")
	}
	if c.rateLimits != "on" && c.rateLimits != "off" {
		return fmt.Errorf("--rate-limits must be on or off")
	}
	if c.database == "" {
		c.database = "sqlite:" + filepath.Join(c.dataDir, "clavis.db")
	}
	if c.rootKey == "" {
		c.rootKey = "file:" + filepath.Join(c.dataDir, "root.key")
	}
	return nil
}

// serverCommand runs `clavis server` until ctx ends or SIGINT/SIGTERM arrives, then finishes in-flight
// requests.
func serverCommand(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg, err := parseServerFlags(args, stderr)
	if err != nil {
		return err
	}
	log, err := newLogger(cfg.logLevel, stderr)
	if err != nil {
		return err
	}
	ln, certs, err := listenServer(cfg, log)
	if err != nil {
		return err
	}
	served := false // Serve closes ln from then on
	defer func() {
		if !served {
			_ = ln.Close() // nothing was served on it
		}
	}()
	if certs != nil {
		defer certs.reloadOnSIGHUP(log)()
	}
	proxies, err := parsePrefixes(cfg.trustedProxies)
	if err != nil {
		return err
	}
	notifier, err := newNotifier(&cfg.notify, log)
	if err != nil {
		return err
	}
	eng, closeEngine, err := startEngine(ctx, cfg, log, notifier)
	if err != nil {
		return err
	}
	defer closeEngine()
	opts := apiOptions(cfg, proxies, log)
	opts.Collectors = notifier.Collectors()
	opts.MCP, opts.MCPAllowUsers = mcpHTTP(eng, cfg.mcpNoValueTools), cfg.mcpAllowUsers
	if opts.RateLimits != nil {
		opts.IPLimiter = ratelimit.New(opts.RateLimits.PublicAuth, 0, nil) // shared with the dashboard's sign-in
	}
	h, err := withDashboard(httpapi.New(eng, opts), eng, cfg, opts)
	if err != nil {
		return err
	}
	srv := newHTTPServer(h, log)
	announce(cfg, ln.Addr(), log, stdout)

	if cfg.metricsListen != "" {
		msrv, err := serveMetrics(cfg.metricsListen, cfg.dev, opts.Metrics, log)
		if err != nil {
			return err
		}
		defer msrv.Close()
	}
	if cfg.pprofListen != "" {
		if err := servePprof(cfg.pprofListen, log); err != nil {
			return err
		}
	}
	served = true
	return serveUntilSignal(ctx, srv, ln, certs, log)
}

// withDashboard serves the dashboard at /ui/ (and redirects / there) beside api, which serves the rest.
func withDashboard(api http.Handler, eng *engine.Engine, cfg *serverConfig, opts httpapi.Options) (http.Handler, error) {
	wo := web.Options{PublicURL: cfg.publicURL, SignupOpen: cfg.signup != engine.SignupClosed,
		TrustedProxies: opts.TrustedProxies, IPLimiter: opts.IPLimiter, Logger: opts.Logger,
		Bind: func(c *clavis.Caller) web.Bound { return eng.As(c) }}
	if opts.RateLimits != nil {
		wo.IPv6Prefix = opts.RateLimits.IPv6Prefix
	}
	ui, err := web.New(eng, wo)
	if err != nil {
		return nil, err
	}
	// Dispatch by prefix, not with a ServeMux, which would redirect unclean paths that the API must
	// answer itself (a secret path with ".." is a 400, spec §4.5.1).
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch p := r.URL.Path; {
		case p == "/" && r.Method == http.MethodGet:
			http.Redirect(w, r, "/ui/", http.StatusFound)
		case p == "/ui" || strings.HasPrefix(p, "/ui/"):
			ui.ServeHTTP(w, r)
		default:
			api.ServeHTTP(w, r)
		}
	}), nil
}

// newLogger returns the server's JSON logger at the named level.
func newLogger(level string, w io.Writer) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level: %v", err)
	}
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: l})), nil
}

// listenServer opens the API listener, checks that --dev listens on loopback only, loads the TLS pair
// (nil without --tls-cert) and fills in cfg.publicURL from the bound address when it is unset. On error
// nothing is left open.
func listenServer(cfg *serverConfig, log *slog.Logger) (net.Listener, *certificates, error) {
	ln, err := net.Listen("tcp", cfg.listen)
	if err != nil {
		return nil, nil, fmt.Errorf("listen: %w", err)
	}
	addr := ln.Addr().(*net.TCPAddr)
	if cfg.dev && !addr.IP.IsLoopback() {
		_ = ln.Close() // nothing was served on it
		return nil, nil, fmt.Errorf("--dev serves loopback only; %s is not a loopback address", cfg.listen)
	}
	certs, err := listenSecurity(cfg, addr, log)
	if err != nil {
		_ = ln.Close() // nothing was served on it
		return nil, nil, err
	}
	if cfg.publicURL == "" {
		cfg.publicURL = "http://" + addr.String()
		if certs != nil {
			cfg.publicURL = "https://" + addr.String()
		}
	}
	cfg.publicURL = strings.TrimRight(cfg.publicURL, "/")
	return ln, certs, nil
}

// startEngine creates the data directory, opens the store, the root key (and --previous-root-key) and
// the audit sink, and starts the engine over them. The returned close stops the engine and then closes
// what it opened, in reverse order; on error nothing is left open.
//
// The notifier gets the engine's committed audit events and is started over the engine; closing stops it
// (letting queued notices go out for a moment) before the engine.
func startEngine(ctx context.Context, cfg *serverConfig, log *slog.Logger, notifier *notify.Notifier) (_ *engine.Engine, closeAll func(), err error) {
	var closers []func() error
	closeAll = func() {
		for i := len(closers) - 1; i >= 0; i-- {
			_ = closers[i]()
		}
	}
	defer func() {
		if err != nil {
			closeAll()
		}
	}()
	if err := os.MkdirAll(cfg.dataDir, 0o700); err != nil { // #nosec G703 -- the operator's --data-dir
		return nil, nil, fmt.Errorf("data dir: %w", err)
	}
	st, err := openStore(ctx, cfg.database)
	if err != nil {
		return nil, nil, err
	}
	closers = append(closers, st.Close)
	root, err := openRootKey(cfg.rootKey, true)
	if err != nil {
		return nil, nil, err
	}
	if c, ok := root.(io.Closer); ok {
		closers = append(closers, c.Close)
	}
	ecfg := engine.Config{Issuer: cfg.publicURL, SignupMode: cfg.signup, Leeway: cfg.leeway, Version: version, Logger: log,
		Egress: egress.New(netguard.New(cfg.useAllowPrivate)), UseRateLimit: cfg.useLimit, Notifier: notifier}
	if cfg.auditSink != "" {
		sink, closer, err := audit.OpenSink(cfg.auditSink)
		if err != nil {
			return nil, nil, fmt.Errorf("--audit-sink: %w", err)
		}
		closers = append(closers, closer.Close)
		ecfg.Sink = sink
	}
	var kopt keyring.Options
	if cfg.previousRootKey != "" {
		prev, err := openRootKey(cfg.previousRootKey, false)
		if err != nil {
			return nil, nil, fmt.Errorf("--previous-root-key: %w", err)
		}
		if c, ok := prev.(io.Closer); ok {
			closers = append(closers, c.Close)
		}
		kopt.Previous = []keyring.RootKey{prev}
	}
	eng, err := engine.New(ctx, st, keyring.New(root, kopt), ecfg)
	if err != nil {
		return nil, nil, fmt.Errorf("starting engine: %w", err)
	}
	closers = append(closers, func() error { eng.Close(); return nil })
	notifier.Start(eng)
	closers = append(closers, func() error { notifier.Close(); return nil })
	return eng, closeAll, nil
}

// apiOptions returns the HTTP API's options for cfg; Metrics is a fresh registry with --metrics-listen.
func apiOptions(cfg *serverConfig, proxies []netip.Prefix, log *slog.Logger) httpapi.Options {
	opts := httpapi.Options{Version: version, PublicURL: cfg.publicURL, TrustedProxies: proxies, Logger: log}
	if cfg.rateLimits == "on" {
		opts.RateLimits = &httpapi.RateLimits{PublicAuth: cfg.authLimit, Principal: cfg.principalLimit, Enroll: cfg.enrollLimit,
			IPv6Prefix: cfg.ipv6Prefix, ShareCreate: cfg.shareLimit}
	}
	if cfg.metricsListen != "" {
		opts.Metrics = prometheus.NewRegistry()
	}
	return opts
}

// announce logs the listening line and, in dev mode, prints the banner on stdout.
func announce(cfg *serverConfig, addr net.Addr, log *slog.Logger, stdout io.Writer) {
	log.Info("clavis listening", "addr", addr.String(), "public_url", cfg.publicURL, "database", redactDSN(cfg.database),
		"signup", cfg.signup, "version", version)
	if cfg.dev {
		fmt.Fprintf(stdout, "Clavis %s (dev mode) listening on %s — open signup, data in %s\n"+
			"Dashboard: %s/ui/\n"+
			"Sign up:  curl -s -X POST %s/v1/auth/signup -H 'Content-Type: application/json' "+
			"-d '{\"email\":\"you@example.com\",\"password\":\"a-long-passphrase\"}'\n",
			version, cfg.publicURL, cfg.dataDir, cfg.publicURL, cfg.publicURL)
	}
}

// serveUntilSignal serves srv on ln (over TLS when certs is set) until serving fails, ctx ends or
// SIGINT/SIGTERM arrives; then it shuts srv down, giving in-flight requests up to 30 s. ln is closed on
// return.
func serveUntilSignal(ctx context.Context, srv *http.Server, ln net.Listener, certs *certificates, log *slog.Logger) error {
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	errc := make(chan error, 1)
	if certs != nil {
		srv.TLSConfig = certs.tlsConfig()
		go func() { errc <- srv.ServeTLS(ln, "", "") }()
	} else {
		go func() { errc <- srv.Serve(ln) }()
	}
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down: finishing in-flight requests")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// maxHeaderBytes makes net/http's request head limit 64 KiB, request line included (spec §6.1): it reads
// 4096 bytes beyond Server.MaxHeaderBytes before it answers 431. (Bytes of a pipelined request that are
// already buffered escape that count; the API handler checks the head size too.)
const maxHeaderBytes = httpapi.MaxHeaderBytes - 4096

// newHTTPServer serves h with the timeouts and header limit of spec §6.1.
func newHTTPServer(h http.Handler, log *slog.Logger) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    maxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
}

// serveMetrics serves reg as GET /metrics, and nothing else, on its own listener at addr (loopback only
// in dev mode). The caller closes the returned server.
func serveMetrics(addr string, dev bool, reg *prometheus.Registry, log *slog.Logger) (*http.Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("--metrics-listen: %w", err)
	}
	if dev && !ln.Addr().(*net.TCPAddr).IP.IsLoopback() {
		_ = ln.Close() // nothing was served on it
		return nil, fmt.Errorf("--dev serves loopback only; --metrics-listen %s is not a loopback address", addr)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	srv := newHTTPServer(mux, log)
	log.Info("metrics listening", "addr", ln.Addr().String())
	go func() { _ = srv.Serve(ln) }()
	return srv, nil
}

// parseRule parses BURST:PER_SECOND.
func parseRule(s string) (ratelimit.Rule, error) {
	b, r, ok := strings.Cut(s, ":")
	burst, err1 := strconv.Atoi(b)
	rate, err2 := strconv.ParseFloat(r, 64)
	if !ok || err1 != nil || err2 != nil || burst < 1 || rate <= 0 {
		return ratelimit.Rule{}, fmt.Errorf("want BURST:PER_SECOND with positive numbers, got %q", s)
	}
	return ratelimit.Rule{Burst: burst, Rate: rate}, nil
}

// parseIPv6Prefix parses a prefix length of 1 to 128 into dst.
func parseIPv6Prefix(s string, dst *int) error {
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > 128 {
		return fmt.Errorf("want an IPv6 prefix length from 1 to 128, got %q", s)
	}
	*dst = n
	return nil
}

func parsePrefixes(s string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		if !strings.Contains(f, "/") {
			a, err := netip.ParseAddr(f)
			if err != nil {
				return nil, fmt.Errorf("--trusted-proxies: %q is not an address or CIDR", f)
			}
			f = netip.PrefixFrom(a, a.BitLen()).String()
		}
		p, err := netip.ParsePrefix(f)
		if err != nil {
			return nil, fmt.Errorf("--trusted-proxies: %q is not an address or CIDR", f)
		}
		out = append(out, p.Masked())
	}
	return out, nil
}

// openStore opens the database named by dsn.
func openStore(ctx context.Context, dsn string) (store.Store, error) {
	switch {
	case strings.HasPrefix(dsn, "sqlite:"):
		return sqlite.Open(ctx, strings.TrimPrefix(dsn, "sqlite:"))
	case strings.HasPrefix(dsn, "postgres://"), strings.HasPrefix(dsn, "postgresql://"):
		s, err := postgres.Open(ctx, dsn)
		if err != nil {
			return nil, fmt.Errorf("--database: %w", err)
		}
		return s, nil
	}
	return nil, fmt.Errorf("--database: want sqlite:<file> or postgres://…")
}

// openRootKey opens the root-key provider named by spec, creating the key on first use when create is set.
// A provider that holds resources (pkcs11) also implements io.Closer: close it after the engine.
func openRootKey(spec string, create bool) (keyring.RootKey, error) {
	if p, ok := strings.CutPrefix(spec, "file:"); ok {
		k, err := file.Open(p, create)
		if err != nil {
			return nil, fmt.Errorf("--root-key: %w", err)
		}
		return k, nil
	}
	if strings.HasPrefix(spec, "pkcs11:") {
		k, err := pkcs11.Open(spec, create)
		if err != nil {
			return nil, fmt.Errorf("--root-key: %w", err)
		}
		return k, nil
	}
	return nil, fmt.Errorf("--root-key: want file:<path> or pkcs11:token=…;object=…?module-path=…&pin-source=file:…")
}

// redactDSN hides passwords (in the user info or a password parameter) in a database URL for logging.
func redactDSN(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil || u.Scheme == "sqlite" || u.Opaque != "" {
		if strings.HasPrefix(dsn, "sqlite:") {
			return dsn
		}
		return "(unparseable database URL)"
	}
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return "(unparseable database URL)" // u.Query() would drop what it cannot parse, a password included
	}
	if q.Has("password") {
		q.Set("password", "xxxxx")
		u.RawQuery = q.Encode()
	}
	return u.Redacted()
}
