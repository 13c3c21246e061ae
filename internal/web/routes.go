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
}
