package postgres

import (
	"clavis.dev/clavis"
	"clavis.dev/clavis/internal/store"
)

const (
	qGetUseConfig = `SELECT config, created_by, created_by_type, created_at, updated_at FROM use_configs
		WHERE vault_id = $1 AND path = $2`
	qPutUseConfig = `INSERT INTO use_configs (vault_id, path, config, created_by, created_by_type, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7)
		ON CONFLICT (vault_id, path) DO UPDATE SET config = excluded.config, updated_at = excluded.updated_at`
	qDeleteUseConfig = `DELETE FROM use_configs WHERE vault_id = $1 AND path = $2`
)

func (t *txn) GetUseConfig(vaultID, path string) (*clavis.UseConfig, error) {
	c := clavis.UseConfig{VaultID: vaultID, Path: path}
	var doc, typ string
	err := t.tx.QueryRow(t.ctx, qGetUseConfig, vaultID, path).Scan(&doc, &c.CreatedBy, &typ, &c.CreatedAt, &c.UpdatedAt)
	if err != nil {
		return nil, dbErr("get use config", err)
	}
	c.CreatedByType = clavis.PrincipalType(typ)
	c.CreatedAt, c.UpdatedAt = c.CreatedAt.UTC(), c.UpdatedAt.UTC()
	if err := store.DecodeUseConfig(doc, &c); err != nil {
		return nil, dbErr("get use config", err)
	}
	return &c, nil
}

func (t *txn) PutUseConfig(c *clavis.UseConfig) error {
	doc, err := store.EncodeUseConfig(c)
	if err != nil {
		return err
	}
	return t.execAny("put use config", qPutUseConfig, c.VaultID, c.Path, doc, c.CreatedBy, string(c.CreatedByType),
		timeArg(c.CreatedAt), timeArg(c.UpdatedAt))
}

func (t *txn) DeleteUseConfig(vaultID, path string) error {
	return t.execOne("delete use config", qDeleteUseConfig, vaultID, path)
}
