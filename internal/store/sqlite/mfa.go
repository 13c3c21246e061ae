package sqlite

import (
	"clavis.dev/clavis"
	"clavis.dev/clavis/internal/store"
)

const (
	qListOrgs = `SELECT id, name, created_at FROM orgs ORDER BY seq`
	qGetMFA   = `SELECT user_id, secret, pending, last_step, recovery_codes FROM user_mfa WHERE user_id = ?`
	qPutMFA   = `INSERT INTO user_mfa (user_id, secret, pending, last_step, recovery_codes) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (user_id) DO UPDATE SET secret = excluded.secret, pending = excluded.pending,
		last_step = excluded.last_step, recovery_codes = excluded.recovery_codes`
)

func (t *txn) ListOrgs() ([]*clavis.Org, error) {
	return list(t, "list orgs", func(sc scanner) (*clavis.Org, error) {
		var o clavis.Org
		if err := sc.Scan(&o.ID, &o.Name, timeCol{&o.CreatedAt}); err != nil {
			return nil, err
		}
		return &o, nil
	}, qListOrgs)
}

func (t *txn) GetMFA(userID string) (*store.MFA, error) {
	var m store.MFA
	err := t.queryRow(qGetMFA, userID).Scan(&m.UserID, &m.Secret, &m.Pending, &m.LastStep, sliceCol[string]{&m.RecoveryCodes})
	if err != nil {
		return nil, dbErr("get mfa", err)
	}
	return &m, nil
}

func (t *txn) PutMFA(m *store.MFA) error {
	codes, err := sliceArg(m.RecoveryCodes)
	if err != nil {
		return err
	}
	return t.execAny("put mfa", qPutMFA, m.UserID, bytesArg(m.Secret), bytesArg(m.Pending), m.LastStep, codes)
}
