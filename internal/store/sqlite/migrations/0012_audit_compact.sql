-- Audit events in a compact form, converted in place (internal/store/sqlite/audit.go reads and writes it):
--
--   - the repeated strings of an event (org, action, actor and its type, resource and its type, vault,
--     IP address) are interned in audit_names and referenced by integer (*_ref columns);
--   - an id or a name that is a lowercase canonical UUID is stored as its 16 bytes (BLOB), any other as
--     TEXT; an integrity hash that is 64 lowercase hex digits as its 32 bytes, any other as TEXT;
--   - created_at is INTEGER microseconds since the Unix epoch when the stored text is in
--     clavis.TimeFormat (any other text is kept as it is);
--   - prev is NULL for an empty prev_event_id, else the seq of the previous event (INTEGER) when that
--     event is in the table, else its id encoded like an id;
--   - vault_ref is details.vault_id when that is a string, and details no longer holds the key when
--     removing it is exact (the reader puts it back); the integrity hash does not cover details.
--
-- Columns holding either form are declared BLOB (no type affinity), so that SQLite keeps each value's
-- type as written. Every stored event reads back exactly as before.

CREATE TABLE audit_names (
	id   INTEGER PRIMARY KEY,
	name BLOB NOT NULL UNIQUE -- never changed or deleted: writers cache committed names
);

-- Interned strings numbered the rarer kinds first, so that the common names get one-byte ids.
CREATE TEMP TABLE audit_name_map (
	ref INTEGER PRIMARY KEY,
	s   TEXT NOT NULL UNIQUE
);
INSERT OR IGNORE INTO audit_name_map (s) SELECT DISTINCT org_id FROM audit_events;
INSERT OR IGNORE INTO audit_name_map (s) SELECT DISTINCT action FROM audit_events;
INSERT OR IGNORE INTO audit_name_map (s) SELECT DISTINCT actor_type FROM audit_events;
INSERT OR IGNORE INTO audit_name_map (s) SELECT DISTINCT resource_type FROM audit_events;
INSERT OR IGNORE INTO audit_name_map (s) SELECT DISTINCT ip_address FROM audit_events;
INSERT OR IGNORE INTO audit_name_map (s) SELECT DISTINCT vault_id FROM audit_events WHERE vault_id IS NOT NULL;
INSERT OR IGNORE INTO audit_name_map (s) SELECT DISTINCT actor_id FROM audit_events;
INSERT OR IGNORE INTO audit_name_map (s) SELECT DISTINCT resource_id FROM audit_events;
INSERT INTO audit_names (id, name)
	SELECT ref, CASE WHEN s GLOB '????????-????-????-????-????????????' AND length(replace(s, '-', '')) = 32
		AND replace(s, '-', '') NOT GLOB '*[^0-9a-f]*' THEN unhex(replace(s, '-', '')) ELSE s END
	FROM audit_name_map;

CREATE TABLE audit_events_compact (
	seq               INTEGER PRIMARY KEY,
	id                BLOB NOT NULL UNIQUE,
	org_ref           INTEGER NOT NULL,
	action_ref        INTEGER NOT NULL,
	actor_ref         INTEGER NOT NULL,
	actor_type_ref    INTEGER NOT NULL,
	resource_type_ref INTEGER NOT NULL,
	resource_ref      INTEGER NOT NULL,
	vault_ref         INTEGER,
	details           TEXT NOT NULL, -- JSON object (or null)
	ip_ref            INTEGER NOT NULL,
	created_at        BLOB NOT NULL,
	prev              BLOB,
	hash              BLOB NOT NULL
);

INSERT INTO audit_events_compact (seq, id, org_ref, action_ref, actor_ref, actor_type_ref, resource_type_ref,
	resource_ref, vault_ref, details, ip_ref, created_at, prev, hash)
SELECT e.seq,
	CASE WHEN e.id GLOB '????????-????-????-????-????????????' AND length(replace(e.id, '-', '')) = 32
		AND replace(e.id, '-', '') NOT GLOB '*[^0-9a-f]*' THEN unhex(replace(e.id, '-', '')) ELSE e.id END,
	(SELECT ref FROM audit_name_map WHERE s = e.org_id),
	(SELECT ref FROM audit_name_map WHERE s = e.action),
	(SELECT ref FROM audit_name_map WHERE s = e.actor_id),
	(SELECT ref FROM audit_name_map WHERE s = e.actor_type),
	(SELECT ref FROM audit_name_map WHERE s = e.resource_type),
	(SELECT ref FROM audit_name_map WHERE s = e.resource_id),
	(SELECT ref FROM audit_name_map WHERE s = e.vault_id),
	CASE WHEN e.vault_id IS NOT NULL AND json_valid(e.details) AND json_extract(e.details, '$.vault_id') IS e.vault_id
		THEN json_remove(e.details, '$.vault_id') ELSE e.details END,
	(SELECT ref FROM audit_name_map WHERE s = e.ip_address),
	CASE WHEN e.created_at GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9].[0-9][0-9][0-9][0-9][0-9][0-9]Z'
		AND strftime('%Y-%m-%dT%H:%M:%S', substr(e.created_at, 1, 19)) IS substr(e.created_at, 1, 19)
		THEN unixepoch(substr(e.created_at, 1, 19)) * 1000000 + CAST(substr(e.created_at, 21, 6) AS INTEGER)
		ELSE e.created_at END,
	CASE WHEN e.prev_event_id = '' THEN NULL
		ELSE coalesce((SELECT p.seq FROM audit_events p WHERE p.id = e.prev_event_id),
			CASE WHEN e.prev_event_id GLOB '????????-????-????-????-????????????' AND length(replace(e.prev_event_id, '-', '')) = 32
				AND replace(e.prev_event_id, '-', '') NOT GLOB '*[^0-9a-f]*' THEN unhex(replace(e.prev_event_id, '-', ''))
				ELSE e.prev_event_id END) END,
	CASE WHEN length(e.integrity_hash) = 64 AND e.integrity_hash NOT GLOB '*[^0-9a-f]*' THEN unhex(e.integrity_hash)
		ELSE e.integrity_hash END
FROM audit_events e;

DROP TABLE audit_name_map;
DROP TABLE audit_events;
ALTER TABLE audit_events_compact RENAME TO audit_events;

-- Only what the queries use: the org's chain in order (AuditChain, AuditChainAfter, ListAudit), one
-- index per ListAudit filter, and time ranges. Each event adds a few small integers to each.
CREATE INDEX audit_events_org ON audit_events (org_ref, seq);
CREATE INDEX audit_events_actor ON audit_events (org_ref, actor_ref, seq);
CREATE INDEX audit_events_resource ON audit_events (org_ref, resource_ref, seq);
CREATE INDEX audit_events_action ON audit_events (org_ref, action_ref, seq);
CREATE INDEX audit_events_vault ON audit_events (org_ref, vault_ref, seq);
CREATE INDEX audit_events_time ON audit_events (org_ref, created_at);
