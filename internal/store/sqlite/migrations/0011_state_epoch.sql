-- The state epoch counts committed changes to what the engine caches in memory (DESIGN §3, Caching):
-- principals and their credentials, token revocations, vaults, policies and IP rules. Triggers bump it
-- in the transaction that makes the change, so that a process that reads it after the commit, or finds
-- it changed at the end of its own write transaction, knows its cache is stale. Columns that change on
-- every use (last_used_at, last_active_at, failed_logins, ...) do not bump it. Deleting expired token
-- revocations does not either: the tokens they name no longer verify. Idempotent: a test reruns it.
CREATE TABLE IF NOT EXISTS state_epoch (
    id    INTEGER PRIMARY KEY CHECK (id = 1),
    epoch INTEGER NOT NULL
);
INSERT INTO state_epoch (id, epoch) VALUES (1, 0) ON CONFLICT (id) DO NOTHING;

CREATE TRIGGER IF NOT EXISTS users_state_insert AFTER INSERT ON users
    BEGIN UPDATE state_epoch SET epoch = epoch + 1; END;

CREATE TRIGGER IF NOT EXISTS users_state_update AFTER UPDATE ON users
    WHEN OLD.org_id IS NOT NEW.org_id OR OLD.role IS NOT NEW.role OR OLD.disabled IS NOT NEW.disabled OR OLD.token_gen IS NOT NEW.token_gen
    BEGIN UPDATE state_epoch SET epoch = epoch + 1; END;

CREATE TRIGGER IF NOT EXISTS users_state_delete AFTER DELETE ON users
    BEGIN UPDATE state_epoch SET epoch = epoch + 1; END;

CREATE TRIGGER IF NOT EXISTS api_keys_state_insert AFTER INSERT ON api_keys
    BEGIN UPDATE state_epoch SET epoch = epoch + 1; END;

CREATE TRIGGER IF NOT EXISTS api_keys_state_update AFTER UPDATE ON api_keys
    WHEN OLD.user_id IS NOT NEW.user_id OR OLD.org_id IS NOT NEW.org_id OR OLD.hash IS NOT NEW.hash OR OLD.scopes IS NOT NEW.scopes OR OLD.active IS NOT NEW.active OR OLD.expires_at IS NOT NEW.expires_at
    BEGIN UPDATE state_epoch SET epoch = epoch + 1; END;

CREATE TRIGGER IF NOT EXISTS api_keys_state_delete AFTER DELETE ON api_keys
    BEGIN UPDATE state_epoch SET epoch = epoch + 1; END;

CREATE TRIGGER IF NOT EXISTS agents_state_insert AFTER INSERT ON agents
    BEGIN UPDATE state_epoch SET epoch = epoch + 1; END;

CREATE TRIGGER IF NOT EXISTS agents_state_update AFTER UPDATE ON agents
    WHEN OLD.org_id IS NOT NEW.org_id OR OLD.scopes IS NOT NEW.scopes OR OLD.vault_ids IS NOT NEW.vault_ids OR OLD.active IS NOT NEW.active OR OLD.expires_at IS NOT NEW.expires_at OR OLD.key_hash IS NOT NEW.key_hash OR OLD.token_gen IS NOT NEW.token_gen OR OLD.created_by IS NOT NEW.created_by
    BEGIN UPDATE state_epoch SET epoch = epoch + 1; END;

CREATE TRIGGER IF NOT EXISTS agents_state_delete AFTER DELETE ON agents
    BEGIN UPDATE state_epoch SET epoch = epoch + 1; END;

CREATE TRIGGER IF NOT EXISTS vaults_state_insert AFTER INSERT ON vaults
    BEGIN UPDATE state_epoch SET epoch = epoch + 1; END;

CREATE TRIGGER IF NOT EXISTS vaults_state_update AFTER UPDATE ON vaults
    BEGIN UPDATE state_epoch SET epoch = epoch + 1; END;

CREATE TRIGGER IF NOT EXISTS vaults_state_delete AFTER DELETE ON vaults
    BEGIN UPDATE state_epoch SET epoch = epoch + 1; END;

CREATE TRIGGER IF NOT EXISTS policies_state_insert AFTER INSERT ON policies
    BEGIN UPDATE state_epoch SET epoch = epoch + 1; END;

CREATE TRIGGER IF NOT EXISTS policies_state_update AFTER UPDATE ON policies
    BEGIN UPDATE state_epoch SET epoch = epoch + 1; END;

CREATE TRIGGER IF NOT EXISTS policies_state_delete AFTER DELETE ON policies
    BEGIN UPDATE state_epoch SET epoch = epoch + 1; END;

CREATE TRIGGER IF NOT EXISTS ip_rules_state_insert AFTER INSERT ON ip_rules
    BEGIN UPDATE state_epoch SET epoch = epoch + 1; END;

CREATE TRIGGER IF NOT EXISTS ip_rules_state_update AFTER UPDATE ON ip_rules
    BEGIN UPDATE state_epoch SET epoch = epoch + 1; END;

CREATE TRIGGER IF NOT EXISTS ip_rules_state_delete AFTER DELETE ON ip_rules
    BEGIN UPDATE state_epoch SET epoch = epoch + 1; END;

CREATE TRIGGER IF NOT EXISTS revoked_tokens_state_insert AFTER INSERT ON revoked_tokens
    BEGIN UPDATE state_epoch SET epoch = epoch + 1; END;

CREATE TRIGGER IF NOT EXISTS revoked_tokens_state_update AFTER UPDATE ON revoked_tokens
    BEGIN UPDATE state_epoch SET epoch = epoch + 1; END;
