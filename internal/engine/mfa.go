package engine

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"clavis.dev/clavis"
	"clavis.dev/clavis/internal/ratelimit"
	"clavis.dev/clavis/internal/store"
	"clavis.dev/clavis/internal/token"
	"clavis.dev/clavis/internal/totp"
)

const (
	mfaTokenTTL      = 300 * time.Second
	mfaMaxWrongCodes = 5
	recoveryCodes    = 8
)

// mfaCodeRule limits the codes a user may give to MFA disable (a challenge token bounds those of a
// login): a 6-digit TOTP code must not be guessable by whoever holds a token or personal key.
var mfaCodeRule = ratelimit.Rule{Burst: mfaMaxWrongCodes, Rate: 1.0 / 60}

var (
	errMFAWrongCode  = clavis.E(clavis.KindUnauthorized, "Invalid or expired MFA code or token")
	errMFANotOn      = clavis.E(clavis.KindConflict, "MFA is not enabled")
	errMFAWrongProof = clavis.E(clavis.KindForbidden, "Wrong password or code")
)

// mfaFailures counts wrong codes per challenge token (spec §4.13: a challenge dies after 5); at the
// limit the token is revoked in the store, so the count itself only needs to live until then.
type mfaFailures struct {
	mu sync.Mutex
	n  map[string]int
}

func (f *mfaFailures) add(jti string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.n) > 100_000 {
		clear(f.n) // bounded; a reset only grants an abandoned challenge a few more tries before it expires
	}
	f.n[jti]++
	return f.n[jti]
}

func (f *mfaFailures) forget(jti string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.n, jti)
}

// mfaChallenge mints the single-use challenge token of a password login with MFA enabled.
func (e *Engine) mfaChallenge(ctx context.Context, u *store.User) (*clavis.Token, error) {
	now := e.cfg.Clock()
	raw, err := e.mint(token.KindMFA, token.Claims{Subject: "user:" + u.ID, Org: u.OrgID, IssuedAt: now.Unix(),
		Expires: now.Add(mfaTokenTTL).Unix(), ID: newID(), Gen: u.TokenGen})
	if err != nil {
		return nil, e.classify(ctx, clavis.Internal(err))
	}
	return &clavis.Token{MFAToken: clavis.Sensitive(raw), ExpiresIn: int(mfaTokenTTL / time.Second)}, nil
}

func (e *Engine) recoveryHash(code string) string {
	m := hmac.New(sha256.New, e.pepper)
	m.Write([]byte("recovery:" + totp.NormalizeRecoveryCode(code)))
	return hex.EncodeToString(m.Sum(nil))
}

func totpPurpose(userID string) string { return "totp:" + userID }

// checkSecondFactor accepts a TOTP code of a step later than the last accepted one, or an unused
// recovery code (which it consumes). It updates m and reports whether the code was good.
func (e *Engine) checkSecondFactor(ctx context.Context, m *store.MFA, code string) (bool, error) {
	if m == nil || m.Secret == nil {
		return false, nil
	}
	key, err := e.keys.UnwrapServerSecret(ctx, totpPurpose(m.UserID), m.Secret)
	if err != nil {
		return false, err
	}
	step, ok := totp.Match(key, strings.TrimSpace(code), e.cfg.Clock().Unix()/totp.Period, m.LastStep)
	clear(key)
	if ok {
		m.LastStep = step
		return true, nil
	}
	h := e.recoveryHash(code)
	for i, stored := range m.RecoveryCodes {
		if hmac.Equal([]byte(stored), []byte(h)) {
			m.RecoveryCodes = slices.Delete(slices.Clone(m.RecoveryCodes), i, i+1)
			return true, nil
		}
	}
	return false, nil
}

func getMFA(tx store.Tx, userID string) (*store.MFA, error) {
	m, err := tx.GetMFA(userID)
	if clavis.IsKind(err, clavis.KindNotFound) {
		return &store.MFA{UserID: userID}, nil
	}
	return m, err
}

// MFAStatus reports whether the caller has MFA enabled.
func (e *Engine) MFAStatus(ctx context.Context, c *clavis.Caller) (bool, error) {
	if err := e.refuseScoped(ctx, c, "user", c.ID); err != nil {
		return false, err
	}
	u, err := e.Me(ctx, c)
	if err != nil {
		return false, err
	}
	return u.TOTPEnabled, nil
}

// MFASetup starts (or restarts) TOTP setup: a new pending key, wrapped by the root key.
func (e *Engine) MFASetup(ctx context.Context, c *clavis.Caller) (string, clavis.Sensitive, error) {
	if err := e.refuseScoped(ctx, c, "user", c.ID); err != nil {
		return "", "", err
	}
	if err := requireUser(c); err != nil {
		return "", "", err
	}
	key, secret, err := totp.NewKey()
	if err != nil {
		return "", "", e.classify(ctx, clavis.Internal(err))
	}
	wrapped, err := e.keys.WrapServerSecret(ctx, totpPurpose(c.ID), key)
	clear(key) // the caller gets the base32 form, once
	if err != nil {
		return "", "", e.classify(ctx, err)
	}
	var email string
	err = e.write(ctx, func(tx store.Tx) error {
		u, err := tx.GetUser(c.ID)
		if err != nil {
			return err
		}
		if u.TOTPEnabled {
			return clavis.E(clavis.KindConflict, "MFA is already enabled")
		}
		email = u.Email
		m, err := getMFA(tx, c.ID)
		if err != nil {
			return err
		}
		m.Pending = wrapped
		return tx.PutMFA(m)
	})
	if err != nil {
		return "", "", err
	}
	uri := "otpauth://totp/Clavis:" + url.QueryEscape(email) + "?secret=" + secret +
		"&issuer=Clavis&algorithm=SHA1&digits=6&period=30"
	return uri, clavis.Sensitive(secret), nil
}

// MFAVerifySetup enables MFA once the caller proves the pending key with a code; it returns the
// recovery codes, shown once.
func (e *Engine) MFAVerifySetup(ctx context.Context, c *clavis.Caller, code string) ([]clavis.Sensitive, error) {
	if err := e.refuseScoped(ctx, c, "user", c.ID); err != nil {
		return nil, err
	}
	if err := requireUser(c); err != nil {
		return nil, err
	}
	if code == "" {
		return nil, clavis.Invalid("code", "code is required")
	}
	codes, err := totp.NewRecoveryCodes(recoveryCodes)
	if err != nil {
		return nil, e.classify(ctx, clavis.Internal(err))
	}
	err = e.write(ctx, func(tx store.Tx) error {
		u, err := tx.GetUser(c.ID)
		if err != nil {
			return err
		}
		m, err := getMFA(tx, c.ID)
		if err != nil {
			return err
		}
		if u.TOTPEnabled || m.Pending == nil {
			return clavis.Invalid("code", "no MFA setup is pending; call /v1/auth/mfa/setup first")
		}
		key, err := e.keys.UnwrapServerSecret(ctx, totpPurpose(c.ID), m.Pending)
		if err != nil {
			return err
		}
		step, ok := totp.Match(key, strings.TrimSpace(code), e.cfg.Clock().Unix()/totp.Period, m.LastStep)
		clear(key)
		if !ok {
			return clavis.Invalid("code", "wrong code")
		}
		m.Secret, m.Pending, m.LastStep, m.RecoveryCodes = m.Pending, nil, step, nil
		for _, rc := range codes {
			m.RecoveryCodes = append(m.RecoveryCodes, e.recoveryHash(rc))
		}
		if err := tx.PutMFA(m); err != nil {
			return err
		}
		u.TOTPEnabled = true
		if err := tx.UpdateUser(u); err != nil {
			return err
		}
		return e.record(tx, callerEvent(c, "auth.mfa_enabled", "user", c.ID, nil))
	})
	if err != nil {
		return nil, err
	}
	out := make([]clavis.Sensitive, len(codes))
	for i, rc := range codes {
		out[i] = clavis.Sensitive(rc)
	}
	return out, nil
}

// MFAVerify completes a login challenge with a TOTP or recovery code. The challenge is single use and
// dies after 5 wrong codes; wrong codes do not count toward the password lockout.
func (e *Engine) MFAVerify(ctx context.Context, mfaToken, code string, ip netip.Addr) (*clavis.Token, error) {
	if mfaToken == "" {
		return nil, clavis.Invalid("mfa_token", "mfa_token is required")
	}
	if code == "" {
		return nil, clavis.Invalid("code", "code is required")
	}
	claims, err := e.verifyToken(mfaToken, token.KindMFA)
	if err != nil {
		return nil, errMFAWrongCode
	}
	typ, userID, _ := strings.Cut(claims.Subject, ":")
	if typ != string(clavis.PrincipalUser) {
		return nil, errMFAWrongCode
	}
	var u *store.User
	var wrong bool
	err = e.write(ctx, func(tx store.Tx) error {
		wrong = false
		if revoked, err := tx.TokenRevoked(claims.ID); err != nil || revoked {
			return keepAfter(err, errMFAWrongCode)
		}
		var err error
		if u, err = tx.GetUser(userID); err != nil && !clavis.IsKind(err, clavis.KindNotFound) {
			return err
		}
		if err != nil || u.Disabled || !u.TOTPEnabled || u.TokenGen != claims.Gen {
			return keepAfter(nil, errMFAWrongCode)
		}
		m, err := getMFA(tx, userID)
		if err != nil {
			return err
		}
		actor := clavis.Principal{Type: clavis.PrincipalUser, ID: u.ID, OrgID: u.OrgID}
		ok, err := e.checkSecondFactor(ctx, m, code)
		if err != nil {
			return err
		}
		if !ok {
			wrong = true
			return keepAfter(e.record(tx, event{org: u.OrgID, action: "auth.failure", resType: "user", resID: u.ID,
				actor: actor, ip: ipString(ip), details: map[string]any{"method": "mfa", "reason": "wrong_code"}}), errMFAWrongCode)
		}
		if err := tx.PutMFA(m); err != nil {
			return err
		}
		if err := tx.RevokeToken(claims.ID, time.Unix(claims.Expires, 0).Add(e.cfg.Leeway)); err != nil {
			return err
		}
		return e.record(tx, event{org: u.OrgID, action: "auth.success", resType: "user", resID: u.ID, actor: actor,
			ip: ipString(ip), details: map[string]any{"method": "mfa"}})
	})
	// wrong is read only after a kept error: then fn has finished (on a timeout it may still run)
	if errors.Is(err, errMFAWrongCode) && wrong && e.mfaWrong.add(claims.ID) >= mfaMaxWrongCodes {
		_ = e.write(ctx, func(tx store.Tx) error {
			return tx.RevokeToken(claims.ID, time.Unix(claims.Expires, 0).Add(e.cfg.Leeway))
		})
		e.mfaWrong.forget(claims.ID)
	}
	if err != nil {
		return nil, err
	}
	e.mfaWrong.forget(claims.ID)
	return e.userToken(ctx, u, nil)
}

// MFADisable turns MFA off after a proof: a current code (TOTP or recovery) or the account password. The
// password is checked under the login lockout; codes are limited per user (mfaCodeChecks) and wrong ones
// audited, but do not count toward the lockout (spec §6.3).
func (e *Engine) MFADisable(ctx context.Context, c *clavis.Caller, code, password string) error {
	if err := e.refuseScoped(ctx, c, "user", c.ID); err != nil {
		return err
	}
	if err := requireUser(c); err != nil {
		return err
	}
	if code == "" && password == "" {
		return clavis.Invalid("code", "give a code, or the password in X-Auth-Confirm")
	}
	u, err := e.me(ctx, c)
	if err != nil {
		return err
	}
	if !u.TOTPEnabled {
		return errMFANotOn
	}
	if code == "" {
		if err := e.checkPassword(ctx, u, password, c.IP, errMFAWrongProof, nil); err != nil {
			return err
		}
	} else if ok, wait := e.mfaCodeChecks.Allow(c.ID); !ok {
		return &clavis.Error{Kind: clavis.KindRateLimited, Message: "Too many MFA codes; retry later",
			RetryAfter: ratelimit.RetryAfterSeconds(wait)}
	}
	return e.write(ctx, func(tx store.Tx) error {
		u, err := tx.GetUser(c.ID)
		if err != nil {
			return err
		}
		if !u.TOTPEnabled {
			return errMFANotOn
		}
		m, err := getMFA(tx, c.ID)
		if err != nil {
			return err
		}
		if code != "" {
			ok, err := e.checkSecondFactor(ctx, m, code)
			if err != nil {
				return err
			}
			if !ok {
				return keepAfter(e.record(tx, callerEvent(c, "auth.failure", "user", c.ID,
					map[string]any{"method": "mfa", "reason": "wrong_code"})), errMFAWrongProof)
			}
		}
		m.Secret, m.Pending, m.RecoveryCodes = nil, nil, nil // LastStep stays: old codes never replay
		if err := tx.PutMFA(m); err != nil {
			return err
		}
		u.TOTPEnabled = false
		if err := tx.UpdateUser(u); err != nil {
			return err
		}
		return e.record(tx, callerEvent(c, "auth.mfa_disabled", "user", c.ID, nil))
	})
}
