-- The state epoch counts committed changes to what the engine caches in memory (DESIGN §3, Caching):
-- principals and their credentials, token revocations, vaults, policies and IP rules. Triggers bump it
-- in the transaction that makes the change, so that a process that reads it after the commit, or finds
-- it changed at the end of its own write transaction, knows its cache is stale. Columns that change on
-- every use (last_used_at, last_active_at, failed_logins, ...) do not bump it. Deleting expired token
-- revocations does not either: the tokens they name no longer verify. Idempotent: a test reruns it.
-- The function also notifies channel clavis_state; PostgreSQL delivers the notification to listening
-- replicas when the transaction commits.
CREATE TABLE IF NOT EXISTS state_epoch (
    id    INTEGER PRIMARY KEY CHECK (id = 1),
    epoch BIGINT NOT NULL
);
INSERT INTO state_epoch (id, epoch) VALUES (1, 0) ON CONFLICT (id) DO NOTHING;

CREATE OR REPLACE FUNCTION clavis_state_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE state_epoch SET epoch = epoch + 1 WHERE id = 1;
    PERFORM pg_notify('clavis_state', '');
    RETURN NULL;
END
$$;

CREATE OR REPLACE TRIGGER users_state AFTER INSERT OR DELETE ON users
    FOR EACH STATEMENT EXECUTE FUNCTION clavis_state_changed();

CREATE OR REPLACE TRIGGER users_state_update AFTER UPDATE ON users FOR EACH ROW
    WHEN (OLD.org_id IS DISTINCT FROM NEW.org_id OR OLD.role IS DISTINCT FROM NEW.role OR OLD.disabled IS DISTINCT FROM NEW.disabled OR OLD.token_gen IS DISTINCT FROM NEW.token_gen)
    EXECUTE FUNCTION clavis_state_changed();

CREATE OR REPLACE TRIGGER api_keys_state AFTER INSERT OR DELETE ON api_keys
    FOR EACH STATEMENT EXECUTE FUNCTION clavis_state_changed();

CREATE OR REPLACE TRIGGER api_keys_state_update AFTER UPDATE ON api_keys FOR EACH ROW
    WHEN (OLD.user_id IS DISTINCT FROM NEW.user_id OR OLD.org_id IS DISTINCT FROM NEW.org_id OR OLD.hash IS DISTINCT FROM NEW.hash OR OLD.scopes IS DISTINCT FROM NEW.scopes OR OLD.active IS DISTINCT FROM NEW.active OR OLD.expires_at IS DISTINCT FROM NEW.expires_at)
    EXECUTE FUNCTION clavis_state_changed();

CREATE OR REPLACE TRIGGER agents_state AFTER INSERT OR DELETE ON agents
    FOR EACH STATEMENT EXECUTE FUNCTION clavis_state_changed();

CREATE OR REPLACE TRIGGER agents_state_update AFTER UPDATE ON agents FOR EACH ROW
    WHEN (OLD.org_id IS DISTINCT FROM NEW.org_id OR OLD.scopes IS DISTINCT FROM NEW.scopes OR OLD.vault_ids IS DISTINCT FROM NEW.vault_ids OR OLD.active IS DISTINCT FROM NEW.active OR OLD.expires_at IS DISTINCT FROM NEW.expires_at OR OLD.key_hash IS DISTINCT FROM NEW.key_hash OR OLD.token_gen IS DISTINCT FROM NEW.token_gen OR OLD.created_by IS DISTINCT FROM NEW.created_by)
    EXECUTE FUNCTION clavis_state_changed();

CREATE OR REPLACE TRIGGER vaults_state AFTER INSERT OR UPDATE OR DELETE ON vaults
    FOR EACH STATEMENT EXECUTE FUNCTION clavis_state_changed();

CREATE OR REPLACE TRIGGER policies_state AFTER INSERT OR UPDATE OR DELETE ON policies
    FOR EACH STATEMENT EXECUTE FUNCTION clavis_state_changed();

CREATE OR REPLACE TRIGGER ip_rules_state AFTER INSERT OR UPDATE OR DELETE ON ip_rules
    FOR EACH STATEMENT EXECUTE FUNCTION clavis_state_changed();

CREATE OR REPLACE TRIGGER revoked_tokens_state AFTER INSERT OR UPDATE ON revoked_tokens
    FOR EACH STATEMENT EXECUTE FUNCTION clavis_state_changed();
