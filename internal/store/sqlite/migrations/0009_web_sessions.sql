-- Dashboard sessions (docs/dashboard.md §1): the cookie's id is kept only as its SHA-256.
CREATE TABLE web_sessions (
	seq          INTEGER PRIMARY KEY,
	id           TEXT NOT NULL UNIQUE,
	id_hash      BLOB NOT NULL UNIQUE,
	user_id      TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	org_id       TEXT NOT NULL REFERENCES orgs (id),
	token_gen    INTEGER NOT NULL,
	ip           TEXT NOT NULL,
	created_at   TEXT NOT NULL,
	last_seen_at TEXT NOT NULL
);
CREATE INDEX web_sessions_user ON web_sessions (user_id, seq);
