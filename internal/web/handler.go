package web

import (
	"bytes"
	"errors"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"clavis.dev/clavis"
)

// req is one request as a handler sees it. On pages behind sign-in, svc and caller are the user's.
type req struct {
	w         http.ResponseWriter
	r         *http.Request
	svc       Bound
	caller    *clavis.Caller
	sessionID string // the session's public id
	csrf      string
	user      *clavis.User // loaded for the layout on first render
}

// view builds a page: the template's name and its data.
type view func(h *Handler, q *req) (string, any, error)

// action handles a form POST: it redirects or renders, or returns an error. A *reshow error renders a
// view again with the message of its cause (a form error), the form's value fields empty.
type action func(h *Handler, q *req) error

type reshow struct {
	v   view
	err error
}

func (e *reshow) Error() string { return e.err.Error() }

// again asks the wrapper to show v with err's message.
func again(v view, err error) error { return &reshow{v: v, err: err} }

// maxFormBytes bounds a form body: a secret value of the API's maximum and its fields.
const maxFormBytes = 2 << 20

// page is the data of the layout around every screen.
type page struct {
	Title    string
	User     *clavis.User
	CSRF     string
	Error    string
	Flash    string
	Section  string
	Data     any
	SignupOn bool
}

// done messages, shown after a redirect that names them (?done=…).
var doneMessages = map[string]string{ // #nosec G101 -- messages shown to the user, no credential
	"vault-created": "Vault created.", "vault-deleted": "Vault deleted.", "secret-saved": "Secret saved.",
	"secret-deleted": "Secret deleted.", "secret-rotated": "Secret rotated: a new version was generated.",
	"version-disabled": "Version disabled.", "version-restored": "Version restored as the new latest version.",
	"policy-created": "Policy created.", "policy-updated": "Policy updated.", "policy-deleted": "Policy deleted.",
	"agent-updated": "Agent updated.", "agent-deleted": "Agent deleted.", "profile-saved": "Profile saved.",
	"apikey-revoked": "API key revoked.", "session-revoked": "Session ended.", "mfa-disabled": "Two-factor authentication is off.",
	"password-changed": "Password changed. Sign in again with the new password.",
	"use-saved":        "Destination config saved.", "use-deleted": "Destination config removed: the secret cannot be used.",
	"share-created": "Share created.", "share-revoked": "Share revoked.", "share-accepted": "Share accepted.",
	"share-declined": "Share declined.", "approval-approved": "Approved.", "approval-rejected": "Rejected.",
	"enrollment-approved": "Enrolment approved: the agent is registered and gets its key on its next poll.",
	"enrollment-denied":   "Enrolment denied.", "member-invited": "Invitation created: the person joins when they sign up with that email.",
	"member-role": "Role changed.", "member-removed": "Member removed: their sessions and keys stopped working.",
	"iprule-created": "IP rule added.", "iprule-deleted": "IP rule deleted.",
}

// signedIn wraps a screen behind sign-in: the session cookie must name a live session; a POST must
// carry the session's CSRF token.
func (h *Handler) signedIn(v view, a action) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		ip := h.clientIP(r)
		id := h.cookieValue(r, sessionCookie)
		c, sid, err := h.svc.WebSession(r.Context(), id, ip)
		if err != nil {
			if clavis.IsKind(err, clavis.KindUnauthorized) {
				if id != "" {
					h.setCookie(w, sessionCookie, "", -1)
				}
				next := ""
				if r.Method == http.MethodGet {
					next = "?next=" + url.QueryEscape(r.URL.RequestURI())
				}
				http.Redirect(w, r, "/ui/login"+next, http.StatusSeeOther)
				return
			}
			h.fail(&req{w: w, r: r}, err)
			return
		}
		q := &req{w: w, r: r, svc: h.opt.Bind(c), caller: c, sessionID: sid, csrf: csrfToken(id)}
		if r.Method == http.MethodGet {
			if v != nil {
				h.show(q, v, nil)
			} else {
				h.run(q, a) // a GET that writes something else than a page (the QR image)
			}
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
		if !csrfOK(r, id) {
			h.plain(w, http.StatusForbidden, "Forbidden: missing or wrong CSRF token. Reload the page and try again.")
			return
		}
		h.run(q, a)
	})
}

// public wraps a sign-in screen: a pre-sign-in cookie carries the value its CSRF token derives from.
func (h *Handler) public(v view, a action) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		pre := h.cookieValue(r, preCookie)
		if r.Method == http.MethodGet {
			if pre == "" {
				pre = newRandom()
				h.setCookie(w, preCookie, pre, 12*time.Hour)
			}
			h.show(&req{w: w, r: r, csrf: csrfToken(pre)}, v, nil)
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
		if !csrfOK(r, pre) {
			h.plain(w, http.StatusForbidden, "Forbidden: missing or wrong CSRF token. Reload the page and try again.")
			return
		}
		h.run(&req{w: w, r: r, csrf: csrfToken(pre)}, a)
	})
}

func (h *Handler) run(q *req, a action) {
	err := a(h, q)
	var rs *reshow
	switch {
	case err == nil:
	case errors.As(err, &rs):
		h.show(q, rs.v, rs.err)
	default:
		h.fail(q, err)
	}
}

// show renders v, with formErr's message when it is set (and the status of its kind).
func (h *Handler) show(q *req, v view, formErr error) {
	name, data, err := v(h, q)
	if err != nil {
		h.fail(q, err)
		return
	}
	status := http.StatusOK
	msg := ""
	if formErr != nil {
		status, msg = h.describe(q, formErr)
	}
	h.render(q, status, name, data, msg)
}

// render writes the named page in the layout.
func (h *Handler) render(q *req, status int, name string, data any, errMsg string) {
	t := h.pages[name]
	p := page{Title: titles[name], CSRF: q.csrf, Error: errMsg, Section: sections[name], Data: data,
		SignupOn: h.opt.SignupOpen, Flash: doneMessages[q.r.URL.Query().Get("done")]}
	if q.svc != nil {
		if q.user == nil {
			q.user, _ = q.svc.Me(q.r.Context()) // the layout does without it
		}
		p.User = q.user
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", p); err != nil {
		clavis.Log(q.r.Context(), h.log).Error("render page", "page", name, "err", err)
		h.plain(q.w, http.StatusInternalServerError, "Internal error")
		return
	}
	q.w.Header().Set("Content-Type", "text/html; charset=utf-8")
	q.w.WriteHeader(status)
	_, _ = q.w.Write(buf.Bytes())
}

// fail renders err as an error page (an expired session sends the browser to sign in again).
func (h *Handler) fail(q *req, err error) {
	if clavis.IsKind(err, clavis.KindUnauthorized) && q.svc != nil {
		h.setCookie(q.w, sessionCookie, "", -1)
		http.Redirect(q.w, q.r, "/ui/login", http.StatusSeeOther)
		return
	}
	status, msg := h.describe(q, err)
	h.render(q, status, "error", nil, msg)
}

// describe returns the status and the message to show for err; internal errors show a request id only.
func (h *Handler) describe(q *req, err error) (int, string) {
	var ce *clavis.Error
	if !errors.As(err, &ce) || ce.Kind == clavis.KindInternal {
		clavis.Log(q.r.Context(), h.log).Error("internal error", "path", q.r.URL.Path, "err", err)
		return http.StatusInternalServerError, "Internal error. Try again later."
	}
	status := map[clavis.Kind]int{
		clavis.KindInvalid: 400, clavis.KindUnauthorized: 401, clavis.KindForbidden: 403, clavis.KindNotFound: 404,
		clavis.KindConflict: 409, clavis.KindGone: 410, clavis.KindTooLarge: 413, clavis.KindRateLimited: 429,
		clavis.KindUnavailable: 503, clavis.KindLimitExceeded: 403, clavis.KindApprovalRequired: 403,
	}[ce.Kind]
	if status == 0 {
		status = http.StatusBadRequest
	}
	msg := ce.Message
	if msg == "" {
		msg = http.StatusText(status)
	}
	if ce.RetryAfter > 0 {
		q.w.Header().Set("Retry-After", strconv.Itoa(ce.RetryAfter))
	}
	return status, msg
}

func (h *Handler) plain(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(msg + "\n"))
}

// redirect answers a successful POST with 303 to path, naming a done message.
func redirect(q *req, path, done string) error {
	if done != "" {
		sep := "?"
		if strings.Contains(path, "?") {
			sep = "&"
		}
		path += sep + "done=" + done
	}
	http.Redirect(q.w, q.r, path, http.StatusSeeOther)
	return nil
}

// --- templates ---

var titles = map[string]string{
	"login": "Sign in", "mfa": "Two-factor code", "signup": "Sign up", "vaults": "Vaults", "vault": "Secrets",
	"secret": "Secret", "reveal": "Secret value", "agents": "Agents", "agent": "Agent", "agentkey": "Agent key",
	"policies": "Policies", "audit": "Audit log", "account": "Account", "mfasetup": "Set up two-factor",
	"onetime": "Shown once", "error": "Error", "approvals": "Approvals", "approval": "Approval request",
	"enrollment": "Enrolment request", "shares": "Shares", "sharevalue": "Shared secret", "members": "Members",
	"iprules": "IP rules",
}

var sections = map[string]string{
	"vaults": "vaults", "vault": "vaults", "secret": "vaults", "reveal": "vaults", "policies": "vaults",
	"agents": "agents", "agent": "agents", "agentkey": "agents", "audit": "audit", "account": "account",
	"mfasetup": "account", "onetime": "account", "approvals": "approvals", "approval": "approvals",
	"enrollment": "approvals", "shares": "shares", "sharevalue": "shares", "members": "account", "iprules": "account",
}

var funcs = template.FuncMap{
	"when": func(t any) string {
		switch t := t.(type) {
		case time.Time:
			if t.IsZero() {
				return "—"
			}
			return t.UTC().Format("2006-01-02 15:04 UTC")
		case *time.Time:
			if t == nil {
				return "—"
			}
			return t.UTC().Format("2006-01-02 15:04 UTC")
		}
		return "—"
	},
	"join": strings.Join,
	// short abbreviates a uuid to its first block (the full id is in the element's title).
	"short": func(id string) string {
		if len(id) > 9 {
			return id[:8] + "…"
		}
		return id
	},
	"perms": func(ps []clavis.Permission) string {
		s := make([]string, len(ps))
		for i, p := range ps {
			s[i] = string(p)
		}
		return strings.Join(s, ", ")
	},
	"has": func(ps []clavis.Permission, p string) bool {
		for _, x := range ps {
			if string(x) == p {
				return true
			}
		}
		return false
	},
}

// parsePages parses each page with the layout.
func parsePages() (map[string]*template.Template, error) {
	layout, err := template.New("").Funcs(funcs).ParseFS(templateFS, "templates/layout.html")
	if err != nil {
		return nil, err
	}
	names, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		return nil, err
	}
	out := map[string]*template.Template{}
	for _, n := range names {
		name := strings.TrimSuffix(strings.TrimPrefix(n, "templates/"), ".html")
		if name == "layout" {
			continue
		}
		t, err := template.Must(layout.Clone()).ParseFS(templateFS, n)
		if err != nil {
			return nil, err
		}
		out[name] = t
	}
	return out, nil
}
