-- Sharing (spec §4.11) and org management (spec §4.12): shares, invitations, IP rules.

-- Deleting a secret (its vault) deletes its shares. recipient_id is '' for link shares and unclaimed
-- external_email shares; passphrase_hash '' for none. ip_allowlist is a JSON array.
CREATE TABLE shares (
	seq              INTEGER PRIMARY KEY,
	id               TEXT NOT NULL UNIQUE,
	org_id           TEXT NOT NULL,
	secret_id        TEXT NOT NULL REFERENCES secrets (id) ON DELETE CASCADE,
	vault_id         TEXT NOT NULL,
	created_by       TEXT NOT NULL,
	created_by_type  TEXT NOT NULL,
	recipient_type   TEXT NOT NULL,
	recipient_id     TEXT NOT NULL,
	recipient_email  TEXT NOT NULL,
	expires_at       TEXT NOT NULL,
	max_access_count INTEGER NOT NULL,
	access_count     INTEGER NOT NULL,
	ip_allowlist     TEXT NOT NULL,
	passphrase_hash  TEXT NOT NULL,
	accepted         INTEGER NOT NULL,
	declined         INTEGER NOT NULL,
	created_at       TEXT NOT NULL
);
CREATE INDEX shares_creator ON shares (created_by, seq);
CREATE INDEX shares_recipient ON shares (recipient_id, seq);
CREATE INDEX shares_email ON shares (recipient_email) WHERE recipient_type = 'external_email';
CREATE INDEX shares_secret ON shares (secret_id);

-- One pending invitation per email.
CREATE TABLE invites (
	email      TEXT PRIMARY KEY,
	org_id     TEXT NOT NULL REFERENCES orgs (id),
	role       TEXT NOT NULL,
	invited_by TEXT NOT NULL,
	expires_at TEXT NOT NULL,
	created_at TEXT NOT NULL
);

CREATE TABLE ip_rules (
	seq        INTEGER PRIMARY KEY,
	id         TEXT NOT NULL UNIQUE,
	org_id     TEXT NOT NULL REFERENCES orgs (id),
	rule_type  TEXT NOT NULL,
	cidr       TEXT NOT NULL,
	label      TEXT NOT NULL,
	applies_to TEXT NOT NULL,
	created_by TEXT NOT NULL,
	created_at TEXT NOT NULL
);
CREATE INDEX ip_rules_org ON ip_rules (org_id, seq);
