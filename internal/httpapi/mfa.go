package httpapi

import (
	"net/http"

	"clavis.dev/clavis"
)

// mfaCodeBody is the request body of verify-setup and disable; mfaVerifyBody completes a login.
type (
	mfaCodeBody struct {
		Code string `json:"code"`
	}
	mfaVerifyBody struct {
		MFAToken string `json:"mfa_token"`
		Code     string `json:"code"`
	}
)

func mfaStatus(s *server, w http.ResponseWriter, r *http.Request, c *clavis.Caller) error {
	on, err := s.svc.MFAStatus(r.Context(), c)
	if err != nil {
		return err
	}
	writeJSON(w, 200, mfaStatusModel{on})
	return nil
}

func mfaSetup(s *server, w http.ResponseWriter, r *http.Request, c *clavis.Caller) error {
	uri, secret, err := s.svc.MFASetup(r.Context(), c)
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, 200, mfaSetupModel{OTPAuthURI: uri, Secret: string(secret)})
	return nil
}

func mfaVerifySetup(s *server, w http.ResponseWriter, r *http.Request, c *clavis.Caller) error {
	var in mfaCodeBody
	if err := decode(r, &in); err != nil {
		return err
	}
	codes, err := s.svc.MFAVerifySetup(r.Context(), c, in.Code)
	if err != nil {
		return err
	}
	out := make([]string, len(codes))
	for i, rc := range codes {
		out[i] = string(rc)
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, 200, recoveryCodesModel{out})
	return nil
}

func mfaVerify(s *server, w http.ResponseWriter, r *http.Request, _ *clavis.Caller) error {
	var in mfaVerifyBody
	if err := decode(r, &in); err != nil {
		return err
	}
	t, err := s.svc.MFAVerify(r.Context(), in.MFAToken, in.Code, s.clientIP(r))
	if err != nil {
		return err
	}
	writeJSON(w, 200, tokenOf(t))
	return nil
}

func mfaDisable(s *server, w http.ResponseWriter, r *http.Request, c *clavis.Caller) error {
	var in mfaCodeBody
	if err := decode(r, &in); err != nil {
		return err
	}
	if err := s.svc.MFADisable(r.Context(), c, in.Code, r.Header.Get("X-Auth-Confirm")); err != nil {
		return err
	}
	w.WriteHeader(204)
	return nil
}
