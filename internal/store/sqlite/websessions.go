package sqlite

import (
	"time"

	"clavis.dev/clavis/internal/store"
)

const (
	webSessionCols    = `id, id_hash, user_id, org_id, token_gen, ip, created_at, last_seen_at`
	qCreateWebSession = `INSERT INTO web_sessions (` + webSessionCols + `) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`
	qWebSessionByHash = `SELECT ` + webSessionCols + ` FROM web_sessions WHERE id_hash = ?`
	qTouchWebSession  = `UPDATE web_sessions SET last_seen_at = ? WHERE id = ?`
	qDeleteWebSession = `DELETE FROM web_sessions WHERE id = ?`
	qListWebSessions  = `SELECT ` + webSessionCols + ` FROM web_sessions WHERE user_id = ? ORDER BY seq`
)

func scanWebSession(sc scanner) (*store.WebSession, error) {
	var s store.WebSession
	err := sc.Scan(&s.ID, &s.IDHash, &s.UserID, &s.OrgID, &s.TokenGen, &s.IP, timeCol{&s.CreatedAt}, timeCol{&s.LastSeenAt})
	if err != nil {
		return nil, err
	}
	return &s, nil
}

func (t *txn) CreateWebSession(s *store.WebSession) error {
	return t.execAny("create web session", qCreateWebSession, s.ID, s.IDHash, s.UserID, s.OrgID, s.TokenGen, s.IP,
		timeArg(s.CreatedAt), timeArg(s.LastSeenAt))
}

func (t *txn) WebSessionByHash(idHash []byte) (*store.WebSession, error) {
	s, err := scanWebSession(t.queryRow(qWebSessionByHash, idHash))
	return s, dbErr("get web session", err)
}

func (t *txn) TouchWebSession(id string, at time.Time) error {
	return t.execOne("touch web session", qTouchWebSession, timeArg(at), id)
}

func (t *txn) DeleteWebSession(id string) error {
	return t.execAny("delete web session", qDeleteWebSession, id)
}

func (t *txn) ListWebSessions(userID string) ([]*store.WebSession, error) {
	return list(t, "list web sessions", scanWebSession, qListWebSessions, userID)
}
