package engine

import (
	"context"
	"errors"
	"strconv"
	"time"

	"clavis.dev/clavis"
	"clavis.dev/clavis/internal/store"
	"clavis.dev/clavis/internal/token"
)

// Signing keys are server secrets named keyJWT (version 1), keyJWT+".2", keyJWT+".3", …; the highest
// version signs, and the previous verifyVersions-1 versions still verify, so tokens issued before a
// rotation stay valid until they expire (the longest token lives 24 h: rotate at most every 12 h to keep
// that true across two rotations).
const verifyVersions = 3

func signingKeyName(version int) string {
	if version == 1 {
		return keyJWT
	}
	return keyJWT + "." + strconv.Itoa(version)
}

// newSigningSeed returns the seed of a fresh signing key; the caller clears it when done.
func newSigningSeed() ([]byte, error) {
	k, err := token.NewSigningKey()
	if err != nil {
		return nil, err
	}
	defer clear(k.Private)
	return k.Private.Seed(), nil
}

// signingVersions returns the newest signing key version in the store.
func signingVersions(tx store.Tx) (int, error) {
	n := 1
	for {
		_, err := tx.ServerKey(signingKeyName(n + 1))
		if clavis.IsKind(err, clavis.KindNotFound) {
			return n, nil
		}
		if err != nil {
			return 0, err
		}
		n++
	}
}

// loadSigningKeys (re)builds the token issuer from the newest signing keys in the store. It clears every
// unwrapped seed and temporary private key, and retires the issuer it replaces (clearing its keys once
// the mints in progress on it have finished).
func (e *Engine) loadSigningKeys(ctx context.Context) error {
	var wrapped [][]byte
	var newest int
	err := e.read(ctx, func(tx store.Tx) error {
		wrapped = wrapped[:0]
		var err error
		if newest, err = signingVersions(tx); err != nil {
			return err
		}
		for v := newest; v >= 1 && v > newest-verifyVersions; v-- {
			w, err := tx.ServerKey(signingKeyName(v))
			if err != nil {
				return err
			}
			wrapped = append(wrapped, w)
		}
		return nil
	})
	if err != nil {
		return err
	}
	if int64(newest) == e.signingVersion.Load() {
		return nil // unchanged
	}
	keys := make([]token.SigningKey, 0, len(wrapped))
	defer func() {
		for _, k := range keys {
			clear(k.Private) // NewIssuer keeps copies
		}
	}()
	for i, w := range wrapped {
		seed, err := e.keys.UnwrapServerSecret(ctx, signingKeyName(newest-i), w)
		if err != nil {
			return err
		}
		keys = append(keys, token.SigningKeyFromSeed(seed))
		clear(seed)
	}
	if old := e.tokens.Swap(token.NewIssuer(e.cfg.Issuer, keys, e.cfg.Leeway)); old != nil {
		old.Retire()
	}
	e.signingVersion.Store(int64(newest))
	return nil
}

// mint signs c with the current issuer. An issuer is retired only after its successor is in place, so
// a mint that meets a retired one retries with the successor; it fails with token.ErrRetired only when
// there is none (the engine is closed).
func (e *Engine) mint(kind token.Kind, c token.Claims) (string, error) {
	for {
		iss := e.tokens.Load()
		raw, err := iss.Mint(kind, c)
		if !errors.Is(err, token.ErrRetired) || e.tokens.Load() == iss {
			return raw, err
		}
	}
}

// verifyToken verifies a token with the current issuer. A token signed by a key this process does not
// know yet (another replica rotated) makes it reload the signing keys, at most once a second, and retry.
func (e *Engine) verifyToken(raw string, kind token.Kind) (*token.Claims, error) {
	claims, err := e.tokens.Load().Verify(raw, kind, e.cfg.Clock())
	if err == nil {
		return claims, nil
	}
	now := e.cfg.Clock().UnixNano()
	last := e.keysChecked.Load()
	if now-last < int64(time.Second) || !e.keysChecked.CompareAndSwap(last, now) {
		return nil, err
	}
	before := e.tokens.Load()
	if lerr := e.loadSigningKeys(context.Background()); lerr != nil || e.tokens.Load() == before {
		return nil, err
	}
	return e.tokens.Load().Verify(raw, kind, e.cfg.Clock())
}

// RotateSigningKey adds a new JWT signing key: new tokens are signed with it at once, tokens signed by
// the previous keys stay valid until they expire, and JWKS lists them all. Other processes on the same
// database pick the new key up within 30 s, or at once when they meet a token signed with it.
func (e *Engine) RotateSigningKey(ctx context.Context) (string, error) {
	seed, err := newSigningSeed()
	if err != nil {
		return "", e.classify(ctx, clavis.Internal(err))
	}
	defer clear(seed)
	var version int
	err = e.write(ctx, func(tx store.Tx) error {
		n, err := signingVersions(tx)
		if err != nil {
			return err
		}
		version = n + 1
		return nil
	})
	if err != nil {
		return "", err
	}
	w, err := e.keys.WrapServerSecret(ctx, signingKeyName(version), seed)
	if err != nil {
		return "", e.classify(ctx, err)
	}
	if err := e.write(ctx, func(tx store.Tx) error {
		_, err := tx.PutServerKey(signingKeyName(version), w) // a concurrent rotation to the same version wins instead
		return err
	}); err != nil {
		return "", err
	}
	if err := e.loadSigningKeys(ctx); err != nil {
		return "", err
	}
	kid, _ := e.tokens.Load().Current()
	e.operatorEvent(ctx, "key.rotate_jwt", "signing_key", kid, map[string]any{"version": version})
	return kid, nil
}
