-- Approvals (spec §4.14): an agent's request for a human decision. vault_id is target_id; path and
-- permission name the access a secret_access approval grants once; used_at marks the grant used.
CREATE TABLE approvals (
	seq             INTEGER PRIMARY KEY,
	id              TEXT NOT NULL UNIQUE,
	org_id          TEXT NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
	agent_id        TEXT NOT NULL,
	action          TEXT NOT NULL,
	target_type     TEXT NOT NULL,
	vault_id        TEXT NOT NULL,
	risk_tier       INTEGER NOT NULL,
	status          TEXT NOT NULL,
	summary         TEXT NOT NULL, -- JSON object
	reason          TEXT NOT NULL,
	decision_reason TEXT NOT NULL,
	decided_by      TEXT NOT NULL,
	decided_at      TEXT,
	path            TEXT NOT NULL,
	permission      TEXT NOT NULL,
	used_at         TEXT,
	expires_at      TEXT NOT NULL,
	created_at      TEXT NOT NULL
);
CREATE INDEX approvals_org ON approvals (org_id, seq);
CREATE INDEX approvals_pending ON approvals (status, expires_at);
-- At most one pending secret_access approval per (agent, vault, path, permission).
CREATE UNIQUE INDEX approvals_one_pending ON approvals (agent_id, vault_id, path, permission)
	WHERE status = 'pending' AND action = 'secret_access';
CREATE INDEX approvals_grant ON approvals (agent_id, vault_id, path, permission, status);

-- Agent self-enrolment (spec §4.8). human_email is lower-cased; secret_hash is the keyed hash of the
-- secret the agent polls with. Nothing here is a credential: the agent's key is minted at the first poll
-- after approval and only its hash is stored, with the agent.
CREATE TABLE enrollments (
	seq           INTEGER PRIMARY KEY,
	id            TEXT NOT NULL UNIQUE,
	name          TEXT NOT NULL,
	description   TEXT NOT NULL,
	human_email   TEXT NOT NULL,
	secret_hash   BLOB NOT NULL,
	status        TEXT NOT NULL,
	agent_id      TEXT NOT NULL,
	org_id        TEXT NOT NULL,
	decided_by    TEXT NOT NULL,
	key_delivered INTEGER NOT NULL,
	expires_at    TEXT NOT NULL,
	created_at    TEXT NOT NULL
);
CREATE INDEX enrollments_email ON enrollments (human_email, seq);
-- The per-email cooldown of enrolment requests: one row per lower-cased email, claimed atomically.
CREATE TABLE enrollment_claims (
	email   TEXT PRIMARY KEY,
	last_at TEXT NOT NULL
);
CREATE INDEX enrollments_pending ON enrollments (status, expires_at);

-- Notification deliveries: one row per notice and channel, written when the background notifier has
-- delivered it or given up (best effort: a failure never affects the request that caused the notice).
CREATE TABLE notification_deliveries (
	seq        INTEGER PRIMARY KEY,
	id         TEXT NOT NULL UNIQUE,
	notice_id  TEXT NOT NULL,
	channel    TEXT NOT NULL,
	target     TEXT NOT NULL,
	status     TEXT NOT NULL,
	attempts   INTEGER NOT NULL,
	error      TEXT NOT NULL,
	created_at TEXT NOT NULL
);
CREATE INDEX notification_deliveries_notice ON notification_deliveries (notice_id, seq);
