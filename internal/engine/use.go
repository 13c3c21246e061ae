package engine

import (
	"context"
	"errors"
	"strconv"
	"time"

	"clavis.dev/clavis"
	"clavis.dev/clavis/internal/egress"
	"clavis.dev/clavis/internal/policy"
	"clavis.dev/clavis/internal/store"
)

// Use without read (spec use.md): destination configs and the proxied call.

var (
	errNoUseConfig   = clavis.E(clavis.KindDestinationNotAllowed, "no destination config")
	errValueTooShort = clavis.E(clavis.KindConflict, "Secret value is shorter than 16 bytes and cannot be used")
	errValueInHeader = clavis.Invalid("value", "Secret value contains a line break or NUL and cannot go into a header")
	errUseConfigUser = clavis.E(clavis.KindForbidden, "Only a user with read and write on the path may manage its destination config")
)

const (
	useDefaultTimeout = 10 * time.Second
	useMaxTimeoutMS   = 30000
)

// checkUsable refuses a value that may not be used through inj (use.md §2): shorter than 16 bytes
// (409), or not header-safe for a header slot (400).
func checkUsable(value []byte, inj clavis.UseInject) error {
	if len(value) < egress.MinValueBytes {
		return errValueTooShort
	}
	if inj.As != clavis.InjectQuery && !egress.ValueHeaderSafe(value) {
		return errValueInHeader
	}
	return nil
}

// refuseConfigManager is the route-level refusal of setting or deleting a destination config: scoped
// credentials (spec §2.8) and agents (use.md §2) never may.
func (e *Engine) refuseConfigManager(ctx context.Context, c *clavis.Caller, vaultID string) error {
	if err := e.refuseScoped(ctx, c, "secret", vaultID); err != nil {
		return err
	}
	if c.Type != clavis.PrincipalUser {
		return errUseConfigUser
	}
	return nil
}

// manageUseConfig runs fn in a write transaction once the caller may manage the destination config of
// path: a user (not a scoped key) with read and write on it, or the vault's owner (use.md §2). It hands
// fn the secret at path (404 if never written; a soft-deleted one is still its path's) and the current
// config (nil if none).
func (e *Engine) manageUseConfig(ctx context.Context, c *clavis.Caller, vaultID, path string,
	fn func(tx store.Tx, va *vaultAccess, s *clavis.Secret, old *clavis.UseConfig) error) error {
	if err := e.refuseConfigManager(ctx, c, vaultID); err != nil {
		return err
	}
	if err := lookupIDs(vaultID); err != nil {
		return err
	}
	if err := policy.ValidatePath(path); err != nil {
		return err
	}
	now := e.now()
	return e.write(ctx, func(tx store.Tx) error {
		va, err := e.openVault(tx, c, vaultID, now)
		if err != nil {
			return err
		}
		for _, perm := range []clavis.Permission{clavis.PermRead, clavis.PermWrite} {
			if err := e.authorize(tx, c, va, path, perm, now); err != nil {
				return err
			}
		}
		s, err := tx.GetSecret(vaultID, path)
		if clavis.IsKind(err, clavis.KindNotFound) {
			return clavis.ErrNotFound
		}
		if err != nil {
			return err
		}
		old, err := tx.GetUseConfig(vaultID, path)
		if clavis.IsKind(err, clavis.KindNotFound) {
			old, err = nil, nil
		}
		if err != nil {
			return err
		}
		return fn(tx, va, s, old)
	})
}

// useConfigEvent is the secret.use_config event: the old and new allowed hosts (nil when none).
func useConfigEvent(c *clavis.Caller, s *clavis.Secret, vaultID, path string, old, next *clavis.UseConfig) event {
	hosts := func(u *clavis.UseConfig) any {
		if u == nil {
			return nil
		}
		return u.AllowedHosts
	}
	return callerEvent(c, "secret.use_config", "secret", s.ID, map[string]any{"vault_id": vaultID, "path": path,
		"old_allowed_hosts": hosts(old), "new_allowed_hosts": hosts(next)})
}

// PutUseConfig sets the destination config of a path (use.md §2).
func (e *Engine) PutUseConfig(ctx context.Context, c *clavis.Caller, vaultID, path string, in clavis.UseConfigInput) (*clavis.UseConfig, error) {
	if err := e.refuseConfigManager(ctx, c, vaultID); err != nil {
		return nil, err
	}
	norm, err := egress.NormalizeConfig(in, e.cfg.Egress.LiteralAllowed)
	if err != nil {
		return nil, err
	}
	var out *clavis.UseConfig
	err = e.manageUseConfig(ctx, c, vaultID, path, func(tx store.Tx, va *vaultAccess, s *clavis.Secret, old *clavis.UseConfig) error {
		if s.LatestVersion > 0 {
			v, err := tx.GetVersion(s.ID, s.LatestVersion)
			if err != nil {
				return err
			}
			plain, err := e.openValue(ctx, tx, va.vault, s, v)
			if err != nil {
				return err
			}
			err = checkUsable(plain, norm.Inject)
			clear(plain)
			if err != nil {
				return err
			}
		}
		now := e.now()
		next := &clavis.UseConfig{VaultID: vaultID, Path: path, AllowedHosts: norm.AllowedHosts,
			AllowedMethods: norm.AllowedMethods, AllowedPathPrefixes: norm.AllowedPathPrefixes, Inject: norm.Inject,
			AllowHTTP: norm.AllowHTTP, CreatedBy: c.ID, CreatedByType: c.Type, CreatedAt: now, UpdatedAt: now}
		if old != nil {
			next.CreatedBy, next.CreatedByType, next.CreatedAt = old.CreatedBy, old.CreatedByType, old.CreatedAt
		}
		if err := tx.PutUseConfig(next); err != nil {
			return err
		}
		out = next
		return e.record(tx, useConfigEvent(c, s, vaultID, path, old, next))
	})
	if err != nil {
		return nil, err // fn may still run: read nothing it writes
	}
	return out, nil
}

// DeleteUseConfig removes the destination config of a path; the path can no longer be used.
func (e *Engine) DeleteUseConfig(ctx context.Context, c *clavis.Caller, vaultID, path string) error {
	return e.manageUseConfig(ctx, c, vaultID, path, func(tx store.Tx, _ *vaultAccess, s *clavis.Secret, old *clavis.UseConfig) error {
		if old == nil {
			return clavis.ErrNotFound
		}
		if err := tx.DeleteUseConfig(vaultID, path); err != nil {
			return err
		}
		return e.record(tx, useConfigEvent(c, s, vaultID, path, old, nil))
	})
}

// GetUseConfig returns the destination config of a path to anyone who may use or read it (an agent
// needs allowed_hosts to build its URLs); like listing, a path that needs approval counts.
func (e *Engine) GetUseConfig(ctx context.Context, c *clavis.Caller, vaultID, path string) (*clavis.UseConfig, error) {
	if err := e.refuseScoped(ctx, c, "secret", vaultID); err != nil {
		return nil, err
	}
	if err := lookupIDs(vaultID); err != nil {
		return nil, err
	}
	if err := policy.ValidatePath(path); err != nil {
		return nil, err
	}
	now := e.now()
	var out *clavis.UseConfig
	var denied *policy.Decision
	err := e.read(ctx, func(tx store.Tx) error {
		va, err := e.openVault(tx, c, vaultID, now)
		if err != nil {
			return err
		}
		d := va.decide(c, path, clavis.PermUse, now)
		if r := va.decide(c, path, clavis.PermRead, now); r.Allowed {
			d = r
		}
		if !d.Allowed && d.Reason != policy.ReasonApprovalRequired {
			denied = &d
			return nil
		}
		out, err = tx.GetUseConfig(vaultID, path)
		if clavis.IsKind(err, clavis.KindNotFound) {
			return clavis.ErrNotFound
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	if denied != nil {
		return nil, e.deny(ctx, c, vaultID, path, clavis.PermUse, *denied)
	}
	return out, nil
}

// UseSecret makes the caller's request with the latest value of path injected into the configured slot
// and returns the answer redacted, in the check order of use.md §3.
func (e *Engine) UseSecret(ctx context.Context, c *clavis.Caller, vaultID, path string, req clavis.UseRequest) (*clavis.UseResult, error) {
	timeout := useDefaultTimeout
	if req.TimeoutMS != 0 {
		if req.TimeoutMS < 1 || req.TimeoutMS > useMaxTimeoutMS {
			return nil, clavis.Invalid("timeout_ms", "timeout_ms must be 1 to 30000")
		}
		timeout = time.Duration(req.TimeoutMS) * time.Millisecond
	}
	if len(req.Body) > egress.MaxBody {
		return nil, clavis.E(clavis.KindTooLarge, "body exceeds 1 MiB")
	}
	o, err := e.openVersion(ctx, c, vaultID, path, 0, clavis.PermUse)
	if err != nil {
		return nil, err
	}
	if o.lookupErr != nil { // a gated path with nothing to use: approval_required, or the 404/410
		return nil, e.commitAccess(ctx, c, o, nil)
	}
	defer clear(o.plain)
	if ok, wait := e.useLimit.Allow(c.Principal.String() + "/" + o.secret.ID); !ok {
		return nil, &clavis.Error{Kind: clavis.KindRateLimited, Message: "Too many uses of this secret", RetryAfter: int(wait/time.Second) + 1}
	}
	var cfg *clavis.UseConfig
	err = e.read(ctx, func(tx store.Tx) error {
		var err error
		cfg, err = tx.GetUseConfig(vaultID, path)
		return err
	})
	if clavis.IsKind(err, clavis.KindNotFound) {
		return nil, errNoUseConfig
	}
	if err != nil {
		return nil, err
	}
	t, err := egress.ParseTarget(req.Method, req.URL, cfg.Inject)
	if err != nil {
		return nil, err
	}
	if err := egress.CheckHeaders(req.Headers); err != nil {
		return nil, err
	}
	if err := egress.Allow(cfg, t); err != nil {
		return nil, err
	}
	addrs, err := e.cfg.Egress.CheckDestination(ctx, t)
	if err != nil {
		return nil, err
	}
	if err := checkUsable(o.plain, cfg.Inject); err != nil {
		return nil, err
	}
	details := secretDetails(vaultID, path, o.version.Version)
	details["method"], details["host"], details["url_path"] = t.Method, t.Host, t.Path()
	if t.Port != 443 && t.Port != 80 {
		details["host"] = t.Host + ":" + strconv.Itoa(t.Port)
	}
	if err := e.commitAccess(ctx, c, o, func(*clavis.Version) event {
		return callerEvent(c, "secret.use", "secret", o.secret.ID, details)
	}); err != nil {
		return nil, err
	}
	start := time.Now()
	res, sendErr := e.cfg.Egress.Send(ctx, egress.Call{Target: t, Headers: req.Headers, Body: req.Body,
		Timeout: timeout, Inject: cfg.Inject, Value: o.plain, Addrs: addrs})
	result := secretDetails(vaultID, path, o.version.Version)
	result["duration_ms"] = time.Since(start).Milliseconds()
	var se *egress.SendError
	switch {
	case errors.As(sendErr, &se):
		result["error"] = se.Category
	case sendErr != nil:
		result["error"] = egress.CatProtocol
	default:
		result["status"], result["bytes"], result["redactions"] = res.Status, len(res.Body), res.Redactions
	}
	ev := callerEvent(c, "secret.use_result", "secret", o.secret.ID, result)
	if err := e.write(ctx, func(tx store.Tx) error { return e.record(tx, ev) }); err != nil {
		// the use itself was audited before the call; the answer still goes back
		e.logger(ctx).Error("secret.use_result not recorded", "err", err, "secret_id", o.secret.ID)
	}
	if sendErr == nil {
		return res, nil
	}
	switch result["error"] {
	case egress.CatTimeout:
		return nil, clavis.E(clavis.KindGatewayTimeout, "Upstream timed out")
	case egress.CatEncoding:
		return nil, clavis.E(clavis.KindBadGateway, "Upstream answered with an unsupported encoding")
	case egress.CatGuard:
		return nil, clavis.E(clavis.KindBadGateway, "Upstream address refused by the network guard")
	}
	return nil, clavis.E(clavis.KindBadGateway, "Upstream unreachable")
}
