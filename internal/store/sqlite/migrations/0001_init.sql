-- Initial schema of the Clavis SQLite store.
--
-- Conventions: every entity table has an INTEGER PRIMARY KEY seq (the rowid: creation order) and, where the
-- domain has one, a uuid id TEXT UNIQUE. Times are TEXT in clavis.TimeFormat (lexical order = time order),
-- optional times NULL. String slices and JSON documents are TEXT holding JSON. Booleans are INTEGER 0/1.

CREATE TABLE server_keys (
	name  TEXT PRIMARY KEY,
	value BLOB NOT NULL
);

CREATE TABLE orgs (
	seq        INTEGER PRIMARY KEY,
	id         TEXT NOT NULL UNIQUE,
	name       TEXT NOT NULL,
	created_at TEXT NOT NULL
);

CREATE TABLE users (
	seq              INTEGER PRIMARY KEY,
	id               TEXT NOT NULL UNIQUE,
	org_id           TEXT NOT NULL REFERENCES orgs (id),
	email            TEXT NOT NULL UNIQUE,
	display_name     TEXT NOT NULL,
	password_hash    TEXT NOT NULL,
	role             TEXT NOT NULL,
	marketing_emails INTEGER NOT NULL,
	totp_enabled     INTEGER NOT NULL,
	disabled         INTEGER NOT NULL,
	token_gen        INTEGER NOT NULL,
	failed_logins    INTEGER NOT NULL,
	locked_until     TEXT,
	created_at       TEXT NOT NULL
);
CREATE INDEX users_org ON users (org_id, seq);

CREATE TABLE api_keys (
	seq          INTEGER PRIMARY KEY,
	id           TEXT NOT NULL UNIQUE,
	user_id      TEXT NOT NULL REFERENCES users (id),
	org_id       TEXT NOT NULL REFERENCES orgs (id),
	name         TEXT NOT NULL,
	prefix       TEXT NOT NULL,
	hash         BLOB UNIQUE, -- NULL when empty
	scopes       TEXT NOT NULL, -- JSON array
	active       INTEGER NOT NULL,
	expires_at   TEXT,
	last_used_at TEXT,
	created_at   TEXT NOT NULL
);
CREATE INDEX api_keys_user ON api_keys (user_id, seq);

CREATE TABLE agents (
	seq             INTEGER PRIMARY KEY,
	id              TEXT NOT NULL UNIQUE,
	org_id          TEXT NOT NULL REFERENCES orgs (id),
	name            TEXT NOT NULL,
	description     TEXT NOT NULL,
	scopes          TEXT NOT NULL, -- JSON array
	vault_ids       TEXT NOT NULL, -- JSON array
	active          INTEGER NOT NULL,
	expires_at      TEXT,
	token_ttl       INTEGER NOT NULL,
	key_hash        BLOB UNIQUE, -- NULL when empty
	token_gen       INTEGER NOT NULL,
	ssh_public_key  TEXT NOT NULL,
	ecdh_public_key TEXT NOT NULL,
	created_by      TEXT NOT NULL,
	created_at      TEXT NOT NULL,
	last_active_at  TEXT
);
CREATE INDEX agents_org ON agents (org_id, seq);

-- Deleting a vault row destroys its wrapped key and, through the cascades below, its secrets, their
-- versions and its policies.
CREATE TABLE vaults (
	seq             INTEGER PRIMARY KEY,
	id              TEXT NOT NULL UNIQUE,
	org_id          TEXT NOT NULL REFERENCES orgs (id),
	name            TEXT NOT NULL,
	description     TEXT NOT NULL,
	created_by      TEXT NOT NULL,
	created_by_type TEXT NOT NULL,
	owner_user_id   TEXT NOT NULL,
	system          INTEGER NOT NULL,
	wrapped_key     BLOB,
	created_at      TEXT NOT NULL
);
CREATE INDEX vaults_org ON vaults (org_id, seq);
-- One __agent-keys vault per org.
CREATE UNIQUE INDEX vaults_system ON vaults (org_id) WHERE system = 1;

CREATE TABLE secrets (
	seq            INTEGER PRIMARY KEY,
	id             TEXT NOT NULL UNIQUE,
	vault_id       TEXT NOT NULL REFERENCES vaults (id) ON DELETE CASCADE,
	path           TEXT NOT NULL,
	deleted        INTEGER NOT NULL,
	latest_version INTEGER NOT NULL,
	created_at     TEXT NOT NULL,
	UNIQUE (vault_id, path)
);

CREATE TABLE versions (
	seq              INTEGER PRIMARY KEY,
	secret_id        TEXT NOT NULL REFERENCES secrets (id) ON DELETE CASCADE,
	version          INTEGER NOT NULL,
	type             TEXT NOT NULL,
	metadata         TEXT NOT NULL, -- JSON, exactly as given
	ciphertext       BLOB,
	wrapped_dek      BLOB,
	expires_at       TEXT,
	max_access_count INTEGER NOT NULL,
	access_count     INTEGER NOT NULL,
	disabled         INTEGER NOT NULL,
	created_by       TEXT NOT NULL,
	created_at       TEXT NOT NULL,
	UNIQUE (secret_id, version)
);

CREATE TABLE policies (
	seq              INTEGER PRIMARY KEY,
	id               TEXT NOT NULL UNIQUE,
	vault_id         TEXT NOT NULL REFERENCES vaults (id) ON DELETE CASCADE,
	pattern          TEXT NOT NULL,
	principal_type   TEXT NOT NULL,
	principal_id     TEXT NOT NULL,
	permissions      TEXT NOT NULL, -- JSON array
	conditions       TEXT NOT NULL, -- JSON, exactly as given
	effect           TEXT NOT NULL,
	priority         INTEGER NOT NULL,
	require_approval INTEGER NOT NULL,
	expires_at       TEXT,
	created_by       TEXT NOT NULL,
	created_by_type  TEXT NOT NULL,
	created_at       TEXT NOT NULL
);
CREATE INDEX policies_vault ON policies (vault_id, seq);
CREATE INDEX policies_principal ON policies (principal_type, principal_id);

-- Audit events are never deleted. vault_id is details.vault_id, kept in a column for filtering.
CREATE TABLE audit_events (
	seq            INTEGER PRIMARY KEY,
	id             TEXT NOT NULL UNIQUE,
	org_id         TEXT NOT NULL,
	action         TEXT NOT NULL,
	actor_id       TEXT NOT NULL,
	actor_type     TEXT NOT NULL,
	resource_type  TEXT NOT NULL,
	resource_id    TEXT NOT NULL,
	vault_id       TEXT,
	details        TEXT NOT NULL, -- JSON object (or null)
	ip_address     TEXT NOT NULL,
	created_at     TEXT NOT NULL,
	prev_event_id  TEXT NOT NULL,
	integrity_hash TEXT NOT NULL
);
CREATE INDEX audit_events_org ON audit_events (org_id, seq);
CREATE INDEX audit_events_actor ON audit_events (org_id, actor_id, seq);
CREATE INDEX audit_events_resource ON audit_events (org_id, resource_id, seq);
CREATE INDEX audit_events_action ON audit_events (org_id, action, seq);
CREATE INDEX audit_events_vault ON audit_events (org_id, vault_id, seq);

-- The newest event of each org's chain, maintained by AppendAudit.
CREATE TABLE audit_heads (
	org_id   TEXT PRIMARY KEY,
	event_id TEXT NOT NULL,
	hash     TEXT NOT NULL
);

CREATE TABLE revoked_tokens (
	jti        TEXT PRIMARY KEY,
	expires_at TEXT NOT NULL
);
CREATE INDEX revoked_tokens_expiry ON revoked_tokens (expires_at);
