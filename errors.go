package clavis

import (
	"errors"
	"fmt"
	"strings"
)

// Kind classifies an Error. Transports map each Kind to exactly one status code and problem type.
type Kind int

const (
	KindInternal         Kind = iota // unexpected failure; callers see only "internal error"
	KindInvalid                      // malformed or invalid input (400)
	KindUnauthorized                 // missing, invalid, expired or revoked credentials (401)
	KindForbidden                    // authenticated but not allowed (403)
	KindNotFound                     // does not exist, or the caller may not know it exists (404)
	KindConflict                     // state conflict such as a duplicate email (409)
	KindGone                         // existed but is deleted, expired, exhausted or disabled (410)
	KindTooLarge                     // body or value too large (413)
	KindRateLimited                  // too many requests (429)
	KindUnavailable                  // not ready, or the audit log cannot record (503)
	KindLimitExceeded                // an operator-configured resource limit (403 resource_limit_exceeded)
	KindApprovalRequired             // a human must approve (403 approval_required)
	// KindDestinationNotAllowed refuses a proxied use's destination (403 destination_not_allowed, use.md §3).
	KindDestinationNotAllowed
	KindBadGateway     // a proxied use's upstream failed or answered unusably (502)
	KindGatewayTimeout // a proxied use's upstream timed out (504)
)

var kindNames = map[Kind]string{
	KindInternal: "internal", KindInvalid: "invalid", KindUnauthorized: "unauthorized",
	KindForbidden: "forbidden", KindNotFound: "not_found", KindConflict: "conflict", KindGone: "gone",
	KindTooLarge: "too_large", KindRateLimited: "rate_limited", KindUnavailable: "unavailable",
	KindLimitExceeded: "limit_exceeded", KindApprovalRequired: "approval_required",
	KindDestinationNotAllowed: "destination_not_allowed", KindBadGateway: "bad_gateway",
	KindGatewayTimeout: "gateway_timeout",
}

func (k Kind) String() string {
	if s, ok := kindNames[k]; ok {
		return s
	}
	return fmt.Sprintf("kind(%d)", int(k))
}

// Error is the one error type that crosses package boundaries. Message is safe to show to the caller
// (it never contains a secret value, key, password or internal detail); Err is the cause, for logs only.
type Error struct {
	Kind    Kind
	Message string
	Err     error
	// Fields maps request fields to messages (only for KindInvalid).
	Fields map[string]string
	// RetryAfter is the number of seconds to wait (only for KindRateLimited).
	RetryAfter int
	// ApprovalID names the pending approval (only for KindApprovalRequired).
	ApprovalID string
}

func (e *Error) Error() string {
	if e.Err != nil {
		return e.Kind.String() + ": " + e.Message + ": " + e.Err.Error()
	}
	return e.Kind.String() + ": " + e.Message
}

func (e *Error) Unwrap() error { return e.Err }

// E builds an Error of the given kind with a caller-safe message.
func E(kind Kind, msg string) *Error { return &Error{Kind: kind, Message: msg} }

// Internal wraps an unexpected error; the caller sees only a generic message.
func Internal(err error) *Error {
	return &Error{Kind: KindInternal, Message: "internal error", Err: err}
}

// Invalid is a 400 with an optional field message.
func Invalid(field, msg string) *Error {
	e := &Error{Kind: KindInvalid, Message: msg}
	if field != "" {
		e.Fields = map[string]string{field: msg}
	}
	return e
}

// Common errors whose wording must be identical wherever they occur (spec §1.6, §1.7). They are
// constants, so no package can reassign them.
const (
	ErrNotFound      Sentinel = "not_found: Not found"
	ErrForbidden     Sentinel = "forbidden: Insufficient permissions"
	ErrUnauthorized  Sentinel = "unauthorized: Invalid or expired token"
	ErrBadCredential Sentinel = "unauthorized: Invalid credentials"
)

// Sentinel is an error constant written "<kind>: <message>", where kind is a Kind's String form. It
// reads as the *Error it describes: errors.As (so KindOf, IsKind and every transport) finds a Sentinel,
// also wrapped, as that *Error, and errors.Is matches it by value.
type Sentinel string

func (s Sentinel) Error() string { return string(s) }

// As sets *target to the *Error that s describes when target is a **Error.
func (s Sentinel) As(target any) bool {
	p, ok := target.(**Error)
	if ok {
		*p = s.describe()
	}
	return ok
}

func (s Sentinel) describe() *Error {
	name, msg, _ := strings.Cut(string(s), ": ")
	for k, n := range kindNames {
		if n == name {
			return &Error{Kind: k, Message: msg}
		}
	}
	return Internal(fmt.Errorf("malformed sentinel %q", string(s)))
}

// KindOf returns the Kind of err, KindInternal for errors that are not *Error.
func KindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return KindInternal
}

// IsKind reports whether err is an *Error of kind k.
func IsKind(err error, k Kind) bool { return err != nil && KindOf(err) == k }
