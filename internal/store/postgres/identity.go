package postgres

import (
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"clavis.dev/clavis"
	"clavis.dev/clavis/internal/store"
)

// --- server keys ---

const (
	qServerKey    = `SELECT value FROM server_keys WHERE name = $1`
	qPutServerKey = `INSERT INTO server_keys (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING`
	// COLLATE "C": byte order, whatever the database's collation.
	qServerKeyNames   = `SELECT name FROM server_keys ORDER BY name COLLATE "C"`
	qReplaceServerKey = `UPDATE server_keys SET value = $1 WHERE name = $2`
)

func (t *txn) ServerKey(name string) ([]byte, error) {
	var v []byte
	if err := t.tx.QueryRow(t.ctx, qServerKey, name).Scan(&v); err != nil {
		return nil, dbErr("server key", err)
	}
	return v, nil
}

// PutServerKey inserts the blob unless the name exists and returns the stored one, in one round trip.
func (t *txn) PutServerKey(name string, value []byte) ([]byte, error) {
	if value == nil {
		value = []byte{}
	}
	var v []byte
	if err := t.ensure("put server key", qPutServerKey, []any{name, value}, qServerKey, []any{name}, &v); err != nil {
		return nil, err
	}
	return v, nil
}

func (t *txn) ServerKeyNames() ([]string, error) {
	return list(t, "server key names", func(sc scanner) (string, error) {
		var name string
		err := sc.Scan(&name)
		return name, err
	}, qServerKeyNames)
}

// ReplaceServerKey overwrites the blob of an existing name; ErrNotFound if there is none.
func (t *txn) ReplaceServerKey(name string, value []byte) error {
	if value == nil {
		value = []byte{}
	}
	return t.execOne("replace server key", qReplaceServerKey, value, name)
}

// --- orgs ---

const (
	qCreateOrg = `INSERT INTO orgs (id, name, created_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`
	qGetOrg    = `SELECT id, name, created_at FROM orgs WHERE id = $1`
	qCountOrgs = `SELECT count(*) FROM orgs`
)

func (t *txn) CreateOrg(o *clavis.Org) error {
	return t.insert("create org", qCreateOrg, o.ID, o.Name, timeArg(o.CreatedAt))
}

func (t *txn) GetOrg(id string) (*clavis.Org, error) {
	var o clavis.Org
	if err := t.tx.QueryRow(t.ctx, qGetOrg, id).Scan(&o.ID, &o.Name, &o.CreatedAt); err != nil {
		return nil, dbErr("get org", err)
	}
	return &o, nil
}

func (t *txn) CountOrgs() (int, error) {
	var n int
	if err := t.tx.QueryRow(t.ctx, qCountOrgs).Scan(&n); err != nil {
		return 0, dbErr("count orgs", err)
	}
	return n, nil
}

// --- users ---

const (
	userCols = `id, org_id, email, display_name, password_hash, role, marketing_emails, totp_enabled,
		disabled, token_gen, failed_logins, locked_until, created_at`
	qCreateUser = `INSERT INTO users (` + userCols + `) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
		ON CONFLICT DO NOTHING`
	qGetUser        = `SELECT ` + userCols + ` FROM users WHERE id = $1`
	qGetUserByEmail = `SELECT ` + userCols + ` FROM users WHERE email = $1`
	qListUsers      = `SELECT ` + userCols + ` FROM users WHERE org_id = $1 ORDER BY seq`
	qUpdateUser     = `UPDATE users SET display_name = $1, password_hash = $2, role = $3, marketing_emails = $4,
		totp_enabled = $5, disabled = $6, token_gen = $7, failed_logins = $8, locked_until = $9 WHERE id = $10`
)

func scanUser(sc scanner) (*store.User, error) {
	var u store.User
	err := sc.Scan(&u.ID, &u.OrgID, &u.Email, &u.DisplayName, &u.PasswordHash, &u.Role, &u.MarketingEmails,
		&u.TOTPEnabled, &u.Disabled, &u.TokenGen, &u.FailedLogins, &u.LockedUntil, &u.CreatedAt)
	if err != nil {
		return nil, err
	}
	return &u, nil
}

func (t *txn) CreateUser(u *store.User) error {
	return t.insert("create user", qCreateUser, u.ID, u.OrgID, u.Email, u.DisplayName, u.PasswordHash,
		string(u.Role), u.MarketingEmails, u.TOTPEnabled, u.Disabled, u.TokenGen, u.FailedLogins,
		optTimeArg(u.LockedUntil), timeArg(u.CreatedAt))
}

func (t *txn) GetUser(id string) (*store.User, error) {
	u, err := scanUser(t.tx.QueryRow(t.ctx, qGetUser, id))
	return u, dbErr("get user", err)
}

func (t *txn) GetUserByEmail(email string) (*store.User, error) {
	u, err := scanUser(t.tx.QueryRow(t.ctx, qGetUserByEmail, email))
	return u, dbErr("get user by email", err)
}

func (t *txn) UpdateUser(u *store.User) error {
	return t.execOne("update user", qUpdateUser, u.DisplayName, u.PasswordHash, string(u.Role),
		u.MarketingEmails, u.TOTPEnabled, u.Disabled, u.TokenGen, u.FailedLogins, optTimeArg(u.LockedUntil), u.ID)
}

func (t *txn) ListUsers(orgID string) ([]*store.User, error) {
	return list(t, "list users", scanUser, qListUsers, orgID)
}

// --- personal API keys ---

const (
	apiKeyCols    = `id, user_id, org_id, name, prefix, hash, scopes, active, expires_at, last_used_at, created_at` // #nosec G101 -- SQL text, not a credential
	qCreateAPIKey = `INSERT INTO api_keys (` + apiKeyCols + `) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
		ON CONFLICT DO NOTHING`
	qGetAPIKey       = `SELECT ` + apiKeyCols + ` FROM api_keys WHERE id = $1`
	qGetAPIKeyByHash = `SELECT ` + apiKeyCols + ` FROM api_keys WHERE hash = $1`
	qListAPIKeys     = `SELECT ` + apiKeyCols + ` FROM api_keys WHERE user_id = $1 ORDER BY seq`
	// #nosec G101 -- SQL text, not a credential
	qUpdateAPIKey = `UPDATE api_keys SET name = $1, scopes = $2, active = $3, expires_at = $4, last_used_at = $5
		WHERE id = $6`
)

func scanAPIKey(sc scanner) (*store.APIKey, error) {
	var k store.APIKey
	err := sc.Scan(&k.ID, &k.UserID, &k.OrgID, &k.Name, &k.Prefix, &k.Hash, &k.Scopes, &k.Active,
		&k.ExpiresAt, &k.LastUsedAt, &k.CreatedAt)
	if err != nil {
		return nil, err
	}
	return &k, nil
}

func (t *txn) CreateAPIKey(k *store.APIKey) error {
	return t.insert("create api key", qCreateAPIKey, k.ID, k.UserID, k.OrgID, k.Name, k.Prefix, bytesArg(k.Hash),
		sliceArg(k.Scopes), k.Active, optTimeArg(k.ExpiresAt), optTimeArg(k.LastUsedAt), timeArg(k.CreatedAt))
}

func (t *txn) GetAPIKey(id string) (*store.APIKey, error) {
	k, err := scanAPIKey(t.tx.QueryRow(t.ctx, qGetAPIKey, id))
	return k, dbErr("get api key", err)
}

func (t *txn) GetAPIKeyByHash(hash []byte) (*store.APIKey, error) {
	if len(hash) == 0 {
		return nil, store.ErrNotFound
	}
	k, err := scanAPIKey(t.tx.QueryRow(t.ctx, qGetAPIKeyByHash, hash))
	return k, dbErr("get api key by hash", err)
}

func (t *txn) ListAPIKeys(userID string) ([]*store.APIKey, error) {
	return list(t, "list api keys", scanAPIKey, qListAPIKeys, userID)
}

func (t *txn) UpdateAPIKey(k *store.APIKey) error {
	return t.execOne("update api key", qUpdateAPIKey, k.Name, sliceArg(k.Scopes), k.Active, optTimeArg(k.ExpiresAt),
		optTimeArg(k.LastUsedAt), k.ID)
}

// --- agents ---

const (
	agentCols = `id, org_id, name, description, scopes, vault_ids, active, expires_at, token_ttl, key_hash,
		token_gen, ssh_public_key, ecdh_public_key, created_by, created_at, last_active_at`
	qCreateAgent = `INSERT INTO agents (` + agentCols + `)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16) ON CONFLICT DO NOTHING`
	qGetAgent          = `SELECT ` + agentCols + ` FROM agents WHERE id = $1`
	qGetAgentByKeyHash = `SELECT ` + agentCols + ` FROM agents WHERE key_hash = $1`
	qListAgents        = `SELECT ` + agentCols + ` FROM agents WHERE org_id = $1 ORDER BY seq`
	qUpdateAgent       = `UPDATE agents SET name = $1, description = $2, scopes = $3, vault_ids = $4, active = $5,
		expires_at = $6, token_ttl = $7, key_hash = $8, token_gen = $9, ssh_public_key = $10, ecdh_public_key = $11,
		last_active_at = $12 WHERE id = $13`
	qDeleteAgent = `DELETE FROM agents WHERE id = $1`

	qSavepoint           = `SAVEPOINT clavis_statement`
	qReleaseSavepoint    = `RELEASE SAVEPOINT clavis_statement`
	qRollbackToSavepoint = `ROLLBACK TO SAVEPOINT clavis_statement; RELEASE SAVEPOINT clavis_statement`
)

func scanAgent(sc scanner) (*store.Agent, error) {
	var a store.Agent
	err := sc.Scan(&a.ID, &a.OrgID, &a.Name, &a.Description, &a.Scopes, &a.VaultIDs, &a.Active, &a.ExpiresAt,
		&a.TokenTTL, &a.KeyHash, &a.TokenGen, &a.SSHPublicKey, &a.ECDHPublicKey, &a.CreatedBy, &a.CreatedAt,
		&a.LastActiveAt)
	if err != nil {
		return nil, err
	}
	return &a, nil
}

func (t *txn) CreateAgent(a *store.Agent) error {
	return t.insert("create agent", qCreateAgent, a.ID, a.OrgID, a.Name, a.Description, sliceArg(a.Scopes),
		sliceArg(a.VaultIDs), a.Active, optTimeArg(a.ExpiresAt), a.TokenTTL, bytesArg(a.KeyHash), a.TokenGen,
		a.SSHPublicKey, a.ECDHPublicKey, a.CreatedBy, timeArg(a.CreatedAt), optTimeArg(a.LastActiveAt))
}

func (t *txn) GetAgent(id string) (*store.Agent, error) {
	a, err := scanAgent(t.tx.QueryRow(t.ctx, qGetAgent, id))
	return a, dbErr("get agent", err)
}

func (t *txn) GetAgentByKeyHash(hash []byte) (*store.Agent, error) {
	if len(hash) == 0 {
		return nil, store.ErrNotFound
	}
	a, err := scanAgent(t.tx.QueryRow(t.ctx, qGetAgentByKeyHash, hash))
	return a, dbErr("get agent by key hash", err)
}

func (t *txn) ListAgents(orgID string) ([]*store.Agent, error) {
	return list(t, "list agents", scanAgent, qListAgents, orgID)
}

// UpdateAgent runs in a savepoint, sent in the same round trip: a new key hash that is another agent's
// is ErrConflict and leaves the transaction usable.
func (t *txn) UpdateAgent(a *store.Agent) error {
	b := &pgx.Batch{}
	b.Queue(qSavepoint)
	b.Queue(qUpdateAgent, a.Name, a.Description, sliceArg(a.Scopes), sliceArg(a.VaultIDs), a.Active,
		optTimeArg(a.ExpiresAt), a.TokenTTL, bytesArg(a.KeyHash), a.TokenGen, a.SSHPublicKey, a.ECDHPublicKey,
		optTimeArg(a.LastActiveAt), a.ID)
	b.Queue(qReleaseSavepoint)
	br := t.tx.SendBatch(t.ctx, b)
	_, err := br.Exec()
	var tag pgconn.CommandTag
	if err == nil {
		tag, err = br.Exec()
	}
	if err == nil {
		_, err = br.Exec()
	}
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		if _, rerr := t.tx.Exec(t.ctx, qRollbackToSavepoint); rerr != nil {
			return fmt.Errorf("postgres: update agent: %w (rollback to savepoint: %v)", err, rerr)
		}
		return dbErr("update agent", err)
	}
	if tag.RowsAffected() == 0 {
		return store.ErrNotFound
	}
	return nil
}

func (t *txn) DeleteAgent(id string) error {
	return t.execOne("delete agent", qDeleteAgent, id)
}
