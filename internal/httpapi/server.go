// Package httpapi serves a Service over HTTP with the wire contract of spec/api.md. Handlers parse
// the request, make one service call and write JSON or a problem document; no rule lives here.
package httpapi

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"clavis.dev/clavis"
	"clavis.dev/clavis/internal/ratelimit"
)

// Options configure the HTTP layer.
type Options struct {
	Version        string         // reported by /v1/health
	PublicURL      string         // public base URL, no trailing slash
	TrustedProxies []netip.Prefix // peers whose X-Forwarded-For is honoured
	Logger         *slog.Logger
	// Metrics, when set, receives the HTTP metrics and is served by the caller on a listener of its own
	// (--metrics-listen): /metrics on the API then answers 404 to everyone. When nil, the API keeps its own
	// registry and serves /metrics to clients on this host only (see loopbackClient).
	Metrics *prometheus.Registry
	// Collectors are more metrics to serve on /metrics (the notifier's).
	Collectors []prometheus.Collector
	// RateLimits are the token buckets of spec §6.2; nil turns rate limiting off.
	RateLimits *RateLimits
	// IPLimiter, when set with RateLimits, holds the per-IP buckets instead of one made from
	// RateLimits.PublicAuth, so that the dashboard's sign-in forms can share them (docs/dashboard.md §1).
	IPLimiter *ratelimit.Limiter
	// MCP, when set, serves /mcp (docs/mcp.md §1): after the Origin check, authentication and the
	// per-principal rate limit, the request goes to the handler MCP returns for its caller, whose Via
	// is "mcp". See mcp.go.
	MCP func(c *clavis.Caller, r *http.Request) http.Handler
	// MCPAllowUsers lets user credentials use /mcp; otherwise only agents may (--mcp-allow-users).
	MCPAllowUsers bool
}

// RateLimits shapes the token buckets of spec §6.2.
type RateLimits struct {
	PublicAuth ratelimit.Rule // per client IP and route on the credential routes (default 30, 10/s)
	Principal  ratelimit.Rule // per principal on every authenticated request (default 200, 100/s)
	Enroll     ratelimit.Rule // per client IP on POST /v1/agents/enroll (default 5, 1/s)
	// IPv6Prefix is the IPv6 network length that counts as one client IP (default 64, see ratelimit.IPKey).
	IPv6Prefix int
	// ShareCreate limits share creation per org (default 20, 20/min).
	ShareCreate ratelimit.Rule
}

// DefaultRateLimits are the spec's defaults.
func DefaultRateLimits() *RateLimits {
	return &RateLimits{PublicAuth: ratelimit.Rule{Burst: 30, Rate: 10}, Principal: ratelimit.Rule{Burst: 200, Rate: 100},
		Enroll: ratelimit.Rule{Burst: 5, Rate: 1}, IPv6Prefix: ratelimit.DefaultIPv6Prefix, ShareCreate: defaultShareCreate}
}

// defaultShareCreate is the per-org share creation limit of spec §6.2.
var defaultShareCreate = ratelimit.Rule{Burst: 20, Rate: 20.0 / 60}

// shareRule is rl's share creation limit, the default when unset.
func (rl *RateLimits) shareRule() ratelimit.Rule {
	if rl.ShareCreate == (ratelimit.Rule{}) {
		return defaultShareCreate
	}
	return rl.ShareCreate
}

// ipLimited lists the routes limited per client IP and route (spec §6.2): the public credential routes,
// and the authenticated ones that check the account password (with the login bucket, so that a stolen
// token or key does not buy unlimited guesses).
var ipLimited = map[string]bool{
	"POST /v1/auth/signup": true, "POST /v1/auth/token": true, "POST /v1/auth/agent-token": true,
	"POST /v1/auth/api-key-token": true, "POST /v1/auth/refresh": true, "POST /v1/auth/mfa/verify": true,
	"POST /v1/auth/change-password": true, "DELETE /v1/auth/mfa": true,
	"GET /v1/agents/enroll/{enrollment_id}": true,
	"GET /v1/share/{share_id}":              true,
}

// enrollRoute is limited per client IP with its own bucket (spec §6.2).
const enrollRoute = "POST /v1/agents/enroll"

// handler serves one route. c is nil on public routes.
type handler func(s *server, w http.ResponseWriter, r *http.Request, c *clavis.Caller) error

// route is one row of the routes table; the table is the single source for the mux and /openapi.json.
type route struct {
	method  string
	pattern string // Go 1.22 ServeMux path pattern
	public  bool
	summary string
	h       handler
	// The bodies, for /openapi.json: in is the zero value of the request body's type (nil: none);
	// status is the success status (0: the route never succeeds) and out the zero value of the type
	// its body is encoded from (nil: no body; a string: text/plain; a mediaTyper: its media type).
	in     any
	status int
	out    any
}

type server struct {
	svc     Service
	opt     Options
	log     *slog.Logger
	mux     *http.ServeMux
	reg     *prometheus.Registry
	reqs    *prometheus.CounterVec
	latency *prometheus.HistogramVec
	openapi []byte
	// perIP, perPrincipal, perIPEnroll and perOrgShares are nil when rate limits are off.
	perIP, perPrincipal, perIPEnroll, perOrgShares *ratelimit.Limiter
}

// New returns the API handler for svc.
func New(svc Service, opt Options) http.Handler {
	if opt.Logger == nil {
		opt.Logger = slog.Default()
	}
	s := &server{svc: svc, opt: opt, log: opt.Logger, mux: http.NewServeMux(), reg: opt.Metrics}
	if s.reg == nil {
		s.reg = prometheus.NewRegistry()
	}
	s.reqs = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "clavis_http_requests_total",
		Help: "HTTP requests by method, route pattern and status code."}, []string{"method", "route", "code"})
	s.latency = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "clavis_http_request_duration_seconds",
		Help: "HTTP request latency by method and route pattern.", Buckets: prometheus.DefBuckets}, []string{"method", "route"})
	s.reg.MustRegister(s.reqs, s.latency, collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	s.reg.MustRegister(opt.Collectors...)
	if rl := opt.RateLimits; rl != nil {
		s.perIP = opt.IPLimiter
		if s.perIP == nil {
			s.perIP = ratelimit.New(rl.PublicAuth, 0, nil)
		}
		s.perPrincipal = ratelimit.New(rl.Principal, 0, nil)
		enroll := rl.Enroll
		if enroll.Burst == 0 {
			enroll = DefaultRateLimits().Enroll
		}
		s.perIPEnroll = ratelimit.New(enroll, 0, nil)
		s.perOrgShares = ratelimit.New(rl.shareRule(), 0, nil)
	}
	for _, rt := range routes() {
		s.mux.Handle(rt.method+" "+rt.pattern, s.wrap(rt))
	}
	if opt.MCP != nil {
		for _, m := range []string{"POST", "GET", "DELETE"} {
			s.mux.Handle(m+" /mcp", s.mcp())
		}
	}
	s.openapi = openAPI(routes(), opt.Version, opt.PublicURL)
	return s
}

// ServeHTTP assigns the request id, refuses unclean paths, routes (404/405 as problems) and records metrics.
func (s *server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	id := newRequestID()
	w.Header().Set("X-Request-Id", id)
	r = r.WithContext(clavis.WithRequestID(r.Context(), id))
	if len(r.TransferEncoding) > 0 || !r.ProtoAtLeast(1, 1) {
		// net/http has already normalised the framing (dropped a Content-Length sent with Transfer-Encoding,
		// ignored Transfer-Encoding on HTTP/1.0), so a smuggling attempt cannot be told from an honest
		// chunked or HTTP/1.0 request: close the connection after answering any of them (RFC 9112 §6.1, §6.3).
		w.Header().Set("Connection", "close")
	}
	rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
	pattern := "unmatched"
	defer func() {
		if p := recover(); p != nil {
			clavis.Log(r.Context(), s.log).Error("panic serving request", "route", pattern, "panic", p)
			if !rec.wrote {
				statusProblem(rec, http.StatusInternalServerError, "internal error (request id "+id+")")
			}
		}
		method := methodLabel(r.Method)
		s.reqs.WithLabelValues(method, pattern, strconv.Itoa(rec.status)).Inc()
		s.latency.WithLabelValues(method, pattern).Observe(time.Since(start).Seconds())
	}()
	if headSize(r) > MaxHeaderBytes {
		// net/http's own limit has slack (4 KiB beyond Server.MaxHeaderBytes, more for pipelined requests)
		statusProblem(rec, http.StatusRequestHeaderFieldsTooLarge, "Request headers exceed 64 KiB")
		return
	}
	if !clean(r.URL.Path) {
		// Go's mux would redirect; the contract says a secret path with empty, "." or ".." segments is a 400.
		if secretRoute(r.URL.Path) {
			writeError(rec, clavis.Invalid("path", "invalid secret path"))
		} else {
			statusProblem(rec, http.StatusNotFound, "Not found")
		}
		return
	}
	_, p := s.mux.Handler(r)
	if p == "" || r.Method == http.MethodHead {
		// The mux serves HEAD with a GET route's handler, which would read (and spend) a value: no route
		// allows HEAD, so it is refused here for all of them.
		if allow := s.allowed(r); len(allow) > 0 {
			rec.Header().Set("Allow", strings.Join(allow, ", "))
			statusProblem(rec, http.StatusMethodNotAllowed, "Method not allowed")
			return
		}
		statusProblem(rec, http.StatusNotFound, "Not found")
		return
	}
	if _, route, ok := strings.Cut(p, " "); ok {
		pattern = route
	}
	s.mux.ServeHTTP(rec, r) // routes again so that r.PathValue works in the handler
}

// methodLabel is r.Method for the metrics, with the methods no route serves folded into "other": a
// client picks the method, and every distinct label value would be a new series kept forever.
func methodLabel(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete, http.MethodOptions:
		return m
	}
	return "other"
}

// MaxHeaderBytes is the request head limit of spec §6.1: the request line and header fields.
const MaxHeaderBytes = 64 << 10

// headSize is the size of r's request head as if sent with single spaces and no repeated Host: a lower
// bound of the bytes it took on the wire.
func headSize(r *http.Request) int {
	n := len(r.Method) + len(" ") + len(r.RequestURI) + len(" ") + len(r.Proto) + len("\r\n")
	if r.Host != "" {
		n += len("Host: ") + len(r.Host) + len("\r\n")
	}
	for k, vs := range r.Header {
		for _, v := range vs {
			n += len(k) + len(": ") + len(v) + len("\r\n")
		}
	}
	return n + len("\r\n")
}

// clean reports whether p has no empty, "." or ".." segments (a trailing slash is allowed only at the root).
func clean(p string) bool {
	if p == "/" {
		return true
	}
	return path.Clean(p) == p
}

// secretRoute reports whether p addresses a secret path route (where a bad tail is a 400, spec §4.5.1).
func secretRoute(p string) bool {
	rest, ok := strings.CutPrefix(p, "/v1/vaults/")
	if !ok {
		return false
	}
	_, tail, ok := strings.Cut(rest, "/")
	if !ok {
		return false
	}
	for _, prefix := range []string{"secrets/", "secret-versions/", "secret-version/", "secret-version-disable/", "secret-rotate/", "secret-restore/"} {
		if strings.HasPrefix(tail, prefix) {
			return true
		}
	}
	return false
}

// allowed lists the methods some route serves at r's path (empty: the path is no route at all).
func (s *server) allowed(r *http.Request) []string {
	var out []string
	for _, m := range []string{"GET", "POST", "PUT", "PATCH", "DELETE"} {
		probe := r.Clone(r.Context())
		probe.Method = m
		if _, p := s.mux.Handler(probe); p != "" {
			out = append(out, m)
		}
	}
	return out
}

func newRequestID() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// wrap turns a route's handler into an http.Handler in the order of spec §1.9: per-IP rate limit, body
// limit, authentication, per-principal rate limit, query syntax, handler; errors are rendered as problems.
func (s *server) wrap(rt route) http.Handler {
	key := rt.method + " " + rt.pattern
	limitIP := ipLimited[key] && s.perIP != nil
	limitEnroll := key == enrollRoute && s.perIPEnroll != nil
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if limitIP {
			if err := limited(s.perIP, ratelimit.IPKey(s.clientIP(r), s.opt.RateLimits.IPv6Prefix)+" "+key); err != nil {
				writeError(w, err)
				return
			}
		}
		if limitEnroll {
			if err := limited(s.perIPEnroll, ratelimit.IPKey(s.clientIP(r), s.opt.RateLimits.IPv6Prefix)); err != nil {
				writeError(w, err)
				return
			}
		}
		if r.ContentLength > maxBodyBytes {
			writeError(w, errBodyTooLarge)
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, maxBodyBytes)
		var c *clavis.Caller
		if !rt.public {
			var err error
			if c, err = s.authenticate(r); err != nil {
				writeError(w, err)
				return
			}
			if s.perPrincipal != nil {
				if err := limited(s.perPrincipal, c.Principal.String()); err != nil {
					writeError(w, err)
					return
				}
			}
		}
		if _, err := url.ParseQuery(r.URL.RawQuery); err != nil {
			// e.g. more than 10 000 parameters, a bad escape or a semicolon: r.URL.Query() would silently
			// drop what it could not parse, filters included.
			writeError(w, errBadQuery)
			return
		}
		if err := rt.h(s, w, r, c); err != nil {
			var ce *clavis.Error
			if !errors.As(err, &ce) {
				// not classified by the service, hence not logged there
				clavis.Log(r.Context(), s.log).Error("internal error", "route", key, "err", err)
			}
			writeError(w, err)
		}
	})
}

// limited takes a token for key, or returns the 429 error with its Retry-After.
func limited(l *ratelimit.Limiter, key string) error {
	if ok, wait := l.Allow(key); !ok {
		return &clavis.Error{Kind: clavis.KindRateLimited, Message: "Too many requests; retry later",
			RetryAfter: ratelimit.RetryAfterSeconds(wait)}
	}
	return nil
}

// authenticate resolves the Authorization header. Only RFC 6750's form is accepted: one header, the
// scheme "Bearer" in any case (spec §2.2), exactly one space and a b64token; anything else is a 401, so
// that a credential has one spelling.
func (s *server) authenticate(r *http.Request) (*clavis.Caller, error) {
	hs := r.Header.Values("Authorization")
	var scheme, cred string
	if len(hs) == 1 {
		scheme, cred, _ = strings.Cut(hs[0], " ")
	}
	if !strings.EqualFold(scheme, "Bearer") || !b64token(cred) {
		return nil, clavis.E(clavis.KindUnauthorized, "Missing or malformed Authorization header")
	}
	return s.svc.Authenticate(r.Context(), cred, s.clientIP(r))
}

// b64token reports whether t is an RFC 6750 b64token: 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"=".
func b64token(t string) bool {
	t = strings.TrimRight(t, "=")
	if t == "" {
		return false
	}
	for i := 0; i < len(t); i++ {
		c := t[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("-._~+/", c) >= 0) {
			return false
		}
	}
	return true
}

// clientIP is the TCP peer, or the first untrusted hop of X-Forwarded-For when the peer is a trusted proxy.
func (s *server) clientIP(r *http.Request) netip.Addr {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	peer, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Addr{}
	}
	peer = peer.Unmap()
	if !s.trusted(peer) {
		return peer
	}
	// every X-Forwarded-For line: a proxy may add its own line rather than extend the client's
	hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
	for i := len(hops) - 1; i >= 0; i-- {
		a, err := netip.ParseAddr(strings.Trim(hops[i], " \t")) // OWS only, not Unicode spaces
		if err != nil {
			return peer
		}
		a = a.Unmap()
		if !s.trusted(a) {
			return a
		}
		peer = a
	}
	return peer
}

// loopbackClient reports whether r comes straight from this host: the TCP peer is a loopback address
// and forwards for nobody. X-Forwarded-For is not believed here, not even from a trusted proxy; a peer
// that sends it (or Forwarded, X-Real-IP) is a proxy relaying someone else, so it is refused.
func loopbackClient(r *http.Request) bool {
	for _, h := range []string{"X-Forwarded-For", "Forwarded", "X-Real-Ip"} {
		if _, ok := r.Header[h]; ok {
			return false
		}
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return false
	}
	a, err := netip.ParseAddr(host)
	return err == nil && a.Unmap().IsLoopback()
}

func (s *server) trusted(a netip.Addr) bool {
	for _, p := range s.opt.TrustedProxies {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// statusRecorder remembers the status code for metrics.
type statusRecorder struct {
	http.ResponseWriter
	status int
	wrote  bool
}

func (r *statusRecorder) WriteHeader(code int) {
	if !r.wrote {
		r.status, r.wrote = code, true
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Write(b []byte) (int, error) {
	r.wrote = true
	return r.ResponseWriter.Write(b)
}

// ready reports readiness within a short deadline.
func (s *server) ready(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	return s.svc.Ready(ctx)
}
