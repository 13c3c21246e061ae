package sqlite

import (
	"time"

	"clavis.dev/clavis"
)

const (
	policyCols = `id, vault_id, pattern, principal_type, principal_id, permissions, conditions, effect, priority,
		require_approval, expires_at, created_by, created_by_type, created_at`
	qCreatePolicy          = `INSERT INTO policies (` + policyCols + `) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
	qGetPolicy             = `SELECT ` + policyCols + ` FROM policies WHERE id = ?`
	qListPolicies          = `SELECT ` + policyCols + ` FROM policies WHERE vault_id = ? ORDER BY seq`
	qListPrincipalPolicies = `SELECT ` + policyCols + ` FROM policies
		WHERE vault_id = ? AND principal_type = ? AND principal_id = ? ORDER BY seq`
	qPrincipalPolicies = `SELECT ` + policyCols + ` FROM policies
		WHERE principal_type = ? AND principal_id = ? ORDER BY seq`
	qPolicyVaultIDs = `SELECT vault_id FROM policies
		WHERE principal_type = ? AND principal_id = ? AND (expires_at IS NULL OR expires_at > ?)
		GROUP BY vault_id ORDER BY min(seq)`
	qUpdatePolicy = `UPDATE policies SET permissions = ?, conditions = ?, effect = ?, priority = ?,
		require_approval = ?, expires_at = ? WHERE id = ?`
	qDeletePolicy            = `DELETE FROM policies WHERE id = ?`
	qDeletePrincipalPolicies = `DELETE FROM policies WHERE principal_type = ? AND principal_id = ?`
)

func scanPolicy(sc scanner) (*clavis.Policy, error) {
	var p clavis.Policy
	err := sc.Scan(&p.ID, &p.VaultID, &p.Pattern, &p.PrincipalType, &p.PrincipalID,
		sliceCol[clavis.Permission]{&p.Permissions}, rawCol{&p.Conditions}, &p.Effect, &p.Priority,
		&p.RequireApproval, optTimeCol{&p.ExpiresAt}, &p.CreatedBy, &p.CreatedByType, timeCol{&p.CreatedAt})
	if err != nil {
		return nil, err
	}
	return &p, nil
}

func (t *txn) CreatePolicy(p *clavis.Policy) error {
	perms, err := sliceArg(p.Permissions)
	if err != nil {
		return dbErr("create policy", err)
	}
	return t.execAny("create policy", qCreatePolicy, p.ID, p.VaultID, p.Pattern, string(p.PrincipalType),
		p.PrincipalID, perms, rawArg(p.Conditions), string(p.Effect), p.Priority, p.RequireApproval,
		optTimeArg(p.ExpiresAt), p.CreatedBy, string(p.CreatedByType), timeArg(p.CreatedAt))
}

func (t *txn) GetPolicy(id string) (*clavis.Policy, error) {
	p, err := scanPolicy(t.queryRow(qGetPolicy, id))
	return p, dbErr("get policy", err)
}

func (t *txn) ListPolicies(vaultID string) ([]*clavis.Policy, error) {
	return list(t, "list policies", scanPolicy, qListPolicies, vaultID)
}

func (t *txn) ListPrincipalPolicies(vaultID string, pt clavis.PrincipalType, principalID string) ([]*clavis.Policy, error) {
	return list(t, "list principal policies", scanPolicy, qListPrincipalPolicies, vaultID, string(pt), principalID)
}

func (t *txn) PrincipalPolicies(pt clavis.PrincipalType, principalID string) ([]*clavis.Policy, error) {
	return list(t, "principal policies", scanPolicy, qPrincipalPolicies, string(pt), principalID)
}

// PolicyVaultIDs returns the vault ids in the order of each vault's first such policy.
func (t *txn) PolicyVaultIDs(pt clavis.PrincipalType, principalID string, now time.Time) ([]string, error) {
	return list(t, "policy vault ids", func(sc scanner) (string, error) {
		var id string
		err := sc.Scan(&id)
		return id, err
	}, qPolicyVaultIDs, string(pt), principalID, timeArg(now))
}

func (t *txn) UpdatePolicy(p *clavis.Policy) error {
	perms, err := sliceArg(p.Permissions)
	if err != nil {
		return dbErr("update policy", err)
	}
	return t.execOne("update policy", qUpdatePolicy, perms, rawArg(p.Conditions), string(p.Effect), p.Priority,
		p.RequireApproval, optTimeArg(p.ExpiresAt), p.ID)
}

func (t *txn) DeletePolicy(id string) error {
	return t.execOne("delete policy", qDeletePolicy, id)
}

func (t *txn) DeletePrincipalPolicies(pt clavis.PrincipalType, principalID string) error {
	return t.execAny("delete principal policies", qDeletePrincipalPolicies, string(pt), principalID)
}
