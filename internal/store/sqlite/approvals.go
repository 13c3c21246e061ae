package sqlite

import (
	"time"

	"clavis.dev/clavis"
	"clavis.dev/clavis/internal/store"
)

const (
	approvalCols = `id, org_id, agent_id, action, target_type, vault_id, risk_tier, status, summary, reason,
		decision_reason, decided_by, decided_at, path, permission, used_at, expires_at, created_at`
	qCreateApproval = `INSERT INTO approvals (` + approvalCols + `)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
	qGetApproval           = `SELECT ` + approvalCols + ` FROM approvals WHERE id = ?`
	qPendingAccessApproval = `SELECT ` + approvalCols + ` FROM approvals WHERE agent_id = ? AND vault_id = ?
		AND path = ? AND permission = ? AND status = 'pending' AND action = 'secret_access'`
	qListApprovals = `SELECT ` + approvalCols + ` FROM approvals WHERE org_id = ? AND (? = '' OR status = ?)
		ORDER BY seq DESC`
	qDecideApproval = `UPDATE approvals SET status = ?, decided_by = ?, decided_at = ?, decision_reason = ?
		WHERE id = ? AND status = 'pending'`
	qExpireApprovals = `UPDATE approvals SET status = 'expired' WHERE status = 'pending' AND expires_at <= ?`
	qUseGrant        = `UPDATE approvals SET used_at = ? WHERE id = (SELECT id FROM approvals
		WHERE agent_id = ? AND vault_id = ? AND path = ? AND permission = ? AND status = 'approved'
		AND action = 'secret_access' AND used_at IS NULL AND decided_at > ? ORDER BY decided_at LIMIT 1)
		AND used_at IS NULL RETURNING id`

	enrollmentCols = `id, name, description, human_email, secret_hash, status, agent_id, org_id, decided_by,
		key_delivered, expires_at, created_at`
	qCreateEnrollment = `INSERT INTO enrollments (` + enrollmentCols + `) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
	qGetEnrollment    = `SELECT ` + enrollmentCols + ` FROM enrollments WHERE id = ?`
	qClaimEnrollment  = `INSERT INTO enrollment_claims (email, last_at) VALUES (?, ?)
		ON CONFLICT (email) DO UPDATE SET last_at = excluded.last_at WHERE enrollment_claims.last_at <= ?
		RETURNING last_at`
	qEnrollmentClaim  = `SELECT last_at FROM enrollment_claims WHERE email = ?`
	qListEnrollments  = `SELECT ` + enrollmentCols + ` FROM enrollments WHERE human_email = ? ORDER BY seq DESC`
	qDecideEnrollment = `UPDATE enrollments SET status = ?, agent_id = ?, org_id = ?, decided_by = ?
		WHERE id = ? AND status = 'pending'`
	qExpireEnrollments    = `UPDATE enrollments SET status = 'expired' WHERE status = 'pending' AND expires_at <= ?`
	qDeliverEnrollmentKey = `UPDATE enrollments SET key_delivered = 1
		WHERE id = ? AND status = 'approved' AND key_delivered = 0`
)

func scanApproval(sc scanner) (*store.Approval, error) {
	var a store.Approval
	err := sc.Scan(&a.ID, &a.OrgID, &a.AgentID, &a.Action, &a.TargetType, &a.TargetID, &a.RiskTier, &a.Status,
		rawCol{&a.Summary}, &a.Reason, &a.DecisionReason, &a.DecidedBy, optTimeCol{&a.DecidedAt}, &a.Path,
		&a.Permission, optTimeCol{&a.UsedAt}, timeCol{&a.ExpiresAt}, timeCol{&a.CreatedAt})
	if err != nil {
		return nil, err
	}
	return &a, nil
}

func (t *txn) CreateApproval(a *store.Approval) error {
	return t.execAny("create approval", qCreateApproval, a.ID, a.OrgID, a.AgentID, a.Action, a.TargetType,
		a.TargetID, a.RiskTier, a.Status, rawArg(a.Summary), a.Reason, a.DecisionReason, a.DecidedBy,
		optTimeArg(a.DecidedAt), a.Path, a.Permission, optTimeArg(a.UsedAt), timeArg(a.ExpiresAt), timeArg(a.CreatedAt))
}

func (t *txn) PendingAccessApproval(agentID, vaultID, path, permission string) (*store.Approval, error) {
	a, err := scanApproval(t.queryRow(qPendingAccessApproval, agentID, vaultID, path, permission))
	return a, dbErr("pending access approval", err)
}

func (t *txn) GetApproval(id string) (*store.Approval, error) {
	a, err := scanApproval(t.queryRow(qGetApproval, id))
	return a, dbErr("get approval", err)
}

func (t *txn) ListApprovals(orgID, status string) ([]*store.Approval, error) {
	return list(t, "list approvals", scanApproval, qListApprovals, orgID, status, status)
}

func (t *txn) DecideApproval(a *store.Approval) error {
	return t.execOne("decide approval", qDecideApproval, a.Status, a.DecidedBy, optTimeArg(a.DecidedAt),
		a.DecisionReason, a.ID)
}

func (t *txn) ExpireApprovals(now time.Time) error {
	return t.execAny("expire approvals", qExpireApprovals, timeArg(now))
}

// UseGrant relies on SQLite's single writer: the UPDATE that finds the grant unused is the only one.
func (t *txn) UseGrant(agentID, vaultID, path, permission string, since, now time.Time) (string, error) {
	var id string
	err := t.queryRow(qUseGrant, timeArg(now), agentID, vaultID, path, permission, timeArg(since)).Scan(&id)
	if err = dbErr("use grant", err); clavis.IsKind(err, clavis.KindNotFound) {
		return "", nil
	}
	return id, err
}

func scanEnrollment(sc scanner) (*store.Enrollment, error) {
	var e store.Enrollment
	err := sc.Scan(&e.ID, &e.Name, &e.Description, &e.HumanEmail, &e.SecretHash, &e.Status, &e.AgentID, &e.OrgID,
		&e.DecidedBy, &e.KeyDelivered, timeCol{&e.ExpiresAt}, timeCol{&e.CreatedAt})
	if err != nil {
		return nil, err
	}
	return &e, nil
}

func (t *txn) CreateEnrollment(e *store.Enrollment) error {
	return t.execAny("create enrollment", qCreateEnrollment, e.ID, e.Name, e.Description, e.HumanEmail, e.SecretHash,
		e.Status, e.AgentID, e.OrgID, e.DecidedBy, e.KeyDelivered, timeArg(e.ExpiresAt), timeArg(e.CreatedAt))
}

func (t *txn) GetEnrollment(id string) (*store.Enrollment, error) {
	e, err := scanEnrollment(t.queryRow(qGetEnrollment, id))
	return e, dbErr("get enrollment", err)
}

func (t *txn) ClaimEnrollment(email string, now, since time.Time) (*time.Time, error) {
	var at time.Time
	err := dbErr("claim enrollment", t.queryRow(qClaimEnrollment, email, timeArg(now), timeArg(since)).Scan(timeCol{&at}))
	if !clavis.IsKind(err, clavis.KindNotFound) {
		return nil, err // recorded (nil), or failed
	}
	if err := t.queryRow(qEnrollmentClaim, email).Scan(timeCol{&at}); err != nil {
		return nil, dbErr("claim enrollment", err)
	}
	return &at, nil
}

func (t *txn) ListEnrollments(email string) ([]*store.Enrollment, error) {
	return list(t, "list enrollments", scanEnrollment, qListEnrollments, email)
}

func (t *txn) DecideEnrollment(e *store.Enrollment) error {
	return t.execOne("decide enrollment", qDecideEnrollment, e.Status, e.AgentID, e.OrgID, e.DecidedBy, e.ID)
}

func (t *txn) ExpireEnrollments(now time.Time) error {
	return t.execAny("expire enrollments", qExpireEnrollments, timeArg(now))
}

func (t *txn) DeliverEnrollmentKey(id string) (bool, error) {
	err := t.execOne("deliver enrollment key", qDeliverEnrollmentKey, id)
	if clavis.IsKind(err, clavis.KindNotFound) {
		return false, nil
	}
	return err == nil, err
}

const (
	deliveryCols    = `id, notice_id, channel, target, status, attempts, error, created_at`
	qRecordDelivery = `INSERT INTO notification_deliveries (` + deliveryCols + `) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`
	qListDeliveries = `SELECT ` + deliveryCols + ` FROM notification_deliveries WHERE notice_id = ? ORDER BY seq`
)

func (t *txn) RecordDelivery(d *clavis.Delivery) error {
	return t.execAny("record delivery", qRecordDelivery, d.ID, d.NoticeID, d.Channel, d.Target, d.Status, d.Attempts,
		d.Error, timeArg(d.CreatedAt))
}

func (t *txn) ListDeliveries(noticeID string) ([]*clavis.Delivery, error) {
	return list(t, "list deliveries", func(sc scanner) (*clavis.Delivery, error) {
		var d clavis.Delivery
		err := sc.Scan(&d.ID, &d.NoticeID, &d.Channel, &d.Target, &d.Status, &d.Attempts, &d.Error, timeCol{&d.CreatedAt})
		return &d, err
	}, qListDeliveries, noticeID)
}
