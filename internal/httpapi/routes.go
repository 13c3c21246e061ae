package httpapi

// routes is the routes table: every served route, in one place (DESIGN §4 rule 5). /openapi.json is
// generated from it, and a test keeps it in step with the spec.
func routes() []route {
	return []route{
		// Health and discovery [core]
		{"GET", "/v1/health", true, "Service health", health},
		{"GET", "/healthz", true, "Liveness", healthz},
		{"GET", "/readyz", true, "Readiness: database, keys and audit log usable", readyz},
		{"GET", "/metrics", true, "Prometheus metrics", metrics},
		{"GET", "/openapi.json", true, "This API as OpenAPI 3.1", openapiDoc},
		{"GET", "/v1/auth/jwt-public-key", true, "Current JWT verification key", jwtPublicKey},
		{"GET", "/.well-known/jwks.json", true, "JSON Web Key Set", jwks},
		{"GET", "/.well-known/openid-configuration", true, "OpenID discovery document", openidConfig},

		// Accounts and sessions
		{"POST", "/v1/auth/signup", true, "Create an account", signup},
		{"POST", "/v1/auth/token", true, "Log in with email and password", login},
		{"DELETE", "/v1/auth/token", false, "Revoke the presented access token", revokeToken},
		{"POST", "/v1/auth/agent-token", true, "Exchange an agent key for an agent token", agentToken},
		{"POST", "/v1/auth/api-key-token", true, "Exchange a 1ck_ or ocv_ key for a token", apiKeyToken},
		{"POST", "/v1/auth/refresh", true, "Refresh tokens are not issued (always 400)", refresh},
		{"GET", "/v1/auth/me", false, "The calling user's profile", getMe},
		{"PATCH", "/v1/auth/me", false, "Change the calling user's profile", patchMe},
		{"POST", "/v1/auth/change-password", false, "Change password (revokes other sessions)", changePassword},

		// Multi-factor authentication [mfa]
		{"GET", "/v1/auth/mfa/status", false, "Whether MFA is enabled", mfaStatus},
		{"POST", "/v1/auth/mfa/setup", false, "Start TOTP setup", mfaSetup},
		{"POST", "/v1/auth/mfa/verify-setup", false, "Confirm TOTP setup; returns recovery codes", mfaVerifySetup},
		{"POST", "/v1/auth/mfa/verify", true, "Complete an MFA login challenge", mfaVerify},
		{"DELETE", "/v1/auth/mfa", false, "Disable MFA with a code or the password", mfaDisable},

		// Personal API keys
		{"POST", "/v1/auth/api-keys", false, "Create a personal API key", createAPIKey},
		{"GET", "/v1/auth/api-keys", false, "List personal API keys", listAPIKeys},
		{"DELETE", "/v1/auth/api-keys/{key_id}", false, "Revoke a personal API key", revokeAPIKey},

		// Vaults
		{"POST", "/v1/vaults", false, "Create a vault", createVault},
		{"GET", "/v1/vaults", false, "List visible vaults", listVaults},
		{"GET", "/v1/vaults/{vault_id}", false, "Get a vault", getVault},
		{"DELETE", "/v1/vaults/{vault_id}", false, "Delete a vault and its key", deleteVault},

		// Secrets
		{"GET", "/v1/vaults/{vault_id}/secrets", false, "List readable secrets (metadata only)", listSecrets},
		{"PUT", "/v1/vaults/{vault_id}/secrets/{path...}", false, "Write a new version of a secret", putSecret},
		{"GET", "/v1/vaults/{vault_id}/secrets/{path...}", false, "Read the latest version of a secret", getSecret},
		{"DELETE", "/v1/vaults/{vault_id}/secrets/{path...}", false, "Soft-delete a secret", deleteSecret},
		{"GET", "/v1/vaults/{vault_id}/secret-versions/{path...}", false, "List a secret's versions", listVersions},
		{"GET", "/v1/vaults/{vault_id}/secret-version/{path...}", false, "Read one version (last segment is the version)", getVersion},
		{"POST", "/v1/vaults/{vault_id}/secret-version-disable/{path...}", false, "Disable one version", disableVersion},
		{"POST", "/v1/vaults/{vault_id}/secret-rotate/{path...}", false, "Store a server-generated value", rotateSecret},
		{"POST", "/v1/vaults/{vault_id}/secret-restore/{path...}", false, "Copy an earlier version into a new one", restoreVersion},

		// Agents
		{"POST", "/v1/agents", false, "Register an agent", createAgent},
		{"GET", "/v1/agents", false, "List the org's agents", listAgents},
		{"GET", "/v1/agents/me", false, "The calling agent's record", agentMe},
		{"GET", "/v1/agents/{agent_id}", false, "Get an agent", getAgent},
		{"PATCH", "/v1/agents/{agent_id}", false, "Change an agent", patchAgent},
		{"DELETE", "/v1/agents/{agent_id}", false, "Delete an agent", deleteAgent},
		{"POST", "/v1/agents/{agent_id}/rotate-key", false, "Issue a new agent key", rotateAgentKey},

		// Policies
		{"POST", "/v1/vaults/{vault_id}/policies", false, "Create a policy", createPolicy},
		{"GET", "/v1/vaults/{vault_id}/policies", false, "List a vault's policies", listPolicies},
		{"GET", "/v1/vaults/{vault_id}/policies/explain", false, "Explain an authorization decision", explain},
		{"PUT", "/v1/vaults/{vault_id}/policies/{policy_id}", false, "Update a policy", updatePolicy},
		{"DELETE", "/v1/vaults/{vault_id}/policies/{policy_id}", false, "Delete a policy", deletePolicy},

		// Audit
		{"GET", "/v1/audit/events", false, "List audit events", listAudit},
		{"GET", "/v1/audit/verify", false, "Verify the org's audit hash chain", verifyAudit},
	}
}
