package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"clavis.dev/clavis"
	"clavis.dev/clavis/internal/store"
)

var (
	_ store.StateWatcher  = (*Store)(nil)
	_ store.EpochAtCommit = (*txn)(nil)
)

const (
	qStateEpoch = `SELECT epoch FROM state_epoch WHERE id = 1`
	// #nosec G101 -- SQL text, not a credential
	qGetSecretVersion = `SELECT s.id, s.vault_id, s.path, s.deleted, s.latest_version, s.created_at,
			v.secret_id, v.version, v.type, v.metadata, v.expires_at, v.max_access_count, v.access_count,
			v.disabled, v.created_by, v.created_at, v.ciphertext, v.wrapped_dek
		FROM secrets s JOIN versions v
			ON v.secret_id = s.id AND v.version = CASE WHEN $3 > 0 THEN $3 ELSE s.latest_version END
		WHERE s.vault_id = $1 AND s.path = $2`
	// stateChannel is the channel the state epoch's trigger function notifies (migration 0011).
	stateChannel = "clavis_state"
)

func (t *txn) StateEpoch() (int64, error) {
	var n int64
	if t.audits != nil && t.audits.Len() > 0 { // the deferred audit inserts travel with this read
		t.audits.Queue(qStateEpoch).QueryRow(func(row pgx.Row) error { return row.Scan(&n) })
		return n, t.flushAudit()
	}
	err := t.tx.QueryRow(t.ctx, qStateEpoch).Scan(&n)
	return n, dbErr("state epoch", err)
}

// StateEpochAtCommit implements store.EpochAtCommit: in a batch run together the epoch is read in the
// round trip of the commit, as the last statement before it; elsewhere fn is called at once.
func (t *txn) StateEpochAtCommit(fn func(epoch int64, err error)) {
	if t.audits == nil {
		fn(t.StateEpoch())
		return
	}
	t.atCommit = fn
}

// GetSecretVersion finds both in one query; only when that finds nothing does a second one tell a
// missing secret from a missing version.
func (t *txn) GetSecretVersion(vaultID, path string, version int) (*clavis.Secret, *store.Version, error) {
	var s clavis.Secret
	var v store.Version
	err := t.tx.QueryRow(t.ctx, qGetSecretVersion, vaultID, path, version).Scan(
		&s.ID, &s.VaultID, &s.Path, &s.Deleted, &s.LatestVersion, &s.CreatedAt,
		&v.SecretID, &v.Version.Version, &v.Type, rawCol{&v.Metadata}, &v.ExpiresAt,
		&v.MaxAccessCount, &v.AccessCount, &v.Disabled, &v.CreatedBy, &v.CreatedAt,
		&v.Ciphertext, &v.WrappedDEK)
	if err = dbErr("get secret version", err); clavis.IsKind(err, clavis.KindNotFound) {
		sec, err := t.GetSecret(vaultID, path)
		return sec, nil, err
	}
	if err != nil {
		return nil, nil, err
	}
	return &s, &v, nil
}

// WatchState listens on the state channel over a connection of its own (not one of the pool's), so
// that a watch never takes a connection from requests.
func (s *Store) WatchState(ctx context.Context, changed func()) error {
	conn, err := pgx.ConnectConfig(ctx, s.pool.Config().ConnConfig.Copy())
	if err != nil {
		return fmt.Errorf("postgres: watch state: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, "LISTEN "+stateChannel); err != nil {
		return fmt.Errorf("postgres: watch state: %w", err)
	}
	for {
		if _, err := conn.WaitForNotification(ctx); err != nil {
			return fmt.Errorf("postgres: watch state: %w", err)
		}
		changed()
	}
}
