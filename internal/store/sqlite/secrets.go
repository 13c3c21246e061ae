package sqlite

import (
	"clavis.dev/clavis"
	"clavis.dev/clavis/internal/store"
)

// --- vaults ---

const (
	vaultCols = `id, org_id, name, description, created_by, created_by_type, owner_user_id, system, wrapped_key,
		created_at`
	qCreateVault = `INSERT INTO vaults (` + vaultCols + `) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
	qGetVault    = `SELECT ` + vaultCols + ` FROM vaults WHERE id = ?`
	qListVaults  = `SELECT ` + vaultCols + ` FROM vaults WHERE org_id = ? ORDER BY seq`
	qSystemVault = `SELECT ` + vaultCols + ` FROM vaults WHERE org_id = ? AND system = 1`
	qDeleteVault = `DELETE FROM vaults WHERE id = ?` // cascades to secrets, versions and policies
)

func scanVault(sc scanner) (*store.Vault, error) {
	var v store.Vault
	err := sc.Scan(&v.ID, &v.OrgID, &v.Name, &v.Description, &v.CreatedBy, &v.CreatedByType, &v.OwnerUserID,
		&v.System, &v.WrappedKey, timeCol{&v.CreatedAt})
	if err != nil {
		return nil, err
	}
	return &v, nil
}

func (t *txn) CreateVault(v *store.Vault) error {
	return t.execAny("create vault", qCreateVault, v.ID, v.OrgID, v.Name, v.Description, v.CreatedBy,
		string(v.CreatedByType), v.OwnerUserID, v.System, bytesArg(v.WrappedKey), timeArg(v.CreatedAt))
}

func (t *txn) GetVault(id string) (*store.Vault, error) {
	v, err := scanVault(t.queryRow(qGetVault, id))
	return v, dbErr("get vault", err)
}

func (t *txn) ListVaults(orgID string) ([]*store.Vault, error) {
	return list(t, "list vaults", scanVault, qListVaults, orgID)
}

func (t *txn) SystemVault(orgID string) (*store.Vault, error) {
	v, err := scanVault(t.queryRow(qSystemVault, orgID))
	return v, dbErr("system vault", err)
}

func (t *txn) DeleteVault(id string) error {
	return t.execOne("delete vault", qDeleteVault, id)
}

// --- secrets ---

const (
	secretCols    = `id, vault_id, path, deleted, latest_version, created_at` // #nosec G101 -- SQL text, not a credential
	qGetSecret    = `SELECT ` + secretCols + ` FROM secrets WHERE vault_id = ? AND path = ?`
	qInsertSecret = `INSERT INTO secrets (` + secretCols + `) VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (vault_id, path) DO NOTHING`
	qNextVersion = `UPDATE secrets SET latest_version = latest_version + 1, deleted = 0 WHERE id = ?
		RETURNING latest_version`
	qSetSecretDeleted = `UPDATE secrets SET deleted = ? WHERE id = ?`
	// A path matches a prefix when its first len(prefix) bytes equal it: compared as BLOBs, so that
	// substr counts bytes, not characters, and nothing in the prefix is a wildcard. The lower bound lets
	// the (vault_id, path) index start at the prefix.
	prefixMatch = `path >= ?3 AND substr(CAST(path AS BLOB), 1, ?2) = CAST(?3 AS BLOB)`
	// qListSecrets is one range scan of secret_heads (migration 0013), which holds exactly the non-deleted
	// secrets with a version at latest_version, with that version's metadata, in (vault_id, path) order.
	qListSecrets = `SELECT secret_id, path, latest_version, created_at, type, metadata, expires_at,
			max_access_count, access_count, disabled, created_by, v_created_at
		FROM secret_heads
		WHERE vault_id = ?1 AND ` + prefixMatch + ` AND path < ?4
		ORDER BY path`
	qPurgeSecrets = `DELETE FROM secrets WHERE vault_id = ?1 AND ` + prefixMatch // cascades to versions
	// path has the BINARY collation: byte order.
	qAllSecrets = `SELECT ` + secretCols + ` FROM secrets WHERE vault_id = ? ORDER BY path`
)

func scanSecret(sc scanner) (*clavis.Secret, error) {
	var s clavis.Secret
	if err := sc.Scan(&s.ID, &s.VaultID, &s.Path, &s.Deleted, &s.LatestVersion, timeCol{&s.CreatedAt}); err != nil {
		return nil, err
	}
	return &s, nil
}

func (t *txn) GetSecret(vaultID, path string) (*clavis.Secret, error) {
	s, err := scanSecret(t.queryRow(qGetSecret, vaultID, path))
	return s, dbErr("get secret", err)
}

func (t *txn) EnsureSecret(s *clavis.Secret) (*clavis.Secret, error) {
	if err := t.execAny("ensure secret", qInsertSecret, s.ID, s.VaultID, s.Path, s.Deleted, s.LatestVersion,
		timeArg(s.CreatedAt)); err != nil {
		return nil, err
	}
	return t.GetSecret(s.VaultID, s.Path)
}

func (t *txn) NextVersion(secretID string) (int, error) {
	var n int
	if err := t.queryRow(qNextVersion, secretID).Scan(&n); err != nil {
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
	rows, err := t.query(qListSecrets, vaultID, len(prefix), prefix, prefixEnd(prefix))
	if err != nil {
		return nil, dbErr("list secrets", err)
	}
	defer rows.Close()
	var out []store.SecretHead
	var slab []secretHead
	for rows.Next() {
		if len(slab) == 0 {
			slab = make([]secretHead, min(max(len(out), 8), 256)) // rows of a list share few allocations
		}
		h := &slab[0]
		slab = slab[1:]
		s, v := &h.s, &h.v
		if err := rows.Scan(&s.ID, &s.Path, &s.LatestVersion, timeCol{&s.CreatedAt}, &v.Type, rawCol{&v.Metadata},
			optTimeCol{&v.ExpiresAt}, &v.MaxAccessCount, &v.AccessCount, &v.Disabled, &v.CreatedBy,
			timeCol{&v.CreatedAt}); err != nil {
			return nil, dbErr("list secrets", err)
		}
		s.VaultID, v.SecretID, v.Version = vaultID, s.ID, s.LatestVersion
		out = append(out, store.SecretHead{Secret: s, Latest: v})
	}
	if err := rows.Err(); err != nil {
		return nil, dbErr("list secrets", err)
	}
	return out, nil
}

// secretHead is the storage of one listed secret and its latest version.
type secretHead struct {
	s clavis.Secret
	v clavis.Version
}

// prefixEnd is an upper bound for the paths that start with prefix, so the index range ends there: the
// prefix with its last byte incremented (after dropping trailing 0xff bytes), or, when there is none, a
// BLOB, which SQLite orders after every TEXT value.
func prefixEnd(prefix string) any {
	b := []byte(prefix)
	for i := len(b) - 1; i >= 0; i-- {
		if b[i] < 0xff {
			b[i]++
			return string(b[:i+1])
		}
	}
	return []byte{}
}

func (t *txn) PurgeSecrets(vaultID, prefix string) error {
	return t.execAny("purge secrets", qPurgeSecrets, vaultID, len(prefix), prefix)
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
		max_access_count, access_count, disabled, created_by, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
	qGetVersion = `SELECT ` + versionMetaCols + `, ciphertext, wrapped_dek FROM versions
		WHERE secret_id = ? AND version = ?`
	qListVersions       = `SELECT ` + versionMetaCols + ` FROM versions WHERE secret_id = ? ORDER BY version DESC`
	qSetVersionDisabled = `UPDATE versions SET disabled = 1 WHERE secret_id = ? AND version = ?`
	qConsumeAccess      = `UPDATE versions SET access_count = access_count + 1
		WHERE secret_id = ? AND version = ? AND (max_access_count <= 0 OR access_count < max_access_count)`
	qVersionExists     = `SELECT 1 FROM versions WHERE secret_id = ? AND version = ?`
	qReplaceCiphertext = `UPDATE versions SET ciphertext = ?, wrapped_dek = ? WHERE secret_id = ? AND version = ?`
)

// scanVersion scans versionMetaCols followed by dest.
func scanVersion(sc scanner, dest ...any) (*clavis.Version, error) {
	var v clavis.Version
	cols := append([]any{&v.SecretID, &v.Version, &v.Type, rawCol{&v.Metadata}, optTimeCol{&v.ExpiresAt},
		&v.MaxAccessCount, &v.AccessCount, &v.Disabled, &v.CreatedBy, timeCol{&v.CreatedAt}}, dest...)
	if err := sc.Scan(cols...); err != nil {
		return nil, err
	}
	return &v, nil
}

func (t *txn) CreateVersion(v *store.Version) error {
	return t.execAny("create version", qCreateVersion, v.SecretID, v.Version.Version, v.Type, rawArg(v.Metadata),
		bytesArg(v.Ciphertext), bytesArg(v.WrappedDEK), optTimeArg(v.ExpiresAt), v.MaxAccessCount, v.AccessCount,
		v.Disabled, v.CreatedBy, timeArg(v.CreatedAt))
}

func (t *txn) GetVersion(secretID string, version int) (*store.Version, error) {
	var ct, dek []byte
	v, err := scanVersion(t.queryRow(qGetVersion, secretID, version), &ct, &dek)
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
	res, err := t.exec(qConsumeAccess, secretID, version)
	if err != nil {
		return false, dbErr("consume access", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, dbErr("consume access", err)
	}
	if n > 0 {
		return true, nil
	}
	// Exhausted, or no such version.
	var one int
	if err := t.queryRow(qVersionExists, secretID, version).Scan(&one); err != nil {
		return false, dbErr("consume access", err)
	}
	return false, nil
}
