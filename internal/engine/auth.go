package engine

import (
	"context"
	"errors"
	"net/mail"
	"net/netip"
	"strings"
	"time"
	"unicode/utf8"

	"clavis.dev/clavis"
	"clavis.dev/clavis/internal/password"
	"clavis.dev/clavis/internal/policy"
	"clavis.dev/clavis/internal/store"
	"clavis.dev/clavis/internal/token"
)

const (
	maxFailedLogins = 5
	lockoutPeriod   = 15 * time.Minute
	// lastActiveResolution is how stale an agent's last_active_at may get before a key exchange
	// refreshes it (saves a row write per exchange for busy agents).
	lastActiveResolution = time.Minute
)

func ipString(ip netip.Addr) string {
	if !ip.IsValid() {
		return ""
	}
	return ip.Unmap().String()
}

// normalizeEmail validates an address (spec §4.2) and lower-cases it.
func normalizeEmail(s string) (string, error) {
	if s == "" {
		return "", clavis.Invalid("email", "email is required")
	}
	a, err := mail.ParseAddress(s)
	if err != nil || a.Address != s || a.Name != "" || len(s) > 254 || !strings.Contains(s[strings.LastIndexByte(s, '@')+1:], ".") {
		return "", clavis.Invalid("email", "invalid email address")
	}
	return strings.ToLower(s), nil
}

// checkLen validates a text field: its length in code points, valid UTF-8 and no NUL character (which
// PostgreSQL cannot store in text).
func checkLen(field, v string, min, max int) error {
	if !utf8.ValidString(v) || strings.ContainsRune(v, 0) {
		return clavis.Invalid(field, field+" must be valid UTF-8 without NUL characters")
	}
	n := utf8.RuneCountInString(v)
	if n < min {
		if min == 1 {
			return clavis.Invalid(field, field+" is required")
		}
		return clavis.Invalid(field, field+" is too short")
	}
	if n > max {
		return clavis.Invalid(field, field+" is too long")
	}
	return nil
}

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
	u := &clavis.User{ID: newID(), Email: email, DisplayName: in.DisplayName, PasswordHash: hash,
		Role: clavis.RoleOwner, CreatedAt: now}
	err = e.write(ctx, func(tx store.Tx) error {
		switch e.cfg.SignupMode {
		case SignupOpen:
		case SignupFirstUser:
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
		org := &clavis.Org{ID: newID(), Name: email, CreatedAt: now}
		if err := tx.CreateOrg(org); err != nil {
			return err
		}
		u.OrgID = org.ID
		if err := tx.CreateUser(u); err != nil {
			if clavis.IsKind(err, clavis.KindConflict) {
				return clavis.E(clavis.KindConflict, "Email already registered")
			}
			return err
		}
		return e.record(tx, event{org: org.ID, action: "auth.signup", resType: "user", resID: u.ID,
			actor: clavis.Principal{Type: clavis.PrincipalUser, ID: u.ID, OrgID: org.ID}, ip: ipString(ip),
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
func (e *Engine) Login(ctx context.Context, email, password string, ip netip.Addr) (*clavis.Token, error) {
	if email == "" {
		return nil, clavis.Invalid("email", "email is required")
	}
	if password == "" {
		return nil, clavis.Invalid("password", "password is required")
	}
	email = strings.ToLower(email)
	var u *clavis.User
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
	if err != nil {
		return nil, err
	}
	err = e.checkPassword(ctx, u, password, ip, clavis.ErrBadCredential, func(tx store.Tx, u *clavis.User) error {
		if u.TOTPEnabled {
			return nil // the login succeeds only at /v1/auth/mfa/verify
		}
		return e.record(tx, event{org: u.OrgID, action: "auth.success", resType: "user", resID: u.ID,
			actor: clavis.Principal{Type: clavis.PrincipalUser, ID: u.ID, OrgID: u.OrgID}, ip: ipString(ip),
			details: map[string]any{"method": "password"}})
	})
	if err != nil {
		return nil, err
	}
	if u.TOTPEnabled {
		return e.mfaChallenge(ctx, u)
	}
	return e.userToken(ctx, u, nil)
}

// checkPassword checks u's password under the login lockout (spec §6.3); every password check (login,
// change-password, MFA disable) goes through it. A wrong password counts toward the lock and is audited
// (auth.failure, and auth.lockout when it locks); a disabled or locked account is refused whatever the
// password, after the same work, and audited. All of these return wrong, the caller's wrong-password
// answer, so that they cannot be told apart. A right password resets the counter, and onSuccess (if not
// nil) runs in the same transaction with the fresh user row.
func (e *Engine) checkPassword(ctx context.Context, u *clavis.User, password string, ip netip.Addr, wrong error,
	onSuccess func(tx store.Tx, u *clavis.User) error) error {
	ok, err := e.hasher.Verify(ctx, u.PasswordHash, password)
	if err != nil {
		return e.classify(ctx, err)
	}
	now := e.now()
	actor := clavis.Principal{Type: clavis.PrincipalUser, ID: u.ID, OrgID: u.OrgID}
	fail := func(tx store.Tx, u *clavis.User, reason string) error {
		return e.record(tx, event{org: u.OrgID, action: "auth.failure", resType: "user", resID: u.ID, actor: actor,
			ip: ipString(ip), details: map[string]any{"method": "password", "reason": reason}})
	}
	return e.write(ctx, func(tx store.Tx) error {
		u, err := tx.GetUser(u.ID) // fresh state inside the transaction
		if err != nil {
			return err
		}
		locked := u.LockedUntil != nil && now.Before(*u.LockedUntil)
		switch {
		case u.Disabled:
			return keepAfter(fail(tx, u, "disabled"), wrong)
		case locked:
			return keepAfter(fail(tx, u, "locked"), wrong)
		case !ok:
			if u.LockedUntil != nil { // an expired lock resets the counter
				u.LockedUntil, u.FailedLogins = nil, 0
			}
			u.FailedLogins++
			if err := fail(tx, u, "wrong_password"); err != nil {
				return err
			}
			if u.FailedLogins >= maxFailedLogins {
				until := now.Add(lockoutPeriod)
				u.LockedUntil, u.FailedLogins = &until, 0
				if err := e.record(tx, event{org: u.OrgID, action: "auth.lockout", resType: "user", resID: u.ID,
					actor: actor, ip: ipString(ip), details: map[string]any{"method": "password"}}); err != nil {
					return err
				}
			}
			if err := tx.UpdateUser(u); err != nil {
				return err
			}
			return keep(wrong)
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

// keepAfter returns err if it is non-nil, else keep(result).
func keepAfter(err, result error) error {
	if err != nil {
		return err
	}
	return keep(result)
}

// userToken mints a user access token, scoped by key when it was minted from a personal API key.
func (e *Engine) userToken(ctx context.Context, u *clavis.User, key *clavis.APIKey) (*clavis.Token, error) {
	now := e.cfg.Clock()
	ttl := e.cfg.UserTokenTTL
	c := token.Claims{Subject: "user:" + u.ID, Org: u.OrgID, IssuedAt: now.Unix(),
		Expires: now.Add(ttl).Unix(), ID: newID(), Gen: u.TokenGen}
	if key != nil {
		c.APIKeyID = key.ID
		if len(key.Scopes) > 0 {
			s := append([]string(nil), key.Scopes...)
			c.Scopes = &s
		}
	}
	raw, err := e.mint(token.KindAccess, c)
	if err != nil {
		return nil, e.classify(ctx, clavis.Internal(err))
	}
	return &clavis.Token{AccessToken: clavis.Sensitive(raw), ExpiresIn: int(ttl / time.Second)}, nil
}

// agentToken mints an agent access token (spec §2.3, §2.8). patterns are the agent's allow patterns,
// the informational scopes claim of an agent without scopes.
func (e *Engine) agentToken(ctx context.Context, a *clavis.Agent, patterns []string) (*clavis.Token, error) {
	now := e.cfg.Clock()
	ttl := e.cfg.AgentTokenTTL
	if a.TokenTTL > 0 {
		ttl = time.Duration(a.TokenTTL) * time.Second
	}
	scopes := append([]string{}, a.Scopes...)
	if len(scopes) == 0 {
		scopes = append(scopes, patterns...)
	}
	vaultIDs := append([]string{}, a.VaultIDs...)
	c := token.Claims{Subject: "agent:" + a.ID, Org: a.OrgID, IssuedAt: now.Unix(), Expires: now.Add(ttl).Unix(),
		ID: newID(), Gen: a.TokenGen, Scopes: &scopes, VaultIDs: &vaultIDs}
	raw, err := e.mint(token.KindAccess, c)
	if err != nil {
		return nil, e.classify(ctx, clavis.Internal(err))
	}
	return &clavis.Token{AccessToken: clavis.Sensitive(raw), ExpiresIn: int(ttl / time.Second)}, nil
}

// allowPatterns is the union of the patterns of the agent's unexpired allow policies (informational).
func (e *Engine) allowPatterns(tx store.Tx, agentID string, now time.Time) ([]string, error) {
	vids, err := tx.PolicyVaultIDs(clavis.PrincipalAgent, agentID, now)
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	out := []string{}
	for _, vid := range vids {
		ps, err := tx.ListPrincipalPolicies(vid, clavis.PrincipalAgent, agentID)
		if err != nil {
			return nil, err
		}
		for _, p := range ps {
			if p.Effect == clavis.EffectDeny || (p.ExpiresAt != nil && !now.Before(*p.ExpiresAt)) || seen[p.Pattern] {
				continue
			}
			seen[p.Pattern] = true
			out = append(out, p.Pattern)
		}
	}
	return out, nil
}

// findAgentByKey resolves an ocv_ key to a live agent, or a 401. For a deactivated or expired agent it
// also returns the agent (with errAgentDeactivated / errAgentExpired), so that the refusal can be audited.
func (e *Engine) findAgentByKey(tx store.Tx, raw string, now time.Time) (*clavis.Agent, error) {
	if !token.WellFormedKey(raw, token.AgentKeyPrefix) {
		return nil, clavis.ErrUnauthorized
	}
	a, err := tx.GetAgentByKeyHash(token.HashKey(e.pepper, raw))
	if clavis.IsKind(err, clavis.KindNotFound) {
		return nil, clavis.ErrUnauthorized
	}
	if err != nil {
		return nil, err
	}
	if !token.EqualHash(a.KeyHash, token.HashKey(e.pepper, raw)) {
		return nil, clavis.ErrUnauthorized
	}
	if !a.Active {
		return a, errAgentDeactivated
	}
	if a.ExpiresAt != nil && !now.Before(*a.ExpiresAt) {
		return a, errAgentExpired
	}
	return a, nil
}

// Refusals of a known agent's key; findAgentByKey returns the agent with them so they can be audited.
var (
	errAgentDeactivated = clavis.E(clavis.KindUnauthorized, "Agent is deactivated")
	errAgentExpired     = clavis.E(clavis.KindUnauthorized, "Agent has expired")
)

// findUserKey resolves a 1ck_ key to an active key and its enabled user.
func (e *Engine) findUserKey(tx store.Tx, raw string, now time.Time) (*clavis.APIKey, *clavis.User, error) {
	if !token.WellFormedKey(raw, token.UserKeyPrefix) {
		return nil, nil, clavis.ErrUnauthorized
	}
	k, err := tx.GetAPIKeyByHash(token.HashKey(e.pepper, raw))
	if clavis.IsKind(err, clavis.KindNotFound) {
		return nil, nil, clavis.ErrUnauthorized
	}
	if err != nil {
		return nil, nil, err
	}
	if !token.EqualHash(k.Hash, token.HashKey(e.pepper, raw)) || !k.Active || (k.ExpiresAt != nil && !now.Before(*k.ExpiresAt)) {
		return nil, nil, clavis.ErrUnauthorized
	}
	u, err := tx.GetUser(k.UserID)
	if err := liveOrUnauthorized(err, u != nil && !u.Disabled); err != nil {
		return nil, nil, err
	}
	return k, u, nil
}

// AgentToken exchanges an agent key for an agent token (spec §4.2). agentID, when given, must match.
func (e *Engine) AgentToken(ctx context.Context, apiKey, agentID string, ip netip.Addr) (*clavis.Token, error) {
	if apiKey == "" {
		return nil, clavis.Invalid("api_key", "api_key is required")
	}
	return e.exchangeAgentKey(ctx, apiKey, agentID, agentID == "", ip)
}

func (e *Engine) exchangeAgentKey(ctx context.Context, apiKey, agentID string, echo bool, ip netip.Addr) (*clavis.Token, error) {
	now := e.now()
	var a *clavis.Agent
	var patterns []string
	// Look up and decide in a read snapshot; only the audit event (and an occasional last_active_at)
	// goes through the group commit.
	var refused error
	err := e.read(ctx, func(tx store.Tx) error {
		var err error
		a, err = e.findAgentByKey(tx, apiKey, now)
		if err != nil {
			if a != nil { // a known agent refused: audited below
				refused = err
				return nil
			}
			return err
		}
		if len(a.Scopes) == 0 {
			patterns, err = e.allowPatterns(tx, a.ID, now)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	actor := clavis.Principal{Type: clavis.PrincipalAgent, ID: a.ID, OrgID: a.OrgID}
	reason := ""
	switch {
	case refused == errAgentDeactivated:
		reason = "deactivated"
	case refused == errAgentExpired:
		reason = "expired"
	case agentID != "" && agentID != a.ID:
		reason, refused = "agent_id_mismatch", clavis.ErrUnauthorized
	}
	if refused != nil {
		err := e.write(ctx, func(tx store.Tx) error {
			return e.record(tx, event{org: a.OrgID, action: "auth.failure", resType: "agent", resID: a.ID, actor: actor,
				ip: ipString(ip), details: map[string]any{"method": "agent_key", "reason": reason}})
		})
		if err != nil {
			return nil, err
		}
		return nil, refused
	}
	t, err := e.agentToken(ctx, a, patterns)
	if err != nil {
		return nil, err
	}
	err = e.write(ctx, func(tx store.Tx) error {
		if a.LastActiveAt == nil || now.Sub(*a.LastActiveAt) >= lastActiveResolution {
			fresh, err := tx.GetAgent(a.ID) // the row as it is now: never write back a stale snapshot
			if clavis.IsKind(err, clavis.KindNotFound) {
				return clavis.ErrUnauthorized
			}
			if err != nil {
				return err
			}
			fresh.LastActiveAt = &now
			if err := tx.UpdateAgent(fresh); err != nil {
				return err
			}
		}
		return e.record(tx, event{org: a.OrgID, action: "auth.success", resType: "agent", resID: a.ID, actor: actor,
			ip: ipString(ip), details: map[string]any{"method": "agent_key"}})
	})
	if err != nil {
		return nil, err
	}
	if echo {
		t.AgentID = a.ID
	}
	return t, nil
}

// APIKeyToken exchanges a 1ck_ key (user token) or an ocv_ key (agent token, never echoing agent_id).
func (e *Engine) APIKeyToken(ctx context.Context, apiKey string, ip netip.Addr) (*clavis.Token, error) {
	if apiKey == "" {
		return nil, clavis.Invalid("api_key", "api_key is required")
	}
	if strings.HasPrefix(apiKey, token.AgentKeyPrefix) {
		return e.exchangeAgentKey(ctx, apiKey, "", false, ip)
	}
	now := e.now()
	var t *clavis.Token
	err := e.write(ctx, func(tx store.Tx) error {
		k, u, err := e.findUserKey(tx, apiKey, now)
		if err != nil {
			return err
		}
		k.LastUsedAt = &now
		if err := tx.UpdateAPIKey(k); err != nil {
			return err
		}
		if t, err = e.userToken(ctx, u, k); err != nil {
			return err
		}
		return e.record(tx, event{org: u.OrgID, action: "auth.success", resType: "user", resID: u.ID,
			actor: clavis.Principal{Type: clavis.PrincipalUser, ID: u.ID, OrgID: u.OrgID}, ip: ipString(ip),
			details: map[string]any{"method": "api_key"}})
	})
	return t, err
}

// Authenticate resolves a bearer credential to a live caller. Principal state (enabled, active,
// expiry, credential generation, token revocation, key revocation) is checked on every call.
func (e *Engine) Authenticate(ctx context.Context, bearer string, ip netip.Addr) (*clavis.Caller, error) {
	now := e.now()
	c := &clavis.Caller{IP: ip.Unmap()}
	isKey := strings.HasPrefix(bearer, token.AgentKeyPrefix) || strings.HasPrefix(bearer, token.UserKeyPrefix)
	var claims *token.Claims
	if !isKey { // the signature is checked before any database work (and once per distinct token)
		if claims = e.verified.get(bearer, e.cfg.Clock()); claims == nil {
			var err error
			if claims, err = e.verifyToken(bearer, token.KindAccess); err != nil {
				e.sinkOnly(ctx, "auth.failure", "token", "invalid_credential", ipString(ip))
				return nil, clavis.ErrUnauthorized
			}
			e.verified.put(bearer, claims)
		}
	}
	err := e.read(ctx, func(tx store.Tx) error {
		switch {
		case strings.HasPrefix(bearer, token.AgentKeyPrefix):
			a, err := e.findAgentByKey(tx, bearer, now)
			if err != nil {
				return err
			}
			agentCaller(c, a)
			return nil
		case strings.HasPrefix(bearer, token.UserKeyPrefix):
			k, u, err := e.findUserKey(tx, bearer, now)
			if err != nil {
				return err
			}
			userCaller(c, u, k)
			return nil
		}
		if revoked, err := tx.TokenRevoked(claims.ID); err != nil {
			return err
		} else if revoked {
			return clavis.ErrUnauthorized
		}
		c.TokenID, c.TokenExpires = claims.ID, time.Unix(claims.Expires, 0)
		typ, id, _ := strings.Cut(claims.Subject, ":")
		switch clavis.PrincipalType(typ) {
		case clavis.PrincipalUser:
			u, err := tx.GetUser(id)
			if err := liveOrUnauthorized(err, u != nil && !u.Disabled && u.OrgID == claims.Org && u.TokenGen == claims.Gen); err != nil {
				return err
			}
			var k *clavis.APIKey
			if claims.APIKeyID != "" {
				k, err = tx.GetAPIKey(claims.APIKeyID)
				if err := liveOrUnauthorized(err, k != nil && k.Active && k.UserID == u.ID &&
					(k.ExpiresAt == nil || now.Before(*k.ExpiresAt))); err != nil {
					return err
				}
			}
			userCaller(c, u, k)
		case clavis.PrincipalAgent:
			a, err := tx.GetAgent(id)
			if err := liveOrUnauthorized(err, a != nil && a.Active && a.OrgID == claims.Org && a.TokenGen == claims.Gen &&
				(a.ExpiresAt == nil || now.Before(*a.ExpiresAt))); err != nil {
				return err
			}
			agentCaller(c, a)
		default:
			return clavis.ErrUnauthorized
		}
		return nil
	})
	if err != nil {
		if clavis.IsKind(err, clavis.KindUnauthorized) {
			e.sinkOnly(ctx, "auth.failure", "token", "invalid_credential", ipString(ip))
			return nil, clavis.ErrUnauthorized
		}
		return nil, err
	}
	return c, nil
}

// liveOrUnauthorized turns a principal lookup into the authentication outcome: a missing row or a
// principal that is not live is 401, any other failure stays what it is (a database error is not a bad
// credential).
func liveOrUnauthorized(lookupErr error, live bool) error {
	switch {
	case clavis.IsKind(lookupErr, clavis.KindNotFound):
		return clavis.ErrUnauthorized
	case lookupErr != nil:
		return lookupErr
	case !live:
		return clavis.ErrUnauthorized
	}
	return nil
}

func agentCaller(c *clavis.Caller, a *clavis.Agent) {
	c.Principal = clavis.Principal{Type: clavis.PrincipalAgent, ID: a.ID, OrgID: a.OrgID}
	c.Scopes = policy.PathScopes(a.Scopes)
	c.VaultIDs = a.VaultIDs
}

func userCaller(c *clavis.Caller, u *clavis.User, k *clavis.APIKey) {
	c.Principal = clavis.Principal{Type: clavis.PrincipalUser, ID: u.ID, OrgID: u.OrgID}
	c.Role = u.Role
	if k != nil {
		c.APIKeyID = k.ID
		c.Scopes = policy.PathScopes(k.Scopes)
	}
}

// RevokeToken revokes the JWT the caller presented (spec §2.7).
func (e *Engine) RevokeToken(ctx context.Context, c *clavis.Caller) error {
	if c.TokenID == "" {
		return clavis.Invalid("", "Only access tokens can be revoked here; revoke API keys with DELETE /v1/auth/api-keys/{id} or rotate-key")
	}
	return e.write(ctx, func(tx store.Tx) error {
		if err := tx.RevokeToken(c.TokenID, c.TokenExpires.Add(e.cfg.Leeway)); err != nil {
			return err
		}
		return e.record(tx, callerEvent(c, "auth.token_revoked", string(c.Type), c.ID, nil))
	})
}

func requireUser(c *clavis.Caller) error {
	if c.Type != clavis.PrincipalUser {
		return clavis.E(clavis.KindForbidden, "This endpoint is for human users only")
	}
	return nil
}

func requireAgent(c *clavis.Caller) error {
	if c.Type != clavis.PrincipalAgent {
		return clavis.E(clavis.KindForbidden, "This endpoint is for agents only")
	}
	return nil
}

// Me returns the caller's profile.
func (e *Engine) Me(ctx context.Context, c *clavis.Caller) (*clavis.User, error) {
	if err := requireUser(c); err != nil {
		return nil, err
	}
	var u *clavis.User
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
	var u *clavis.User
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
	return u, err
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
	u, err := e.Me(ctx, c)
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

// CreateAPIKey issues a personal API key; the raw key is returned once.
func (e *Engine) CreateAPIKey(ctx context.Context, c *clavis.Caller, in clavis.APIKeyInput) (*clavis.APIKey, clavis.Sensitive, error) {
	if err := e.refuseScoped(ctx, c, "api_key", ""); err != nil {
		return nil, "", err
	}
	if err := requireUser(c); err != nil {
		return nil, "", err
	}
	if err := checkLen("name", in.Name, 1, 255); err != nil {
		return nil, "", err
	}
	if in.Scopes == nil {
		in.Scopes = []string{}
	}
	if err := policy.ValidateScopes(in.Scopes); err != nil {
		return nil, "", err
	}
	now := e.now()
	if in.ExpiresAt != nil && !in.ExpiresAt.After(now) {
		return nil, "", clavis.Invalid("expires_at", "expires_at must be in the future")
	}
	raw, err := token.NewAPIKey(token.UserKeyPrefix)
	if err != nil {
		return nil, "", e.classify(ctx, clavis.Internal(err))
	}
	k := &clavis.APIKey{ID: newID(), UserID: c.ID, OrgID: c.OrgID, Name: in.Name, Prefix: raw[:12],
		Hash: token.HashKey(e.pepper, raw), Scopes: in.Scopes, Active: true, ExpiresAt: in.ExpiresAt, CreatedAt: now}
	err = e.write(ctx, func(tx store.Tx) error {
		if err := tx.CreateAPIKey(k); err != nil {
			return err
		}
		return e.record(tx, callerEvent(c, "api_key.create", "api_key", k.ID, map[string]any{"name": k.Name}))
	})
	if err != nil {
		return nil, "", err
	}
	return k, clavis.Sensitive(raw), nil
}

// ListAPIKeys returns the caller's keys, revoked ones included.
func (e *Engine) ListAPIKeys(ctx context.Context, c *clavis.Caller) ([]*clavis.APIKey, error) {
	if err := e.refuseScoped(ctx, c, "api_key", ""); err != nil {
		return nil, err
	}
	if err := requireUser(c); err != nil {
		return nil, err
	}
	var ks []*clavis.APIKey
	err := e.read(ctx, func(tx store.Tx) error {
		var err error
		ks, err = tx.ListAPIKeys(c.ID)
		return err
	})
	return ks, err
}

// RevokeAPIKey deactivates one of the caller's keys (idempotent); another user's key is 404.
func (e *Engine) RevokeAPIKey(ctx context.Context, c *clavis.Caller, id string) error {
	if err := e.refuseScoped(ctx, c, "api_key", id); err != nil {
		return err
	}
	if err := requireUser(c); err != nil {
		return err
	}
	return e.write(ctx, func(tx store.Tx) error {
		k, err := tx.GetAPIKey(id)
		if err != nil {
			return err // a missing key is the store's KindNotFound; anything else is internal
		}
		if k.UserID != c.ID {
			return clavis.ErrNotFound
		}
		if !k.Active {
			return nil
		}
		k.Active = false
		if err := tx.UpdateAPIKey(k); err != nil {
			return err
		}
		return e.record(tx, callerEvent(c, "api_key.revoke", "api_key", k.ID, map[string]any{"name": k.Name}))
	})
}
