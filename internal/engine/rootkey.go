package engine

import (
	"context"

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
	plan, err := e.planRootRotation(ctx)
	if err != nil {
		return 0, err
	}
	run := &rootRotation{to: to, newRoot: to.RootID(), total: len(plan.serverKeys) + len(plan.vaultKeys), progress: progress}
	for _, name := range plan.serverKeys {
		err := e.rotationStep(ctx, run, func(tx store.Tx) (bool, error) {
			return e.rewrapServerKeyTo(ctx, tx, run, name)
		})
		if err != nil {
			return run.moved, err
		}
	}
	for _, k := range plan.vaultKeys {
		err := e.rotationStep(ctx, run, func(tx store.Tx) (bool, error) {
			return e.rewrapVaultKeyTo(ctx, tx, run, plan.orgOf[k.VaultID], k)
		})
		if err != nil {
			return run.moved, err
		}
	}
	e.operatorEvent(ctx, "key.rotate_root", "root_key", run.newRoot, map[string]any{"rewrapped": run.moved, "checked": run.total})
	return run.moved, nil
}

// rootRotationPlan is what RotateRoot rewraps, read in one snapshot before it starts.
type rootRotationPlan struct {
	serverKeys []string          // names of the server keys
	vaultKeys  []*store.VaultKey // every version of every vault key
	orgOf      map[string]string // vault id → org id, for the vault keys' AAD
}

// planRootRotation lists the server keys and vault key versions to rewrap, with each vault's org.
func (e *Engine) planRootRotation(ctx context.Context) (*rootRotationPlan, error) {
	plan := &rootRotationPlan{orgOf: map[string]string{}}
	err := e.read(ctx, func(tx store.Tx) error {
		var err error
		if plan.serverKeys, err = tx.ServerKeyNames(); err != nil {
			return err
		}
		if plan.vaultKeys, err = tx.AllVaultKeys(); err != nil {
			return err
		}
		for _, k := range plan.vaultKeys {
			if _, ok := plan.orgOf[k.VaultID]; !ok {
				v, err := tx.GetVault(k.VaultID)
				if err != nil {
					return err
				}
				plan.orgOf[k.VaultID] = v.OrgID
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return plan, nil
}

// rootRotation is one run of RotateRoot: its target and its progress, blobs checked (done of total) and
// rewrapped (moved).
type rootRotation struct {
	to                 *keyring.Keyring
	newRoot            string // to.RootID()
	done, total, moved int
	progress           func(done, total int) // may be nil
}

// rotationStep runs fn, which rewraps one blob and reports whether it changed anything, in its own
// transaction, then counts it and reports progress.
func (e *Engine) rotationStep(ctx context.Context, run *rootRotation, fn func(tx store.Tx) (bool, error)) error {
	var changed bool
	err := e.write(ctx, func(tx store.Tx) error {
		var err error
		changed, err = fn(tx)
		return err
	})
	if err != nil {
		return err
	}
	run.done++
	if changed {
		run.moved++
	}
	if run.progress != nil {
		run.progress(run.done, run.total)
	}
	return nil
}

// rewrapServerKeyTo rewraps server key name under the run's new root key, unless it is already under it.
func (e *Engine) rewrapServerKeyTo(ctx context.Context, tx store.Tx, run *rootRotation, name string) (bool, error) {
	w, err := tx.ServerKey(name)
	if err != nil {
		return false, err
	}
	if id, _ := keyring.WrappedUnder(w); id == run.newRoot {
		return false, nil
	}
	w2, err := e.keys.RewrapServerSecret(ctx, run.to, name, w)
	if err != nil {
		return false, err
	}
	return true, tx.ReplaceServerKey(name, w2)
}

// rewrapVaultKeyTo rewraps one vault key version (as stored now, not as planned) under the run's new root
// key, unless it is already under it.
func (e *Engine) rewrapVaultKeyTo(ctx context.Context, tx store.Tx, run *rootRotation, orgID string, k *store.VaultKey) (bool, error) {
	cur, err := tx.GetVaultKey(k.VaultID, k.Version)
	if err != nil {
		return false, err
	}
	if id, _ := keyring.WrappedUnder(cur.Wrapped); id == run.newRoot {
		return false, nil
	}
	w2, err := e.keys.RewrapVaultKey(ctx, run.to, orgID, k.VaultID, k.Version, cur.Wrapped)
	if err != nil {
		return false, err
	}
	return true, tx.RewrapVaultKey(k.VaultID, k.Version, w2)
}
