-- Audit queries filtered by time (from/to) use their own index.
CREATE INDEX audit_events_time ON audit_events (org_id, created_at);
