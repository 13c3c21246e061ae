package sqlite

import (
	"clavis.dev/clavis"
)

// --- vault key versions ---

const (
	vaultKeyCols = `vault_id, version, wrapped, encryptions, created_at`
	// A duplicate (vault_id, version) violates the primary key: ErrConflict (dbErr).
	qAddVaultKey     = `INSERT INTO vault_keys (` + vaultKeyCols + `) VALUES (?, ?, ?, ?, ?)`
	qGetVaultKey     = `SELECT ` + vaultKeyCols + ` FROM vault_keys WHERE vault_id = ? AND version = ?`
	qCurrentVaultKey = `SELECT ` + vaultKeyCols + ` FROM vault_keys WHERE vault_id = ?
		ORDER BY version DESC LIMIT 1`
	// One statement, and writers are serialized (one write connection, BEGIN IMMEDIATE): exact.
	qCountEncryption = `UPDATE vault_keys SET encryptions = encryptions + 1 WHERE vault_id = ? AND version = ?
		RETURNING encryptions`
)

func scanVaultKey(sc scanner) (*clavis.VaultKey, error) {
	var k clavis.VaultKey
	if err := sc.Scan(&k.VaultID, &k.Version, &k.Wrapped, &k.Encryptions, timeCol{&k.CreatedAt}); err != nil {
		return nil, err
	}
	return &k, nil
}

// AddVaultKey stores every field of k, Encryptions included.
func (t *txn) AddVaultKey(k *clavis.VaultKey) error {
	return t.execAny("add vault key", qAddVaultKey, k.VaultID, k.Version, k.Wrapped, k.Encryptions,
		timeArg(k.CreatedAt))
}

func (t *txn) GetVaultKey(vaultID string, version int) (*clavis.VaultKey, error) {
	k, err := scanVaultKey(t.queryRow(qGetVaultKey, vaultID, version))
	return k, dbErr("get vault key", err)
}

func (t *txn) CurrentVaultKey(vaultID string) (*clavis.VaultKey, error) {
	k, err := scanVaultKey(t.queryRow(qCurrentVaultKey, vaultID))
	return k, dbErr("current vault key", err)
}

func (t *txn) CountEncryption(vaultID string, version int) (int64, error) {
	var n int64
	if err := t.queryRow(qCountEncryption, vaultID, version).Scan(&n); err != nil {
		return 0, dbErr("count encryption", err)
	}
	return n, nil
}
