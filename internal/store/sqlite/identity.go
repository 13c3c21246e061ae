package sqlite

import (
	"clavis.dev/clavis"
	"clavis.dev/clavis/internal/store"
)

// --- server keys ---

const (
	qServerKey    = `SELECT value FROM server_keys WHERE name = ?`
	qPutServerKey = `INSERT INTO server_keys (name, value) VALUES (?, ?) ON CONFLICT (name) DO NOTHING`
	// name has the BINARY collation: byte order.
	qServerKeyNames   = `SELECT name FROM server_keys ORDER BY name`
	qReplaceServerKey = `UPDATE server_keys SET value = ? WHERE name = ?`
)

func (t *txn) ServerKey(name string) ([]byte, error) {
	var v []byte
	if err := t.queryRow(qServerKey, name).Scan(&v); err != nil {
		return nil, dbErr("server key", err)
	}
	return v, nil
}

func (t *txn) PutServerKey(name string, value []byte) ([]byte, error) {
	if value == nil {
		value = []byte{}
	}
	if err := t.execAny("put server key", qPutServerKey, name, value); err != nil {
		return nil, err
	}
	return t.ServerKey(name)
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
	qCreateOrg = `INSERT INTO orgs (id, name, created_at) VALUES (?, ?, ?)`
	qGetOrg    = `SELECT id, name, created_at FROM orgs WHERE id = ?`
	qCountOrgs = `SELECT count(*) FROM orgs`
)

func (t *txn) CreateOrg(o *clavis.Org) error {
	return t.execAny("create org", qCreateOrg, o.ID, o.Name, timeArg(o.CreatedAt))
}

func (t *txn) GetOrg(id string) (*clavis.Org, error) {
	var o clavis.Org
	if err := t.queryRow(qGetOrg, id).Scan(&o.ID, &o.Name, timeCol{&o.CreatedAt}); err != nil {
		return nil, dbErr("get org", err)
	}
	return &o, nil
}

func (t *txn) CountOrgs() (int, error) {
	var n int
	if err := t.queryRow(qCountOrgs).Scan(&n); err != nil {
		return 0, dbErr("count orgs", err)
	}
	return n, nil
}

// --- users ---

const (
	userCols = `id, org_id, email, display_name, password_hash, role, marketing_emails, totp_enabled,
		disabled, token_gen, failed_logins, locked_until, created_at`
	qCreateUser     = `INSERT INTO users (` + userCols + `) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
	qGetUser        = `SELECT ` + userCols + ` FROM users WHERE id = ?`
	qGetUserByEmail = `SELECT ` + userCols + ` FROM users WHERE email = ?`
	qListUsers      = `SELECT ` + userCols + ` FROM users WHERE org_id = ? ORDER BY seq`
	qUpdateUser     = `UPDATE users SET display_name = ?, password_hash = ?, role = ?, marketing_emails = ?,
		totp_enabled = ?, disabled = ?, token_gen = ?, failed_logins = ?, locked_until = ? WHERE id = ?`
)

func scanUser(sc scanner) (*store.User, error) {
	var u store.User
	err := sc.Scan(&u.ID, &u.OrgID, &u.Email, &u.DisplayName, &u.PasswordHash, &u.Role, &u.MarketingEmails,
		&u.TOTPEnabled, &u.Disabled, &u.TokenGen, &u.FailedLogins, optTimeCol{&u.LockedUntil}, timeCol{&u.CreatedAt})
	if err != nil {
		return nil, err
	}
	return &u, nil
}

func (t *txn) CreateUser(u *store.User) error {
	return t.execAny("create user", qCreateUser, u.ID, u.OrgID, u.Email, u.DisplayName, u.PasswordHash,
		string(u.Role), u.MarketingEmails, u.TOTPEnabled, u.Disabled, u.TokenGen, u.FailedLogins,
		optTimeArg(u.LockedUntil), timeArg(u.CreatedAt))
}

func (t *txn) GetUser(id string) (*store.User, error) {
	u, err := scanUser(t.queryRow(qGetUser, id))
	return u, dbErr("get user", err)
}

func (t *txn) GetUserByEmail(email string) (*store.User, error) {
	u, err := scanUser(t.queryRow(qGetUserByEmail, email))
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
	apiKeyCols       = `id, user_id, org_id, name, prefix, hash, scopes, active, expires_at, last_used_at, created_at` // #nosec G101 -- SQL text, not a credential
	qCreateAPIKey    = `INSERT INTO api_keys (` + apiKeyCols + `) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
	qGetAPIKey       = `SELECT ` + apiKeyCols + ` FROM api_keys WHERE id = ?`
	qGetAPIKeyByHash = `SELECT ` + apiKeyCols + ` FROM api_keys WHERE hash = ?`
	qListAPIKeys     = `SELECT ` + apiKeyCols + ` FROM api_keys WHERE user_id = ? ORDER BY seq`
	qUpdateAPIKey    = `UPDATE api_keys SET name = ?, scopes = ?, active = ?, expires_at = ?, last_used_at = ? WHERE id = ?` // #nosec G101 -- SQL text, not a credential
)

func scanAPIKey(sc scanner) (*store.APIKey, error) {
	var k store.APIKey
	err := sc.Scan(&k.ID, &k.UserID, &k.OrgID, &k.Name, &k.Prefix, &k.Hash, sliceCol[string]{&k.Scopes}, &k.Active,
		optTimeCol{&k.ExpiresAt}, optTimeCol{&k.LastUsedAt}, timeCol{&k.CreatedAt})
	if err != nil {
		return nil, err
	}
	return &k, nil
}

func (t *txn) CreateAPIKey(k *store.APIKey) error {
	scopes, err := sliceArg(k.Scopes)
	if err != nil {
		return dbErr("create api key", err)
	}
	return t.execAny("create api key", qCreateAPIKey, k.ID, k.UserID, k.OrgID, k.Name, k.Prefix, bytesArg(k.Hash),
		scopes, k.Active, optTimeArg(k.ExpiresAt), optTimeArg(k.LastUsedAt), timeArg(k.CreatedAt))
}

func (t *txn) GetAPIKey(id string) (*store.APIKey, error) {
	k, err := scanAPIKey(t.queryRow(qGetAPIKey, id))
	return k, dbErr("get api key", err)
}

func (t *txn) GetAPIKeyByHash(hash []byte) (*store.APIKey, error) {
	if len(hash) == 0 {
		return nil, store.ErrNotFound
	}
	k, err := scanAPIKey(t.queryRow(qGetAPIKeyByHash, hash))
	return k, dbErr("get api key by hash", err)
}

func (t *txn) ListAPIKeys(userID string) ([]*store.APIKey, error) {
	return list(t, "list api keys", scanAPIKey, qListAPIKeys, userID)
}

func (t *txn) UpdateAPIKey(k *store.APIKey) error {
	scopes, err := sliceArg(k.Scopes)
	if err != nil {
		return dbErr("update api key", err)
	}
	return t.execOne("update api key", qUpdateAPIKey, k.Name, scopes, k.Active, optTimeArg(k.ExpiresAt),
		optTimeArg(k.LastUsedAt), k.ID)
}

// --- agents ---

const (
	agentCols = `id, org_id, name, description, scopes, vault_ids, active, expires_at, token_ttl, key_hash,
		token_gen, ssh_public_key, ecdh_public_key, created_by, created_at, last_active_at`
	qCreateAgent       = `INSERT INTO agents (` + agentCols + `) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
	qGetAgent          = `SELECT ` + agentCols + ` FROM agents WHERE id = ?`
	qGetAgentByKeyHash = `SELECT ` + agentCols + ` FROM agents WHERE key_hash = ?`
	qListAgents        = `SELECT ` + agentCols + ` FROM agents WHERE org_id = ? ORDER BY seq`
	qUpdateAgent       = `UPDATE agents SET name = ?, description = ?, scopes = ?, vault_ids = ?, active = ?,
		expires_at = ?, token_ttl = ?, key_hash = ?, token_gen = ?, ssh_public_key = ?, ecdh_public_key = ?,
		last_active_at = ? WHERE id = ?`
	qDeleteAgent = `DELETE FROM agents WHERE id = ?`
)

func scanAgent(sc scanner) (*store.Agent, error) {
	var a store.Agent
	err := sc.Scan(&a.ID, &a.OrgID, &a.Name, &a.Description, sliceCol[string]{&a.Scopes}, sliceCol[string]{&a.VaultIDs},
		&a.Active, optTimeCol{&a.ExpiresAt}, &a.TokenTTL, &a.KeyHash, &a.TokenGen, &a.SSHPublicKey,
		&a.ECDHPublicKey, &a.CreatedBy, timeCol{&a.CreatedAt}, optTimeCol{&a.LastActiveAt})
	if err != nil {
		return nil, err
	}
	return &a, nil
}

func (t *txn) CreateAgent(a *store.Agent) error {
	scopes, err := sliceArg(a.Scopes)
	if err != nil {
		return dbErr("create agent", err)
	}
	vaults, err := sliceArg(a.VaultIDs)
	if err != nil {
		return dbErr("create agent", err)
	}
	return t.execAny("create agent", qCreateAgent, a.ID, a.OrgID, a.Name, a.Description, scopes, vaults, a.Active,
		optTimeArg(a.ExpiresAt), a.TokenTTL, bytesArg(a.KeyHash), a.TokenGen, a.SSHPublicKey, a.ECDHPublicKey,
		a.CreatedBy, timeArg(a.CreatedAt), optTimeArg(a.LastActiveAt))
}

func (t *txn) GetAgent(id string) (*store.Agent, error) {
	a, err := scanAgent(t.queryRow(qGetAgent, id))
	return a, dbErr("get agent", err)
}

func (t *txn) GetAgentByKeyHash(hash []byte) (*store.Agent, error) {
	if len(hash) == 0 {
		return nil, store.ErrNotFound
	}
	a, err := scanAgent(t.queryRow(qGetAgentByKeyHash, hash))
	return a, dbErr("get agent by key hash", err)
}

func (t *txn) ListAgents(orgID string) ([]*store.Agent, error) {
	return list(t, "list agents", scanAgent, qListAgents, orgID)
}

func (t *txn) UpdateAgent(a *store.Agent) error {
	scopes, err := sliceArg(a.Scopes)
	if err != nil {
		return dbErr("update agent", err)
	}
	vaults, err := sliceArg(a.VaultIDs)
	if err != nil {
		return dbErr("update agent", err)
	}
	return t.execOne("update agent", qUpdateAgent, a.Name, a.Description, scopes, vaults, a.Active,
		optTimeArg(a.ExpiresAt), a.TokenTTL, bytesArg(a.KeyHash), a.TokenGen, a.SSHPublicKey, a.ECDHPublicKey,
		optTimeArg(a.LastActiveAt), a.ID)
}

func (t *txn) DeleteAgent(id string) error {
	return t.execOne("delete agent", qDeleteAgent, id)
}
