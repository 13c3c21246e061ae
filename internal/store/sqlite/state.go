package sqlite

import (
	"clavis.dev/clavis"
	"clavis.dev/clavis/internal/store"
)

const (
	qStateEpoch = `SELECT epoch FROM state_epoch WHERE id = 1`
	// #nosec G101 -- SQL text, not a credential
	qGetSecretVersion = `SELECT s.id, s.vault_id, s.path, s.deleted, s.latest_version, s.created_at,
			v.secret_id, v.version, v.type, v.metadata, v.expires_at, v.max_access_count, v.access_count,
			v.disabled, v.created_by, v.created_at, v.ciphertext, v.wrapped_dek
		FROM secrets s JOIN versions v
			ON v.secret_id = s.id AND v.version = CASE WHEN ?3 > 0 THEN ?3 ELSE s.latest_version END
		WHERE s.vault_id = ?1 AND s.path = ?2`
	// The latest version of a listable secret, from its head (migration 0014): one lookup by (vault_id,
	// path) and one by rowid. The ON clause checks that the head names the version it stands for.
	// #nosec G101 -- SQL text, not a credential
	qGetLatestVersion = `SELECT h.secret_id, h.latest_version, h.created_at, h.type, h.metadata, h.expires_at,
			h.max_access_count, h.access_count, h.disabled, h.created_by, h.v_created_at, v.ciphertext, v.wrapped_dek
		FROM secret_heads h JOIN versions v
			ON v.seq = h.v_seq AND v.secret_id = h.secret_id AND v.version = h.latest_version
		WHERE h.vault_id = ?1 AND h.path = ?2`
)

func (t *txn) StateEpoch() (int64, error) {
	var n int64
	err := t.queryRow(qStateEpoch).Scan(&n)
	return n, dbErr("state epoch", err)
}

// GetSecretVersion finds both in one query: the latest version of a live secret through its row in
// secret_heads, any other version through a join of secrets and versions. Only when that finds nothing
// does a second query tell a missing secret from a missing version.
func (t *txn) GetSecretVersion(vaultID, path string, version int) (*clavis.Secret, *store.Version, error) {
	var s clavis.Secret
	var v store.Version
	if version <= 0 {
		err := t.queryRow(qGetLatestVersion, vaultID, path).Scan(
			&s.ID, &s.LatestVersion, timeCol{&s.CreatedAt}, &v.Type, rawCol{&v.Metadata}, optTimeCol{&v.ExpiresAt},
			&v.MaxAccessCount, &v.AccessCount, &v.Disabled, &v.CreatedBy, timeCol{&v.CreatedAt},
			&v.Ciphertext, &v.WrappedDEK)
		if err == nil {
			s.VaultID, s.Path = vaultID, path
			v.SecretID, v.Version.Version = s.ID, s.LatestVersion
			return &s, &v, nil
		}
		if err = dbErr("get secret version", err); !clavis.IsKind(err, clavis.KindNotFound) {
			return nil, nil, err
		}
		// No head: the secret is deleted, missing, or its latest version has no row; the join tells.
	}
	err := t.queryRow(qGetSecretVersion, vaultID, path, version).Scan(
		&s.ID, &s.VaultID, &s.Path, &s.Deleted, &s.LatestVersion, timeCol{&s.CreatedAt},
		&v.SecretID, &v.Version.Version, &v.Type, rawCol{&v.Metadata}, optTimeCol{&v.ExpiresAt},
		&v.MaxAccessCount, &v.AccessCount, &v.Disabled, &v.CreatedBy, timeCol{&v.CreatedAt},
		&v.Ciphertext, &v.WrappedDEK)
	if err = dbErr("get secret version", err); clavis.IsKind(err, clavis.KindNotFound) {
		sec, err := t.GetSecret(vaultID, path)
		return sec, nil, err
	}
	if err != nil {
		return nil, nil, err
	}
	return &s, &v, nil
}
