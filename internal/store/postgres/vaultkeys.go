package postgres

import (
	"clavis.dev/clavis"
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
	// One statement: a concurrent caller waits for the row lock, then re-evaluates the SET against the
	// committed count (READ COMMITTED), so every caller gets a distinct count and none is lost.
	qCountEncryption = `UPDATE vault_keys SET encryptions = encryptions + 1 WHERE vault_id = $1 AND version = $2
		RETURNING encryptions`
)

func scanVaultKey(sc scanner) (*clavis.VaultKey, error) {
	var k clavis.VaultKey
	if err := sc.Scan(&k.VaultID, &k.Version, &k.Wrapped, &k.Encryptions, &k.CreatedAt); err != nil {
		return nil, err
	}
	return &k, nil
}

// AddVaultKey stores every field of k, Encryptions included.
func (t *txn) AddVaultKey(k *clavis.VaultKey) error {
	return t.insert("add vault key", qAddVaultKey, k.VaultID, k.Version, k.Wrapped, k.Encryptions,
		timeArg(k.CreatedAt))
}

func (t *txn) GetVaultKey(vaultID string, version int) (*clavis.VaultKey, error) {
	k, err := scanVaultKey(t.tx.QueryRow(t.ctx, qGetVaultKey, vaultID, version))
	return k, dbErr("get vault key", err)
}

func (t *txn) CurrentVaultKey(vaultID string) (*clavis.VaultKey, error) {
	k, err := scanVaultKey(t.tx.QueryRow(t.ctx, qCurrentVaultKey, vaultID))
	return k, dbErr("current vault key", err)
}

func (t *txn) CountEncryption(vaultID string, version int) (int64, error) {
	var n int64
	if err := t.tx.QueryRow(t.ctx, qCountEncryption, vaultID, version).Scan(&n); err != nil {
		return 0, dbErr("count encryption", err)
	}
	return n, nil
}
