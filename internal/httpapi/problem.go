package httpapi

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"

	"clavis.dev/clavis"
)

// statusOf is the one table from error Kind to HTTP status.
var statusOf = map[clavis.Kind]int{
	clavis.KindInternal:              http.StatusInternalServerError,
	clavis.KindInvalid:               http.StatusBadRequest,
	clavis.KindUnauthorized:          http.StatusUnauthorized,
	clavis.KindForbidden:             http.StatusForbidden,
	clavis.KindNotFound:              http.StatusNotFound,
	clavis.KindConflict:              http.StatusConflict,
	clavis.KindGone:                  http.StatusGone,
	clavis.KindTooLarge:              http.StatusRequestEntityTooLarge,
	clavis.KindRateLimited:           http.StatusTooManyRequests,
	clavis.KindUnavailable:           http.StatusServiceUnavailable,
	clavis.KindLimitExceeded:         http.StatusForbidden,
	clavis.KindApprovalRequired:      http.StatusForbidden,
	clavis.KindDestinationNotAllowed: http.StatusForbidden,
	clavis.KindBadGateway:            http.StatusBadGateway,
	clavis.KindGatewayTimeout:        http.StatusGatewayTimeout,
}

// problem is an RFC 9457 problem document (spec §1.6).
type problem struct {
	Type              string            `json:"type"`
	Title             string            `json:"title"`
	Status            int               `json:"status"`
	Detail            string            `json:"detail"`
	Instance          string            `json:"instance,omitempty"` // the request id, for support
	ApprovalRequestID string            `json:"approval_request_id,omitempty"`
	Fields            map[string]string `json:"fields,omitempty"`
}

// writeError answers with the problem document for err. Errors that are not *clavis.Error are internal:
// the caller learns nothing but the request id.
func writeError(w http.ResponseWriter, err error) {
	var e *clavis.Error
	if !errors.As(err, &e) {
		e = clavis.Internal(err)
	}
	status, ok := statusOf[e.Kind]
	if !ok {
		status = http.StatusInternalServerError
	}
	p := problem{Type: "about:blank", Title: http.StatusText(status), Status: status, Detail: e.Message}
	switch e.Kind {
	case clavis.KindInternal:
		p.Detail = "internal error (request id " + w.Header().Get("X-Request-Id") + ")"
	case clavis.KindLimitExceeded:
		p.Type, p.Title = "resource_limit_exceeded", "Resource Limit Exceeded"
	case clavis.KindDestinationNotAllowed:
		p.Type, p.Title = "destination_not_allowed", "Destination Not Allowed"
	case clavis.KindApprovalRequired:
		p.Type, p.Title, p.ApprovalRequestID = "approval_required", "Approval Required", e.ApprovalID
	case clavis.KindInvalid:
		if len(e.Fields) > 0 {
			p.Fields = e.Fields
		}
	case clavis.KindRateLimited:
		ra := e.RetryAfter
		if ra < 1 {
			ra = 1
		}
		w.Header().Set("Retry-After", strconv.Itoa(ra))
	}
	writeProblem(w, p)
}

func writeProblem(w http.ResponseWriter, p problem) {
	p.Instance = w.Header().Get("X-Request-Id")
	w.Header().Set("Content-Type", "application/problem+json")
	w.Header().Del("Content-Length")
	w.WriteHeader(p.Status)
	_ = json.NewEncoder(w).Encode(p)
}

// statusProblem answers with a plain problem for a status (routing answers, body limits).
func statusProblem(w http.ResponseWriter, status int, detail string) {
	writeProblem(w, problem{Type: "about:blank", Title: http.StatusText(status), Status: status, Detail: detail})
}

// writeJSON answers with a JSON body.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
