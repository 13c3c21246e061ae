package postgres

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"clavis.dev/clavis"
	"clavis.dev/clavis/internal/store"
)

// --- audit ---

const (
	auditCols = `id, org_id, action, actor_id, actor_type, resource_type, resource_id, details, ip_address,
		created_at, prev_event_id, integrity_hash`
	qAuditHead = `SELECT event_id, hash FROM audit_heads WHERE org_id = $1`
	// In a Write: make sure the org has a head row (('', '') = no events yet), then lock it until commit.
	qEnsureAuditHead = `INSERT INTO audit_heads (org_id, event_id, hash) VALUES ($1, '', '')
		ON CONFLICT (org_id) DO NOTHING`
	qLockAuditHead = qAuditHead + ` FOR UPDATE`
	// Insert the event and, only if it was inserted (a duplicate id inserts nothing), make it the head.
	qAppendAudit = `WITH e AS (
			INSERT INTO audit_events (` + auditCols + `, vault_id)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
			ON CONFLICT DO NOTHING
			RETURNING org_id, id, integrity_hash
		)
		INSERT INTO audit_heads (org_id, event_id, hash, event_count) SELECT org_id, id, integrity_hash, 1 FROM e
		ON CONFLICT (org_id) DO UPDATE SET event_id = excluded.event_id, hash = excluded.hash,
			event_count = audit_heads.event_count + 1`
	// A batch run together inserts its events plainly (a duplicate id is an error that fails the batch)
	// and moves each org's head, which it holds locked, once per round trip (takeAudits).
	qInsertAudit = `INSERT INTO audit_events (` + auditCols + `, vault_id)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`
	qMoveAuditHead = `UPDATE audit_heads SET event_id = $2, hash = $3, event_count = event_count + $4
		WHERE org_id = $1`
	// The move of a guessed head (knownHeads): when the row no longer holds the guess ($5), nothing is
	// updated and the division by zero fails the transaction.
	qMoveGuessedHead = `WITH moved AS (` + qMoveAuditHead + ` AND event_id = $5 RETURNING 1)
		SELECT 1 / count(*) FROM moved`
	qAuditChain = `SELECT ` + auditCols + ` FROM audit_events
		WHERE org_id = $1 AND ($2::timestamptz IS NULL OR created_at >= $2) AND ($3::timestamptz IS NULL OR created_at < $3)
		ORDER BY seq LIMIT $4`
	qAuditChainAfter = `SELECT ` + auditCols + ` FROM audit_events
		WHERE org_id = $1 AND ($2 = '' OR seq > (SELECT seq FROM audit_events WHERE org_id = $1 AND id = $2))
		ORDER BY seq LIMIT $3`
	qAuditChainHead = `SELECT event_id, hash, event_count FROM audit_heads WHERE org_id = $1`
)

// AuditHead reads the org's chain head. In a Write transaction it first creates the org's head row if
// there is none and then locks it (SELECT … FOR UPDATE), both in one round trip; a concurrent appender
// of the same org, in any process, waits here until this transaction ends and then reads the head it
// committed.
func (t *txn) AuditHead(orgID string) (id, hash string, err error) {
	if h, ok := t.heads[orgID]; ok {
		return h.id, h.hash, nil
	}
	if t.known != nil {
		if h, ok := t.known.get(orgID); ok {
			if t.guessed == nil {
				t.guessed = map[string]string{}
			}
			t.guessed[orgID] = h.id
			t.setHead(orgID, h)
			return h.id, h.hash, nil
		}
	}
	if t.write {
		err = t.ensure("audit head", qEnsureAuditHead, []any{orgID}, qLockAuditHead, []any{orgID}, &id, &hash)
	} else {
		err = dbErr("audit head", t.tx.QueryRow(t.ctx, qAuditHead, orgID).Scan(&id, &hash))
		if clavis.IsKind(err, clavis.KindNotFound) {
			return "", "", nil
		}
	}
	if err != nil {
		return "", "", err
	}
	if t.write {
		t.setHead(orgID, auditHead{id, hash})
	}
	return id, hash, nil
}

// setHead remembers the org's head in a write transaction that holds its row lock.
func (t *txn) setHead(orgID string, h auditHead) {
	if t.heads == nil {
		t.heads = map[string]auditHead{}
	}
	t.heads[orgID] = h
}

// AppendAudit inserts the event and moves the head in one statement; a duplicate id is ErrConflict and
// changes nothing. A transaction that defers its audit inserts queues the insert of an event whose head
// it holds locked, and moves the head once per round trip; a duplicate id then fails the round trip.
func (t *txn) AppendAudit(e *clavis.AuditEvent) error {
	details, err := json.Marshal(e.Details)
	if err != nil {
		return dbErr("append audit", err)
	}
	var vaultID any
	if v, ok := e.Details["vault_id"].(string); ok {
		vaultID = v
	}
	args := []any{e.ID, e.OrgID, e.Action, e.ActorID, string(e.ActorType),
		e.ResourceType, e.ResourceID, string(details), e.IPAddress, timeArg(e.CreatedAt), e.PrevEventID,
		e.IntegrityHash, vaultID}
	_, locked := t.heads[e.OrgID]
	switch {
	case t.audits != nil && locked:
		t.audits.Queue(qInsertAudit, args...)
		if t.moved == nil {
			t.moved = map[string]int{}
		}
		t.moved[e.OrgID]++
	default: // (after the deferred inserts, to keep the chain's order)
		if err = t.flushAudit(); err == nil {
			err = t.insert("append audit", qAppendAudit, args...)
		}
	}
	if err == nil && locked {
		t.setHead(e.OrgID, auditHead{e.ID, e.IntegrityHash})
	}
	return err
}

// takeAudits returns the audit inserts the transaction deferred, followed by the moves of the heads
// they advanced (whose rows the transaction holds locked), and starts a new queue.
func (t *txn) takeAudits() *pgx.Batch {
	b := t.audits
	for org, n := range t.moved {
		h := t.heads[org]
		if guess, ok := t.guessed[org]; ok {
			b.Queue(qMoveGuessedHead, org, h.id, h.hash, n, guess)
			t.guessed[org] = h.id // what the row holds from this move on, in this transaction
			continue
		}
		b.Queue(qMoveAuditHead, org, h.id, h.hash, n)
	}
	t.audits, t.moved = &pgx.Batch{}, nil
	return b
}

// flushAudit sends the audit inserts the transaction deferred (and any statement queued after them), all
// in one round trip. A duplicate id is ErrConflict (the batch is then run again with savepoints, where
// the unit that made it sees it).
func (t *txn) flushAudit() error {
	if t.audits == nil || t.audits.Len() == 0 {
		return nil
	}
	return dbErr("append audit", t.tx.SendBatch(t.ctx, t.takeAudits()).Close())
}

// detailsCol scans the JSON details of an event. Numbers decode as json.Number, so that an event
// re-encodes to the bytes it was stored with. (The integrity hash does not cover details; spec §5.3.)
type detailsCol struct{ p *map[string]any }

func (c detailsCol) Scan(src any) error {
	s, ok := textOf(src)
	if !ok {
		return fmt.Errorf("details column: unexpected %T", src)
	}
	d := json.NewDecoder(strings.NewReader(s))
	d.UseNumber()
	var m map[string]any
	if err := d.Decode(&m); err != nil {
		return err
	}
	*c.p = m
	return nil
}

func scanAudit(sc scanner) (*clavis.AuditEvent, error) {
	var e clavis.AuditEvent
	err := sc.Scan(&e.ID, &e.OrgID, &e.Action, &e.ActorID, &e.ActorType, &e.ResourceType, &e.ResourceID,
		detailsCol{&e.Details}, &e.IPAddress, &e.CreatedAt, &e.PrevEventID, &e.IntegrityHash)
	if err != nil {
		return nil, err
	}
	return &e, nil
}

// ListAudit builds its query from the filters that are set, so that PostgreSQL can pick the matching
// (org_id, column, seq) index. A Limit <= 0 means no limit. From and To compare TIMESTAMPTZ values at
// microsecond precision, which orders like the clavis.TimeFormat strings of the API.
func (t *txn) ListAudit(f store.AuditFilter) ([]*clavis.AuditEvent, error) {
	if err := t.flushAudit(); err != nil {
		return nil, err
	}
	var q strings.Builder
	args := []any{f.OrgID}
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	q.WriteString(`SELECT ` + auditCols + ` FROM audit_events WHERE org_id = $1`)
	for _, c := range []struct{ col, val string }{
		{"actor_id", f.ActorID}, {"resource_id", f.ResourceID}, {"action", f.Action}, {"vault_id", f.VaultID},
	} {
		if c.val != "" {
			q.WriteString(` AND ` + c.col + ` = ` + arg(c.val))
		}
	}
	if f.From != nil {
		q.WriteString(` AND created_at >= ` + arg(timeArg(*f.From)))
	}
	if f.To != nil {
		q.WriteString(` AND created_at < ` + arg(timeArg(*f.To)))
	}
	q.WriteString(` ORDER BY seq DESC LIMIT ` + arg(limitArg(f.Limit)))
	q.WriteString(` OFFSET ` + arg(max(f.Offset, 0)))
	return list(t, "list audit", scanAudit, q.String(), args...)
}

// AuditChain returns events oldest first. A limit <= 0 means no limit.
func (t *txn) AuditChain(orgID string, from, to *time.Time, limit int) ([]*clavis.AuditEvent, error) {
	if err := t.flushAudit(); err != nil {
		return nil, err
	}
	return list(t, "audit chain", scanAudit, qAuditChain, orgID, optTimeArg(from), optTimeArg(to), limitArg(limit))
}

// AuditChainAfter returns events oldest first, after the event afterID. A limit <= 0 means no limit.
func (t *txn) AuditChainAfter(orgID, afterID string, limit int) ([]*clavis.AuditEvent, error) {
	if err := t.flushAudit(); err != nil {
		return nil, err
	}
	return list(t, "audit chain", scanAudit, qAuditChainAfter, orgID, afterID, limitArg(limit))
}

// AuditChainHead reads the head without locking it. A head row that AuditHead created in this Write
// transaction, before the org's first append, reads as the zero ChainHead.
func (t *txn) AuditChainHead(orgID string) (store.ChainHead, error) {
	if err := t.flushAudit(); err != nil {
		return store.ChainHead{}, err
	}
	var h store.ChainHead
	err := dbErr("audit chain head", t.tx.QueryRow(t.ctx, qAuditChainHead, orgID).Scan(&h.EventID, &h.Hash, &h.Count))
	if err != nil && err != store.ErrNotFound {
		return store.ChainHead{}, err
	}
	return h, nil
}

// limitArg maps "no limit" (<= 0) to NULL: LIMIT NULL is no limit.
func limitArg(n int) any {
	if n <= 0 {
		return nil
	}
	return n
}

// --- token revocation ---

const (
	// #nosec G101 -- SQL text, not a credential
	qRevokeToken = `INSERT INTO revoked_tokens (jti, expires_at) VALUES ($1, $2)
		ON CONFLICT (jti) DO UPDATE SET expires_at = greatest(revoked_tokens.expires_at, excluded.expires_at)`
	qTokenRevoked       = `SELECT EXISTS (SELECT 1 FROM revoked_tokens WHERE jti = $1)` // #nosec G101 -- SQL text, not a credential
	qPruneRevokedTokens = `DELETE FROM revoked_tokens WHERE expires_at < $1`            // #nosec G101 -- SQL text, not a credential
	qWriteProbe         = `INSERT INTO readiness_probe (id, probed_at, pad) VALUES (1, $1, $2)
		ON CONFLICT (id) DO UPDATE SET probed_at = excluded.probed_at, pad = excluded.pad`
)

// RevokeToken records the revocation; revoking again keeps the later expiry.
func (t *txn) RevokeToken(jti string, expiresAt time.Time) error {
	return t.execAny("revoke token", qRevokeToken, jti, timeArg(expiresAt))
}

func (t *txn) TokenRevoked(jti string) (bool, error) {
	var ok bool
	if err := t.tx.QueryRow(t.ctx, qTokenRevoked, jti).Scan(&ok); err != nil {
		return false, dbErr("token revoked", err)
	}
	return ok, nil
}

func (t *txn) PruneRevokedTokens(now time.Time) error {
	return t.execAny("prune revoked tokens", qPruneRevokedTokens, timeArg(now))
}

// WriteProbe rewrites the readiness probe row.
func (t *txn) WriteProbe(at time.Time, pad []byte) error {
	return t.execAny("write probe", qWriteProbe, timeArg(at), pad)
}
