package engine

import (
	"context"
	"errors"
	"net/netip"
	"strings"
	"time"

	"clavis.dev/clavis"
	"clavis.dev/clavis/internal/password"
	"clavis.dev/clavis/internal/store"
)

const (
	maxFailedLogins = 5
	lockoutPeriod   = 15 * time.Minute
)

// Signup creates an account (and, in open mode, its org) and logs it in.
func (e *Engine) Signup(ctx context.Context, in clavis.SignupInput, ip netip.Addr) (*clavis.Token, error) {
	email, err := normalizeEmail(in.Email)
	if err != nil {
		return nil, err
	}
	if in.Password == "" {
		return nil, clavis.Invalid("password", "password is required")
	}
	if err := password.Check(string(in.Password)); err != nil {
		return nil, err
	}
	if err := checkLen("display_name", in.DisplayName, 0, 255); err != nil {
		return nil, err
	}
	hash, err := e.hasher.Hash(ctx, string(in.Password))
	if err != nil {
		return nil, e.classify(ctx, err)
	}
	now := e.now()
	u := &store.User{User: clavis.User{ID: newID(), Email: email, DisplayName: in.DisplayName,
		Role: clavis.RoleOwner, CreatedAt: now}, PasswordHash: hash}
	err = e.write(ctx, func(tx store.Tx) error {
		u.OrgID, u.Role = "", clavis.RoleOwner // fn may run again
		inv, err := tx.GetInvite(email)
		switch {
		case err == nil && now.Before(inv.ExpiresAt):
			// an invited email joins the inviting org with the invited role, in every signup mode
			u.OrgID, u.Role = inv.OrgID, inv.Role
			if err := tx.DeleteInvite(email); err != nil {
				return err
			}
		case err != nil && !clavis.IsKind(err, clavis.KindNotFound):
			return err
		case e.cfg.SignupMode == SignupOpen:
		case e.cfg.SignupMode == SignupFirstUser:
			n, err := tx.CountOrgs()
			if err != nil {
				return err
			}
			if n > 0 {
				return clavis.E(clavis.KindForbidden, "Signup is closed")
			}
		default:
			return clavis.E(clavis.KindForbidden, "Signup is closed")
		}
		if u.OrgID == "" {
			org := &clavis.Org{ID: newID(), Name: email, CreatedAt: now}
			if err := tx.CreateOrg(org); err != nil {
				return err
			}
			u.OrgID = org.ID
		}
		if err := tx.CreateUser(u); err != nil {
			if clavis.IsKind(err, clavis.KindConflict) {
				return clavis.E(clavis.KindConflict, "Email already registered")
			}
			return err
		}
		if err := tx.BindEmailShares(email, u.ID); err != nil {
			return err
		}
		return e.record(tx, event{org: u.OrgID, action: "auth.signup", resType: "user", resID: u.ID,
			actor: clavis.Principal{Type: clavis.PrincipalUser, ID: u.ID, OrgID: u.OrgID}, ip: ipString(ip),
			details: map[string]any{"method": "password"}})
	})
	if err != nil {
		return nil, err
	}
	t, err := e.userToken(ctx, u, nil)
	if err != nil {
		return nil, err
	}
	t.Email = email
	return t, nil
}

// Login checks an email and password. Unknown email, wrong password, disabled and locked accounts all
// answer ErrBadCredential after comparable work.
func (e *Engine) Login(ctx context.Context, email, pw string, ip netip.Addr) (*clavis.Token, error) {
	if email == "" {
		return nil, clavis.Invalid("email", "email is required")
	}
	if pw == "" {
		return nil, clavis.Invalid("password", "password is required")
	}
	u, err := e.loginUser(ctx, strings.ToLower(email), ip)
	if err != nil {
		return nil, err
	}
	if err := e.checkPassword(ctx, u, pw, ip, clavis.ErrBadCredential, e.recordPasswordLogin(ip)); err != nil {
		return nil, err
	}
	if u.TOTPEnabled {
		return e.mfaChallenge(ctx, u)
	}
	return e.userToken(ctx, u, nil)
}

// loginUser returns the account of a login's (lower-cased) email. For an unknown email it spends one
// password hash's work, reports auth.failure to the sinks only (there is no org to chain it in) and
// returns ErrBadCredential, so that an unknown email looks like a wrong password.
func (e *Engine) loginUser(ctx context.Context, email string, ip netip.Addr) (*store.User, error) {
	var u *store.User
	err := e.read(ctx, func(tx store.Tx) error {
		var err error
		u, err = tx.GetUserByEmail(email)
		return err
	})
	if clavis.IsKind(err, clavis.KindNotFound) {
		_ = e.hasher.Dummy(ctx)
		e.sinkOnly(ctx, "auth.failure", "password", "unknown_email", ipString(ip))
		return nil, clavis.ErrBadCredential
	}
	return u, err
}

// recordPasswordLogin returns Login's onSuccess for checkPassword: it audits auth.success, except for an
// account with MFA, whose login succeeds only at /v1/auth/mfa/verify.
func (e *Engine) recordPasswordLogin(ip netip.Addr) func(tx store.Tx, u *store.User) error {
	return func(tx store.Tx, u *store.User) error {
		if err := tx.BindEmailShares(u.Email, u.ID); err != nil { // spec §4.11: bound at signup or login
			return err
		}
		if u.TOTPEnabled {
			return nil
		}
		return e.record(tx, event{org: u.OrgID, action: "auth.success", resType: "user", resID: u.ID,
			actor: clavis.Principal{Type: clavis.PrincipalUser, ID: u.ID, OrgID: u.OrgID}, ip: ipString(ip),
			details: map[string]any{"method": "password"}})
	}
}

// checkPassword checks u's password under the login lockout (spec §6.3); every password check (login,
// change-password, MFA disable) goes through it. A wrong password counts toward the lock and is audited
// (auth.failure, and auth.lockout when it locks); a disabled or locked account is refused whatever the
// password, after the same work, and audited. All of these return wrong, the caller's wrong-password
// answer, so that they cannot be told apart. A right password resets the counter, and onSuccess (if not
// nil) runs in the same transaction with the fresh user row.
func (e *Engine) checkPassword(ctx context.Context, u *store.User, pw string, ip netip.Addr, wrong error,
	onSuccess func(tx store.Tx, u *store.User) error) error {
	ok, err := e.hasher.Verify(ctx, u.PasswordHash, pw)
	if err != nil {
		return e.classify(ctx, err)
	}
	now := e.now()
	return e.write(ctx, func(tx store.Tx) error {
		u, err := tx.GetUser(u.ID) // fresh state inside the transaction
		if err != nil {
			return err
		}
		switch {
		case u.Disabled:
			return keepAfter(e.recordPasswordFailure(tx, u, ip, "disabled"), wrong)
		case u.LockedUntil != nil && now.Before(*u.LockedUntil):
			return keepAfter(e.recordPasswordFailure(tx, u, ip, "locked"), wrong)
		case !ok:
			return keepAfter(e.countWrongPassword(tx, u, ip, now), wrong)
		}
		if u.FailedLogins != 0 || u.LockedUntil != nil {
			u.FailedLogins, u.LockedUntil = 0, nil
			if err := tx.UpdateUser(u); err != nil {
				return err
			}
		}
		if onSuccess == nil {
			return nil
		}
		return onSuccess(tx, u)
	})
}

// countWrongPassword counts a wrong password against u (an expired lock first resets the count) and
// audits it; the maxFailedLogins-th failure in a row locks the account for lockoutPeriod, audited as
// auth.lockout. It saves u.
func (e *Engine) countWrongPassword(tx store.Tx, u *store.User, ip netip.Addr, now time.Time) error {
	if u.LockedUntil != nil {
		u.LockedUntil, u.FailedLogins = nil, 0
	}
	u.FailedLogins++
	if err := e.recordPasswordFailure(tx, u, ip, "wrong_password"); err != nil {
		return err
	}
	if u.FailedLogins >= maxFailedLogins {
		until := now.Add(lockoutPeriod)
		u.LockedUntil, u.FailedLogins = &until, 0
		if err := e.record(tx, event{org: u.OrgID, action: "auth.lockout", resType: "user", resID: u.ID,
			actor: userActor(u), ip: ipString(ip), details: map[string]any{"method": "password"}}); err != nil {
			return err
		}
	}
	return tx.UpdateUser(u)
}

// recordPasswordFailure audits a refused password check of u (auth.failure) with its reason.
func (e *Engine) recordPasswordFailure(tx store.Tx, u *store.User, ip netip.Addr, reason string) error {
	return e.record(tx, event{org: u.OrgID, action: "auth.failure", resType: "user", resID: u.ID, actor: userActor(u),
		ip: ipString(ip), details: map[string]any{"method": "password", "reason": reason}})
}

// userActor is u as the actor of an audit event.
func userActor(u *store.User) clavis.Principal {
	return clavis.Principal{Type: clavis.PrincipalUser, ID: u.ID, OrgID: u.OrgID}
}

// keepAfter returns err if it is non-nil, else keep(result).
func keepAfter(err, result error) error {
	if err != nil {
		return err
	}
	return keep(result)
}

// Me returns the caller's profile.
func (e *Engine) Me(ctx context.Context, c *clavis.Caller) (*clavis.User, error) {
	u, err := e.me(ctx, c)
	return userOf(u), err
}

// me returns the caller's user row.
func (e *Engine) me(ctx context.Context, c *clavis.Caller) (*store.User, error) {
	if err := requireUser(c); err != nil {
		return nil, err
	}
	var u *store.User
	err := e.read(ctx, func(tx store.Tx) error {
		var err error
		u, err = tx.GetUser(c.ID)
		return err
	})
	return u, err
}

// UpdateMe changes the caller's display name or marketing preference.
func (e *Engine) UpdateMe(ctx context.Context, c *clavis.Caller, p clavis.ProfilePatch) (*clavis.User, error) {
	if err := e.refuseScoped(ctx, c, "user", c.ID); err != nil {
		return nil, err
	}
	if err := requireUser(c); err != nil {
		return nil, err
	}
	if p.DisplayName != nil {
		if err := checkLen("display_name", *p.DisplayName, 0, 255); err != nil {
			return nil, err
		}
	}
	var u *store.User
	err := e.write(ctx, func(tx store.Tx) error {
		var err error
		if u, err = tx.GetUser(c.ID); err != nil {
			return err
		}
		if p.DisplayName != nil {
			u.DisplayName = *p.DisplayName
		}
		if p.MarketingEmails != nil {
			u.MarketingEmails = *p.MarketingEmails
		}
		return tx.UpdateUser(u)
	})
	if err != nil {
		return nil, err // fn may still run: read nothing it writes
	}
	return userOf(u), nil
}

// errWrongCurrentPassword answers a change of password whose current password is wrong, or whose account
// is locked (spec §6.3: a lock answers like a wrong password).
var errWrongCurrentPassword = clavis.E(clavis.KindForbidden, "Current password is incorrect")

// ChangePassword replaces the caller's password and revokes every token issued before. The current
// password is checked under the login lockout.
func (e *Engine) ChangePassword(ctx context.Context, c *clavis.Caller, current, next string) error {
	if err := e.refuseScoped(ctx, c, "user", c.ID); err != nil {
		return err
	}
	if err := requireUser(c); err != nil {
		return err
	}
	if current == "" {
		return clavis.Invalid("current_password", "current_password is required")
	}
	if next == "" {
		return clavis.Invalid("new_password", "new_password is required")
	}
	if err := password.Check(next); err != nil {
		var ce *clavis.Error
		if !errors.As(err, &ce) {
			return clavis.Internal(err)
		}
		return clavis.Invalid("new_password", ce.Message)
	}
	u, err := e.me(ctx, c)
	if err != nil {
		return err
	}
	if err := e.checkPassword(ctx, u, current, c.IP, errWrongCurrentPassword, nil); err != nil {
		return err
	}
	hash, err := e.hasher.Hash(ctx, next)
	if err != nil {
		return e.classify(ctx, err)
	}
	return e.write(ctx, func(tx store.Tx) error {
		u, err := tx.GetUser(c.ID)
		if err != nil {
			return err
		}
		u.PasswordHash = hash
		u.TokenGen++
		if err := tx.UpdateUser(u); err != nil {
			return err
		}
		return e.record(tx, callerEvent(c, "auth.password_changed", "user", u.ID, nil))
	})
}
