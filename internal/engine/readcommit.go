package engine

import (
	"context"
	"errors"

	"clavis.dev/clavis"
	"clavis.dev/clavis/internal/policy"
	"clavis.dev/clavis/internal/store"
)

// readInCommit is readVersion in one unit of the group commit, for a store.WarmWriter: authorization,
// lookup, state checks, access count and read event in one write transaction, whose warm connection
// reads for less than a read transaction of its own. It serves the common case only: the caller's rules
// on the vault are in the state cache and allow the read outright. For anything else (a denial, an
// approval gate, a cache miss) it reports done false, having written nothing, and readVersion takes the
// general path, which records denials and fills the cache. The value is decrypted after the commit,
// outside the committer: should that fail (a corrupt value, an unreachable root key), the read event
// stands for a read that answered an error.
func (e *Engine) readInCommit(ctx context.Context, c *clavis.Caller, vaultID, path string, version int) (sv *clavis.SecretValue, done bool, err error) {
	if err := lookupIDs(vaultID); err != nil {
		return nil, true, err
	}
	if err := policy.ValidatePath(path); err != nil {
		return nil, true, err
	}
	if _, ok := e.cache.get(vaultKey(c, vaultID)); !ok {
		return nil, false, nil
	}
	now := e.now()
	var (
		found  *clavis.SecretValue
		sealed *sealedValue
		answer error // an answer decided before anything was written: the unit then writes nothing
	)
	err = e.write(ctx, func(tx store.Tx) error {
		found, sealed, answer = nil, nil, nil
		va, err := e.openVault(tx, c, vaultID, now)
		if err != nil {
			return answerOr(&answer, err)
		}
		if d := va.decide(c, path, clavis.PermRead, now); !d.Allowed {
			answer = errGeneralPath
			return nil
		}
		s, v, err := findVersion(tx, va, path, version, now)
		if err != nil {
			return answerOr(&answer, err)
		}
		if sealed, err = sealedOf(tx, va.vault, s, v); err != nil {
			return err
		}
		if v.MaxAccessCount > 0 {
			if ok, err := tx.ConsumeAccess(v.SecretID, v.Version.Version); err != nil {
				return err
			} else if !ok {
				return errExhausted
			}
		}
		found = &clavis.SecretValue{SecretMeta: clavis.SecretMeta{Secret: s, Version: &v.Version}}
		return e.record(tx, callerEvent(c, "secret.read", "secret", v.SecretID, secretDetails(vaultID, path, v.Version.Version)))
	})
	switch {
	case err != nil:
		return nil, true, err
	case answer == errGeneralPath:
		return nil, false, nil
	case answer != nil:
		return nil, true, answer
	}
	plain, err := sealed.open(ctx, e)
	if err != nil {
		return nil, true, err
	}
	found.Value = clavis.Sensitive(plain)
	return found, true, nil
}

// errGeneralPath is readInCommit's signal that the read needs the general path.
var errGeneralPath = errors.New("general path")

// answerOr keeps an answer for the client (a *clavis.Error other than an internal one) in *answer and
// returns nil, so that a unit that has written nothing yet ends without failing its batch; any other
// error is returned.
func answerOr(answer *error, err error) error {
	var ce *clavis.Error
	if errors.As(err, &ce) && ce.Kind != clavis.KindInternal {
		*answer = err
		return nil
	}
	return err
}
