package httpapi

import (
	"net/http"

	"clavis.dev/clavis"
)

// shareBody is the request body of share creation. permissions is accepted and ignored (shares are
// read-only, spec §4.11).
type shareBody struct {
	RecipientType  string           `json:"recipient_type"`
	RecipientID    string           `json:"recipient_id"`
	Email          string           `json:"email"`
	ExpiresAt      *reqTime         `json:"expires_at"`
	MaxAccessCount *int64           `json:"max_access_count"`
	Passphrase     clavis.Sensitive `json:"passphrase"`
	IPAllowlist    []string         `json:"ip_allowlist"`
	Permissions    []string         `json:"permissions"`
}

// shareCreatedModel is ShareCreated.
type shareCreatedModel struct {
	ID             string `json:"id"`
	ShareURL       string `json:"share_url"`
	RecipientType  string `json:"recipient_type"`
	RecipientID    string `json:"recipient_id,omitempty"`
	RecipientEmail string `json:"recipient_email,omitempty"`
	ExpiresAt      string `json:"expires_at"`
	MaxAccessCount int    `json:"max_access_count"`
}

// recipientKeys returns recipient_id (user, agent and creator shares) and recipient_email
// (external_email shares), each "" (omitted) where the model has none.
func recipientKeys(sh *clavis.Share) (id, email string) {
	switch sh.RecipientType {
	case clavis.ShareToExternalEmail:
		return "", sh.RecipientEmail
	case clavis.ShareToAnyone:
		return "", ""
	}
	return sh.RecipientID, ""
}

func shareCreatedOf(sh *clavis.Share) shareCreatedModel {
	id, email := recipientKeys(sh)
	return shareCreatedModel{ID: sh.ID, ShareURL: sh.URL, RecipientType: sh.RecipientType, RecipientID: id,
		RecipientEmail: email, ExpiresAt: ts(sh.ExpiresAt), MaxAccessCount: sh.MaxAccessCount}
}

// shareItemModel is ShareListItem.
type shareItemModel struct {
	ID             string `json:"id"`
	SecretID       string `json:"secret_id"`
	SecretPath     string `json:"secret_path"`
	RecipientType  string `json:"recipient_type"`
	RecipientID    string `json:"recipient_id,omitempty"`
	RecipientEmail string `json:"recipient_email,omitempty"`
	AccessCount    int    `json:"access_count"`
	MaxAccessCount int    `json:"max_access_count"`
	ExpiresAt      string `json:"expires_at"`
	CreatedAt      string `json:"created_at"`
	IsExpired      bool   `json:"is_expired"`
	IsAccepted     bool   `json:"is_accepted"`
}

func shareItemOf(sh *clavis.Share) shareItemModel {
	id, email := recipientKeys(sh)
	return shareItemModel{ID: sh.ID, SecretID: sh.SecretID, SecretPath: sh.SecretPath, RecipientType: sh.RecipientType,
		RecipientID: id, RecipientEmail: email, AccessCount: sh.AccessCount, MaxAccessCount: sh.MaxAccessCount,
		ExpiresAt: ts(sh.ExpiresAt), CreatedAt: ts(sh.CreatedAt), IsExpired: sh.Expired, IsAccepted: sh.IsAccepted()}
}

// sharedSecretModel is SharedSecret.
type sharedSecretModel struct {
	ID             string `json:"id"`
	Path           string `json:"path"`
	Type           string `json:"type"`
	Value          string `json:"value"`
	AccessCount    int    `json:"access_count"`
	MaxAccessCount int    `json:"max_access_count"`
}

type shareList struct {
	Shares []shareItemModel `json:"shares"`
}

func createShare(s *server, w http.ResponseWriter, r *http.Request, c *clavis.Caller) error {
	var b shareBody
	if err := decode(r, &b); err != nil {
		return err
	}
	if s.perOrgShares != nil {
		if err := limited(s.perOrgShares, c.OrgID); err != nil {
			return err
		}
	}
	in := clavis.ShareInput{RecipientType: b.RecipientType, RecipientID: b.RecipientID, Email: b.Email,
		ExpiresAt: b.ExpiresAt.ptr(), Passphrase: b.Passphrase, IPAllowlist: b.IPAllowlist}
	if b.MaxAccessCount != nil {
		in.MaxAccessCount = new(toInt(*b.MaxAccessCount))
	}
	sh, err := s.svc.CreateShare(r.Context(), c, r.PathValue("secret_id"), in)
	if err != nil {
		return err
	}
	writeJSON(w, 201, shareCreatedOf(sh))
	return nil
}

// openShare is public for link shares; a directed share needs its recipient's credential, so an
// Authorization header, when sent, is checked like on any authenticated route.
func openShare(s *server, w http.ResponseWriter, r *http.Request, _ *clavis.Caller) error {
	var c *clavis.Caller
	if r.Header.Get("Authorization") != "" {
		var err error
		if c, err = s.authenticate(r); err != nil {
			return err
		}
	}
	pass := r.Header.Get("X-Share-Passphrase")
	if pass == "" {
		pass = r.URL.Query().Get("passphrase")
	}
	out, err := s.svc.AccessShare(r.Context(), c, r.PathValue("share_id"), clavis.Sensitive(pass), s.clientIP(r))
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, 200, sharedSecretModel{ID: out.ShareID, Path: out.Path, Type: out.Type, Value: string(out.Value),
		AccessCount: out.AccessCount, MaxAccessCount: out.MaxAccessCount})
	return nil
}

func revokeShare(s *server, w http.ResponseWriter, r *http.Request, c *clavis.Caller) error {
	if err := s.svc.RevokeShare(r.Context(), c, r.PathValue("share_id")); err != nil {
		return err
	}
	w.WriteHeader(204)
	return nil
}

func listOutbound(s *server, w http.ResponseWriter, r *http.Request, c *clavis.Caller) error {
	shs, err := s.svc.ListOutboundShares(r.Context(), c)
	if err != nil {
		return err
	}
	writeJSON(w, 200, shareList{mapList(shs, shareItemOf)})
	return nil
}

func listInbound(s *server, w http.ResponseWriter, r *http.Request, c *clavis.Caller) error {
	shs, err := s.svc.ListInboundShares(r.Context(), c)
	if err != nil {
		return err
	}
	writeJSON(w, 200, shareList{mapList(shs, shareItemOf)})
	return nil
}

func acceptShare(s *server, w http.ResponseWriter, r *http.Request, c *clavis.Caller) error {
	if err := s.svc.AcceptShare(r.Context(), c, r.PathValue("share_id")); err != nil {
		return err
	}
	w.WriteHeader(204)
	return nil
}

func declineShare(s *server, w http.ResponseWriter, r *http.Request, c *clavis.Caller) error {
	if err := s.svc.DeclineShare(r.Context(), c, r.PathValue("share_id")); err != nil {
		return err
	}
	w.WriteHeader(204)
	return nil
}
