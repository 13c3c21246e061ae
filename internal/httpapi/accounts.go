package httpapi

import (
	"net/http"

	"clavis.dev/clavis"
)

// Request bodies of the account routes.
type (
	signupBody struct {
		Email       string `json:"email"`
		Password    string `json:"password"`
		DisplayName string `json:"display_name"`
	}
	loginBody struct {
		Email    string `json:"email"`
		Password string `json:"password"`
	}
	agentTokenBody struct {
		APIKey  string `json:"api_key"`
		AgentID string `json:"agent_id"`
	}
	apiKeyTokenBody struct {
		APIKey string `json:"api_key"`
	}
	patchMeBody struct {
		DisplayName     *string `json:"display_name"`
		MarketingEmails *bool   `json:"marketing_emails"`
	}
	changePasswordBody struct {
		Current string `json:"current_password"`
		New     string `json:"new_password"`
	}
)

func signup(s *server, w http.ResponseWriter, r *http.Request, _ *clavis.Caller) error {
	var in signupBody
	if err := decode(r, &in); err != nil {
		return err
	}
	t, err := s.svc.Signup(r.Context(), clavis.SignupInput{Email: in.Email, Password: clavis.Sensitive(in.Password), DisplayName: in.DisplayName}, s.clientIP(r))
	if err != nil {
		return err
	}
	writeJSON(w, 200, signupOf(t))
	return nil
}

func login(s *server, w http.ResponseWriter, r *http.Request, _ *clavis.Caller) error {
	var in loginBody
	if err := decode(r, &in); err != nil {
		return err
	}
	t, err := s.svc.Login(r.Context(), in.Email, in.Password, s.clientIP(r))
	if err != nil {
		return err
	}
	writeJSON(w, 200, loginOf(t))
	return nil
}

func revokeToken(s *server, w http.ResponseWriter, r *http.Request, c *clavis.Caller) error {
	if err := s.svc.RevokeToken(r.Context(), c); err != nil {
		return err
	}
	w.WriteHeader(204)
	return nil
}

func agentToken(s *server, w http.ResponseWriter, r *http.Request, _ *clavis.Caller) error {
	var in agentTokenBody
	if err := decode(r, &in); err != nil {
		return err
	}
	t, err := s.svc.AgentToken(r.Context(), in.APIKey, in.AgentID, s.clientIP(r))
	if err != nil {
		return err
	}
	writeJSON(w, 200, tokenOf(t))
	return nil
}

func apiKeyToken(s *server, w http.ResponseWriter, r *http.Request, _ *clavis.Caller) error {
	var in apiKeyTokenBody
	if err := decode(r, &in); err != nil {
		return err
	}
	t, err := s.svc.APIKeyToken(r.Context(), in.APIKey, s.clientIP(r))
	if err != nil {
		return err
	}
	writeJSON(w, 200, tokenOf(t))
	return nil
}

func refresh(_ *server, _ http.ResponseWriter, _ *http.Request, _ *clavis.Caller) error {
	return clavis.Invalid("", "Refresh tokens are not issued; exchange your credentials again")
}

func getMe(s *server, w http.ResponseWriter, r *http.Request, c *clavis.Caller) error {
	u, err := s.svc.Me(r.Context(), c)
	if err != nil {
		return err
	}
	writeJSON(w, 200, userOf(u))
	return nil
}

func patchMe(s *server, w http.ResponseWriter, r *http.Request, c *clavis.Caller) error {
	var in patchMeBody
	if err := decode(r, &in); err != nil {
		return err
	}
	u, err := s.svc.UpdateMe(r.Context(), c, clavis.ProfilePatch{DisplayName: in.DisplayName, MarketingEmails: in.MarketingEmails})
	if err != nil {
		return err
	}
	writeJSON(w, 200, userOf(u))
	return nil
}

func changePassword(s *server, w http.ResponseWriter, r *http.Request, c *clavis.Caller) error {
	var in changePasswordBody
	if err := decode(r, &in); err != nil {
		return err
	}
	if err := s.svc.ChangePassword(r.Context(), c, in.Current, in.New); err != nil {
		return err
	}
	w.WriteHeader(204)
	return nil
}
