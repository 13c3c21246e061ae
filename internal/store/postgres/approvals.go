package postgres

import (
	"time"

	"clavis.dev/clavis"
	"clavis.dev/clavis/internal/store"
)

const (
	approvalCols = `id, org_id, agent_id, action, target_type, vault_id, risk_tier, status, summary, reason,
		decision_reason, decided_by, decided_at, path, permission, used_at, expires_at, created_at`
	qCreateApproval = `INSERT INTO approvals (` + approvalCols + `)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18) ON CONFLICT DO NOTHING`
	qGetApproval           = `SELECT ` + approvalCols + ` FROM approvals WHERE id = $1`
	qPendingAccessApproval = `SELECT ` + approvalCols + ` FROM approvals WHERE agent_id = $1 AND vault_id = $2
		AND path = $3 AND permission = $4 AND status = 'pending' AND action = 'secret_access'`
	qListApprovals = `SELECT ` + approvalCols + ` FROM approvals WHERE org_id = $1 AND ($2 = '' OR status = $2)
		ORDER BY seq DESC`
	qDecideApproval = `UPDATE approvals SET status = $1, decided_by = $2, decided_at = $3, decision_reason = $4
		WHERE id = $5 AND status = 'pending'`
	qExpireApprovals = `UPDATE approvals SET status = 'expired' WHERE status = 'pending' AND expires_at <= $1`
	// The subquery locks the grant it picks; a concurrent transaction that picked the same one waits, then
	// (READ COMMITTED) re-checks used_at IS NULL on the committed row and updates nothing.
	qUseGrant = `UPDATE approvals SET used_at = $1 WHERE id = (SELECT id FROM approvals
		WHERE agent_id = $2 AND vault_id = $3 AND path = $4 AND permission = $5 AND status = 'approved'
		AND action = 'secret_access' AND used_at IS NULL AND decided_at > $6 ORDER BY decided_at LIMIT 1 FOR UPDATE)
		AND used_at IS NULL RETURNING id`

	enrollmentCols = `id, name, description, human_email, secret_hash, status, agent_id, org_id, decided_by,
		key_delivered, expires_at, created_at`
	qCreateEnrollment = `INSERT INTO enrollments (` + enrollmentCols + `)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) ON CONFLICT DO NOTHING`
	qGetEnrollment = `SELECT ` + enrollmentCols + ` FROM enrollments WHERE id = $1`
	// A concurrent claim for the same email waits for the row lock, then (READ COMMITTED) re-checks the
	// WHERE against the committed row and updates nothing.
	qClaimEnrollment = `INSERT INTO enrollment_claims (email, last_at) VALUES ($1, $2)
		ON CONFLICT (email) DO UPDATE SET last_at = excluded.last_at WHERE enrollment_claims.last_at <= $3
		RETURNING last_at`
	qEnrollmentClaim  = `SELECT last_at FROM enrollment_claims WHERE email = $1`
	qListEnrollments  = `SELECT ` + enrollmentCols + ` FROM enrollments WHERE human_email = $1 ORDER BY seq DESC`
	qDecideEnrollment = `UPDATE enrollments SET status = $1, agent_id = $2, org_id = $3, decided_by = $4
		WHERE id = $5 AND status = 'pending'`
	qExpireEnrollments    = `UPDATE enrollments SET status = 'expired' WHERE status = 'pending' AND expires_at <= $1`
	qDeliverEnrollmentKey = `UPDATE enrollments SET key_delivered = true
		WHERE id = $1 AND status = 'approved' AND NOT key_delivered`
)

func scanApproval(sc scanner) (*store.Approval, error) {
	var a store.Approval
	err := sc.Scan(&a.ID, &a.OrgID, &a.AgentID, &a.Action, &a.TargetType, &a.TargetID, &a.RiskTier, &a.Status,
		rawCol{&a.Summary}, &a.Reason, &a.DecisionReason, &a.DecidedBy, &a.DecidedAt, &a.Path,
		&a.Permission, &a.UsedAt, &a.ExpiresAt, &a.CreatedAt)
	if err != nil {
		return nil, err
	}
	return &a, nil
}

func (t *txn) CreateApproval(a *store.Approval) error {
	return t.insert("create approval", qCreateApproval, a.ID, a.OrgID, a.AgentID, a.Action, a.TargetType,
		a.TargetID, a.RiskTier, a.Status, rawArg(a.Summary), a.Reason, a.DecisionReason, a.DecidedBy,
		optTimeArg(a.DecidedAt), a.Path, a.Permission, optTimeArg(a.UsedAt), timeArg(a.ExpiresAt), timeArg(a.CreatedAt))
}

func (t *txn) PendingAccessApproval(agentID, vaultID, path, permission string) (*store.Approval, error) {
	a, err := scanApproval(t.tx.QueryRow(t.ctx, qPendingAccessApproval, agentID, vaultID, path, permission))
	return a, dbErr("pending access approval", err)
}

func (t *txn) GetApproval(id string) (*store.Approval, error) {
	a, err := scanApproval(t.tx.QueryRow(t.ctx, qGetApproval, id))
	return a, dbErr("get approval", err)
}

func (t *txn) ListApprovals(orgID, status string) ([]*store.Approval, error) {
	return list(t, "list approvals", scanApproval, qListApprovals, orgID, status)
}

func (t *txn) DecideApproval(a *store.Approval) error {
	return t.execOne("decide approval", qDecideApproval, a.Status, a.DecidedBy, optTimeArg(a.DecidedAt),
		a.DecisionReason, a.ID)
}

func (t *txn) ExpireApprovals(now time.Time) error {
	return t.execAny("expire approvals", qExpireApprovals, timeArg(now))
}

func (t *txn) UseGrant(agentID, vaultID, path, permission string, since, now time.Time) (string, error) {
	var id string
	err := t.tx.QueryRow(t.ctx, qUseGrant, timeArg(now), agentID, vaultID, path, permission, timeArg(since)).Scan(&id)
	if err = dbErr("use grant", err); clavis.IsKind(err, clavis.KindNotFound) {
		return "", nil
	}
	return id, err
}

func scanEnrollment(sc scanner) (*store.Enrollment, error) {
	var e store.Enrollment
	err := sc.Scan(&e.ID, &e.Name, &e.Description, &e.HumanEmail, &e.SecretHash, &e.Status, &e.AgentID, &e.OrgID,
		&e.DecidedBy, &e.KeyDelivered, &e.ExpiresAt, &e.CreatedAt)
	if err != nil {
		return nil, err
	}
	return &e, nil
}

func (t *txn) CreateEnrollment(e *store.Enrollment) error {
	return t.insert("create enrollment", qCreateEnrollment, e.ID, e.Name, e.Description, e.HumanEmail, e.SecretHash,
		e.Status, e.AgentID, e.OrgID, e.DecidedBy, e.KeyDelivered, timeArg(e.ExpiresAt), timeArg(e.CreatedAt))
}

func (t *txn) GetEnrollment(id string) (*store.Enrollment, error) {
	e, err := scanEnrollment(t.tx.QueryRow(t.ctx, qGetEnrollment, id))
	return e, dbErr("get enrollment", err)
}

func (t *txn) ClaimEnrollment(email string, now, since time.Time) (*time.Time, error) {
	var at time.Time
	err := dbErr("claim enrollment", t.tx.QueryRow(t.ctx, qClaimEnrollment, email, timeArg(now), timeArg(since)).Scan(&at))
	if !clavis.IsKind(err, clavis.KindNotFound) {
		return nil, err // recorded (nil), or failed
	}
	if err := t.tx.QueryRow(t.ctx, qEnrollmentClaim, email).Scan(&at); err != nil {
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
	qRecordDelivery = `INSERT INTO notification_deliveries (` + deliveryCols + `) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`
	qListDeliveries = `SELECT ` + deliveryCols + ` FROM notification_deliveries WHERE notice_id = $1 ORDER BY seq`
)

func (t *txn) RecordDelivery(d *clavis.Delivery) error {
	return t.execAny("record delivery", qRecordDelivery, d.ID, d.NoticeID, d.Channel, d.Target, d.Status, d.Attempts,
		d.Error, timeArg(d.CreatedAt))
}

func (t *txn) ListDeliveries(noticeID string) ([]*clavis.Delivery, error) {
	return list(t, "list deliveries", func(sc scanner) (*clavis.Delivery, error) {
		var d clavis.Delivery
		err := sc.Scan(&d.ID, &d.NoticeID, &d.Channel, &d.Target, &d.Status, &d.Attempts, &d.Error, &d.CreatedAt)
		return &d, err
	}, qListDeliveries, noticeID)
}
