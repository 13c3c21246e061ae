package httpapi

// routes is the routes table: every served route, in one place (DESIGN §4 rule 5), with its request body
// type, success status and response body type. /openapi.json is generated from it; tests keep it in step
// with the spec and with what the handlers really send.
func routes() []route {
	return []route{
		// Health and discovery [core]
		{"GET", "/v1/health", true, "Service health", health, nil, 200, healthModel{}},
		{"GET", "/healthz", true, "Liveness", healthz, nil, 200, statusModel{}},
		{"GET", "/readyz", true, "Readiness: database, keys and audit log usable", readyz, nil, 200, statusModel{}},
		{"GET", "/metrics", true, "Prometheus metrics", metrics, nil, 200, ""},
		{"GET", "/openapi.json", true, "This API as OpenAPI 3.1", openapiDoc, nil, 200, map[string]any{}},
		{"GET", "/v1/auth/jwt-public-key", true, "Current JWT verification key", jwtPublicKey, nil, 200, publicKeyModel{}},
		{"GET", "/.well-known/jwks.json", true, "JSON Web Key Set", jwks, nil, 200, jwksModel{}},
		{"GET", "/.well-known/openid-configuration", true, "OpenID discovery document", openidConfig, nil, 200, openIDConfigModel{}},

		// Accounts and sessions
		{"POST", "/v1/auth/signup", true, "Create an account", signup, signupBody{}, 200, signupModel{}},
		{"POST", "/v1/auth/token", true, "Log in with email and password", login, loginBody{}, 200, loginModel{}},
		{"DELETE", "/v1/auth/token", false, "Revoke the presented access token", revokeToken, nil, 204, nil},
		{"POST", "/v1/auth/agent-token", true, "Exchange an agent key for an agent token", agentToken, agentTokenBody{}, 200, tokenModel{}},
		{"POST", "/v1/auth/api-key-token", true, "Exchange a 1ck_ or ocv_ key for a token", apiKeyToken, apiKeyTokenBody{}, 200, tokenModel{}},
		{"POST", "/v1/auth/refresh", true, "Refresh tokens are not issued (always 400)", refresh, nil, 0, nil},
		{"GET", "/v1/auth/me", false, "The calling user's profile", getMe, nil, 200, userModel{}},
		{"PATCH", "/v1/auth/me", false, "Change the calling user's profile", patchMe, patchMeBody{}, 200, userModel{}},
		{"POST", "/v1/auth/change-password", false, "Change password (revokes other sessions)", changePassword, changePasswordBody{}, 204, nil},

		// Multi-factor authentication [mfa]
		{"GET", "/v1/auth/mfa/status", false, "Whether MFA is enabled", mfaStatus, nil, 200, mfaStatusModel{}},
		{"POST", "/v1/auth/mfa/setup", false, "Start TOTP setup", mfaSetup, nil, 200, mfaSetupModel{}},
		{"POST", "/v1/auth/mfa/verify-setup", false, "Confirm TOTP setup; returns recovery codes", mfaVerifySetup, mfaCodeBody{}, 200, recoveryCodesModel{}},
		{"POST", "/v1/auth/mfa/verify", true, "Complete an MFA login challenge", mfaVerify, mfaVerifyBody{}, 200, tokenModel{}},
		{"DELETE", "/v1/auth/mfa", false, "Disable MFA with a code or the password", mfaDisable, mfaCodeBody{}, 204, nil},

		// Personal API keys
		{"POST", "/v1/auth/api-keys", false, "Create a personal API key", createAPIKey, apiKeyBody{}, 201, apiKeyCreatedModel{}},
		{"GET", "/v1/auth/api-keys", false, "List personal API keys", listAPIKeys, nil, 200, apiKeyList{}},
		{"DELETE", "/v1/auth/api-keys/{key_id}", false, "Revoke a personal API key", revokeAPIKey, nil, 204, nil},

		// Vaults
		{"POST", "/v1/vaults", false, "Create a vault", createVault, vaultBody{}, 201, vaultModel{}},
		{"GET", "/v1/vaults", false, "List visible vaults", listVaults, nil, 200, vaultList{}},
		{"GET", "/v1/vaults/{vault_id}", false, "Get a vault", getVault, nil, 200, vaultModel{}},
		{"DELETE", "/v1/vaults/{vault_id}", false, "Delete a vault and its key", deleteVault, nil, 204, nil},

		// Secrets
		{"GET", "/v1/vaults/{vault_id}/secrets", false, "List readable secrets (metadata only)", listSecrets, nil, 200, secretList{}},
		{"PUT", "/v1/vaults/{vault_id}/secrets/{path...}", false, "Write a new version of a secret", putSecret, secretBody{}, 201, secretMetaModel{}},
		{"GET", "/v1/vaults/{vault_id}/secrets/{path...}", false, "Read the latest version of a secret", getSecret, nil, 200, secretModel{}},
		{"DELETE", "/v1/vaults/{vault_id}/secrets/{path...}", false, "Soft-delete a secret", deleteSecret, nil, 204, nil},
		{"GET", "/v1/vaults/{vault_id}/secret-versions/{path...}", false, "List a secret's versions", listVersions, nil, 200, versionList{}},
		{"GET", "/v1/vaults/{vault_id}/secret-version/{path...}", false, "Read one version (last segment is the version)", getVersion, nil, 200, secretModel{}},
		{"POST", "/v1/vaults/{vault_id}/secret-version-disable/{path...}", false, "Disable one version", disableVersion, nil, 204, nil},
		{"POST", "/v1/vaults/{vault_id}/secret-rotate/{path...}", false, "Store a server-generated value", rotateSecret, rotateBody{}, 201, secretMetaModel{}},
		{"POST", "/v1/vaults/{vault_id}/secret-restore/{path...}", false, "Copy an earlier version into a new one", restoreVersion, nil, 201, secretMetaModel{}},

		// Use without read (spec use.md)
		{"PUT", "/v1/vaults/{vault_id}/secret-use/{path...}", false, "Set a secret's destination config", putUseConfig, useConfigBody{}, 200, useConfigModel{}},
		{"GET", "/v1/vaults/{vault_id}/secret-use/{path...}", false, "Get a secret's destination config", getUseConfig, nil, 200, useConfigModel{}},
		{"DELETE", "/v1/vaults/{vault_id}/secret-use/{path...}", false, "Delete a secret's destination config", deleteUseConfig, nil, 204, nil},
		{"POST", "/v1/vaults/{vault_id}/use/{path...}", false, "Call an allowed destination with the secret injected; the answer comes back redacted", useSecret, useBody{}, 200, useResultModel{}},

		// Agents
		{"POST", "/v1/agents", false, "Register an agent", createAgent, agentBody{}, 201, agentKeyModel{}},
		{"GET", "/v1/agents", false, "List the org's agents", listAgents, nil, 200, agentList{}},
		{"GET", "/v1/agents/me", false, "The calling agent's record", agentMe, nil, 200, agentSelfModel{}},
		{"GET", "/v1/agents/{agent_id}", false, "Get an agent", getAgent, nil, 200, agentModel{}},
		{"PATCH", "/v1/agents/{agent_id}", false, "Change an agent", patchAgent, agentBody{}, 200, agentModel{}},
		{"DELETE", "/v1/agents/{agent_id}", false, "Delete an agent", deleteAgent, nil, 204, nil},
		{"POST", "/v1/agents/{agent_id}/rotate-key", false, "Issue a new agent key", rotateAgentKey, nil, 200, agentKeyModel{}},

		// Agent self-enrolment [enroll]
		{"POST", "/v1/agents/enroll", true, "Ask a human to register this agent", enroll, enrollBody{}, 201, enrollModel{}},
		{"GET", "/v1/agents/enroll/{enrollment_id}", true, "Poll an enrolment (X-Enrollment-Secret)", pollEnrollment, nil, 200, enrollStatusModel{}},
		{"GET", "/v1/agents/enrollments", false, "Enrolments addressed to the caller", listEnrollments, nil, 200, enrollmentList{}},
		{"POST", "/v1/agents/enrollments/{enrollment_id}/approve", false, "Approve an enrolment: registers the agent", approveEnrollment, agentBody{}, 201, enrollApprovedModel{}},
		{"POST", "/v1/agents/enrollments/{enrollment_id}/deny", false, "Deny an enrolment", denyEnrollment, nil, 204, nil},

		// Policies
		{"POST", "/v1/vaults/{vault_id}/policies", false, "Create a policy", createPolicy, policyBody{}, 201, policyModel{}},
		{"GET", "/v1/vaults/{vault_id}/policies", false, "List a vault's policies", listPolicies, nil, 200, policyList{}},
		{"GET", "/v1/vaults/{vault_id}/policies/explain", false, "Explain an authorization decision", explain, nil, 200, explainModel{}},
		{"PUT", "/v1/vaults/{vault_id}/policies/{policy_id}", false, "Update a policy", updatePolicy, policyBody{}, 200, policyModel{}},
		{"DELETE", "/v1/vaults/{vault_id}/policies/{policy_id}", false, "Delete a policy", deletePolicy, nil, 204, nil},

		// Approvals [approvals]
		{"POST", "/v1/approvals/request", false, "Ask a human for a policy or a one-time access", requestApproval, approvalRequestBody{}, 202, approvalModel{}},
		{"GET", "/v1/approvals", false, "Approvals the caller may decide", listApprovals, nil, 200, approvalList{}},
		{"GET", "/v1/approvals/{approval_id}", false, "Get an approval", getApproval, nil, 200, approvalModel{}},
		{"POST", "/v1/approvals/{approval_id}/decide", false, "Approve or reject an approval", decideApproval, decideBody{}, 200, approvalModel{}},
		{"POST", "/v1/approvals/{approval_id}/approve", false, "Approve an approval", approveApproval, decideBody{}, 200, approvalModel{}},
		{"POST", "/v1/approvals/{approval_id}/deny", false, "Reject an approval", denyApproval, decideBody{}, 200, approvalModel{}},
		// Sharing [sharing]
		{"POST", "/v1/secrets/{secret_id}/share", false, "Share a secret", createShare, shareBody{}, 201, shareCreatedModel{}},
		{"GET", "/v1/share/{share_id}", true, "Open a share (link shares are public; directed ones need the recipient's credential)", openShare, nil, 200, sharedSecretModel{}},
		{"DELETE", "/v1/share/{share_id}", false, "Revoke a share", revokeShare, nil, 204, nil},
		{"GET", "/v1/shares/outbound", false, "Shares the caller created", listOutbound, nil, 200, shareList{}},
		{"GET", "/v1/shares/inbound", false, "Shares addressed to the caller", listInbound, nil, 200, shareList{}},
		{"POST", "/v1/shares/{share_id}/accept", false, "Accept a share", acceptShare, nil, 204, nil},
		{"POST", "/v1/shares/{share_id}/decline", false, "Decline a share", declineShare, nil, 204, nil},

		// Organisation [org]
		{"GET", "/v1/org/members", false, "List the org's members", listMembers, nil, 200, memberList{}},
		{"POST", "/v1/org/invite", false, "Invite an email into the org", inviteMember, inviteBody{}, 200, inviteModel{}},
		{"PATCH", "/v1/org/members/{user_id}", false, "Change a member's role", setMemberRole, roleBody{}, 200, memberModel{}},
		{"DELETE", "/v1/org/members/{user_id}", false, "Remove a member (disables the account)", removeMember, nil, 204, nil},
		{"GET", "/v1/org/agent-keys-vault", false, "The org's __agent-keys vault", agentKeysVault, nil, 200, agentKeysVaultModel{}},
		{"GET", "/v1/security/ip-rules", false, "List the org's IP rules", listIPRules, nil, 200, ipRuleList{}},
		{"POST", "/v1/security/ip-rules", false, "Add an IP rule", createIPRule, ipRuleBody{}, 201, ipRuleModel{}},
		{"DELETE", "/v1/security/ip-rules/{rule_id}", false, "Delete an IP rule", deleteIPRule, nil, 204, nil},

		// Audit
		{"GET", "/v1/audit/events", false, "List audit events", listAudit, nil, 200, auditList{}},
		{"GET", "/v1/audit/verify", false, "Verify the org's audit hash chain", verifyAudit, nil, 200, verifyModel{}},
	}
}
