-- Multi-factor authentication state, one row per user that ever started TOTP setup.
CREATE TABLE user_mfa (
	user_id        TEXT PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
	secret         BLOB,
	pending        BLOB,
	last_step      INTEGER NOT NULL DEFAULT 0,
	recovery_codes TEXT NOT NULL DEFAULT '[]'
);
