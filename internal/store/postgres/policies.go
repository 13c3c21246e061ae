package postgres

import (
	"time"

	"clavis.dev/clavis"
)

const (
	policyCols = `id, vault_id, pattern, principal_type, principal_id, permissions, conditions, effect, priority,
		require_approval, expires_at, created_by, created_by_type, created_at`
	qCreatePolicy = `INSERT INTO policies (` + policyCols + `)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) ON CONFLICT DO NOTHING`
	qGetPolicy             = `SELECT ` + policyCols + ` FROM policies WHERE id = $1`
	qListPolicies          = `SELECT ` + policyCols + ` FROM policies WHERE vault_id = $1 ORDER BY seq`
	qListPrincipalPolicies = `SELECT ` + policyCols + ` FROM policies
		WHERE vault_id = $1 AND principal_type = $2 AND principal_id = $3 ORDER BY seq`
	qPrincipalPolicies = `SELECT ` + policyCols + ` FROM policies
		WHERE principal_type = $1 AND principal_id = $2 ORDER BY seq`
	qPolicyVaultIDs = `SELECT vault_id FROM policies
		WHERE principal_type = $1 AND principal_id = $2 AND (expires_at IS NULL OR expires_at > $3)
		GROUP BY vault_id ORDER BY min(seq)`
	qUpdatePolicy = `UPDATE policies SET permissions = $1, conditions = $2, effect = $3, priority = $4,
		require_approval = $5, expires_at = $6 WHERE id = $7`
	qDeletePolicy            = `DELETE FROM policies WHERE id = $1`
	qDeletePrincipalPolicies = `DELETE FROM policies WHERE principal_type = $1 AND principal_id = $2`
)

func scanPolicy(sc scanner) (*clavis.Policy, error) {
	var p clavis.Policy
	var perms []string
	err := sc.Scan(&p.ID, &p.VaultID, &p.Pattern, &p.PrincipalType, &p.PrincipalID, &perms, rawCol{&p.Conditions},
		&p.Effect, &p.Priority, &p.RequireApproval, &p.ExpiresAt, &p.CreatedBy, &p.CreatedByType, &p.CreatedAt)
	if err != nil {
		return nil, err
	}
	p.Permissions = make([]clavis.Permission, len(perms))
	for i, s := range perms {
		p.Permissions[i] = clavis.Permission(s)
	}
	return &p, nil
}

func (t *txn) CreatePolicy(p *clavis.Policy) error {
	return t.insert("create policy", qCreatePolicy, p.ID, p.VaultID, p.Pattern, string(p.PrincipalType),
		p.PrincipalID, sliceArg(p.Permissions), rawArg(p.Conditions), string(p.Effect), p.Priority,
		p.RequireApproval, optTimeArg(p.ExpiresAt), p.CreatedBy, string(p.CreatedByType), timeArg(p.CreatedAt))
}

func (t *txn) GetPolicy(id string) (*clavis.Policy, error) {
	p, err := scanPolicy(t.tx.QueryRow(t.ctx, qGetPolicy, id))
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
	return t.execOne("update policy", qUpdatePolicy, sliceArg(p.Permissions), rawArg(p.Conditions), string(p.Effect),
		p.Priority, p.RequireApproval, optTimeArg(p.ExpiresAt), p.ID)
}

func (t *txn) DeletePolicy(id string) error {
	return t.execOne("delete policy", qDeletePolicy, id)
}

func (t *txn) DeletePrincipalPolicies(pt clavis.PrincipalType, principalID string) error {
	return t.execAny("delete principal policies", qDeletePrincipalPolicies, string(pt), principalID)
}
