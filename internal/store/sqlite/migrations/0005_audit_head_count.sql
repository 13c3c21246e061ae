-- Each org's head counts the events of its chain, so that verify can tell a chain cut short at its end
-- (spec §5.3). Existing heads count the events there are.
ALTER TABLE audit_heads ADD COLUMN event_count INTEGER NOT NULL DEFAULT 0;
UPDATE audit_heads SET event_count = (SELECT count(*) FROM audit_events WHERE audit_events.org_id = audit_heads.org_id);
