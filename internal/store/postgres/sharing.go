package postgres

import (
	"errors"

	"clavis.dev/clavis"
	"clavis.dev/clavis/internal/store"
)

const (
	qGetSecretByID = `SELECT ` + secretCols + ` FROM secrets WHERE id = $1`
	shareCols      = `sh.id, sh.org_id, sh.secret_id, sh.vault_id, sh.created_by, sh.created_by_type, sh.recipient_type,
		sh.recipient_id, sh.recipient_email, sh.expires_at, sh.max_access_count, sh.access_count, sh.ip_allowlist,
		sh.passphrase_hash, sh.accepted, sh.declined, sh.created_at, s.path`
	shareFrom    = ` FROM shares sh JOIN secrets s ON s.id = sh.secret_id`
	qCreateShare = `INSERT INTO shares (id, org_id, secret_id, vault_id, created_by, created_by_type, recipient_type,
		recipient_id, recipient_email, expires_at, max_access_count, access_count, ip_allowlist, passphrase_hash,
		accepted, declined, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)
		ON CONFLICT DO NOTHING`
	qGetShare     = `SELECT ` + shareCols + shareFrom + ` WHERE sh.id = $1`
	qListSharesBy = `SELECT ` + shareCols + shareFrom + ` WHERE sh.created_by = $1 ORDER BY sh.seq DESC`
	qListSharesTo = `SELECT ` + shareCols + shareFrom + ` WHERE sh.recipient_id = $1 AND NOT sh.declined ORDER BY sh.seq DESC`
	// The conditional UPDATE takes the row lock: a concurrent one waits, then re-evaluates the condition
	// on the committed count (READ COMMITTED), so exactly max_access_count succeed across replicas.
	qConsumeShare   = `UPDATE shares SET access_count = access_count + 1 WHERE id = $1 AND access_count < max_access_count RETURNING access_count`
	qShareExists    = `SELECT EXISTS (SELECT 1 FROM shares WHERE id = $1)`
	qSetShareAnswer = `UPDATE shares SET accepted = $1, declined = $2 WHERE id = $3`
	qDeleteShare    = `DELETE FROM shares WHERE id = $1`
	qDeleteSharesTo = `DELETE FROM shares WHERE recipient_id = $1`
	qBindEmail      = `UPDATE shares SET recipient_id = $1 WHERE recipient_type = 'external_email' AND recipient_email = $2 AND recipient_id = ''`

	qLockOrg   = `SELECT 1 FROM orgs WHERE id = $1 FOR UPDATE`
	inviteCols = `email, org_id, role, invited_by, expires_at, created_at`
	qPutInvite = `INSERT INTO invites (` + inviteCols + `) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (email) DO UPDATE SET
		org_id = EXCLUDED.org_id, role = EXCLUDED.role, invited_by = EXCLUDED.invited_by, expires_at = EXCLUDED.expires_at,
		created_at = EXCLUDED.created_at`
	qGetInvite    = `SELECT ` + inviteCols + ` FROM invites WHERE email = $1`
	qDeleteInvite = `DELETE FROM invites WHERE email = $1`
	ipRuleCols    = `id, org_id, rule_type, cidr, label, applies_to, created_by, created_at`
	qCreateIPRule = `INSERT INTO ip_rules (` + ipRuleCols + `) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING`
	qGetIPRule    = `SELECT ` + ipRuleCols + ` FROM ip_rules WHERE id = $1`
	qListIPRules  = `SELECT ` + ipRuleCols + ` FROM ip_rules WHERE org_id = $1 ORDER BY seq`
	qDeleteIPRule = `DELETE FROM ip_rules WHERE id = $1`
)

func (t *txn) GetSecretByID(id string) (*clavis.Secret, error) {
	s, err := scanSecret(t.tx.QueryRow(t.ctx, qGetSecretByID, id))
	return s, dbErr("get secret by id", err)
}

func scanShare(sc scanner) (*store.Share, error) {
	var s store.Share
	err := sc.Scan(&s.ID, &s.OrgID, &s.SecretID, &s.VaultID, &s.CreatedBy, &s.CreatedByType, &s.RecipientType,
		&s.RecipientID, &s.RecipientEmail, &s.ExpiresAt, &s.MaxAccessCount, &s.AccessCount,
		&s.IPAllowlist, &s.PassphraseHash, &s.Accepted, &s.Declined, &s.CreatedAt, &s.SecretPath)
	if err != nil {
		return nil, err
	}
	if s.IPAllowlist == nil {
		s.IPAllowlist = []string{}
	}
	s.HasPassphrase = s.PassphraseHash != ""
	s.ExpiresAt, s.CreatedAt = s.ExpiresAt.UTC(), s.CreatedAt.UTC()
	return &s, nil
}

func (t *txn) CreateShare(s *store.Share) error {
	return t.insert("create share", qCreateShare, s.ID, s.OrgID, s.SecretID, s.VaultID, s.CreatedBy,
		string(s.CreatedByType), s.RecipientType, s.RecipientID, s.RecipientEmail, timeArg(s.ExpiresAt),
		s.MaxAccessCount, s.AccessCount, sliceArg(s.IPAllowlist), s.PassphraseHash, s.Accepted, s.Declined, timeArg(s.CreatedAt))
}

func (t *txn) GetShare(id string) (*store.Share, error) {
	s, err := scanShare(t.tx.QueryRow(t.ctx, qGetShare, id))
	return s, dbErr("get share", err)
}

func (t *txn) ListSharesBy(createdBy string) ([]*store.Share, error) {
	return list(t, "list shares by", scanShare, qListSharesBy, createdBy)
}

func (t *txn) ListSharesTo(recipientID string) ([]*store.Share, error) {
	return list(t, "list shares to", scanShare, qListSharesTo, recipientID)
}

func (t *txn) ConsumeShare(id string) (int, bool, error) {
	var n int
	err := t.tx.QueryRow(t.ctx, qConsumeShare, id).Scan(&n)
	if err == nil {
		return n, true, nil
	}
	if err := dbErr("consume share", err); !errors.Is(err, store.ErrNotFound) {
		return 0, false, err
	}
	var exists bool
	if err := t.tx.QueryRow(t.ctx, qShareExists, id).Scan(&exists); err != nil {
		return 0, false, dbErr("consume share", err)
	}
	if !exists {
		return 0, false, store.ErrNotFound
	}
	return 0, false, nil
}

func (t *txn) SetShareAnswer(id string, accepted, declined bool) error {
	return t.execOne("answer share", qSetShareAnswer, accepted, declined, id)
}

func (t *txn) DeleteShare(id string) error { return t.execOne("delete share", qDeleteShare, id) }

func (t *txn) DeleteSharesTo(recipientID string) error {
	return t.execAny("delete shares to", qDeleteSharesTo, recipientID)
}

func (t *txn) BindEmailShares(email, userID string) error {
	return t.execAny("bind email shares", qBindEmail, userID, email)
}

func (t *txn) LockOrg(id string) error {
	var one int
	return dbErr("lock org", t.tx.QueryRow(t.ctx, qLockOrg, id).Scan(&one))
}

func (t *txn) PutInvite(inv *clavis.Invite) error {
	return t.execAny("put invite", qPutInvite, inv.Email, inv.OrgID, string(inv.Role), inv.InvitedBy,
		timeArg(inv.ExpiresAt), timeArg(inv.CreatedAt))
}

func (t *txn) GetInvite(email string) (*clavis.Invite, error) {
	var inv clavis.Invite
	err := t.tx.QueryRow(t.ctx, qGetInvite, email).Scan(&inv.Email, &inv.OrgID, &inv.Role, &inv.InvitedBy,
		&inv.ExpiresAt, &inv.CreatedAt)
	if err != nil {
		return nil, dbErr("get invite", err)
	}
	inv.ExpiresAt, inv.CreatedAt = inv.ExpiresAt.UTC(), inv.CreatedAt.UTC()
	return &inv, nil
}

func (t *txn) DeleteInvite(email string) error {
	return t.execAny("delete invite", qDeleteInvite, email)
}

func scanIPRule(sc scanner) (*clavis.IPRule, error) {
	var r clavis.IPRule
	err := sc.Scan(&r.ID, &r.OrgID, &r.RuleType, &r.CIDR, &r.Label, &r.AppliesTo, &r.CreatedBy, &r.CreatedAt)
	if err != nil {
		return nil, err
	}
	r.CreatedAt = r.CreatedAt.UTC()
	return &r, nil
}

func (t *txn) CreateIPRule(r *clavis.IPRule) error {
	return t.insert("create ip rule", qCreateIPRule, r.ID, r.OrgID, r.RuleType, r.CIDR, r.Label, r.AppliesTo,
		r.CreatedBy, timeArg(r.CreatedAt))
}

func (t *txn) GetIPRule(id string) (*clavis.IPRule, error) {
	r, err := scanIPRule(t.tx.QueryRow(t.ctx, qGetIPRule, id))
	return r, dbErr("get ip rule", err)
}

func (t *txn) ListIPRules(orgID string) ([]*clavis.IPRule, error) {
	return list(t, "list ip rules", scanIPRule, qListIPRules, orgID)
}

func (t *txn) DeleteIPRule(id string) error { return t.execOne("delete ip rule", qDeleteIPRule, id) }
