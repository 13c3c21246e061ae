package sqlite

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"clavis.dev/clavis"
	"clavis.dev/clavis/internal/store"
)

// --- audit ---
//
// audit_events is stored compactly (migration 0012 says how): the repeated strings of an event are
// interned in audit_names, ids and hashes are bytes when they have the usual form, created_at is
// microseconds, prev is the previous event's seq, and details lack vault_id, which has its own column.
// Every event reads back exactly as it was appended.
//
// A write transaction carries each org's chain head in memory (auditState): AuditHead reads
// audit_heads once per org and transaction, AppendAudit inserts one row, and audit_heads is written
// once per org just before COMMIT (or before a read of it in the same transaction).

// auditSelect reads events in the order of the columns scanAudit scans. An event whose prev names a
// seq no longer in the table (the database was edited) reads as prev_event_id "missing event <seq>".
const auditSelect = `SELECT e.id,
		(SELECT name FROM audit_names WHERE id = e.org_ref),
		(SELECT name FROM audit_names WHERE id = e.action_ref),
		(SELECT name FROM audit_names WHERE id = e.actor_ref),
		(SELECT name FROM audit_names WHERE id = e.actor_type_ref),
		(SELECT name FROM audit_names WHERE id = e.resource_type_ref),
		(SELECT name FROM audit_names WHERE id = e.resource_ref),
		e.details,
		(SELECT name FROM audit_names WHERE id = e.vault_ref),
		(SELECT name FROM audit_names WHERE id = e.ip_ref),
		e.created_at,
		CASE typeof(e.prev) WHEN 'integer' THEN coalesce((SELECT p.id FROM audit_events p WHERE p.seq = e.prev), 'missing event ' || e.prev)
			ELSE coalesce(e.prev, '') END,
		e.hash
	FROM audit_events e`

// refOf is the reference of an interned string given as a parameter (NULL if it was never interned).
const refOf = `(SELECT id FROM audit_names WHERE name = ?)`

const (
	qNameRef     = `SELECT id FROM audit_names WHERE name = ?`
	qInsertName  = `INSERT INTO audit_names (name) VALUES (?)`
	qAuditSeq    = `SELECT seq FROM audit_events WHERE id = ?`
	qInsertAudit = `INSERT INTO audit_events (id, org_ref, action_ref, actor_ref, actor_type_ref, resource_type_ref,
		resource_ref, vault_ref, details, ip_ref, created_at, prev, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
	qSetAuditHead = `INSERT INTO audit_heads (org_id, event_id, hash, event_count) VALUES (?, ?, ?, ?)
		ON CONFLICT (org_id) DO UPDATE SET event_id = excluded.event_id, hash = excluded.hash,
			event_count = excluded.event_count`
	qAuditChain = auditSelect + `
		WHERE e.org_ref = (SELECT id FROM audit_names WHERE name = ?1) AND (?2 IS NULL OR e.created_at >= ?2) AND (?3 IS NULL OR e.created_at < ?3)
		ORDER BY e.seq LIMIT ?4`
	// qAuditChainAfter is a range of the org's index: with an OR for "from the start" it would scan the
	// org's events from its first.
	qAuditChainAfter = auditSelect + `
		WHERE e.org_ref = (SELECT id FROM audit_names WHERE name = ?1)
			AND e.seq > (SELECT a.seq FROM audit_events a WHERE a.id = ?2
				AND a.org_ref = (SELECT id FROM audit_names WHERE name = ?1))
		ORDER BY e.seq LIMIT ?3`
	qAuditChainHead = `SELECT event_id, hash, event_count FROM audit_heads WHERE org_id = ?`
)

// chainHead is an org's chain head inside a write transaction.
type chainHead struct {
	id, hash string
	count    int64
	seq      int64 // seq of the head's event; 0 when there is none or it is not in the table
	dirty    bool  // moved by this transaction and not yet written to audit_heads
}

// auditState is the audit bookkeeping of one write transaction. mark and rollbackTo keep it in step
// with the transaction's savepoints.
type auditState struct {
	heads map[string]chainHead // by org, loaded on first use
	names map[nameKey]int64    // names this transaction inserted into audit_names
	added []nameKey            // the keys of names, oldest first
}

type auditMark struct {
	heads map[string]chainHead
	added int
}

// mark returns the state to restore if the transaction rolls back to a savepoint taken now.
func (a *auditState) mark() auditMark {
	return auditMark{heads: maps.Clone(a.heads), added: len(a.added)}
}

// rollbackTo restores the state of m after the database rolled back to the savepoint taken with m:
// the heads, including which need writing, and the names inserted since are forgotten.
func (a *auditState) rollbackTo(m auditMark) {
	a.heads = m.heads
	for _, k := range a.added[m.added:] {
		delete(a.names, k)
	}
	a.added = a.added[:m.added]
}

// audit returns the transaction's audit state; nil in a read transaction.
func (t *txn) audit() *auditState {
	if t.s == nil {
		return nil
	}
	if t.a == nil {
		t.a = &auditState{heads: map[string]chainHead{}, names: map[nameKey]int64{}}
	}
	return t.a
}

// head returns the org's head in a write transaction.
func (t *txn) head(a *auditState, orgID string) (chainHead, error) {
	if h, ok := a.heads[orgID]; ok {
		return h, nil
	}
	var h chainHead
	err := t.queryRow(qAuditChainHead, orgID).Scan(&h.id, &h.hash, &h.count)
	if err = dbErr("audit head", err); err != nil && err != store.ErrNotFound {
		return chainHead{}, err
	}
	if h.id != "" {
		err := t.queryRow(qAuditSeq, idArg(h.id)).Scan(&h.seq)
		if err = dbErr("audit head", err); err != nil && err != store.ErrNotFound {
			return chainHead{}, err
		}
	}
	a.heads[orgID] = h
	return h, nil
}

// writeHeads writes the heads this transaction moved to audit_heads.
func (t *txn) writeHeads() error {
	if t.a == nil {
		return nil
	}
	for org, h := range t.a.heads {
		if !h.dirty {
			continue
		}
		if err := t.execAny("audit head", qSetAuditHead, org, h.id, h.hash, h.count); err != nil {
			return err
		}
		h.dirty = false
		t.a.heads[org] = h
	}
	return nil
}

// beforeCommit finishes the transaction's audit writes; it runs just before COMMIT.
func (t *txn) beforeCommit() error { return t.writeHeads() }

// afterCommit makes the names the committed transaction inserted known to later transactions.
func (t *txn) afterCommit() {
	if t.a != nil && len(t.a.names) > 0 {
		t.s.names.add(t.a.names)
	}
}

// AuditHead reads the org's chain head. A Write transaction holds SQLite's write lock from its BEGIN
// IMMEDIATE, so the head cannot move under it.
func (t *txn) AuditHead(orgID string) (id, hash string, err error) {
	if a := t.audit(); a != nil {
		h, err := t.head(a, orgID)
		return h.id, h.hash, err
	}
	h, err := t.AuditChainHead(orgID)
	return h.EventID, h.Hash, err
}

func (t *txn) AppendAudit(e *clavis.AuditEvent) error {
	a := t.audit()
	if a == nil {
		return fmt.Errorf("sqlite: append audit: not in a write transaction")
	}
	h, err := t.head(a, e.OrgID)
	if err != nil {
		return err
	}
	details := e.Details
	var vault any
	if v, ok := details["vault_id"].(string); ok {
		ref, err := t.nameRef(a, v)
		if err != nil {
			return err
		}
		vault = ref
		if utf8.ValidString(v) { // else JSON would not hold v exactly: keep the key
			details = maps.Clone(details)
			delete(details, "vault_id")
		}
	}
	dj, err := json.Marshal(details)
	if err != nil {
		return dbErr("append audit", err)
	}
	var refs [7]int64
	for i, s := range [...]string{e.OrgID, e.Action, e.ActorID, string(e.ActorType), e.ResourceType, e.ResourceID, e.IPAddress} {
		if refs[i], err = t.nameRef(a, s); err != nil {
			return err
		}
	}
	var prev any // NULL: ""
	switch {
	case e.PrevEventID == "":
	case e.PrevEventID == h.id && h.seq != 0:
		prev = h.seq
	default:
		prev = idArg(e.PrevEventID)
	}
	res, err := t.exec(qInsertAudit, idArg(e.ID), refs[0], refs[1], refs[2], refs[3], refs[4], refs[5], vault,
		string(dj), refs[6], e.CreatedAt.UnixMicro(), prev, hashArg(e.IntegrityHash))
	if err != nil {
		return dbErr("append audit", err)
	}
	seq, err := res.LastInsertId()
	if err != nil {
		return dbErr("append audit", err)
	}
	a.heads[e.OrgID] = chainHead{id: e.ID, hash: e.IntegrityHash, count: h.count + 1, seq: seq, dirty: true}
	return nil
}

// nameRef returns the audit_names id of s, inserting s if it is new.
func (t *txn) nameRef(a *auditState, s string) (int64, error) {
	k := keyOf(s)
	if id, ok := a.names[k]; ok {
		return id, nil
	}
	if id, ok := t.s.names.get(k); ok {
		return id, nil
	}
	var id int64
	err := t.queryRow(qNameRef, k.arg()).Scan(&id)
	switch err = dbErr("audit name", err); err {
	case nil: // committed before this transaction began (by this process or another)
		t.s.names.add(map[nameKey]int64{k: id})
		return id, nil
	case store.ErrNotFound:
	default:
		return 0, err
	}
	res, err := t.exec(qInsertName, k.arg())
	if err != nil {
		return 0, dbErr("audit name", err)
	}
	if id, err = res.LastInsertId(); err != nil {
		return 0, dbErr("audit name", err)
	}
	a.names[k] = id
	a.added = append(a.added, k)
	return id, nil
}

// nameKey is an interned string as audit_names stores it: the 16 bytes of a canonical UUID, or text.
type nameKey struct {
	uuid [16]byte
	text string
	isID bool
}

func keyOf(s string) nameKey {
	if u, ok := parseUUID(s); ok {
		return nameKey{uuid: u, isID: true}
	}
	return nameKey{text: s}
}

func (k nameKey) arg() any {
	if k.isID {
		return k.uuid[:]
	}
	return k.text
}

// nameCache maps names committed to audit_names to their ids. Rows of audit_names never change, so an
// entry stays true; the cache forgets everything when it reaches maxCachedNames.
type nameCache struct {
	mu sync.Mutex
	m  map[nameKey]int64
}

const maxCachedNames = 1 << 17

func (c *nameCache) get(k nameKey) (int64, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	id, ok := c.m[k]
	return id, ok
}

func (c *nameCache) add(names map[nameKey]int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m)+len(names) > maxCachedNames {
		c.m = make(map[nameKey]int64, len(names))
	}
	maps.Copy(c.m, names)
}

// parseUUID returns the bytes of s if s is a UUID in canonical lowercase form (what uuid.String gives).
func parseUUID(s string) (u [16]byte, ok bool) {
	if len(s) != 36 || s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-' {
		return u, false
	}
	j := 0
	for i := 0; i < 36; i += 2 {
		if i == 8 || i == 13 || i == 18 || i == 23 {
			i++
		}
		hi, ok1 := lowerHex(s[i])
		lo, ok2 := lowerHex(s[i+1])
		if !ok1 || !ok2 {
			return u, false
		}
		u[j] = hi<<4 | lo
		j++
	}
	return u, true
}

func lowerHex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	}
	return 0, false
}

// idArg encodes an event id or a name: the 16 bytes of a canonical UUID, else the text.
func idArg(s string) any { return keyOf(s).arg() }

// hashArg encodes an integrity hash: the 32 bytes of 64 lowercase hex digits, else the text.
func hashArg(s string) any {
	if len(s) == 64 {
		b, err := hex.DecodeString(s)
		if err == nil && hex.EncodeToString(b) == s {
			return b
		}
	}
	return s
}

// idCol scans an id or a name stored by idArg (or the text 'missing event …').
type idCol struct{ p *string }

func (c idCol) Scan(src any) error {
	switch v := src.(type) {
	case string:
		*c.p = v
	case []byte:
		if len(v) != 16 {
			return fmt.Errorf("id column: %d bytes", len(v))
		}
		var b [36]byte
		hex.Encode(b[0:8], v[0:4])
		hex.Encode(b[9:13], v[4:6])
		hex.Encode(b[14:18], v[6:8])
		hex.Encode(b[19:23], v[8:10])
		hex.Encode(b[24:], v[10:])
		b[8], b[13], b[18], b[23] = '-', '-', '-', '-'
		*c.p = string(b[:])
	default:
		return fmt.Errorf("id column: unexpected %T", src)
	}
	return nil
}

// optIDCol scans a nullable idCol; NULL is "" and sets *ok false.
type optIDCol struct {
	p  *string
	ok *bool
}

func (c optIDCol) Scan(src any) error {
	*c.ok = src != nil
	if src == nil {
		*c.p = ""
		return nil
	}
	return idCol{c.p}.Scan(src)
}

// hashCol scans an integrity hash stored by hashArg.
type hashCol struct{ p *string }

func (c hashCol) Scan(src any) error {
	switch v := src.(type) {
	case string:
		*c.p = v
	case []byte:
		*c.p = hex.EncodeToString(v)
	default:
		return fmt.Errorf("hash column: unexpected %T", src)
	}
	return nil
}

// microsCol scans created_at: microseconds since the Unix epoch, or text in clavis.TimeFormat.
type microsCol struct{ p *time.Time }

func (c microsCol) Scan(src any) error {
	if n, ok := src.(int64); ok {
		*c.p = time.UnixMicro(n).UTC()
		return nil
	}
	return timeCol(c).Scan(src)
}

// optMicrosArg encodes an optional instant for comparison with created_at; nil is NULL.
func optMicrosArg(t *time.Time) any {
	if t == nil {
		return nil
	}
	return t.UnixMicro()
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
	var vault string
	var hasVault bool
	err := sc.Scan(idCol{&e.ID}, idCol{&e.OrgID}, idCol{&e.Action}, idCol{&e.ActorID}, idCol{(*string)(&e.ActorType)},
		idCol{&e.ResourceType}, idCol{&e.ResourceID}, detailsCol{&e.Details}, optIDCol{&vault, &hasVault},
		idCol{&e.IPAddress}, microsCol{&e.CreatedAt}, idCol{&e.PrevEventID}, hashCol{&e.IntegrityHash})
	if err != nil {
		return nil, err
	}
	if _, ok := e.Details["vault_id"]; hasVault && !ok {
		if e.Details == nil {
			e.Details = map[string]any{}
		}
		e.Details["vault_id"] = vault
	}
	return &e, nil
}

// ListAudit builds its query from the filters that are set, so that SQLite can pick the matching
// (org_ref, column, seq) index. A Limit <= 0 means no limit.
func (t *txn) ListAudit(f store.AuditFilter) ([]*clavis.AuditEvent, error) {
	var q bytes.Buffer
	q.WriteString(auditSelect + ` WHERE e.org_ref = ` + refOf)
	args := []any{idArg(f.OrgID)}
	for _, c := range []struct{ col, val string }{
		{"actor_ref", f.ActorID}, {"resource_ref", f.ResourceID}, {"action_ref", f.Action}, {"vault_ref", f.VaultID},
	} {
		if c.val != "" {
			q.WriteString(` AND e.` + c.col + ` = ` + refOf)
			args = append(args, idArg(c.val))
		}
	}
	if f.From != nil {
		q.WriteString(` AND e.created_at >= ?`)
		args = append(args, optMicrosArg(f.From))
	}
	if f.To != nil {
		q.WriteString(` AND e.created_at < ?`)
		args = append(args, optMicrosArg(f.To))
	}
	q.WriteString(` ORDER BY e.seq DESC LIMIT ? OFFSET ?`)
	args = append(args, limitArg(f.Limit), max(f.Offset, 0))
	return list(t, "list audit", scanAudit, q.String(), args...)
}

// AuditChain returns events oldest first. A limit <= 0 means no limit.
func (t *txn) AuditChain(orgID string, from, to *time.Time, limit int) ([]*clavis.AuditEvent, error) {
	return list(t, "audit chain", scanAudit, qAuditChain, idArg(orgID), optMicrosArg(from), optMicrosArg(to), limitArg(limit))
}

// AuditChainAfter returns events oldest first, after the event afterID. A limit <= 0 means no limit.
func (t *txn) AuditChainAfter(orgID, afterID string, limit int) ([]*clavis.AuditEvent, error) {
	if afterID == "" {
		return t.AuditChain(orgID, nil, nil, limit)
	}
	return list(t, "audit chain", scanAudit, qAuditChainAfter, idArg(orgID), idArg(afterID), limitArg(limit))
}

func (t *txn) AuditChainHead(orgID string) (store.ChainHead, error) {
	if err := t.writeHeads(); err != nil {
		return store.ChainHead{}, err
	}
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
