-- secret_heads also holds v_seq, the rowid of the head version in versions, so that reading a secret's
-- latest value is one lookup by (vault_id, path) in secret_heads and one by rowid in versions
-- (GetSecretVersion), instead of a lookup in each of secrets' and versions' indexes and tables.
-- A version's rowid never changes. The triggers of 0013 that write a head are replaced by the same ones
-- with v_seq; the others do not touch it.
ALTER TABLE secret_heads ADD COLUMN v_seq INTEGER NOT NULL DEFAULT 0;

UPDATE secret_heads SET v_seq = coalesce((SELECT v.seq FROM versions v
	WHERE v.secret_id = secret_heads.secret_id AND v.version = secret_heads.latest_version), 0);

DROP TRIGGER secret_heads_version_insert;
CREATE TRIGGER secret_heads_version_insert AFTER INSERT ON versions BEGIN
	INSERT OR REPLACE INTO secret_heads
		SELECT s.vault_id, s.path, s.id, s.latest_version, s.created_at, NEW.type, NEW.metadata, NEW.expires_at,
			NEW.max_access_count, NEW.access_count, NEW.disabled, NEW.created_by, NEW.created_at, NEW.seq
		FROM secrets s WHERE s.id = NEW.secret_id AND s.latest_version = NEW.version AND s.deleted = 0;
END;

DROP TRIGGER secret_heads_secret_update;
CREATE TRIGGER secret_heads_secret_update AFTER UPDATE ON secrets BEGIN
	DELETE FROM secret_heads WHERE vault_id = OLD.vault_id AND path = OLD.path;
	INSERT INTO secret_heads
		SELECT NEW.vault_id, NEW.path, NEW.id, NEW.latest_version, NEW.created_at, v.type, v.metadata, v.expires_at,
			v.max_access_count, v.access_count, v.disabled, v.created_by, v.created_at, v.seq
		FROM versions v WHERE NEW.deleted = 0 AND v.secret_id = NEW.id AND v.version = NEW.latest_version;
END;
