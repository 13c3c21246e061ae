-- The readiness probe's one row. The probe rewrites it with a random pad, so that it commits only where a
-- real write (which needs new pages) could.
CREATE TABLE readiness_probe (
    id        INTEGER PRIMARY KEY CHECK (id = 1),
    probed_at TEXT NOT NULL,
    pad       BLOB NOT NULL
);
