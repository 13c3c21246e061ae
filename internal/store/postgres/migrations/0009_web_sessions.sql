-- Dashboard sessions (docs/dashboard.md §1): the cookie's id is kept only as its SHA-256.
CREATE TABLE web_sessions (
	seq          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	id           TEXT NOT NULL UNIQUE,
	id_hash      BYTEA NOT NULL UNIQUE,
	user_id      TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	org_id       TEXT NOT NULL REFERENCES orgs (id),
	token_gen    BIGINT NOT NULL,
	ip           TEXT NOT NULL,
	created_at   TIMESTAMPTZ NOT NULL,
	last_seen_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX web_sessions_user ON web_sessions (user_id, seq);
