package sqlite

// queries lists the static statements that Open prepares on each pool. Statements built at run time
// (ListAudit) run unprepared. TestQueriesPrepared checks that every q* constant is listed.
var queries = []string{
	qServerKey, qPutServerKey, qServerKeyNames, qReplaceServerKey,
	qCreateOrg, qGetOrg, qCountOrgs,
	qCreateUser, qGetUser, qGetUserByEmail, qListUsers, qUpdateUser,
	qCreateAPIKey, qGetAPIKey, qGetAPIKeyByHash, qListAPIKeys, qUpdateAPIKey,
	qCreateAgent, qGetAgent, qGetAgentByKeyHash, qListAgents, qUpdateAgent, qDeleteAgent,
	qCreateVault, qGetVault, qListVaults, qSystemVault, qDeleteVault,
	qGetSecret, qInsertSecret, qNextVersion, qSetSecretDeleted, qListSecrets, qPurgeSecrets,
	qCreateVersion, qGetVersion, qListVersions, qSetVersionDisabled, qConsumeAccess, qVersionExists,
	qCreatePolicy, qGetPolicy, qListPolicies, qListPrincipalPolicies, qPrincipalPolicies, qPolicyVaultIDs, qUpdatePolicy,
	qDeletePolicy, qDeletePrincipalPolicies,
	qNameRef, qInsertName, qAuditSeq, qInsertAudit, qSetAuditHead, qAuditChain, qAuditChainAfter, qAuditChainHead,
	qRevokeToken, qTokenRevoked, qPruneRevokedTokens, qWriteProbe,
	qListOrgs, qGetMFA, qPutMFA,
	qAddVaultKey, qGetVaultKey, qCurrentVaultKey, qCountEncryption, qAllSecrets, qReplaceCiphertext,
	qAllVaultKeys, qRewrapVaultKey, qRewrapVaultWrappedKey,
	qCreateApproval, qGetApproval, qPendingAccessApproval, qListApprovals, qDecideApproval, qExpireApprovals,
	qUseGrant, qCreateEnrollment, qGetEnrollment, qClaimEnrollment, qEnrollmentClaim, qListEnrollments, qDecideEnrollment,
	qExpireEnrollments, qDeliverEnrollmentKey, qRecordDelivery, qListDeliveries,
	qGetSecretByID, qCreateShare, qGetShare, qListSharesBy, qListSharesTo, qConsumeShare, qShareExists,
	qSetShareAnswer, qDeleteShare, qDeleteSharesTo, qBindEmail,
	qLockOrg, qPutInvite, qGetInvite, qDeleteInvite, qCreateIPRule, qGetIPRule, qListIPRules, qDeleteIPRule,
	qGetUseConfig, qPutUseConfig, qDeleteUseConfig,
	qCreateWebSession, qWebSessionByHash, qTouchWebSession, qDeleteWebSession, qListWebSessions,
	qStateEpoch, qGetSecretVersion, qGetLatestVersion,
}
