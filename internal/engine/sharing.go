package engine

import (
	"context"
	"net/netip"
	"slices"
	"time"

	"clavis.dev/clavis"
	"clavis.dev/clavis/internal/ratelimit"
	"clavis.dev/clavis/internal/store"
)

// Share limits (spec §4.11).
const (
	shareMaxAccess     = 10000
	shareMaxPassphrase = 256
)

// shareGuessRule limits the wrong passphrases one share accepts: a passphrase is a password chosen by
// a human, and a link may travel far. Only wrong attempts are charged.
var shareGuessRule = ratelimit.Rule{Burst: 10, Rate: 1.0 / 60}

var (
	errShareExpired   = clavis.E(clavis.KindGone, "Share has expired")
	errShareExhausted = clavis.E(clavis.KindGone, "Share access limit reached")
	errShareNotYours  = clavis.E(clavis.KindForbidden, "Accept the share before opening it")
	errShareIP        = clavis.E(clavis.KindForbidden, "Your address is not allowed to open this share")
	errSharePass      = clavis.E(clavis.KindForbidden, "A valid passphrase is required")
)

// shareURL is the public address of a share.
func (e *Engine) shareURL(id string) string { return e.cfg.Issuer + "/v1/share/" + id }

// shareOf is the caller's view of a share row (never its passphrase hash).
func (e *Engine) shareOf(s *store.Share) *clavis.Share {
	out := s.Share
	out.URL = e.shareURL(s.ID)
	out.Expired = !e.now().Before(s.ExpiresAt) || s.AccessCount >= s.MaxAccessCount
	return &out
}

// parseAllowlist validates IPs and CIDRs and returns them in canonical prefix form.
func parseAllowlist(field string, entries []string) ([]string, error) {
	out := make([]string, 0, len(entries))
	for _, s := range entries {
		p, err := parsePrefix(s)
		if err != nil {
			return nil, clavis.Invalid(field, field+" entries must be IP addresses or CIDRs")
		}
		out = append(out, p.String())
	}
	return out, nil
}

// parsePrefix parses an address (a single-host prefix) or a CIDR, masked to its network.
func parsePrefix(s string) (netip.Prefix, error) {
	if a, err := netip.ParseAddr(s); err == nil {
		a = a.Unmap()
		return netip.PrefixFrom(a, a.BitLen()), nil
	}
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	if p.Addr().Is4In6() {
		p = netip.PrefixFrom(p.Addr().Unmap(), max(p.Bits()-96, 0))
	}
	return p.Masked(), nil
}

// allowlisted reports whether ip is in one of the canonical prefixes.
func allowlisted(prefixes []string, ip netip.Addr) bool {
	ip = ip.Unmap()
	for _, s := range prefixes {
		if p, err := netip.ParsePrefix(s); err == nil && ip.IsValid() && p.Contains(ip) {
			return true
		}
	}
	return false
}

// checkShareInput validates a share request that needs no lookup, and fills the defaults.
func checkShareInput(c *clavis.Caller, in *clavis.ShareInput, now time.Time) (maxAccess int, err error) {
	switch in.RecipientType {
	case clavis.ShareToUser, clavis.ShareToAgent:
		if !validID(in.RecipientID) {
			return 0, clavis.Invalid("recipient_id", "recipient_id must name an existing "+in.RecipientType)
		}
	case clavis.ShareToExternalEmail:
		if c.Type == clavis.PrincipalAgent {
			return 0, clavis.E(clavis.KindForbidden, "Agents cannot share with an email address")
		}
		email, err := normalizeEmail(in.Email)
		if err != nil {
			return 0, err
		}
		in.Email = email
	case clavis.ShareToAnyone:
	case clavis.ShareToCreator:
		if c.Type != clavis.PrincipalAgent {
			return 0, clavis.Invalid("recipient_type", "only agents share with their creator")
		}
	case "":
		return 0, clavis.Invalid("recipient_type", "recipient_type is required")
	default:
		return 0, clavis.Invalid("recipient_type", "recipient_type must be user, agent, external_email, anyone_with_link or creator")
	}
	if in.ExpiresAt == nil {
		return 0, clavis.Invalid("expires_at", "expires_at is required")
	}
	if !in.ExpiresAt.After(now) {
		return 0, clavis.Invalid("expires_at", "expires_at must be in the future")
	}
	maxAccess = 1
	if in.MaxAccessCount != nil {
		maxAccess = *in.MaxAccessCount
		if maxAccess < 1 || maxAccess > shareMaxAccess {
			return 0, clavis.Invalid("max_access_count", "max_access_count must be between 1 and 10000")
		}
	}
	if in.Passphrase != "" {
		if err := checkLen("passphrase", string(in.Passphrase), 1, shareMaxPassphrase); err != nil {
			return 0, err
		}
	}
	return maxAccess, nil
}

// CreateShare shares a secret's latest value (spec §4.11): the caller needs share and read on its path.
func (e *Engine) CreateShare(ctx context.Context, c *clavis.Caller, secretID string, in clavis.ShareInput) (*clavis.Share, error) {
	if err := e.refuseScoped(ctx, c, "secret", secretID); err != nil {
		return nil, err
	}
	if err := lookupIDs(secretID); err != nil {
		return nil, err
	}
	now := e.now()
	maxAccess, err := checkShareInput(c, &in, now)
	if err != nil {
		return nil, err
	}
	ips, err := parseAllowlist("ip_allowlist", in.IPAllowlist)
	if err != nil {
		return nil, err
	}
	var passHash string
	if in.Passphrase != "" {
		if passHash, err = e.hasher.Hash(ctx, string(in.Passphrase)); err != nil {
			return nil, e.classify(ctx, err)
		}
	}
	row := &store.Share{Share: clavis.Share{ID: newID(), OrgID: c.OrgID, CreatedBy: c.ID, CreatedByType: c.Type,
		RecipientType: in.RecipientType, RecipientEmail: in.Email, ExpiresAt: clavis.Truncate(*in.ExpiresAt),
		MaxAccessCount: maxAccess, IPAllowlist: ips, HasPassphrase: passHash != "", CreatedAt: now}, PassphraseHash: passHash}
	err = e.write(ctx, func(tx store.Tx) error {
		s, err := tx.GetSecretByID(secretID)
		if clavis.IsKind(err, clavis.KindNotFound) {
			return clavis.ErrNotFound
		}
		if err != nil {
			return err
		}
		va, err := e.openVault(tx, c, s.VaultID, now)
		if err != nil {
			return err
		}
		for _, p := range []clavis.Permission{clavis.PermShare, clavis.PermRead} {
			if err := e.authorize(tx, c, va, s.Path, p, now); err != nil {
				return err
			}
		}
		if s.Deleted {
			return clavis.ErrNotFound
		}
		row.RecipientID, err = shareRecipient(tx, c, in)
		if err != nil {
			return err
		}
		row.SecretID, row.VaultID, row.SecretPath = s.ID, s.VaultID, s.Path
		if err := tx.CreateShare(row); err != nil {
			return err
		}
		return e.record(tx, callerEvent(c, "share.create", "share", row.ID, shareDetails(&row.Share)))
	})
	if err != nil {
		return nil, err // fn may still run: read nothing it writes
	}
	return e.shareOf(row), nil
}

// shareRecipient resolves the recipient id of a new share: an existing user or agent of any org, or
// an agent's registering user for creator shares.
func shareRecipient(tx store.Tx, c *clavis.Caller, in clavis.ShareInput) (string, error) {
	switch in.RecipientType {
	case clavis.ShareToUser:
		u, err := tx.GetUser(in.RecipientID)
		if clavis.IsKind(err, clavis.KindNotFound) || err == nil && u.Disabled {
			return "", clavis.Invalid("recipient_id", "recipient_id must name an existing user")
		}
		return in.RecipientID, err
	case clavis.ShareToAgent:
		_, err := tx.GetAgent(in.RecipientID)
		if clavis.IsKind(err, clavis.KindNotFound) {
			return "", clavis.Invalid("recipient_id", "recipient_id must name an existing agent")
		}
		return in.RecipientID, err
	case clavis.ShareToCreator:
		a, err := tx.GetAgent(c.ID)
		if err != nil {
			return "", err
		}
		return a.CreatedBy, nil
	}
	return "", nil
}

func shareDetails(s *clavis.Share) map[string]any {
	return map[string]any{"secret_id": s.SecretID, "recipient_type": s.RecipientType}
}

// shareEvent is an event about share sh in the share's org, by c (nil: anonymous).
func shareEvent(sh *store.Share, c *clavis.Caller, ip netip.Addr, action string, details map[string]any) event {
	ev := event{org: sh.OrgID, action: action, resType: "share", resID: sh.ID, ip: ipString(ip), details: details}
	if c != nil {
		ev.actor = c.Principal
		if c.Via != "" {
			ev.details["via"] = c.Via
		}
	}
	return ev
}

// AccessShare opens a share (spec §4.11) in the contract's check order and counts the access exactly:
// the value leaves only after the access and its audit event have committed.
func (e *Engine) AccessShare(ctx context.Context, c *clavis.Caller, shareID string, pass clavis.Sensitive, ip netip.Addr) (*clavis.SharedSecret, error) {
	if c != nil {
		if err := e.refuseScoped(ctx, c, "share", shareID); err != nil {
			return nil, err
		}
	}
	if err := lookupIDs(shareID); err != nil {
		return nil, err
	}
	var sh *store.Share
	err := e.read(ctx, func(tx store.Tx) error {
		var err error
		sh, err = tx.GetShare(shareID)
		return err
	})
	if clavis.IsKind(err, clavis.KindNotFound) {
		return nil, clavis.ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	if sh.RecipientType != clavis.ShareToAnyone {
		switch {
		case c == nil:
			return nil, clavis.ErrUnauthorized
		case sh.RecipientID == "" || sh.RecipientID != c.ID || sh.Declined:
			return nil, clavis.ErrNotFound
		case !sh.Accepted:
			return nil, errShareNotYours
		}
	}
	if len(sh.IPAllowlist) > 0 && !allowlisted(sh.IPAllowlist, ip) {
		return nil, e.shareDenied(ctx, sh, c, ip, "share_ip", errShareIP)
	}
	if sh.PassphraseHash != "" {
		if err := e.checkSharePassphrase(ctx, sh, c, ip, pass); err != nil {
			return nil, err
		}
	}
	now := e.now()
	switch {
	case !now.Before(sh.ExpiresAt):
		return nil, errShareExpired
	case sh.AccessCount >= sh.MaxAccessCount:
		return nil, errShareExhausted
	}
	var out *clavis.SharedSecret
	var ver *clavis.Version
	err = e.read(ctx, func(tx store.Tx) error {
		s, err := tx.GetSecretByID(sh.SecretID)
		if clavis.IsKind(err, clavis.KindNotFound) {
			return clavis.ErrNotFound // deleted with its vault since the first look
		}
		if err != nil {
			return err
		}
		if s.Deleted {
			return errDeleted
		}
		v, err := tx.GetVersion(s.ID, s.LatestVersion)
		if err != nil {
			return err
		}
		if err := usable(v, now); err != nil {
			return err
		}
		vault, err := tx.GetVault(s.VaultID)
		if err != nil {
			return err
		}
		plain, err := e.openValue(ctx, tx, vault, s, v)
		if err != nil {
			return err
		}
		ver = &v.Version
		out = &clavis.SharedSecret{ShareID: sh.ID, Path: s.Path, Type: v.Type, Value: clavis.Sensitive(plain),
			MaxAccessCount: sh.MaxAccessCount}
		return nil
	})
	if err != nil {
		return nil, err
	}
	var count int
	err = e.write(ctx, func(tx store.Tx) error {
		n, ok, err := tx.ConsumeShare(sh.ID)
		if clavis.IsKind(err, clavis.KindNotFound) {
			return clavis.ErrNotFound // revoked meanwhile
		}
		if err != nil {
			return err
		}
		if !ok {
			return errShareExhausted
		}
		if ver.MaxAccessCount > 0 {
			if ok, err := tx.ConsumeAccess(ver.SecretID, ver.Version); err != nil {
				return err
			} else if !ok {
				return errExhausted // rolls the share's count back with it
			}
		}
		count = n
		return e.record(tx, shareEvent(sh, c, ip, "share.access", shareDetails(&sh.Share)))
	})
	if err != nil {
		return nil, err
	}
	out.AccessCount = count
	return out, nil
}

// checkSharePassphrase checks a share's passphrase. Wrong ones are charged to the share's bucket
// (shareGuessRule) and audited; with the bucket empty every attempt is refused with 429 before the
// passphrase is even compared, so guessing stays slow whatever the guesser's addresses.
func (e *Engine) checkSharePassphrase(ctx context.Context, sh *store.Share, c *clavis.Caller, ip netip.Addr, pass clavis.Sensitive) error {
	if ok, wait := e.shareGuesses.Peek(sh.ID); !ok {
		return &clavis.Error{Kind: clavis.KindRateLimited, Message: "Too many wrong passphrases; retry later",
			RetryAfter: ratelimit.RetryAfterSeconds(wait)}
	}
	if pass == "" {
		return e.shareDenied(ctx, sh, c, ip, "passphrase", errSharePass)
	}
	ok, err := e.hasher.Verify(ctx, sh.PassphraseHash, string(pass))
	if err != nil {
		return e.classify(ctx, err)
	}
	if !ok {
		e.shareGuesses.Allow(sh.ID)
		return e.shareDenied(ctx, sh, c, ip, "passphrase", errSharePass)
	}
	return nil
}

// shareDenied records access.denied for a share with its reason and returns refusal.
func (e *Engine) shareDenied(ctx context.Context, sh *store.Share, c *clavis.Caller, ip netip.Addr, reason string, refusal error) error {
	d := shareDetails(&sh.Share)
	d["reason"] = reason
	if err := e.write(ctx, func(tx store.Tx) error { return e.record(tx, shareEvent(sh, c, ip, "access.denied", d)) }); err != nil {
		return err
	}
	return refusal
}

// RevokeShare deletes a share its caller created; anyone else gets 404.
func (e *Engine) RevokeShare(ctx context.Context, c *clavis.Caller, id string) error {
	if err := e.refuseScoped(ctx, c, "share", id); err != nil {
		return err
	}
	if err := lookupIDs(id); err != nil {
		return err
	}
	return e.write(ctx, func(tx store.Tx) error {
		sh, err := tx.GetShare(id)
		if err != nil {
			return err
		}
		if sh.CreatedBy != c.ID || sh.CreatedByType != c.Type {
			return clavis.ErrNotFound
		}
		if err := tx.DeleteShare(id); err != nil {
			return err
		}
		return e.record(tx, shareEvent(sh, c, c.IP, "share.revoke", shareDetails(&sh.Share)))
	})
}

// ListOutboundShares lists the shares the caller created, newest first.
func (e *Engine) ListOutboundShares(ctx context.Context, c *clavis.Caller) ([]*clavis.Share, error) {
	return e.listShares(ctx, c, func(tx store.Tx) ([]*store.Share, error) { return tx.ListSharesBy(c.ID) })
}

// ListInboundShares lists the undeclined shares addressed to the caller, newest first.
func (e *Engine) ListInboundShares(ctx context.Context, c *clavis.Caller) ([]*clavis.Share, error) {
	return e.listShares(ctx, c, func(tx store.Tx) ([]*store.Share, error) { return tx.ListSharesTo(c.ID) })
}

func (e *Engine) listShares(ctx context.Context, c *clavis.Caller, fn func(tx store.Tx) ([]*store.Share, error)) ([]*clavis.Share, error) {
	if err := e.refuseScoped(ctx, c, "share", ""); err != nil {
		return nil, err
	}
	var rows []*store.Share
	err := e.read(ctx, func(tx store.Tx) error {
		var err error
		rows, err = fn(tx)
		return err
	})
	if err != nil {
		return nil, err
	}
	out := make([]*clavis.Share, 0, len(rows))
	for _, r := range rows {
		out = append(out, e.shareOf(r))
	}
	return out, nil
}

// AcceptShare records that the recipient accepts a share addressed to it.
func (e *Engine) AcceptShare(ctx context.Context, c *clavis.Caller, id string) error {
	return e.answerShare(ctx, c, id, true)
}

// DeclineShare records that the recipient declines a share; it then exists only in its creator's list.
func (e *Engine) DeclineShare(ctx context.Context, c *clavis.Caller, id string) error {
	return e.answerShare(ctx, c, id, false)
}

func (e *Engine) answerShare(ctx context.Context, c *clavis.Caller, id string, accept bool) error {
	if err := e.refuseScoped(ctx, c, "share", id); err != nil {
		return err
	}
	if err := lookupIDs(id); err != nil {
		return err
	}
	return e.write(ctx, func(tx store.Tx) error {
		sh, err := tx.GetShare(id)
		if err != nil {
			return err
		}
		directed := !slices.Contains([]string{clavis.ShareToAnyone, ""}, sh.RecipientType)
		if !directed || sh.RecipientID != c.ID || sh.Declined {
			return clavis.ErrNotFound
		}
		action := "share.decline"
		if accept {
			action = "share.accept"
		}
		if err := tx.SetShareAnswer(id, accept, !accept); err != nil {
			return err
		}
		return e.record(tx, shareEvent(sh, c, c.IP, action, shareDetails(&sh.Share)))
	})
}
