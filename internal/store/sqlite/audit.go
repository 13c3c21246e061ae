package sqlite

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"clavis.dev/clavis"
	"clavis.dev/clavis/internal/store"
)

// --- audit ---

const (
	auditCols = `id, org_id, action, actor_id, actor_type, resource_type, resource_id, details, ip_address,
		created_at, prev_event_id, integrity_hash`
	qAuditHead   = `SELECT event_id, hash FROM audit_heads WHERE org_id = ?`
	qInsertAudit = `INSERT INTO audit_events (` + auditCols + `, vault_id)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
	qSetAuditHead = `INSERT INTO audit_heads (org_id, event_id, hash, event_count) VALUES (?, ?, ?, 1)
		ON CONFLICT (org_id) DO UPDATE SET event_id = excluded.event_id, hash = excluded.hash,
			event_count = audit_heads.event_count + 1`
	qAuditChain = `SELECT ` + auditCols + ` FROM audit_events
		WHERE org_id = ?1 AND (?2 IS NULL OR created_at >= ?2) AND (?3 IS NULL OR created_at < ?3)
		ORDER BY seq LIMIT ?4`
	qAuditChainAfter = `SELECT ` + auditCols + ` FROM audit_events
		WHERE org_id = ?1 AND (?2 = '' OR seq > (SELECT seq FROM audit_events WHERE org_id = ?1 AND id = ?2))
		ORDER BY seq LIMIT ?3`
	qAuditChainHead = `SELECT event_id, hash, event_count FROM audit_heads WHERE org_id = ?`
)

// AuditHead reads the org's chain head. A Write transaction holds SQLite's write lock from its BEGIN
// IMMEDIATE, so the head cannot move under it.
func (t *txn) AuditHead(orgID string) (id, hash string, err error) {
	err = t.queryRow(qAuditHead, orgID).Scan(&id, &hash)
	if err != nil {
		if err = dbErr("audit head", err); clavis.IsKind(err, clavis.KindNotFound) {
			return "", "", nil
		}
		return "", "", err
	}
	return id, hash, nil
}

func (t *txn) AppendAudit(e *clavis.AuditEvent) error {
	details, err := json.Marshal(e.Details)
	if err != nil {
		return dbErr("append audit", err)
	}
	var vaultID any
	if v, ok := e.Details["vault_id"].(string); ok {
		vaultID = v
	}
	if err := t.execAny("append audit", qInsertAudit, e.ID, e.OrgID, e.Action, e.ActorID, string(e.ActorType),
		e.ResourceType, e.ResourceID, string(details), e.IPAddress, timeArg(e.CreatedAt), e.PrevEventID,
		e.IntegrityHash, vaultID); err != nil {
		return err
	}
	return t.execAny("append audit", qSetAuditHead, e.OrgID, e.ID, e.IntegrityHash)
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
		detailsCol{&e.Details}, &e.IPAddress, timeCol{&e.CreatedAt}, &e.PrevEventID, &e.IntegrityHash)
	if err != nil {
		return nil, err
	}
	return &e, nil
}

// ListAudit builds its query from the filters that are set, so that SQLite can pick the matching
// (org_id, column, seq) index. A Limit <= 0 means no limit.
func (t *txn) ListAudit(f store.AuditFilter) ([]*clavis.AuditEvent, error) {
	var q bytes.Buffer
	q.WriteString(`SELECT ` + auditCols + ` FROM audit_events WHERE org_id = ?`)
	args := []any{f.OrgID}
	for _, c := range []struct{ col, val string }{
		{"actor_id", f.ActorID}, {"resource_id", f.ResourceID}, {"action", f.Action}, {"vault_id", f.VaultID},
	} {
		if c.val != "" {
			q.WriteString(` AND ` + c.col + ` = ?`)
			args = append(args, c.val)
		}
	}
	if f.From != nil {
		q.WriteString(` AND created_at >= ?`)
		args = append(args, timeArg(*f.From))
	}
	if f.To != nil {
		q.WriteString(` AND created_at < ?`)
		args = append(args, timeArg(*f.To))
	}
	q.WriteString(` ORDER BY seq DESC LIMIT ? OFFSET ?`)
	args = append(args, limitArg(f.Limit), max(f.Offset, 0))
	return list(t, "list audit", scanAudit, q.String(), args...)
}

// AuditChain returns events oldest first. A limit <= 0 means no limit.
func (t *txn) AuditChain(orgID string, from, to *time.Time, limit int) ([]*clavis.AuditEvent, error) {
	return list(t, "audit chain", scanAudit, qAuditChain, orgID, optTimeArg(from), optTimeArg(to), limitArg(limit))
}

// AuditChainAfter returns events oldest first, after the event afterID. A limit <= 0 means no limit.
func (t *txn) AuditChainAfter(orgID, afterID string, limit int) ([]*clavis.AuditEvent, error) {
	return list(t, "audit chain", scanAudit, qAuditChainAfter, orgID, afterID, limitArg(limit))
}

func (t *txn) AuditChainHead(orgID string) (store.ChainHead, error) {
	var h store.ChainHead
	err := t.queryRow(qAuditChainHead, orgID).Scan(&h.EventID, &h.Hash, &h.Count)
	if err = dbErr("audit chain head", err); err != nil && err != store.ErrNotFound {
		return store.ChainHead{}, err
	}
	return h, nil
}

// limitArg maps "no limit" (<= 0) to SQLite's LIMIT -1.
func limitArg(n int) int {
	if n <= 0 {
		return -1
	}
	return n
}

// --- token revocation ---

const (
	// #nosec G101 -- SQL text, not a credential
	qRevokeToken = `INSERT INTO revoked_tokens (jti, expires_at) VALUES (?, ?)
		ON CONFLICT (jti) DO UPDATE SET expires_at = max(expires_at, excluded.expires_at)`
	qTokenRevoked       = `SELECT EXISTS (SELECT 1 FROM revoked_tokens WHERE jti = ?)` // #nosec G101 -- SQL text, not a credential
	qPruneRevokedTokens = `DELETE FROM revoked_tokens WHERE expires_at < ?`            // #nosec G101 -- SQL text, not a credential
	qWriteProbe         = `INSERT INTO readiness_probe (id, probed_at, pad) VALUES (1, ?, ?)
		ON CONFLICT (id) DO UPDATE SET probed_at = excluded.probed_at, pad = excluded.pad`
)

// RevokeToken records the revocation; revoking again keeps the later expiry.
func (t *txn) RevokeToken(jti string, expiresAt time.Time) error {
	return t.execAny("revoke token", qRevokeToken, jti, timeArg(expiresAt))
}

func (t *txn) TokenRevoked(jti string) (bool, error) {
	var ok bool
	if err := t.queryRow(qTokenRevoked, jti).Scan(&ok); err != nil {
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
