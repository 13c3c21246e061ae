package web

import (
	"crypto/rand"
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"
	"time"

	"clavis.dev/clavis"
)

// The sign-in screens (docs/dashboard.md §2.1): password, then the TOTP code when MFA is on; signup
// when the server's mode allows it. Failures show the API's messages, which do not tell a locked
// account from a wrong password.

const (
	sessionMaxAge = 12 * time.Hour
	mfaMaxAge     = 5 * time.Minute
)

func newRandom() string {
	var b [32]byte
	_, _ = rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// safeNext returns next if it names a /ui/ path of this server, else the vaults screen.
func safeNext(next string) string {
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || !strings.HasPrefix(u.Path, "/ui/") ||
		strings.ContainsAny(next, "\\\r\n\t") || strings.HasPrefix(next, "//") || strings.Contains(u.Path, "/../") {
		return "/ui/vaults"
	}
	return next
}

type authForm struct {
	Next  string
	Email string
}

func loginView(h *Handler, q *req) (string, any, error) {
	return "login", authForm{Next: safeNext(q.r.FormValue("next")), Email: q.r.PostFormValue("email")}, nil
}

func login(h *Handler, q *req) error {
	if err := h.limited(q.r, "POST /v1/auth/token"); err != nil {
		return again(loginView, err)
	}
	tok, err := h.svc.Login(q.r.Context(), strings.TrimSpace(q.r.PostFormValue("email")), q.r.PostFormValue("password"), h.clientIP(q.r))
	if err != nil {
		return again(loginView, err)
	}
	next := safeNext(q.r.PostFormValue("next"))
	if tok.MFAToken != "" {
		h.setCookie(q.w, mfaCookie, string(tok.MFAToken), mfaMaxAge)
		return redirect(q, "/ui/login/mfa?next="+url.QueryEscape(next), "")
	}
	return h.openSession(q, tok, next)
}

// openSession trades a fresh access token for a session, sets its cookie (a new id: never one the
// browser had before) and goes to next.
func (h *Handler) openSession(q *req, tok *clavis.Token, next string) error {
	id, err := h.svc.OpenWebSession(q.r.Context(), string(tok.AccessToken), h.clientIP(q.r))
	if err != nil {
		return err
	}
	h.setCookie(q.w, sessionCookie, string(id), sessionMaxAge)
	h.setCookie(q.w, mfaCookie, "", -1)
	h.setCookie(q.w, preCookie, "", -1)
	return redirect(q, next, "")
}

func mfaView(h *Handler, q *req) (string, any, error) {
	return "mfa", authForm{Next: safeNext(q.r.FormValue("next"))}, nil
}

func mfaVerify(h *Handler, q *req) error {
	if err := h.limited(q.r, "POST /v1/auth/mfa/verify"); err != nil {
		return again(mfaView, err)
	}
	mt := h.cookieValue(q.r, mfaCookie)
	if mt == "" {
		return redirect(q, "/ui/login", "")
	}
	tok, err := h.svc.MFAVerify(q.r.Context(), mt, strings.TrimSpace(q.r.PostFormValue("code")), h.clientIP(q.r))
	if err != nil {
		if clavis.IsKind(err, clavis.KindUnauthorized) { // the MFA token expired: start again
			h.setCookie(q.w, mfaCookie, "", -1)
		}
		return again(mfaView, err)
	}
	return h.openSession(q, tok, safeNext(q.r.PostFormValue("next")))
}

func signupView(h *Handler, q *req) (string, any, error) {
	if !h.opt.SignupOpen {
		return "", nil, clavis.E(clavis.KindNotFound, "Signup is closed on this server")
	}
	return "signup", authForm{Email: q.r.PostFormValue("email")}, nil
}

func signup(h *Handler, q *req) error {
	if !h.opt.SignupOpen {
		return clavis.E(clavis.KindNotFound, "Signup is closed on this server")
	}
	if err := h.limited(q.r, "POST /v1/auth/signup"); err != nil {
		return again(signupView, err)
	}
	in := clavis.SignupInput{Email: strings.TrimSpace(q.r.PostFormValue("email")),
		Password: clavis.Sensitive(q.r.PostFormValue("password")), DisplayName: strings.TrimSpace(q.r.PostFormValue("display_name"))}
	tok, err := h.svc.Signup(q.r.Context(), in, h.clientIP(q.r))
	if err != nil {
		return again(signupView, err)
	}
	return h.openSession(q, tok, "/ui/vaults")
}

func logout(h *Handler, q *req) error {
	if err := h.svc.CloseWebSession(q.r.Context(), h.cookieValue(q.r, sessionCookie), h.clientIP(q.r)); err != nil {
		return err
	}
	h.setCookie(q.w, sessionCookie, "", -1)
	http.Redirect(q.w, q.r, "/ui/login", http.StatusSeeOther)
	return nil
}
