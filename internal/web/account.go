package web

import (
	"net/http"
	"strings"
	"time"

	"github.com/skip2/go-qrcode"

	"clavis.dev/clavis"
)

// The account screen (docs/dashboard.md §2.10): profile, password, MFA with a server-rendered QR code,
// personal API keys and the dashboard sessions. Members and IP rules are its sub-pages (org.go).

// qrCookie carries the otpauth URI of a pending MFA setup from the setup page to its QR image.
const qrCookie = "clavis_mfa_qr"

type accountPage struct {
	MFA      bool
	APIKeys  []*clavis.APIKey
	Sessions []*clavis.WebSession
	Current  string // the public id of this session
}

func accountView(h *Handler, q *req) (string, any, error) {
	ctx := q.r.Context()
	mfa, err := q.svc.MFAStatus(ctx)
	if err != nil {
		return "", nil, err
	}
	keys, err := q.svc.ListAPIKeys(ctx)
	if err != nil {
		return "", nil, err
	}
	ss, err := q.svc.ListWebSessions(ctx)
	if err != nil {
		return "", nil, err
	}
	return "account", accountPage{MFA: mfa, APIKeys: keys, Sessions: ss, Current: q.sessionID}, nil
}

func saveProfile(h *Handler, q *req) error {
	name := strings.TrimSpace(q.r.PostFormValue("display_name"))
	if _, err := q.svc.UpdateMe(q.r.Context(), clavis.ProfilePatch{DisplayName: &name}); err != nil {
		return again(accountView, err)
	}
	return redirect(q, "/ui/account", "profile-saved")
}

// changePassword changes the password, which ends every session of the user, this one included.
func changePassword(h *Handler, q *req) error {
	if err := h.limited(q.r, "POST /v1/auth/change-password"); err != nil {
		return again(accountView, err)
	}
	f := q.r.PostForm
	if f.Get("new_password") != f.Get("confirm_password") {
		return again(accountView, clavis.Invalid("confirm_password", "The new passwords differ"))
	}
	if err := q.svc.ChangePassword(q.r.Context(), f.Get("current_password"), f.Get("new_password")); err != nil {
		return again(accountView, err)
	}
	h.setCookie(q.w, sessionCookie, "", -1)
	return redirect(q, "/ui/login", "password-changed")
}

type mfaSetupPage struct {
	Secret string
	URI    string
}

func mfaSetup(h *Handler, q *req) error {
	uri, secret, err := q.svc.MFASetup(q.r.Context())
	if err != nil {
		return again(accountView, err)
	}
	h.setCookie(q.w, qrCookie, uri, 15*time.Minute)
	h.render(q, 200, "mfasetup", mfaSetupPage{Secret: string(secret), URI: uri}, "")
	return nil
}

// mfaQR draws the pending setup's otpauth URI as a PNG QR code.
func mfaQR(h *Handler, q *req) error {
	uri := h.cookieValue(q.r, qrCookie)
	if !strings.HasPrefix(uri, "otpauth://") {
		return clavis.E(clavis.KindNotFound, "No two-factor setup is pending")
	}
	png, err := qrcode.Encode(uri, qrcode.Medium, 256)
	if err != nil {
		return clavis.Internal(err)
	}
	q.w.Header().Set("Content-Type", "image/png")
	q.w.WriteHeader(http.StatusOK)
	_, _ = q.w.Write(png)
	return nil
}

type oneTimePage struct {
	Heading string
	Note    string
	Values  []string
}

func mfaVerifySetup(h *Handler, q *req) error {
	codes, err := q.svc.MFAVerifySetup(q.r.Context(), strings.TrimSpace(q.r.PostFormValue("code")))
	if err != nil {
		return again(accountView, err)
	}
	h.setCookie(q.w, qrCookie, "", -1)
	p := oneTimePage{Heading: "Two-factor authentication is on",
		Note: "Save these recovery codes somewhere safe. Each works once in place of a code; they are shown only now."}
	for _, c := range codes {
		p.Values = append(p.Values, string(c))
	}
	h.render(q, 200, "onetime", p, "")
	return nil
}

func mfaDisable(h *Handler, q *req) error {
	if err := h.limited(q.r, "DELETE /v1/auth/mfa"); err != nil {
		return again(accountView, err)
	}
	if err := q.svc.MFADisable(q.r.Context(), strings.TrimSpace(q.r.PostFormValue("code")), q.r.PostFormValue("password")); err != nil {
		return again(accountView, err)
	}
	return redirect(q, "/ui/account", "mfa-disabled")
}

func createAPIKey(h *Handler, q *req) error {
	exp, err := formTime(q, "expires_at")
	if err != nil {
		return again(accountView, err)
	}
	k, raw, err := q.svc.CreateAPIKey(q.r.Context(), clavis.APIKeyInput{Name: strings.TrimSpace(q.r.PostFormValue("name")),
		Scopes: fields(q.r.PostFormValue("scopes")), ExpiresAt: exp})
	if err != nil {
		return again(accountView, err)
	}
	h.render(q, 200, "onetime", oneTimePage{Heading: "API key " + k.Name,
		Note:   "Copy the key now: it is shown only this once. Use it as a bearer token or set it as CLAVIS_API_KEY.",
		Values: []string{string(raw)}}, "")
	return nil
}

func revokeAPIKey(h *Handler, q *req) error {
	if err := q.svc.RevokeAPIKey(q.r.Context(), q.r.PathValue("key")); err != nil {
		return again(accountView, err)
	}
	return redirect(q, "/ui/account", "apikey-revoked")
}

func revokeSession(h *Handler, q *req) error {
	id := q.r.PathValue("session")
	if err := q.svc.RevokeWebSession(q.r.Context(), id); err != nil {
		return again(accountView, err)
	}
	if id == q.sessionID {
		h.setCookie(q.w, sessionCookie, "", -1)
		return redirect(q, "/ui/login", "")
	}
	return redirect(q, "/ui/account", "session-revoked")
}
