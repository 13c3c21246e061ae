package engine

import (
	"context"

	"clavis.dev/clavis"
	"clavis.dev/clavis/internal/keyring"
	"clavis.dev/clavis/internal/store"
)

// RotateRoot rewraps every server key and every vault key version under to's root key (root-key
// rotation, or a move to another provider such as file → PKCS#11). Keys and values do not change; blobs
// already under the new root are skipped, so an interrupted run can simply be repeated. Each blob is
// rewrapped in its own transaction, so servers keep serving; they need the new root key as current and
// the old one as previous (--previous-root-key) until this has finished. progress is called after each
// blob.
func (e *Engine) RotateRoot(ctx context.Context, to *keyring.Keyring, progress func(done, total int)) (int, error) {
	var names []string
	var vkeys []*clavis.VaultKey
	orgOf := map[string]string{}
	err := e.read(ctx, func(tx store.Tx) error {
		var err error
		if names, err = tx.ServerKeyNames(); err != nil {
			return err
		}
		if vkeys, err = tx.AllVaultKeys(); err != nil {
			return err
		}
		for _, k := range vkeys {
			if _, ok := orgOf[k.VaultID]; !ok {
				v, err := tx.GetVault(k.VaultID)
				if err != nil {
					return err
				}
				orgOf[k.VaultID] = v.OrgID
			}
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	total, done, moved := len(names)+len(vkeys), 0, 0
	step := func(fn func(tx store.Tx) (bool, error)) error {
		var changed bool
		err := e.write(ctx, func(tx store.Tx) error {
			var err error
			changed, err = fn(tx)
			return err
		})
		if err != nil {
			return err
		}
		done++
		if changed {
			moved++
		}
		if progress != nil {
			progress(done, total)
		}
		return nil
	}
	newRoot := to.RootID()
	for _, name := range names {
		err := step(func(tx store.Tx) (bool, error) {
			w, err := tx.ServerKey(name)
			if err != nil {
				return false, err
			}
			if id, _ := keyring.WrappedUnder(w); id == newRoot {
				return false, nil
			}
			w2, err := e.keys.RewrapServerSecret(ctx, to, name, w)
			if err != nil {
				return false, err
			}
			return true, tx.ReplaceServerKey(name, w2)
		})
		if err != nil {
			return moved, err
		}
	}
	for _, k := range vkeys {
		err := step(func(tx store.Tx) (bool, error) {
			cur, err := tx.GetVaultKey(k.VaultID, k.Version)
			if err != nil {
				return false, err
			}
			if id, _ := keyring.WrappedUnder(cur.Wrapped); id == newRoot {
				return false, nil
			}
			w2, err := e.keys.RewrapVaultKey(ctx, to, orgOf[k.VaultID], k.VaultID, k.Version, cur.Wrapped)
			if err != nil {
				return false, err
			}
			return true, tx.RewrapVaultKey(k.VaultID, k.Version, w2)
		})
		if err != nil {
			return moved, err
		}
	}
	e.operatorEvent(ctx, "key.rotate_root", "root_key", newRoot, map[string]any{"rewrapped": moved, "checked": total})
	return moved, nil
}
