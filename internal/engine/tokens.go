package engine

import (
	"context"
	"errors"
	"net/netip"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"clavis.dev/clavis"
	"clavis.dev/clavis/internal/store"
	"clavis.dev/clavis/internal/token"
)

// lastActiveResolution is how stale an agent's last_active_at may get before a key exchange
// refreshes it (saves a row write per exchange for busy agents).
const lastActiveResolution = time.Minute

// userToken mints a user access token, scoped by key when it was minted from a personal API key.
func (e *Engine) userToken(ctx context.Context, u *store.User, key *store.APIKey) (*clavis.Token, error) {
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
func (e *Engine) agentToken(ctx context.Context, a *store.Agent, patterns []string) (*clavis.Token, error) {
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

// allowPatterns is the union of the patterns of the agent's unexpired allow policies (informational):
// vault by vault, in the order of each vault's first unexpired policy, each vault's in creation order,
// each pattern once. One query (or the state cache, through exchangeTx) gives the agent's policies.
func (e *Engine) allowPatterns(tx store.Tx, agentID string, now time.Time) ([]string, error) {
	ps, err := tx.PrincipalPolicies(clavis.PrincipalAgent, agentID)
	if err != nil {
		return nil, err
	}
	live := func(p *clavis.Policy) bool { return p.ExpiresAt == nil || now.Before(*p.ExpiresAt) }
	rank := map[string]int{} // vault id → its place in the order of first unexpired policies
	var allow []*clavis.Policy
	for _, p := range ps {
		if !live(p) {
			continue
		}
		if _, ok := rank[p.VaultID]; !ok {
			rank[p.VaultID] = len(rank)
		}
		if p.Effect != clavis.EffectDeny {
			allow = append(allow, p)
		}
	}
	slices.SortStableFunc(allow, func(a, b *clavis.Policy) int { return rank[a.VaultID] - rank[b.VaultID] })
	seen := map[string]bool{}
	out := []string{}
	for _, p := range allow {
		if !seen[p.Pattern] {
			seen[p.Pattern] = true
			out = append(out, p.Pattern)
		}
	}
	return out, nil
}

// AgentToken exchanges an agent key for an agent token (spec §4.2). agentID, when given, must match.
func (e *Engine) AgentToken(ctx context.Context, apiKey, agentID string, ip netip.Addr) (*clavis.Token, error) {
	if apiKey == "" {
		return nil, clavis.Invalid("api_key", "api_key is required")
	}
	return e.exchangeAgentKey(ctx, apiKey, agentID, agentID == "", ip)
}

// exchangeAgentKey mints an agent token for an ocv_ key (and, when agentID is given, only for that agent),
// and audits the exchange. The key's agent is looked up and judged in a read snapshot; only the audit
// event (and an occasional last_active_at) goes through the group commit. echo sets the token's agent_id.
func (e *Engine) exchangeAgentKey(ctx context.Context, apiKey, agentID string, echo bool, ip netip.Addr) (*clavis.Token, error) {
	now := e.now()
	a, entry, patterns, refused, err := e.agentForKey(ctx, apiKey, now)
	if err != nil {
		return nil, err
	}
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
			return e.record(tx, event{org: a.OrgID, action: "auth.failure", resType: "agent", resID: a.ID, actor: agentActor(a),
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
	if err := e.recordAgentKeyExchange(ctx, a, entry, ip, now); err != nil {
		return nil, err
	}
	if echo {
		t.AgentID = a.ID
	}
	return t, nil
}

// agentForKey resolves an ocv_ key to its agent and, for an agent without scopes, its allow patterns. A
// known agent that may not exchange (deactivated, expired) comes back with the refusal in refused, so
// that it can be audited; an unknown key is err (401). entry is the state cache entry the agent came
// from or went to (nil if none). When the state cache holds all it needs, no transaction runs.
func (e *Engine) agentForKey(ctx context.Context, apiKey string, now time.Time) (a *store.Agent, entry *agentKeyEntry,
	patterns []string, refused, err error) {
	lookup := func(tx store.Tx) error {
		xt := &exchangeTx{Tx: tx, e: e}
		var err error
		a, err = e.findAgentByKey(xt, apiKey, now)
		entry = xt.entry
		if err != nil {
			if a != nil { // a known agent refused: audited by the caller
				refused = err
				return nil
			}
			return err
		}
		if len(a.Scopes) == 0 {
			patterns, err = e.allowPatterns(xt, a.ID, now)
		}
		return err
	}
	a, entry, patterns, refused = nil, nil, nil, nil
	if err = lookup(nil); !errors.Is(err, errCacheMiss) {
		return a, entry, patterns, refused, err
	}
	a, entry, patterns, refused = nil, nil, nil, nil
	err = e.read(ctx, lookup)
	return a, entry, patterns, refused, err
}

// errCacheMiss is what an exchangeTx without a transaction answers for anything the cache lacks.
var errCacheMiss = errors.New("not in the state cache")

// agentKeyEntry is an agent cached by the keyed hash of its key. The row is shared and never modified.
// Its last_active_at goes stale, as changing it does not bump the state epoch: lastActive holds the
// latest value this process has written since the entry was made (Unix nanoseconds, 0 for none).
type agentKeyEntry struct {
	agent      *store.Agent
	lastActive atomic.Int64
}

// exchangeTx serves the two lookups of a key exchange from the state cache: the agent by its key hash
// (every change to an agent but last_active_at bumps the state epoch) and the agent's policies on every
// vault (so does every change to policies). In a read transaction of e.read it fills the cache on a
// miss; with a nil Tx it answers a miss with errCacheMiss; in any other transaction it asks the Tx.
type exchangeTx struct {
	store.Tx
	e     *Engine
	entry *agentKeyEntry // the entry GetAgentByKeyHash served or filled
}

// cached returns the entry for key from the cache, or load's result (cached when the Tx is a readTx).
func (x *exchangeTx) cached(key string, load func() (any, error)) (any, error) {
	rt, fill := x.Tx.(*readTx)
	if fill || x.Tx == nil {
		if v, ok := x.e.cache.get(key); ok {
			return v, nil
		}
	}
	if x.Tx == nil {
		return nil, errCacheMiss
	}
	v, err := load()
	if err == nil && fill {
		x.e.cache.put(rt.gen, key, v)
	}
	return v, err
}

// GetAgentByKeyHash returns a copy of the agent whose LastActiveAt also counts what this process wrote
// since the entry was made.
func (x *exchangeTx) GetAgentByKeyHash(hash []byte) (*store.Agent, error) {
	v, err := x.cached("ak:"+string(hash), func() (any, error) {
		a, err := x.Tx.GetAgentByKeyHash(hash)
		if err != nil {
			return nil, err
		}
		return &agentKeyEntry{agent: a}, nil
	})
	if err != nil {
		return nil, err
	}
	x.entry = v.(*agentKeyEntry)
	a := *x.entry.agent
	if n := x.entry.lastActive.Load(); n != 0 && (a.LastActiveAt == nil || n > a.LastActiveAt.UnixNano()) {
		t := time.Unix(0, n).UTC()
		a.LastActiveAt = &t
	}
	return &a, nil
}

// PrincipalPolicies returns the policies shared with the cache: the caller must not modify them.
func (x *exchangeTx) PrincipalPolicies(pt clavis.PrincipalType, principalID string) ([]*clavis.Policy, error) {
	v, err := x.cached("pp:"+string(pt)+"|"+principalID, func() (any, error) {
		ps, err := x.Tx.PrincipalPolicies(pt, principalID)
		return slices.Clip(ps), err
	})
	if err != nil {
		return nil, err
	}
	return v.([]*clavis.Policy), nil
}

// recordAgentKeyExchange audits a successful key exchange of a (auth.success) and refreshes its
// last_active_at when it is more than lastActiveResolution old, noting the refresh in entry (if any)
// once it has committed.
func (e *Engine) recordAgentKeyExchange(ctx context.Context, a *store.Agent, entry *agentKeyEntry, ip netip.Addr, now time.Time) error {
	refresh := a.LastActiveAt == nil || now.Sub(*a.LastActiveAt) >= lastActiveResolution
	err := e.write(ctx, func(tx store.Tx) error {
		if refresh {
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
		return e.record(tx, event{org: a.OrgID, action: "auth.success", resType: "agent", resID: a.ID, actor: agentActor(a),
			ip: ipString(ip), details: map[string]any{"method": "agent_key"}})
	})
	if err == nil && refresh && entry != nil {
		for n := now.UnixNano(); ; {
			old := entry.lastActive.Load()
			if old >= n || entry.lastActive.CompareAndSwap(old, n) {
				break
			}
		}
	}
	return err
}

// agentActor is a as the actor of an audit event.
func agentActor(a *store.Agent) clavis.Principal {
	return clavis.Principal{Type: clavis.PrincipalAgent, ID: a.ID, OrgID: a.OrgID}
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
	if err != nil {
		return nil, err // fn may still run: read nothing it writes
	}
	return t, nil
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
