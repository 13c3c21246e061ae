package web

import "net/http"

// routes is the dashboard's one routing table. GET never changes state; every action is a POST.
func (h *Handler) routes() {
	pub := func(pattern string, v view, a action) {
		h.mux.Handle("GET "+pattern, h.public(v, nil))
		h.mux.Handle("POST "+pattern, h.public(v, a))
	}
	pub("/ui/login", loginView, login)
	pub("/ui/login/mfa", mfaView, mfaVerify)
	pub("/ui/signup", signupView, signup)

	get := func(pattern string, v view) { h.mux.Handle("GET "+pattern, h.signedIn(v, nil)) }
	post := func(pattern string, a action) { h.mux.Handle("POST "+pattern, h.signedIn(nil, a)) }
	h.mux.Handle("GET /ui/{$}", http.RedirectHandler("/ui/vaults", http.StatusSeeOther))
	post("/ui/logout", logout)

	get("/ui/vaults", vaultsView)
	post("/ui/vaults", createVault)
	get("/ui/vaults/{vault}", vaultView)
	post("/ui/vaults/{vault}/delete", deleteVault)
	post("/ui/vaults/{vault}/secrets", putSecret)
	get("/ui/vaults/{vault}/secret", secretView)
	post("/ui/vaults/{vault}/reveal", reveal)
	post("/ui/vaults/{vault}/rotate", rotateSecret)
	post("/ui/vaults/{vault}/delete-secret", deleteSecret)
	post("/ui/vaults/{vault}/disable", versionAction(false))
	post("/ui/vaults/{vault}/restore", versionAction(true))
	post("/ui/vaults/{vault}/use-config", putUseConfig)
	post("/ui/vaults/{vault}/use-config/delete", deleteUseConfig)
	post("/ui/vaults/{vault}/share", createShare)

	get("/ui/vaults/{vault}/policies", policiesView)
	post("/ui/vaults/{vault}/policies", createPolicy)
	post("/ui/vaults/{vault}/policies/{policy}", updatePolicy)
	post("/ui/vaults/{vault}/policies/{policy}/delete", deletePolicy)

	get("/ui/agents", agentsView)
	post("/ui/agents", createAgent)
	get("/ui/agents/{agent}", agentView)
	post("/ui/agents/{agent}", updateAgent)
	post("/ui/agents/{agent}/rotate", rotateAgentKey)
	post("/ui/agents/{agent}/deactivate", setAgentActive(false))
	post("/ui/agents/{agent}/activate", setAgentActive(true))
	post("/ui/agents/{agent}/delete", deleteAgent)

	// the deep links of internal/notify's emails and webhooks: /ui/approvals/{id}, /ui/enrollments/{id}
	get("/ui/approvals", inboxView)
	get("/ui/approvals/{approval}", approvalView)
	post("/ui/approvals/{approval}/decide", decideApproval)
	get("/ui/enrollments/{enrollment}", enrollmentView)
	post("/ui/enrollments/{enrollment}/approve", approveEnrollment)
	post("/ui/enrollments/{enrollment}/deny", denyEnrollment)

	get("/ui/shares", sharesView)
	post("/ui/shares/{share}/revoke", revokeShare)
	post("/ui/shares/{share}/accept", answerShare(true))
	post("/ui/shares/{share}/decline", answerShare(false))
	post("/ui/shares/{share}/open", openShare)

	get("/ui/audit", auditView)

	get("/ui/account", accountView)
	post("/ui/account/profile", saveProfile)
	post("/ui/account/password", changePassword)
	post("/ui/account/mfa/setup", mfaSetup)
	h.mux.Handle("GET /ui/account/mfa/qr.png", h.signedIn(nil, mfaQR))
	post("/ui/account/mfa/verify", mfaVerifySetup)
	post("/ui/account/mfa/disable", mfaDisable)
	post("/ui/account/api-keys", createAPIKey)
	post("/ui/account/api-keys/{key}/revoke", revokeAPIKey)
	post("/ui/account/sessions/{session}/revoke", revokeSession)
	get("/ui/account/members", membersView)
	post("/ui/account/members/invite", inviteMember)
	post("/ui/account/members/{user}/role", setMemberRole)
	post("/ui/account/members/{user}/remove", removeMember)
	get("/ui/account/ip-rules", ipRulesView)
	post("/ui/account/ip-rules", createIPRule)
	post("/ui/account/ip-rules/{rule}/delete", deleteIPRule)
}
