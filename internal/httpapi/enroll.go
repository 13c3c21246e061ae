package httpapi

import (
	"net/http"

	"clavis.dev/clavis"
)

// enrollMessage is the one message of every enrolment answer (spec §4.8).
const enrollMessage = "Enrollment requested; a human must approve it."

// nilUUID is the agent_id of an enrolment answer: the agent exists only after approval.
const nilUUID = "00000000-0000-0000-0000-000000000000"

type (
	enrollBody struct {
		Name        string `json:"name"`
		HumanEmail  string `json:"human_email"`
		Description string `json:"description"`
	}
	// enrollModel is EnrollResponse.
	enrollModel struct {
		AgentID          string `json:"agent_id"`
		Message          string `json:"message"`
		ApprovalURL      string `json:"approval_url"`
		EnrollmentID     string `json:"enrollment_id"`
		EnrollmentSecret string `json:"enrollment_secret"`
		ExpiresAt        string `json:"expires_at"`
	}
	// enrollStatusModel is EnrollmentStatus.
	enrollStatusModel struct {
		EnrollmentID string `json:"enrollment_id"`
		Status       string `json:"status"`
		AgentID      string `json:"agent_id,omitempty"`
		APIKey       string `json:"api_key,omitempty"`
	}
	// enrollmentModel is Enrollment.
	enrollmentModel struct {
		ID          string `json:"id"`
		Name        string `json:"name"`
		Description string `json:"description"`
		HumanEmail  string `json:"human_email"`
		Status      string `json:"status"`
		CreatedAt   string `json:"created_at"`
		ExpiresAt   string `json:"expires_at"`
		AgentID     string `json:"agent_id,omitempty"`
	}
	enrollmentList struct {
		Enrollments []enrollmentModel `json:"enrollments"`
	}
	enrollApprovedModel struct {
		Agent agentModel `json:"agent"`
	}
)

func enrollmentOf(e *clavis.Enrollment) enrollmentModel {
	return enrollmentModel{ID: e.ID, Name: e.Name, Description: e.Description, HumanEmail: e.HumanEmail,
		Status: e.Status, CreatedAt: ts(e.CreatedAt), ExpiresAt: ts(e.ExpiresAt), AgentID: e.AgentID}
}

func enroll(s *server, w http.ResponseWriter, r *http.Request, _ *clavis.Caller) error {
	var b enrollBody
	if err := decode(r, &b); err != nil {
		return err
	}
	t, err := s.svc.Enroll(r.Context(), clavis.EnrollInput{Name: b.Name, HumanEmail: b.HumanEmail, Description: b.Description}, s.clientIP(r))
	if err != nil {
		return err
	}
	writeJSON(w, 201, enrollModel{AgentID: nilUUID, Message: enrollMessage, ApprovalURL: t.ApprovalURL,
		EnrollmentID: t.EnrollmentID, EnrollmentSecret: string(t.Secret), ExpiresAt: ts(t.ExpiresAt)})
	return nil
}

func pollEnrollment(s *server, w http.ResponseWriter, r *http.Request, _ *clavis.Caller) error {
	st, err := s.svc.PollEnrollment(r.Context(), r.PathValue("enrollment_id"), r.Header.Get("X-Enrollment-Secret"), s.clientIP(r))
	if err != nil {
		return err
	}
	writeJSON(w, 200, enrollStatusModel{EnrollmentID: st.EnrollmentID, Status: st.Status, AgentID: st.AgentID, APIKey: string(st.APIKey)})
	return nil
}

func listEnrollments(s *server, w http.ResponseWriter, r *http.Request, c *clavis.Caller) error {
	es, err := s.svc.ListEnrollments(r.Context(), c)
	if err != nil {
		return err
	}
	writeJSON(w, 200, enrollmentList{mapList(es, enrollmentOf)})
	return nil
}

func approveEnrollment(s *server, w http.ResponseWriter, r *http.Request, c *clavis.Caller) error {
	var b agentBody
	if err := decode(r, &b); err != nil {
		return err
	}
	in := clavis.EnrollApproval{}
	if v := b.Scopes.value(); v != nil {
		in.Scopes = *v
	}
	if v := b.VaultIDs.value(); v != nil {
		in.VaultIDs = *v
	}
	if v := b.ExpiresAt.value(); v != nil {
		in.ExpiresAt = v.ptr()
	}
	if v := b.TokenTTL.value(); v != nil {
		in.TokenTTL = new(toInt(*v))
	}
	a, err := s.svc.ApproveEnrollment(r.Context(), c, r.PathValue("enrollment_id"), in)
	if err != nil {
		return err
	}
	writeJSON(w, 201, enrollApprovedModel{agentOf(a)})
	return nil
}

func denyEnrollment(s *server, w http.ResponseWriter, r *http.Request, c *clavis.Caller) error {
	if err := s.svc.DenyEnrollment(r.Context(), c, r.PathValue("enrollment_id")); err != nil {
		return err
	}
	w.WriteHeader(204)
	return nil
}
