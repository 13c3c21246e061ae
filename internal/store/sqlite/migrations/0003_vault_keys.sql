-- Versions of each vault's key (key rotation). A vault's key versions are deleted with it.
--
-- The vaults that exist get version 1: the key they were created with (vaults.wrapped_key, kept there
-- as it is). Its encryptions start at the number of versions stored in the vault, each sealed once under
-- that key: a lower bound of the true count (versions purged before this migration are not known).
CREATE TABLE vault_keys (
	vault_id    TEXT NOT NULL REFERENCES vaults (id) ON DELETE CASCADE,
	version     INTEGER NOT NULL,
	wrapped     BLOB NOT NULL,
	encryptions INTEGER NOT NULL DEFAULT 0,
	created_at  TEXT NOT NULL,
	PRIMARY KEY (vault_id, version)
);

INSERT INTO vault_keys (vault_id, version, wrapped, encryptions, created_at)
	SELECT v.id, 1, v.wrapped_key,
		(SELECT count(*) FROM secrets s JOIN versions x ON x.secret_id = s.id WHERE s.vault_id = v.id),
		v.created_at
	FROM vaults v
	WHERE v.wrapped_key IS NOT NULL
	ORDER BY v.seq;
