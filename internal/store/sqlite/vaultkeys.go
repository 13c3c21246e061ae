package sqlite

import (
	"clavis.dev/clavis/internal/store"
)

// --- vault key versions ---

const (
	vaultKeyCols = `vault_id, version, wrapped, encryptions, created_at`
	// A duplicate (vault_id, version) violates the primary key: ErrConflict (dbErr).
	qAddVaultKey     = `INSERT INTO vault_keys (` + vaultKeyCols + `) VALUES (?, ?, ?, ?, ?)`
	qGetVaultKey     = `SELECT ` + vaultKeyCols + ` FROM vault_keys WHERE vault_id = ? AND version = ?`
	qCurrentVaultKey = `SELECT ` + vaultKeyCols + ` FROM vault_keys WHERE vault_id = ?
		ORDER BY version DESC LIMIT 1`
	// vault_id has the BINARY collation: byte order.
	qAllVaultKeys   = `SELECT ` + vaultKeyCols + ` FROM vault_keys ORDER BY vault_id, version`
	qRewrapVaultKey = `UPDATE vault_keys SET wrapped = ? WHERE vault_id = ? AND version = ?`
	// Version 1 is also the vault's own wrapped_key (the key the vault was created with).
	qRewrapVaultWrappedKey = `UPDATE vaults SET wrapped_key = ? WHERE id = ?`
	// One statement, and writers are serialized (one write connection, BEGIN IMMEDIATE): exact.
	qCountEncryption = `UPDATE vault_keys SET encryptions = encryptions + 1 WHERE vault_id = ? AND version = ?
		RETURNING encryptions`
)

func scanVaultKey(sc scanner) (*store.VaultKey, error) {
	var k store.VaultKey
	if err := sc.Scan(&k.VaultID, &k.Version, &k.Wrapped, &k.Encryptions, timeCol{&k.CreatedAt}); err != nil {
		return nil, err
	}
	return &k, nil
}

// AddVaultKey stores every field of k, Encryptions included.
func (t *txn) AddVaultKey(k *store.VaultKey) error {
	return t.execAny("add vault key", qAddVaultKey, k.VaultID, k.Version, k.Wrapped, k.Encryptions,
		timeArg(k.CreatedAt))
}

func (t *txn) GetVaultKey(vaultID string, version int) (*store.VaultKey, error) {
	k, err := scanVaultKey(t.queryRow(qGetVaultKey, vaultID, version))
	return k, dbErr("get vault key", err)
}

func (t *txn) CurrentVaultKey(vaultID string) (*store.VaultKey, error) {
	k, err := scanVaultKey(t.queryRow(qCurrentVaultKey, vaultID))
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
	if err := t.queryRow(qCountEncryption, vaultID, version).Scan(&n); err != nil {
		return 0, dbErr("count encryption", err)
	}
	return n, nil
}
