package postgres

import (
	"clavis.dev/clavis/internal/store"
)

// --- vault key versions ---

const (
	vaultKeyCols = `vault_id, version, wrapped, encryptions, created_at`
	// ON CONFLICT DO NOTHING: a duplicate version is ErrConflict (insert) without aborting the transaction.
	qAddVaultKey = `INSERT INTO vault_keys (` + vaultKeyCols + `) VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT DO NOTHING`
	qGetVaultKey     = `SELECT ` + vaultKeyCols + ` FROM vault_keys WHERE vault_id = $1 AND version = $2`
	qCurrentVaultKey = `SELECT ` + vaultKeyCols + ` FROM vault_keys WHERE vault_id = $1
		ORDER BY version DESC LIMIT 1`
	// COLLATE "C": vault ids in byte order, whatever the database's collation.
	qAllVaultKeys   = `SELECT ` + vaultKeyCols + ` FROM vault_keys ORDER BY vault_id COLLATE "C", version`
	qRewrapVaultKey = `UPDATE vault_keys SET wrapped = $1 WHERE vault_id = $2 AND version = $3`
	// Version 1 is also the vault's own wrapped_key (the key the vault was created with).
	qRewrapVaultWrappedKey = `UPDATE vaults SET wrapped_key = $1 WHERE id = $2`
	// One statement: a concurrent caller waits for the row lock, then re-evaluates the SET against the
	// committed count (READ COMMITTED), so every caller gets a distinct count and none is lost.
	qCountEncryption = `UPDATE vault_keys SET encryptions = encryptions + 1 WHERE vault_id = $1 AND version = $2
		RETURNING encryptions`
)

func scanVaultKey(sc scanner) (*store.VaultKey, error) {
	var k store.VaultKey
	if err := sc.Scan(&k.VaultID, &k.Version, &k.Wrapped, &k.Encryptions, &k.CreatedAt); err != nil {
		return nil, err
	}
	return &k, nil
}

// AddVaultKey stores every field of k, Encryptions included.
func (t *txn) AddVaultKey(k *store.VaultKey) error {
	return t.insert("add vault key", qAddVaultKey, k.VaultID, k.Version, k.Wrapped, k.Encryptions,
		timeArg(k.CreatedAt))
}

func (t *txn) GetVaultKey(vaultID string, version int) (*store.VaultKey, error) {
	k, err := scanVaultKey(t.tx.QueryRow(t.ctx, qGetVaultKey, vaultID, version))
	return k, dbErr("get vault key", err)
}

func (t *txn) CurrentVaultKey(vaultID string) (*store.VaultKey, error) {
	k, err := scanVaultKey(t.tx.QueryRow(t.ctx, qCurrentVaultKey, vaultID))
	return k, dbErr("current vault key", err)
}

func (t *txn) AllVaultKeys() ([]*store.VaultKey, error) {
	return list(t, "all vault keys", scanVaultKey, qAllVaultKeys)
}

// RewrapVaultKey replaces the wrapped form of one key version and, for version 1, the vault's
// wrapped_key, which holds the same key; ErrNotFound (and no change) if the version does not exist.
func (t *txn) RewrapVaultKey(vaultID string, version int, wrapped []byte) error {
	if wrapped == nil {
		wrapped = []byte{}
	}
	if err := t.execOne("rewrap vault key", qRewrapVaultKey, wrapped, vaultID, version); err != nil {
		return err
	}
	if version != 1 {
		return nil
	}
	return t.execOne("rewrap vault key", qRewrapVaultWrappedKey, bytesArg(wrapped), vaultID)
}

func (t *txn) CountEncryption(vaultID string, version int) (int64, error) {
	var n int64
	if err := t.tx.QueryRow(t.ctx, qCountEncryption, vaultID, version).Scan(&n); err != nil {
		return 0, dbErr("count encryption", err)
	}
	return n, nil
}
