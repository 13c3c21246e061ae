package engine

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"net/netip"
	"strings"
	"time"

	"clavis.dev/clavis"
	"clavis.dev/clavis/internal/store"
)

// Dashboard sessions (docs/dashboard.md §1). A session is a row found by the SHA-256 of a random id
// that only the browser holds; every request reads it (and the user) from the store, so a session ended
// on one replica is ended on all of them at once.
const (
	webSessionAbsolute = 12 * time.Hour   // from sign-in
	webSessionIdle     = 30 * time.Minute // since the last request
	// webSessionTouch is how stale last_seen_at may get before a request rewrites it.
	webSessionTouch = time.Minute
)

// OpenWebSession starts a dashboard session for the user of accessToken, a user access token that
// Signup, Login or MFAVerify has just issued, and revokes that token: the returned id, which the
// browser keeps in a cookie, is then the session's only credential. Errors: KindUnauthorized (not a
// live user token, or one minted from an API key).
func (e *Engine) OpenWebSession(ctx context.Context, accessToken string, ip netip.Addr) (clavis.Sensitive, error) {
	claims := e.verifiedClaims(accessToken)
	if claims == nil || claims.APIKeyID != "" || !strings.HasPrefix(claims.Subject, "user:") {
		return "", clavis.ErrUnauthorized
	}
	var raw [32]byte
	_, _ = rand.Read(raw[:])
	id := base64.RawURLEncoding.EncodeToString(raw[:])
	hash := sha256.Sum256([]byte(id))
	now := e.now()
	err := e.write(ctx, func(tx store.Tx) error {
		var c clavis.Caller
		if _, err := tokenCaller(tx, &c, claims, now); err != nil {
			return err
		}
		u, err := tx.GetUser(c.ID)
		if err != nil {
			return err
		}
		if err := tx.RevokeToken(claims.ID, time.Unix(claims.Expires, 0).Add(e.cfg.Leeway)); err != nil {
			return err
		}
		old, err := tx.ListWebSessions(u.ID)
		if err != nil {
			return err
		}
		for _, s := range old { // the user's ended sessions go when a new one starts
			if !webSessionLive(s, u, now) {
				if err := tx.DeleteWebSession(s.ID); err != nil {
					return err
				}
			}
		}
		return tx.CreateWebSession(&store.WebSession{ID: newID(), IDHash: hash[:], UserID: u.ID, OrgID: u.OrgID,
			TokenGen: u.TokenGen, IP: ipString(ip), CreatedAt: now, LastSeenAt: now})
	})
	if err != nil {
		return "", err
	}
	return clavis.Sensitive(id), nil
}

// webSessionLive reports whether s is within both of its time limits and u (its user) still holds the
// credential generation s began with.
func webSessionLive(s *store.WebSession, u *store.User, now time.Time) bool {
	return now.Before(s.CreatedAt.Add(webSessionAbsolute)) && now.Before(s.LastSeenAt.Add(webSessionIdle)) &&
		!u.Disabled && u.OrgID == s.OrgID && u.TokenGen == s.TokenGen
}

// WebSession resolves a dashboard session id to the Caller of its user (Via "web", TokenExpires the
// session's absolute end) and the session's public id, and records the use. A session past its idle or
// absolute limit, or whose user was disabled or changed password since, is deleted. Errors:
// KindUnauthorized (no such live session).
func (e *Engine) WebSession(ctx context.Context, id string, ip netip.Addr) (*clavis.Caller, string, error) {
	if id == "" {
		return nil, "", clavis.ErrUnauthorized
	}
	hash := sha256.Sum256([]byte(id))
	now := e.now()
	var s *store.WebSession
	var u *store.User
	err := e.read(ctx, func(tx store.Tx) error {
		var err error
		if s, err = tx.WebSessionByHash(hash[:]); err != nil {
			return err
		}
		u, err = tx.GetUser(s.UserID)
		return err
	})
	if clavis.IsKind(err, clavis.KindNotFound) {
		return nil, "", clavis.ErrUnauthorized
	}
	if err != nil {
		return nil, "", err
	}
	if !webSessionLive(s, u, now) {
		if err := e.write(ctx, func(tx store.Tx) error { return tx.DeleteWebSession(s.ID) }); err != nil {
			return nil, "", err
		}
		return nil, "", clavis.ErrUnauthorized
	}
	if now.Sub(s.LastSeenAt) >= webSessionTouch {
		err := e.write(ctx, func(tx store.Tx) error { return tx.TouchWebSession(s.ID, now) })
		if clavis.IsKind(err, clavis.KindNotFound) { // ended meanwhile
			return nil, "", clavis.ErrUnauthorized
		}
		if err != nil {
			return nil, "", err
		}
	}
	c := &clavis.Caller{IP: ip, Via: "web", TokenExpires: s.CreatedAt.Add(webSessionAbsolute)}
	userCaller(c, u, nil)
	return c, s.ID, nil
}

// CloseWebSession ends the session with this id (logout) and audits auth.token_revoked; an unknown or
// ended id is not an error.
func (e *Engine) CloseWebSession(ctx context.Context, id string, ip netip.Addr) error {
	hash := sha256.Sum256([]byte(id))
	return e.write(ctx, func(tx store.Tx) error {
		s, err := tx.WebSessionByHash(hash[:])
		if clavis.IsKind(err, clavis.KindNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		if err := tx.DeleteWebSession(s.ID); err != nil {
			return err
		}
		c := &clavis.Caller{Principal: clavis.Principal{Type: clavis.PrincipalUser, ID: s.UserID, OrgID: s.OrgID},
			IP: ip, Via: "web"}
		return e.record(tx, callerEvent(c, "auth.token_revoked", "user", s.UserID, nil))
	})
}

// ListWebSessions lists the caller's live dashboard sessions, oldest first. Errors: KindForbidden (not
// a user, or a scoped API key).
func (e *Engine) ListWebSessions(ctx context.Context, c *clavis.Caller) ([]*clavis.WebSession, error) {
	if err := ownSessions(c); err != nil {
		return nil, err
	}
	now := e.now()
	var out []*clavis.WebSession
	err := e.read(ctx, func(tx store.Tx) error {
		u, err := tx.GetUser(c.ID)
		if err != nil {
			return err
		}
		ss, err := tx.ListWebSessions(c.ID)
		if err != nil {
			return err
		}
		out = make([]*clavis.WebSession, 0, len(ss))
		for _, s := range ss {
			if webSessionLive(s, u, now) {
				out = append(out, &clavis.WebSession{ID: s.ID, IP: s.IP, CreatedAt: s.CreatedAt, LastSeenAt: s.LastSeenAt})
			}
		}
		return nil
	})
	return out, err
}

// RevokeWebSession ends one of the caller's dashboard sessions and audits auth.token_revoked. Errors:
// KindForbidden (not a user, or a scoped API key), KindNotFound (no such session of the caller).
func (e *Engine) RevokeWebSession(ctx context.Context, c *clavis.Caller, id string) error {
	if err := ownSessions(c); err != nil {
		return err
	}
	return e.write(ctx, func(tx store.Tx) error {
		ss, err := tx.ListWebSessions(c.ID)
		if err != nil {
			return err
		}
		for _, s := range ss {
			if s.ID == id {
				if err := tx.DeleteWebSession(s.ID); err != nil {
					return err
				}
				return e.record(tx, callerEvent(c, "auth.token_revoked", "user", c.ID, nil))
			}
		}
		return clavis.E(clavis.KindNotFound, "Session not found")
	})
}

// ownSessions allows a user's own unscoped credential to manage its sessions.
func ownSessions(c *clavis.Caller) error {
	if c.Type != clavis.PrincipalUser || len(c.Scopes) > 0 {
		return clavis.E(clavis.KindForbidden, "Only a user may manage its dashboard sessions")
	}
	return nil
}
