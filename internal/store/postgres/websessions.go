package postgres

import (
	"time"

	"clavis.dev/clavis/internal/store"
)

const (
	webSessionCols    = `id, id_hash, user_id, org_id, token_gen, ip, created_at, last_seen_at`
	qCreateWebSession = `INSERT INTO web_sessions (` + webSessionCols + `) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`
	qWebSessionByHash = `SELECT ` + webSessionCols + ` FROM web_sessions WHERE id_hash = $1`
	qTouchWebSession  = `UPDATE web_sessions SET last_seen_at = $1 WHERE id = $2`
	qDeleteWebSession = `DELETE FROM web_sessions WHERE id = $1`
	qListWebSessions  = `SELECT ` + webSessionCols + ` FROM web_sessions WHERE user_id = $1 ORDER BY seq`
)

func scanWebSession(sc scanner) (*store.WebSession, error) {
	var s store.WebSession
	err := sc.Scan(&s.ID, &s.IDHash, &s.UserID, &s.OrgID, &s.TokenGen, &s.IP, &s.CreatedAt, &s.LastSeenAt)
	if err != nil {
		return nil, err
	}
	s.CreatedAt, s.LastSeenAt = s.CreatedAt.UTC(), s.LastSeenAt.UTC()
	return &s, nil
}

func (t *txn) CreateWebSession(s *store.WebSession) error {
	return t.execAny("create web session", qCreateWebSession, s.ID, s.IDHash, s.UserID, s.OrgID, s.TokenGen, s.IP,
		timeArg(s.CreatedAt), timeArg(s.LastSeenAt))
}

func (t *txn) WebSessionByHash(idHash []byte) (*store.WebSession, error) {
	s, err := scanWebSession(t.tx.QueryRow(t.ctx, qWebSessionByHash, idHash))
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
