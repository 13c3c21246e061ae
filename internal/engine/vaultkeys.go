package engine

import (
	"context"
	"fmt"
	"time"

	"clavis.dev/clavis"
	"clavis.dev/clavis/internal/keyring"
	"clavis.dev/clavis/internal/store"
)

// createVaultRow stores a new vault with its first key version.
func createVaultRow(tx store.Tx, v *store.Vault) error {
	if err := tx.CreateVault(v); err != nil {
		return err
	}
	return tx.AddVaultKey(&store.VaultKey{VaultID: v.ID, Version: 1, Wrapped: v.WrappedKey, CreatedAt: v.CreatedAt})
}

func aadOf(v *store.Vault, s *clavis.Secret, version, keyVersion int) keyring.AAD {
	return keyring.AAD{OrgID: v.OrgID, VaultID: v.ID, SecretID: s.ID, Path: s.Path, Version: version, KeyVersion: keyVersion}
}

// sealingKey returns the vault key version new values are sealed under, counting this encryption. When
// the current version has sealed VaultKeyMaxEncryptions values it first rotates to a new version (nonce
// hygiene: random 96-bit GCM nonces stay safe far below 2^32 encryptions per key).
func (e *Engine) sealingKey(ctx context.Context, tx store.Tx, v *store.Vault) (*store.VaultKey, error) {
	k, err := tx.CurrentVaultKey(v.ID)
	if err != nil {
		return nil, err
	}
	n, err := tx.CountEncryption(v.ID, k.Version)
	if err != nil {
		return nil, err
	}
	if n <= e.cfg.VaultKeyMaxEncryptions {
		return k, nil
	}
	next, err := e.addVaultKey(ctx, tx, v, k.Version+1)
	if err != nil {
		return nil, err
	}
	if _, err := tx.CountEncryption(v.ID, next.Version); err != nil {
		return nil, err
	}
	e.operatorEvent(ctx, "key.rotate_vault", "vault", v.ID, map[string]any{"key_version": next.Version, "reason": "encryption_limit"})
	return next, nil
}

// addVaultKey makes key version `version` of the vault current. If another writer added that version
// first, it returns that one.
func (e *Engine) addVaultKey(ctx context.Context, tx store.Tx, v *store.Vault, version int) (*store.VaultKey, error) {
	wrapped, err := e.keys.NewVaultKeyVersion(ctx, v.OrgID, v.ID, version)
	if err != nil {
		return nil, err
	}
	k := &store.VaultKey{VaultID: v.ID, Version: version, Wrapped: wrapped, CreatedAt: e.now()}
	if err := tx.AddVaultKey(k); clavis.IsKind(err, clavis.KindConflict) {
		return tx.GetVaultKey(v.ID, version)
	} else if err != nil {
		return nil, err
	}
	return k, nil
}

// sealValue encrypts a value for version n of secret s under the vault's current key.
func (e *Engine) sealValue(ctx context.Context, tx store.Tx, v *store.Vault, s *clavis.Secret, n int, value []byte) (keyring.Sealed, error) {
	k, err := e.sealingKey(ctx, tx, v)
	if err != nil {
		return keyring.Sealed{}, err
	}
	return e.keys.Seal(ctx, k.Wrapped, aadOf(v, s, n, k.Version), value)
}

// openValue decrypts a stored version with the vault key version it was sealed under.
func (e *Engine) openValue(ctx context.Context, tx store.Tx, v *store.Vault, s *clavis.Secret, ver *store.Version) ([]byte, error) {
	sv, err := sealedOf(tx, v, s, ver)
	if err != nil {
		return nil, err
	}
	return sv.open(ctx, e)
}

// sealedValue is a stored version with everything its decryption needs, so that it can be opened after
// the transaction that read it.
type sealedValue struct {
	wrapped []byte // the vault key it was sealed under, as stored
	aad     keyring.AAD
	sealed  keyring.Sealed
}

// sealedOf reads what decrypting ver needs: the vault key version it was sealed under.
func sealedOf(tx store.Tx, v *store.Vault, s *clavis.Secret, ver *store.Version) (*sealedValue, error) {
	sealed := keyring.Sealed{Ciphertext: ver.Ciphertext, WrappedDEK: ver.WrappedDEK}
	kv, err := keyring.KeyVersionOf(sealed)
	if err != nil {
		return nil, err
	}
	wrapped := v.WrappedKey // version 1 lives on the vault row: no lookup on the common path
	if kv != 1 {
		k, err := tx.GetVaultKey(v.ID, kv)
		if err != nil {
			return nil, clavis.Internal(fmt.Errorf("vault %s key version %d: %w", v.ID, kv, err))
		}
		wrapped = k.Wrapped
	}
	return &sealedValue{wrapped: wrapped, aad: aadOf(v, s, ver.Version.Version, kv), sealed: sealed}, nil
}

func (sv *sealedValue) open(ctx context.Context, e *Engine) ([]byte, error) {
	return e.keys.Open(ctx, sv.wrapped, sv.aad, sv.sealed)
}

// RotateVaultKey adds a new key version to a vault (operator action): new values are sealed under it at
// once; values sealed under older versions keep opening with theirs until RewrapVault re-encrypts them.
func (e *Engine) RotateVaultKey(ctx context.Context, vaultID string) (int, error) {
	var version int
	err := e.write(ctx, func(tx store.Tx) error {
		v, err := tx.GetVault(vaultID)
		if err != nil {
			return err
		}
		cur, err := tx.CurrentVaultKey(vaultID)
		if err != nil {
			return err
		}
		k, err := e.addVaultKey(ctx, tx, v, cur.Version+1)
		if err != nil {
			return err
		}
		version = k.Version
		return nil
	})
	if err != nil {
		return 0, err // fn may still run: read nothing it writes
	}
	e.operatorEvent(ctx, "key.rotate_vault", "vault", vaultID, map[string]any{"key_version": version})
	return version, nil
}

// RewrapVault re-encrypts every stored version of a vault that is sealed under an older key version
// with the current one, one version per transaction, reporting progress after each. Values do not change.
func (e *Engine) RewrapVault(ctx context.Context, vaultID string, progress func(done, total int)) (int, error) {
	type ref struct {
		secret  *clavis.Secret
		version int
	}
	var todo []ref
	var vault *store.Vault
	err := e.read(ctx, func(tx store.Tx) error {
		var err error
		if vault, err = tx.GetVault(vaultID); err != nil {
			return err
		}
		cur, err := tx.CurrentVaultKey(vaultID)
		if err != nil {
			return err
		}
		secrets, err := tx.AllSecrets(vaultID)
		if err != nil {
			return err
		}
		for _, s := range secrets {
			vs, err := tx.ListVersions(s.ID)
			if err != nil {
				return err
			}
			for _, ver := range vs {
				full, err := tx.GetVersion(s.ID, ver.Version)
				if err != nil {
					return err
				}
				kv, err := keyring.KeyVersionOf(keyring.Sealed{WrappedDEK: full.WrappedDEK})
				if err != nil {
					return err
				}
				if kv < cur.Version {
					todo = append(todo, ref{s, ver.Version})
				}
			}
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	start := time.Now()
	for i, r := range todo {
		err := e.write(ctx, func(tx store.Tx) error {
			ver, err := tx.GetVersion(r.secret.ID, r.version)
			if err != nil {
				return err
			}
			plain, err := e.openValue(ctx, tx, vault, r.secret, ver)
			if err != nil {
				return err
			}
			defer clear(plain)
			sealed, err := e.sealValue(ctx, tx, vault, r.secret, r.version, plain)
			if err != nil {
				return err
			}
			return tx.ReplaceCiphertext(r.secret.ID, r.version, sealed.Ciphertext, sealed.WrappedDEK)
		})
		if err != nil {
			return i, err
		}
		if progress != nil {
			progress(i+1, len(todo))
		}
	}
	e.operatorEvent(ctx, "key.rewrap_vault", "vault", vaultID, map[string]any{"versions": len(todo),
		"seconds": time.Since(start).Seconds()})
	return len(todo), nil
}
