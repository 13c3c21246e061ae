package postgres

import (
	"unicode/utf8"

	"clavis.dev/clavis"
	"clavis.dev/clavis/internal/store"
)

// --- vaults ---

const (
	vaultCols = `id, org_id, name, description, created_by, created_by_type, owner_user_id, system, wrapped_key,
		created_at`
	qCreateVault = `INSERT INTO vaults (` + vaultCols + `) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
		ON CONFLICT DO NOTHING`
	qGetVault    = `SELECT ` + vaultCols + ` FROM vaults WHERE id = $1`
	qListVaults  = `SELECT ` + vaultCols + ` FROM vaults WHERE org_id = $1 ORDER BY seq`
	qSystemVault = `SELECT ` + vaultCols + ` FROM vaults WHERE org_id = $1 AND system`
	qDeleteVault = `DELETE FROM vaults WHERE id = $1` // cascades to secrets, versions and policies
)

func scanVault(sc scanner) (*store.Vault, error) {
	var v store.Vault
	err := sc.Scan(&v.ID, &v.OrgID, &v.Name, &v.Description, &v.CreatedBy, &v.CreatedByType, &v.OwnerUserID,
		&v.System, &v.WrappedKey, &v.CreatedAt)
	if err != nil {
		return nil, err
	}
	return &v, nil
}

// CreateVault is ErrConflict for a duplicate id and for a second system vault of an org.
func (t *txn) CreateVault(v *store.Vault) error {
	return t.insert("create vault", qCreateVault, v.ID, v.OrgID, v.Name, v.Description, v.CreatedBy,
		string(v.CreatedByType), v.OwnerUserID, v.System, bytesArg(v.WrappedKey), timeArg(v.CreatedAt))
}

func (t *txn) GetVault(id string) (*store.Vault, error) {
	v, err := scanVault(t.tx.QueryRow(t.ctx, qGetVault, id))
	return v, dbErr("get vault", err)
}

func (t *txn) ListVaults(orgID string) ([]*store.Vault, error) {
	return list(t, "list vaults", scanVault, qListVaults, orgID)
}

func (t *txn) SystemVault(orgID string) (*store.Vault, error) {
	v, err := scanVault(t.tx.QueryRow(t.ctx, qSystemVault, orgID))
	return v, dbErr("system vault", err)
}

func (t *txn) DeleteVault(id string) error {
	return t.execOne("delete vault", qDeleteVault, id)
}

// --- secrets ---

const (
	secretCols    = `id, vault_id, path, deleted, latest_version, created_at` // #nosec G101 -- SQL text, not a credential
	qGetSecret    = `SELECT ` + secretCols + ` FROM secrets WHERE vault_id = $1 AND path = $2`
	qInsertSecret = `INSERT INTO secrets (` + secretCols + `) VALUES ($1, $2, $3, $4, $5, $6)
		ON CONFLICT (vault_id, path) DO NOTHING`
	// One statement: the row lock serializes concurrent callers, and each one increments the value the
	// previous one committed (READ COMMITTED re-evaluates the SET after waiting for the lock).
	qNextVersion = `UPDATE secrets SET latest_version = latest_version + 1, deleted = false WHERE id = $1
		RETURNING latest_version`
	qSetSecretDeleted = `UPDATE secrets SET deleted = $1 WHERE id = $2`
	// A path matches a prefix when it starts with it: starts_with compares bytes (path is COLLATE "C"),
	// so nothing in the prefix is a wildcard. The lower bound lets the (vault_id, path) index start at
	// the prefix.
	prefixMatch  = `path >= $2 AND starts_with(path, $2)`
	qListSecrets = `SELECT s.id, s.vault_id, s.path, s.deleted, s.latest_version, s.created_at,
			v.secret_id, v.version, v.type, v.metadata, v.expires_at, v.max_access_count, v.access_count,
			v.disabled, v.created_by, v.created_at
		FROM secrets s JOIN versions v ON v.secret_id = s.id AND v.version = s.latest_version
		WHERE s.vault_id = $1 AND NOT s.deleted AND ` + prefixMatch + `
		ORDER BY s.path COLLATE "C"`
	// qListSecretsBounded also ends the index range at the prefix's successor.
	qListSecretsBounded = `SELECT s.id, s.vault_id, s.path, s.deleted, s.latest_version, s.created_at,
			v.secret_id, v.version, v.type, v.metadata, v.expires_at, v.max_access_count, v.access_count,
			v.disabled, v.created_by, v.created_at
		FROM secrets s JOIN versions v ON v.secret_id = s.id AND v.version = s.latest_version
		WHERE s.vault_id = $1 AND NOT s.deleted AND ` + prefixMatch + ` AND path < $3
		ORDER BY s.path COLLATE "C"`
	qPurgeSecrets = `DELETE FROM secrets WHERE vault_id = $1 AND ` + prefixMatch // cascades to versions
	qAllSecrets   = `SELECT ` + secretCols + ` FROM secrets WHERE vault_id = $1 ORDER BY path COLLATE "C"`
)

func scanSecret(sc scanner) (*clavis.Secret, error) {
	var s clavis.Secret
	if err := sc.Scan(&s.ID, &s.VaultID, &s.Path, &s.Deleted, &s.LatestVersion, &s.CreatedAt); err != nil {
		return nil, err
	}
	return &s, nil
}

func (t *txn) GetSecret(vaultID, path string) (*clavis.Secret, error) {
	s, err := scanSecret(t.tx.QueryRow(t.ctx, qGetSecret, vaultID, path))
	return s, dbErr("get secret", err)
}

// EnsureSecret inserts unless the path exists and returns the stored secret, in one round trip.
func (t *txn) EnsureSecret(s *clavis.Secret) (*clavis.Secret, error) {
	var got clavis.Secret
	err := t.ensure("ensure secret",
		qInsertSecret, []any{s.ID, s.VaultID, s.Path, s.Deleted, s.LatestVersion, timeArg(s.CreatedAt)},
		qGetSecret, []any{s.VaultID, s.Path},
		&got.ID, &got.VaultID, &got.Path, &got.Deleted, &got.LatestVersion, &got.CreatedAt)
	if err != nil {
		return nil, err
	}
	return &got, nil
}

func (t *txn) NextVersion(secretID string) (int, error) {
	var n int
	if err := t.tx.QueryRow(t.ctx, qNextVersion, secretID).Scan(&n); err != nil {
		return 0, dbErr("next version", err)
	}
	return n, nil
}

func (t *txn) SetSecretDeleted(secretID string, deleted bool) error {
	return t.execOne("set secret deleted", qSetSecretDeleted, deleted, secretID)
}

// ListSecrets lists the non-deleted secrets that have a version at LatestVersion (every secret
// committed through NextVersion and CreateVersion); Latest is never nil and carries no ciphertext.
func (t *txn) ListSecrets(vaultID, prefix string) ([]store.SecretHead, error) {
	scan := func(sc scanner) (store.SecretHead, error) {
		var s clavis.Secret
		var v clavis.Version
		err := sc.Scan(&s.ID, &s.VaultID, &s.Path, &s.Deleted, &s.LatestVersion, &s.CreatedAt,
			&v.SecretID, &v.Version, &v.Type, rawCol{&v.Metadata}, &v.ExpiresAt, &v.MaxAccessCount,
			&v.AccessCount, &v.Disabled, &v.CreatedBy, &v.CreatedAt)
		return store.SecretHead{Secret: &s, Latest: &v}, err
	}
	if end, ok := prefixEnd(prefix); ok {
		return list(t, "list secrets", scan, qListSecretsBounded, vaultID, prefix, end)
	}
	return list(t, "list secrets", scan, qListSecrets, vaultID, prefix)
}

// prefixEnd is the smallest string above every string that starts with prefix (the prefix with its last
// byte incremented), when that is valid UTF-8 text; otherwise the query runs without an upper bound.
func prefixEnd(prefix string) (string, bool) {
	b := []byte(prefix)
	for i := len(b) - 1; i >= 0; i-- {
		if b[i] < 0xff {
			b[i]++
			end := string(b[:i+1])
			return end, utf8.ValidString(end)
		}
	}
	return "", false
}

func (t *txn) PurgeSecrets(vaultID, prefix string) error {
	return t.execAny("purge secrets", qPurgeSecrets, vaultID, prefix)
}

// AllSecrets lists every secret of the vault, deleted or not, with or without versions.
func (t *txn) AllSecrets(vaultID string) ([]*clavis.Secret, error) {
	return list(t, "all secrets", scanSecret, qAllSecrets, vaultID)
}

// --- versions ---

const (
	versionMetaCols = `secret_id, version, type, metadata, expires_at, max_access_count, access_count, disabled,
		created_by, created_at`
	qCreateVersion = `INSERT INTO versions (secret_id, version, type, metadata, ciphertext, wrapped_dek, expires_at,
		max_access_count, access_count, disabled, created_by, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) ON CONFLICT DO NOTHING`
	qGetVersion = `SELECT ` + versionMetaCols + `, ciphertext, wrapped_dek FROM versions
		WHERE secret_id = $1 AND version = $2`
	qListVersions = `SELECT ` + versionMetaCols + ` FROM versions WHERE secret_id = $1 ORDER BY version DESC`
	// disabled = true in the WHERE clause too would make a repeated call look like a missing row.
	qSetVersionDisabled = `UPDATE versions SET disabled = true WHERE secret_id = $1 AND version = $2`
	// One statement: a concurrent caller waits for the row lock, then re-checks the condition against
	// the committed count (READ COMMITTED), so no more than max_access_count calls ever succeed.
	qConsumeAccess = `UPDATE versions SET access_count = access_count + 1
		WHERE secret_id = $1 AND version = $2 AND (max_access_count <= 0 OR access_count < max_access_count)`
	qVersionExists     = `SELECT EXISTS (SELECT 1 FROM versions WHERE secret_id = $1 AND version = $2)`
	qReplaceCiphertext = `UPDATE versions SET ciphertext = $1, wrapped_dek = $2 WHERE secret_id = $3 AND version = $4`
)

// scanVersion scans versionMetaCols followed by dest.
func scanVersion(sc scanner, dest ...any) (*clavis.Version, error) {
	var v clavis.Version
	cols := append([]any{&v.SecretID, &v.Version, &v.Type, rawCol{&v.Metadata}, &v.ExpiresAt,
		&v.MaxAccessCount, &v.AccessCount, &v.Disabled, &v.CreatedBy, &v.CreatedAt}, dest...)
	if err := sc.Scan(cols...); err != nil {
		return nil, err
	}
	return &v, nil
}

func (t *txn) CreateVersion(v *store.Version) error {
	return t.insert("create version", qCreateVersion, v.SecretID, v.Version.Version, v.Type, rawArg(v.Metadata),
		bytesArg(v.Ciphertext), bytesArg(v.WrappedDEK), optTimeArg(v.ExpiresAt), v.MaxAccessCount, v.AccessCount,
		v.Disabled, v.CreatedBy, timeArg(v.CreatedAt))
}

func (t *txn) GetVersion(secretID string, version int) (*store.Version, error) {
	var ct, dek []byte
	v, err := scanVersion(t.tx.QueryRow(t.ctx, qGetVersion, secretID, version), &ct, &dek)
	if err != nil {
		return nil, dbErr("get version", err)
	}
	return &store.Version{Version: *v, Ciphertext: ct, WrappedDEK: dek}, nil
}

func (t *txn) ListVersions(secretID string) ([]*clavis.Version, error) {
	return list(t, "list versions", func(sc scanner) (*clavis.Version, error) { return scanVersion(sc) },
		qListVersions, secretID)
}

func (t *txn) ReplaceCiphertext(secretID string, version int, ciphertext, wrappedDEK []byte) error {
	return t.execOne("replace ciphertext", qReplaceCiphertext, bytesArg(ciphertext), bytesArg(wrappedDEK),
		secretID, version)
}

func (t *txn) SetVersionDisabled(secretID string, version int) error {
	return t.execOne("disable version", qSetVersionDisabled, secretID, version)
}

func (t *txn) ConsumeAccess(secretID string, version int) (bool, error) {
	tag, err := t.tx.Exec(t.ctx, qConsumeAccess, secretID, version)
	if err != nil {
		return false, dbErr("consume access", err)
	}
	if tag.RowsAffected() > 0 {
		return true, nil
	}
	// Exhausted, or no such version.
	var exists bool
	if err := t.tx.QueryRow(t.ctx, qVersionExists, secretID, version).Scan(&exists); err != nil {
		return false, dbErr("consume access", err)
	}
	if !exists {
		return false, store.ErrNotFound
	}
	return false, nil
}
