package engine

import (
	"context"
	"net/mail"
	"net/netip"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"clavis.dev/clavis"
	"clavis.dev/clavis/internal/policy"
	"clavis.dev/clavis/internal/store"
	"clavis.dev/clavis/internal/token"
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

// findAgentByKey resolves an ocv_ key to a live agent, or a 401. For a deactivated or expired agent it
// also returns the agent (with errAgentDeactivated / errAgentExpired), so that the refusal can be audited.
func (e *Engine) findAgentByKey(tx store.Tx, raw string, now time.Time) (*store.Agent, error) {
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
func (e *Engine) findUserKey(tx store.Tx, raw string, now time.Time) (*store.APIKey, *store.User, error) {
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

// Authenticate resolves a bearer credential to a live caller. Principal state (enabled, active,
// expiry, credential generation, token revocation, key revocation) is checked on every call.
func (e *Engine) Authenticate(ctx context.Context, bearer string, ip netip.Addr) (*clavis.Caller, error) {
	now := e.now()
	c := &clavis.Caller{IP: ip.Unmap()}
	isKey := strings.HasPrefix(bearer, token.AgentKeyPrefix) || strings.HasPrefix(bearer, token.UserKeyPrefix)
	var claims *token.Claims
	if !isKey { // the signature is checked before any database work (and once per distinct token)
		if claims = e.verifiedClaims(bearer); claims == nil {
			e.sinkOnly(ctx, "auth.failure", "token", "invalid_credential", ipString(ip))
			return nil, clavis.ErrUnauthorized
		}
	}
	rules, hit := e.cachedAuth(c, claims, now)
	if !hit {
		gen := e.cache.generation()
		var expires *time.Time // of the token's agent or key, for the cache
		err := e.read(ctx, func(tx store.Tx) error {
			var err error
			switch {
			case strings.HasPrefix(bearer, token.AgentKeyPrefix):
				var a *store.Agent
				if a, err = e.findAgentByKey(tx, bearer, now); err == nil {
					agentCaller(c, a)
				}
			case strings.HasPrefix(bearer, token.UserKeyPrefix):
				var k *store.APIKey
				var u *store.User
				if k, u, err = e.findUserKey(tx, bearer, now); err == nil {
					userCaller(c, u, k)
				}
			default:
				expires, err = tokenCaller(tx, c, claims, now)
			}
			if err != nil {
				return err
			}
			rules, err = tx.ListIPRules(c.OrgID)
			return err
		})
		if err != nil {
			if clavis.IsKind(err, clavis.KindUnauthorized) {
				e.sinkOnly(ctx, "auth.failure", "token", "invalid_credential", ipString(ip))
				return nil, clavis.ErrUnauthorized
			}
			return nil, err
		}
		if claims != nil {
			e.cache.put(gen, "t:"+claims.ID, &tokenEntry{caller: *c, expires: expires})
			e.cache.put(gen, "ip:"+c.OrgID, rules)
		}
	}
	if err := e.checkIPRules(ctx, c, rules, c.IP); err != nil {
		return nil, err
	}
	return c, nil
}

// verifiedClaims returns the claims of bearer if it is a valid access token, from the cache of verified
// tokens or by checking its signature and claims (and then caching them); else nil.
func (e *Engine) verifiedClaims(bearer string) *token.Claims {
	if claims := e.verified.get(bearer, e.cfg.Clock()); claims != nil {
		return claims
	}
	claims, err := e.verifyToken(bearer, token.KindAccess)
	if err != nil {
		return nil
	}
	e.verified.put(bearer, claims)
	return claims
}

// tokenCaller fills c from the verified claims of an access token, after checking what the signature
// cannot: the token is not revoked, and its principal (and the 1ck_ key it was minted from, if any) is
// still live, in the token's org, at the token's credential generation. It returns when that principal
// or key expires (nil: never).
func tokenCaller(tx store.Tx, c *clavis.Caller, claims *token.Claims, now time.Time) (*time.Time, error) {
	if revoked, err := tx.TokenRevoked(claims.ID); err != nil {
		return nil, err
	} else if revoked {
		return nil, clavis.ErrUnauthorized
	}
	c.TokenID, c.TokenExpires = claims.ID, time.Unix(claims.Expires, 0)
	typ, id, _ := strings.Cut(claims.Subject, ":")
	switch clavis.PrincipalType(typ) {
	case clavis.PrincipalUser:
		u, err := tx.GetUser(id)
		if err := liveOrUnauthorized(err, u != nil && !u.Disabled && u.OrgID == claims.Org && u.TokenGen == claims.Gen); err != nil {
			return nil, err
		}
		var k *store.APIKey
		if claims.APIKeyID != "" {
			k, err = tx.GetAPIKey(claims.APIKeyID)
			if err := liveOrUnauthorized(err, k != nil && k.Active && k.UserID == u.ID &&
				(k.ExpiresAt == nil || now.Before(*k.ExpiresAt))); err != nil {
				return nil, err
			}
		}
		userCaller(c, u, k)
		if k != nil {
			return k.ExpiresAt, nil
		}
		return nil, nil
	case clavis.PrincipalAgent:
		a, err := tx.GetAgent(id)
		if err := liveOrUnauthorized(err, a != nil && a.Active && a.OrgID == claims.Org && a.TokenGen == claims.Gen &&
			(a.ExpiresAt == nil || now.Before(*a.ExpiresAt))); err != nil {
			return nil, err
		}
		agentCaller(c, a)
		return a.ExpiresAt, nil
	}
	return nil, clavis.ErrUnauthorized
}

// tokenEntry is the cached outcome of tokenCaller for one token: the caller it stands for (without the
// request's IP), live until expires (nil: as long as the cache holds it).
type tokenEntry struct {
	caller  clavis.Caller
	expires *time.Time
}

// cachedAuth fills c from the state cache when the credential is an access token whose principal and
// org IP rules are cached and current; it reports whether it did.
func (e *Engine) cachedAuth(c *clavis.Caller, claims *token.Claims, now time.Time) ([]*clavis.IPRule, bool) {
	if claims == nil {
		return nil, false
	}
	v, ok := e.cache.get("t:" + claims.ID)
	if !ok {
		return nil, false
	}
	te := v.(*tokenEntry)
	if te.expires != nil && !now.Before(*te.expires) {
		return nil, false
	}
	r, ok := e.cache.get("ip:" + te.caller.OrgID)
	if !ok {
		return nil, false
	}
	ip := c.IP
	*c = te.caller
	c.IP = ip
	c.Scopes, c.VaultIDs = slices.Clip(c.Scopes), slices.Clip(c.VaultIDs) // shared: an append must copy
	return r.([]*clavis.IPRule), true
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

func agentCaller(c *clavis.Caller, a *store.Agent) {
	c.Principal = clavis.Principal{Type: clavis.PrincipalAgent, ID: a.ID, OrgID: a.OrgID}
	c.Scopes = policy.PathScopes(a.Scopes)
	c.VaultIDs = a.VaultIDs
}

func userCaller(c *clavis.Caller, u *store.User, k *store.APIKey) {
	c.Principal = clavis.Principal{Type: clavis.PrincipalUser, ID: u.ID, OrgID: u.OrgID}
	c.Role = u.Role
	if k != nil {
		c.APIKeyID = k.ID
		c.Scopes = policy.PathScopes(k.Scopes)
	}
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
