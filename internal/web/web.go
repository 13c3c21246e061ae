// Package web serves the dashboard (docs/dashboard.md) at /ui/: server-rendered html/template pages
// and embedded assets over the same services as the API. No rule lives here: every page makes its
// service calls as the signed-in user, bound per request, and shows what they return.
//
// Sessions are the server's (Service.OpenWebSession): the cookie holds only a random id, which
// authenticates /ui/ and nothing else. Every non-GET request carries a CSRF token derived from the
// cookie, every response the strict headers of §1, and pages behind sign-in are never cached.
package web

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"embed"
	"encoding/hex"
	"errors"
	"html/template"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"time"

	"clavis.dev/clavis"
	"clavis.dev/clavis/internal/ratelimit"
)

// Service is what the dashboard asks of Clavis outside a session: the sign-in steps and the sessions
// themselves (internal/engine implements it).
type Service interface {
	Signup(ctx context.Context, in clavis.SignupInput, ip netip.Addr) (*clavis.Token, error)
	Login(ctx context.Context, email, password string, ip netip.Addr) (*clavis.Token, error)
	MFAVerify(ctx context.Context, mfaToken, code string, ip netip.Addr) (*clavis.Token, error)
	// OpenWebSession trades a freshly issued user access token for a session id (and revokes the token).
	OpenWebSession(ctx context.Context, accessToken string, ip netip.Addr) (clavis.Sensitive, error)
	// WebSession resolves a session id to its user's Caller and the session's public id.
	WebSession(ctx context.Context, id string, ip netip.Addr) (*clavis.Caller, string, error)
	// CloseWebSession ends a session (logout).
	CloseWebSession(ctx context.Context, id string, ip netip.Addr) error
}

// Bound is what the dashboard asks of Clavis for the signed-in user of one request: the root's
// per-resource services (approvals, enrolments, sharing, the organisation and use without read
// included) and the dashboard sessions.
type Bound interface {
	clavis.Services
	clavis.WebSessions
}

// Options configure the dashboard.
type Options struct {
	// PublicURL is the server's public base URL: requests must name its host (DNS rebinding), and an
	// https URL makes the cookie __Host-clavis_session with Secure.
	PublicURL string
	// Bind returns the services of c for one request (engine.(*Engine).As).
	Bind func(c *clavis.Caller) Bound
	// SignupOpen shows the signup page (the server's signup mode is not closed).
	SignupOpen bool
	// TrustedProxies are the peers whose X-Forwarded-For is honoured, as for the API.
	TrustedProxies []netip.Prefix
	// IPLimiter, when set, is the API's per-IP limiter (httpapi.Options.IPLimiter): the sign-in forms
	// take their tokens from the buckets of the API routes they stand for, so the limits are shared.
	IPLimiter  *ratelimit.Limiter
	IPv6Prefix int
	Logger     *slog.Logger
}

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Handler is the dashboard; mount it at /ui/.
type Handler struct {
	svc     Service
	opt     Options
	log     *slog.Logger
	host    string // the public URL's host[:port]
	secure  bool   // the public URL is https: cookies are Secure and __Host- prefixed
	mux     *http.ServeMux
	pages   map[string]*template.Template
	statics http.Handler
}

const (
	csrfField = "csrf"
	// sessionCookie holds the session id (__Host-clavis_session over https).
	sessionCookie = "clavis_session"
	// preCookie holds a random value before sign-in, from which the sign-in forms' CSRF token derives.
	preCookie = "clavis_pre"
	// mfaCookie holds the MFA token between the password and the code steps.
	mfaCookie = "clavis_mfa"
)

// New returns the dashboard for svc.
func New(svc Service, opt Options) (*Handler, error) {
	if opt.Logger == nil {
		opt.Logger = slog.Default()
	}
	u, err := url.Parse(opt.PublicURL)
	if err != nil || u.Host == "" {
		return nil, errors.New("web: PublicURL must be an absolute URL")
	}
	h := &Handler{svc: svc, opt: opt, log: opt.Logger, host: u.Host, secure: u.Scheme == "https", mux: http.NewServeMux()}
	if h.pages, err = parsePages(); err != nil {
		return nil, err
	}
	sub, err := fs.Sub(staticFS, "static")
	if err != nil {
		return nil, err
	}
	h.statics = http.StripPrefix("/ui/static/", http.FileServerFS(sub))
	h.routes()
	return h, nil
}

// ServeHTTP checks the Host, sets the headers of every page and routes.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hd := w.Header()
	hd.Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'")
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Referrer-Policy", "no-referrer")
	hd.Set("X-Frame-Options", "DENY")
	if !strings.EqualFold(r.Host, h.host) {
		http.Error(w, "Bad request: unknown host", http.StatusBadRequest)
		return
	}
	if strings.HasPrefix(r.URL.Path, "/ui/static/") && r.Method == http.MethodGet {
		if strings.HasSuffix(r.URL.Path, "/") { // no directory listings
			http.NotFound(w, r)
			return
		}
		h.statics.ServeHTTP(w, r)
		return
	}
	h.mux.ServeHTTP(w, r)
}

// clientIP is the TCP peer, or the first untrusted hop of X-Forwarded-For when the peer is a trusted
// proxy (as the API decides it).
func (h *Handler) clientIP(r *http.Request) netip.Addr {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	peer, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Addr{}
	}
	peer = peer.Unmap()
	if !h.trusted(peer) {
		return peer
	}
	hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
	for i := len(hops) - 1; i >= 0; i-- {
		a, err := netip.ParseAddr(strings.Trim(hops[i], " \t"))
		if err != nil {
			return peer
		}
		if a = a.Unmap(); !h.trusted(a) {
			return a
		}
		peer = a
	}
	return peer
}

func (h *Handler) trusted(a netip.Addr) bool {
	for _, p := range h.opt.TrustedProxies {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// limited takes a token from the API's per-IP bucket of route, or returns the API's 429 error.
func (h *Handler) limited(r *http.Request, route string) error {
	if h.opt.IPLimiter == nil {
		return nil
	}
	if ok, wait := h.opt.IPLimiter.Allow(ratelimit.IPKey(h.clientIP(r), h.opt.IPv6Prefix) + " " + route); !ok {
		return &clavis.Error{Kind: clavis.KindRateLimited, Message: "Too many requests; retry later",
			RetryAfter: ratelimit.RetryAfterSeconds(wait)}
	}
	return nil
}

// csrfToken derives the CSRF token of a cookie value (the session id, or the pre-sign-in value): only
// a page of this origin, which the cookie's reader served, can know it.
func csrfToken(cookieValue string) string {
	sum := sha256.Sum256([]byte("clavis-csrf\x00" + cookieValue))
	return hex.EncodeToString(sum[:])
}

// csrfOK reports whether r carries the token of cookieValue, as the form field or the X-CSRF-Token header.
func csrfOK(r *http.Request, cookieValue string) bool {
	got := r.PostFormValue(csrfField)
	if got == "" {
		got = r.Header.Get("X-CSRF-Token")
	}
	want := csrfToken(cookieValue)
	return cookieValue != "" && subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}

// setCookie sets an HttpOnly, SameSite=Strict cookie scoped to /ui/; maxAge < 0 deletes it. Over https
// the name takes the __Host- prefix, which browsers accept only with Secure and Path=/ (the API never
// reads cookies, so the wider path authenticates nothing outside /ui/).
func (h *Handler) setCookie(w http.ResponseWriter, name, value string, maxAge time.Duration) {
	c := &http.Cookie{Name: name, Value: value, Path: "/ui/", HttpOnly: true, SameSite: http.SameSiteStrictMode,
		MaxAge: int(maxAge / time.Second)}
	if maxAge < 0 {
		c.MaxAge = -1
	}
	if h.secure {
		c.Name, c.Path, c.Secure = "__Host-"+name, "/", true
	}
	http.SetCookie(w, c)
}

// cookieValue returns the value of the named cookie ("" if absent).
func (h *Handler) cookieValue(r *http.Request, name string) string {
	if h.secure {
		name = "__Host-" + name
	}
	c, err := r.Cookie(name)
	if err != nil {
		return ""
	}
	return c.Value
}
