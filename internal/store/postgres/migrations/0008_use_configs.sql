-- Destination configs of use without read (spec use.md §2): one per secret path of a vault. The config
-- belongs to the path (it survives new versions and soft deletes) and goes with the vault.
CREATE TABLE use_configs (
	vault_id        TEXT NOT NULL REFERENCES vaults (id) ON DELETE CASCADE,
	path            TEXT COLLATE "C" NOT NULL,
	config          TEXT NOT NULL,
	created_by      TEXT NOT NULL,
	created_by_type TEXT NOT NULL,
	created_at      TIMESTAMPTZ NOT NULL,
	updated_at      TIMESTAMPTZ NOT NULL,
	PRIMARY KEY (vault_id, path)
);
