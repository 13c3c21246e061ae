-- Initial schema of the Clavis PostgreSQL store: the SQLite schema (store/sqlite) translated.
--
-- Conventions: every entity table has a seq identity column (creation order, newest-first order) and,
-- where the domain has one, a uuid id TEXT UNIQUE. The identity sequences keep the default CACHE 1, so
-- numbers are handed out in the order the inserts run across every connection and replica (the audit
-- chain relies on it: see audit_heads). Times are TIMESTAMPTZ (microsecond precision, the precision of
-- clavis.TimeFormat, so comparing them is comparing the API strings); optional times are NULL. String
-- slices are TEXT[]. JSON documents are TEXT exactly as given (JSONB would reorder keys and drop
-- whitespace). Byte strings that must be unique when set are NULL when empty.

CREATE TABLE server_keys (
	name  TEXT PRIMARY KEY,
	value BYTEA NOT NULL
);

CREATE TABLE orgs (
	seq        BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	id         TEXT NOT NULL UNIQUE,
	name       TEXT NOT NULL,
	created_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE users (
	seq              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	id               TEXT NOT NULL UNIQUE,
	org_id           TEXT NOT NULL REFERENCES orgs (id),
	email            TEXT NOT NULL UNIQUE,
	display_name     TEXT NOT NULL,
	password_hash    TEXT NOT NULL,
	role             TEXT NOT NULL,
	marketing_emails BOOLEAN NOT NULL,
	totp_enabled     BOOLEAN NOT NULL,
	disabled         BOOLEAN NOT NULL,
	token_gen        BIGINT NOT NULL,
	failed_logins    INTEGER NOT NULL,
	locked_until     TIMESTAMPTZ,
	created_at       TIMESTAMPTZ NOT NULL
);
CREATE INDEX users_org ON users (org_id, seq);

CREATE TABLE api_keys (
	seq          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	id           TEXT NOT NULL UNIQUE,
	user_id      TEXT NOT NULL REFERENCES users (id),
	org_id       TEXT NOT NULL REFERENCES orgs (id),
	name         TEXT NOT NULL,
	prefix       TEXT NOT NULL,
	hash         BYTEA UNIQUE, -- NULL when empty
	scopes       TEXT[] NOT NULL,
	active       BOOLEAN NOT NULL,
	expires_at   TIMESTAMPTZ,
	last_used_at TIMESTAMPTZ,
	created_at   TIMESTAMPTZ NOT NULL
);
CREATE INDEX api_keys_user ON api_keys (user_id, seq);

CREATE TABLE agents (
	seq             BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	id              TEXT NOT NULL UNIQUE,
	org_id          TEXT NOT NULL REFERENCES orgs (id),
	name            TEXT NOT NULL,
	description     TEXT NOT NULL,
	scopes          TEXT[] NOT NULL,
	vault_ids       TEXT[] NOT NULL,
	active          BOOLEAN NOT NULL,
	expires_at      TIMESTAMPTZ,
	token_ttl       INTEGER NOT NULL,
	key_hash        BYTEA UNIQUE, -- NULL when empty
	token_gen       BIGINT NOT NULL,
	ssh_public_key  TEXT NOT NULL,
	ecdh_public_key TEXT NOT NULL,
	created_by      TEXT NOT NULL,
	created_at      TIMESTAMPTZ NOT NULL,
	last_active_at  TIMESTAMPTZ
);
CREATE INDEX agents_org ON agents (org_id, seq);

-- Deleting a vault row destroys its wrapped key and, through the cascades below, its secrets, their
-- versions and its policies.
CREATE TABLE vaults (
	seq             BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	id              TEXT NOT NULL UNIQUE,
	org_id          TEXT NOT NULL REFERENCES orgs (id),
	name            TEXT NOT NULL,
	description     TEXT NOT NULL,
	created_by      TEXT NOT NULL,
	created_by_type TEXT NOT NULL,
	owner_user_id   TEXT NOT NULL,
	system          BOOLEAN NOT NULL,
	wrapped_key     BYTEA,
	created_at      TIMESTAMPTZ NOT NULL
);
CREATE INDEX vaults_org ON vaults (org_id, seq);
-- One __agent-keys vault per org.
CREATE UNIQUE INDEX vaults_system ON vaults (org_id) WHERE system;

-- path is COLLATE "C": ordering, comparison and the (vault_id, path) index are in byte order, whatever
-- the database's default collation, so a prefix is a contiguous range of that index.
CREATE TABLE secrets (
	seq            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	id             TEXT NOT NULL UNIQUE,
	vault_id       TEXT NOT NULL REFERENCES vaults (id) ON DELETE CASCADE,
	path           TEXT COLLATE "C" NOT NULL,
	deleted        BOOLEAN NOT NULL,
	latest_version INTEGER NOT NULL,
	created_at     TIMESTAMPTZ NOT NULL,
	UNIQUE (vault_id, path)
);

CREATE TABLE versions (
	seq              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	secret_id        TEXT NOT NULL REFERENCES secrets (id) ON DELETE CASCADE,
	version          INTEGER NOT NULL,
	type             TEXT NOT NULL,
	metadata         TEXT NOT NULL, -- JSON, exactly as given
	ciphertext       BYTEA,
	wrapped_dek      BYTEA,
	expires_at       TIMESTAMPTZ,
	max_access_count INTEGER NOT NULL,
	access_count     INTEGER NOT NULL,
	disabled         BOOLEAN NOT NULL,
	created_by       TEXT NOT NULL,
	created_at       TIMESTAMPTZ NOT NULL,
	UNIQUE (secret_id, version)
);

CREATE TABLE policies (
	seq              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	id               TEXT NOT NULL UNIQUE,
	vault_id         TEXT NOT NULL REFERENCES vaults (id) ON DELETE CASCADE,
	pattern          TEXT NOT NULL,
	principal_type   TEXT NOT NULL,
	principal_id     TEXT NOT NULL,
	permissions      TEXT[] NOT NULL,
	conditions       TEXT NOT NULL, -- JSON, exactly as given
	effect           TEXT NOT NULL,
	priority         INTEGER NOT NULL,
	require_approval BOOLEAN NOT NULL,
	expires_at       TIMESTAMPTZ,
	created_by       TEXT NOT NULL,
	created_by_type  TEXT NOT NULL,
	created_at       TIMESTAMPTZ NOT NULL
);
CREATE INDEX policies_vault ON policies (vault_id, seq);
CREATE INDEX policies_principal ON policies (principal_type, principal_id);

-- Audit events are never deleted. vault_id is details.vault_id, kept in a column for filtering.
CREATE TABLE audit_events (
	seq            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
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
	created_at     TIMESTAMPTZ NOT NULL,
	prev_event_id  TEXT NOT NULL,
	integrity_hash TEXT NOT NULL
);
CREATE INDEX audit_events_org ON audit_events (org_id, seq);
CREATE INDEX audit_events_actor ON audit_events (org_id, actor_id, seq);
CREATE INDEX audit_events_resource ON audit_events (org_id, resource_id, seq);
CREATE INDEX audit_events_action ON audit_events (org_id, action, seq);
CREATE INDEX audit_events_vault ON audit_events (org_id, vault_id, seq);

-- The newest event of each org's chain, maintained by AppendAudit; ('', '') while the org has none.
-- A Write transaction locks its org's row (SELECT … FOR UPDATE) before it chains an event, so appenders
-- of one org, in every process, take turns: each one's event gets a later seq than the head it chained to.
CREATE TABLE audit_heads (
	org_id   TEXT PRIMARY KEY,
	event_id TEXT NOT NULL,
	hash     TEXT NOT NULL
);

CREATE TABLE revoked_tokens (
	jti        TEXT PRIMARY KEY,
	expires_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX revoked_tokens_expiry ON revoked_tokens (expires_at);
