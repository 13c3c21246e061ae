package sqlite

import (
	"errors"

	"clavis.dev/clavis"
	"clavis.dev/clavis/internal/store"
)

const (
	qGetSecretByID = `SELECT ` + secretCols + ` FROM secrets WHERE id = ?`
	shareCols      = `sh.id, sh.org_id, sh.secret_id, sh.vault_id, sh.created_by, sh.created_by_type, sh.recipient_type,
		sh.recipient_id, sh.recipient_email, sh.expires_at, sh.max_access_count, sh.access_count, sh.ip_allowlist,
		sh.passphrase_hash, sh.accepted, sh.declined, sh.created_at, s.path`
	shareFrom    = ` FROM shares sh JOIN secrets s ON s.id = sh.secret_id`
	qCreateShare = `INSERT INTO shares (id, org_id, secret_id, vault_id, created_by, created_by_type, recipient_type,
		recipient_id, recipient_email, expires_at, max_access_count, access_count, ip_allowlist, passphrase_hash,
		accepted, declined, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
	qGetShare       = `SELECT ` + shareCols + shareFrom + ` WHERE sh.id = ?`
	qListSharesBy   = `SELECT ` + shareCols + shareFrom + ` WHERE sh.created_by = ? ORDER BY sh.seq DESC`
	qListSharesTo   = `SELECT ` + shareCols + shareFrom + ` WHERE sh.recipient_id = ? AND sh.declined = 0 ORDER BY sh.seq DESC`
	qConsumeShare   = `UPDATE shares SET access_count = access_count + 1 WHERE id = ? AND access_count < max_access_count RETURNING access_count`
	qShareExists    = `SELECT 1 FROM shares WHERE id = ?`
	qSetShareAnswer = `UPDATE shares SET accepted = ?, declined = ? WHERE id = ?`
	qDeleteShare    = `DELETE FROM shares WHERE id = ?`
	qDeleteSharesTo = `DELETE FROM shares WHERE recipient_id = ?`
	qBindEmail      = `UPDATE shares SET recipient_id = ? WHERE recipient_type = 'external_email' AND recipient_email = ? AND recipient_id = ''`

	qLockOrg      = `UPDATE orgs SET name = name WHERE id = ?`
	inviteCols    = `email, org_id, role, invited_by, expires_at, created_at`
	qPutInvite    = `INSERT OR REPLACE INTO invites (` + inviteCols + `) VALUES (?, ?, ?, ?, ?, ?)`
	qGetInvite    = `SELECT ` + inviteCols + ` FROM invites WHERE email = ?`
	qDeleteInvite = `DELETE FROM invites WHERE email = ?`
	ipRuleCols    = `id, org_id, rule_type, cidr, label, applies_to, created_by, created_at`
	qCreateIPRule = `INSERT INTO ip_rules (` + ipRuleCols + `) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`
	qGetIPRule    = `SELECT ` + ipRuleCols + ` FROM ip_rules WHERE id = ?`
	qListIPRules  = `SELECT ` + ipRuleCols + ` FROM ip_rules WHERE org_id = ? ORDER BY seq`
	qDeleteIPRule = `DELETE FROM ip_rules WHERE id = ?`
)

func (t *txn) GetSecretByID(id string) (*clavis.Secret, error) {
	s, err := scanSecret(t.queryRow(qGetSecretByID, id))
	return s, dbErr("get secret by id", err)
}

func scanShare(sc scanner) (*store.Share, error) {
	var s store.Share
	err := sc.Scan(&s.ID, &s.OrgID, &s.SecretID, &s.VaultID, &s.CreatedBy, &s.CreatedByType, &s.RecipientType,
		&s.RecipientID, &s.RecipientEmail, timeCol{&s.ExpiresAt}, &s.MaxAccessCount, &s.AccessCount,
		sliceCol[string]{&s.IPAllowlist}, &s.PassphraseHash, &s.Accepted, &s.Declined, timeCol{&s.CreatedAt}, &s.SecretPath)
	if err != nil {
		return nil, err
	}
	s.HasPassphrase = s.PassphraseHash != ""
	return &s, nil
}

func (t *txn) CreateShare(s *store.Share) error {
	ips, err := sliceArg(s.IPAllowlist)
	if err != nil {
		return dbErr("create share", err)
	}
	return t.execAny("create share", qCreateShare, s.ID, s.OrgID, s.SecretID, s.VaultID, s.CreatedBy,
		string(s.CreatedByType), s.RecipientType, s.RecipientID, s.RecipientEmail, timeArg(s.ExpiresAt),
		s.MaxAccessCount, s.AccessCount, ips, s.PassphraseHash, s.Accepted, s.Declined, timeArg(s.CreatedAt))
}

func (t *txn) GetShare(id string) (*store.Share, error) {
	s, err := scanShare(t.queryRow(qGetShare, id))
	return s, dbErr("get share", err)
}

func (t *txn) ListSharesBy(createdBy string) ([]*store.Share, error) {
	return list(t, "list shares by", scanShare, qListSharesBy, createdBy)
}

func (t *txn) ListSharesTo(recipientID string) ([]*store.Share, error) {
	return list(t, "list shares to", scanShare, qListSharesTo, recipientID)
}

// ConsumeShare is one conditional UPDATE: SQLite runs write transactions one at a time.
func (t *txn) ConsumeShare(id string) (int, bool, error) {
	var n int
	err := t.queryRow(qConsumeShare, id).Scan(&n)
	if err == nil {
		return n, true, nil
	}
	if err := dbErr("consume share", err); !errors.Is(err, store.ErrNotFound) {
		return 0, false, err
	}
	var one int
	if err := t.queryRow(qShareExists, id).Scan(&one); err != nil {
		return 0, false, dbErr("consume share", err)
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

// LockOrg needs no lock of its own: SQLite runs write transactions one at a time. It still fails for
// a missing org, as the contract says.
func (t *txn) LockOrg(id string) error { return t.execOne("lock org", qLockOrg, id) }

func (t *txn) PutInvite(inv *clavis.Invite) error {
	return t.execAny("put invite", qPutInvite, inv.Email, inv.OrgID, string(inv.Role), inv.InvitedBy,
		timeArg(inv.ExpiresAt), timeArg(inv.CreatedAt))
}

func (t *txn) GetInvite(email string) (*clavis.Invite, error) {
	var inv clavis.Invite
	err := t.queryRow(qGetInvite, email).Scan(&inv.Email, &inv.OrgID, &inv.Role, &inv.InvitedBy,
		timeCol{&inv.ExpiresAt}, timeCol{&inv.CreatedAt})
	if err != nil {
		return nil, dbErr("get invite", err)
	}
	return &inv, nil
}

func (t *txn) DeleteInvite(email string) error {
	return t.execAny("delete invite", qDeleteInvite, email)
}

func scanIPRule(sc scanner) (*clavis.IPRule, error) {
	var r clavis.IPRule
	err := sc.Scan(&r.ID, &r.OrgID, &r.RuleType, &r.CIDR, &r.Label, &r.AppliesTo, &r.CreatedBy, timeCol{&r.CreatedAt})
	if err != nil {
		return nil, err
	}
	return &r, nil
}

func (t *txn) CreateIPRule(r *clavis.IPRule) error {
	return t.execAny("create ip rule", qCreateIPRule, r.ID, r.OrgID, r.RuleType, r.CIDR, r.Label, r.AppliesTo,
		r.CreatedBy, timeArg(r.CreatedAt))
}

func (t *txn) GetIPRule(id string) (*clavis.IPRule, error) {
	r, err := scanIPRule(t.queryRow(qGetIPRule, id))
	return r, dbErr("get ip rule", err)
}

func (t *txn) ListIPRules(orgID string) ([]*clavis.IPRule, error) {
	return list(t, "list ip rules", scanIPRule, qListIPRules, orgID)
}

func (t *txn) DeleteIPRule(id string) error { return t.execOne("delete ip rule", qDeleteIPRule, id) }
