package client

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"clavis.dev/clavis"
)

// Problem is what the server said about a failed request besides the caller-facing message: the Err of
// every *clavis.Error this package returns for a non-2xx answer. Reach it with errors.As to log the
// request id.
type Problem struct {
	Status    int    // HTTP status code
	Type      string // problem type ("about:blank", "resource_limit_exceeded", "approval_required", "destination_not_allowed"); "" if the body was not a problem document
	Title     string
	Detail    string
	Instance  string
	RequestID string // X-Request-Id response header
}

func (p *Problem) Error() string {
	s := "HTTP " + strconv.Itoa(p.Status)
	if t := http.StatusText(p.Status); t != "" {
		s += " " + t
	}
	if p.RequestID != "" {
		s += " (request id " + p.RequestID + ")"
	}
	return s
}

// problemDoc is the problem+json document of spec §1.6.
type problemDoc struct {
	Type              string            `json:"type"`
	Title             string            `json:"title"`
	Status            int               `json:"status"`
	Detail            string            `json:"detail"`
	Instance          string            `json:"instance"`
	ApprovalRequestID string            `json:"approval_request_id"`
	Fields            map[string]string `json:"fields"`
}

// errorFrom rebuilds the *clavis.Error of a non-2xx response. A body that is not a problem document
// (a proxy's HTML page, net/http's plain-text 431) still yields the Kind of the status code, with the
// status text as Message.
func errorFrom(resp *http.Response) *clavis.Error {
	var doc problemDoc
	b, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	if json.Unmarshal(b, &doc) != nil {
		doc = problemDoc{}
	}
	e := &clavis.Error{
		Kind:       kindOf(resp.StatusCode, doc.Type),
		Message:    doc.Detail,
		Fields:     doc.Fields,
		ApprovalID: doc.ApprovalRequestID,
		Err: &Problem{Status: resp.StatusCode, Type: doc.Type, Title: doc.Title, Detail: doc.Detail,
			Instance: doc.Instance, RequestID: resp.Header.Get("X-Request-Id")},
	}
	if e.Message == "" {
		e.Message = doc.Title
	}
	if e.Message == "" {
		e.Message = http.StatusText(resp.StatusCode)
	}
	if e.Message == "" {
		e.Message = fmt.Sprintf("HTTP %d", resp.StatusCode)
	}
	if resp.StatusCode == http.StatusTooManyRequests {
		e.RetryAfter = retryAfter(resp.Header.Get("Retry-After"), time.Now())
	}
	return e
}

// kindOf maps a status code, and for 403, 502 and 504 the problem type, to a Kind. Statuses the spec does not give
// a meaning map to KindInvalid (other 4xx: the request was wrong) or KindInternal (everything else).
func kindOf(status int, problemType string) clavis.Kind {
	switch status {
	case http.StatusBadRequest:
		return clavis.KindInvalid
	case http.StatusUnauthorized:
		return clavis.KindUnauthorized
	case http.StatusForbidden:
		switch problemType {
		case "resource_limit_exceeded":
			return clavis.KindLimitExceeded
		case "approval_required":
			return clavis.KindApprovalRequired
		case "destination_not_allowed":
			return clavis.KindDestinationNotAllowed
		}
		return clavis.KindForbidden
	case http.StatusNotFound:
		return clavis.KindNotFound
	case http.StatusConflict:
		return clavis.KindConflict
	case http.StatusGone:
		return clavis.KindGone
	case http.StatusRequestEntityTooLarge, http.StatusRequestHeaderFieldsTooLarge:
		return clavis.KindTooLarge
	case http.StatusTooManyRequests:
		return clavis.KindRateLimited
	case http.StatusServiceUnavailable:
		return clavis.KindUnavailable
	case http.StatusBadGateway, http.StatusGatewayTimeout:
		// Clavis's own answer about a use's upstream is a problem document; a proxy's 502 page is not
		if problemType == "" {
			return clavis.KindInternal
		}
		if status == http.StatusGatewayTimeout {
			return clavis.KindGatewayTimeout
		}
		return clavis.KindBadGateway
	}
	if status >= 400 && status < 500 {
		return clavis.KindInvalid
	}
	return clavis.KindInternal
}

// retryAfter reads a Retry-After header in seconds: delay-seconds as given, an HTTP-date as the seconds
// left from now (rounded up). Absent, malformed or past → 0.
func retryAfter(v string, now time.Time) int {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if n, err := strconv.Atoi(v); err == nil {
		return max(n, 0)
	}
	t, err := http.ParseTime(v)
	if err != nil {
		return 0
	}
	return max(int(math.Ceil(t.Sub(now).Seconds())), 0)
}
