-- secret_heads: one row per listable secret (not deleted, with a version at latest_version), holding the
-- secret's columns and its latest version's metadata, clustered by (vault_id, path). A secret list is then
-- one range scan of this table, with no lookup per row into secrets or versions.
--
-- The triggers below are the only writers: the table is always exactly
--   SELECT … FROM secrets s JOIN versions v ON v.secret_id = s.id AND v.version = s.latest_version
--   WHERE s.deleted = 0
-- as of the end of every statement. A version's (secret_id, version) and a secret's id never change.
CREATE TABLE secret_heads (
	vault_id         TEXT NOT NULL,
	path             TEXT NOT NULL,
	secret_id        TEXT NOT NULL,
	latest_version   INTEGER NOT NULL,
	created_at       TEXT NOT NULL, -- the secret's
	type             TEXT NOT NULL,
	metadata         TEXT NOT NULL,
	expires_at       TEXT,
	max_access_count INTEGER NOT NULL,
	access_count     INTEGER NOT NULL,
	disabled         INTEGER NOT NULL,
	created_by       TEXT NOT NULL,
	v_created_at     TEXT NOT NULL, -- the version's
	PRIMARY KEY (vault_id, path)
) WITHOUT ROWID;

INSERT INTO secret_heads
	SELECT s.vault_id, s.path, s.id, s.latest_version, s.created_at, v.type, v.metadata, v.expires_at,
		v.max_access_count, v.access_count, v.disabled, v.created_by, v.created_at
	FROM secrets s JOIN versions v ON v.secret_id = s.id AND v.version = s.latest_version
	WHERE s.deleted = 0;

-- A new version becomes the head when it is the secret's latest (NextVersion runs first, then CreateVersion).
CREATE TRIGGER secret_heads_version_insert AFTER INSERT ON versions BEGIN
	INSERT OR REPLACE INTO secret_heads
		SELECT s.vault_id, s.path, s.id, s.latest_version, s.created_at, NEW.type, NEW.metadata, NEW.expires_at,
			NEW.max_access_count, NEW.access_count, NEW.disabled, NEW.created_by, NEW.created_at
		FROM secrets s WHERE s.id = NEW.secret_id AND s.latest_version = NEW.version AND s.deleted = 0;
END;

-- A secret's latest_version or deleted changed: its head is rebuilt (or dropped, when deleted or when the
-- new latest version does not exist yet: its insert then adds it).
CREATE TRIGGER secret_heads_secret_update AFTER UPDATE ON secrets BEGIN
	DELETE FROM secret_heads WHERE vault_id = OLD.vault_id AND path = OLD.path;
	INSERT INTO secret_heads
		SELECT NEW.vault_id, NEW.path, NEW.id, NEW.latest_version, NEW.created_at, v.type, v.metadata, v.expires_at,
			v.max_access_count, v.access_count, v.disabled, v.created_by, v.created_at
		FROM versions v WHERE NEW.deleted = 0 AND v.secret_id = NEW.id AND v.version = NEW.latest_version;
END;

CREATE TRIGGER secret_heads_secret_delete AFTER DELETE ON secrets BEGIN
	DELETE FROM secret_heads WHERE vault_id = OLD.vault_id AND path = OLD.path;
END;

-- Metadata of the head version changed (disable, access count). ciphertext and wrapped_dek are not listed.
CREATE TRIGGER secret_heads_version_update
	AFTER UPDATE OF type, metadata, expires_at, max_access_count, access_count, disabled, created_by, created_at
	ON versions BEGIN
	UPDATE secret_heads SET type = NEW.type, metadata = NEW.metadata, expires_at = NEW.expires_at,
		max_access_count = NEW.max_access_count, access_count = NEW.access_count, disabled = NEW.disabled,
		created_by = NEW.created_by, v_created_at = NEW.created_at
	WHERE (vault_id, path) = (SELECT vault_id, path FROM secrets WHERE id = NEW.secret_id)
		AND latest_version = NEW.version;
END;

CREATE TRIGGER secret_heads_version_delete AFTER DELETE ON versions BEGIN
	DELETE FROM secret_heads
	WHERE (vault_id, path) = (SELECT vault_id, path FROM secrets WHERE id = OLD.secret_id)
		AND latest_version = OLD.version;
END;
