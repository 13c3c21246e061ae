package clavis

import (
	"context"
	"time"
)

// UseConfig is the destination config of a secret path (spec use.md §2): where, how and into which slot
// the value of the path may be sent by a proxied use. It belongs to the path: it survives new versions
// and a soft delete, and goes with the vault.
type UseConfig struct {
	VaultID, Path       string
	AllowedHosts        []string // normalised: lower-case punycode, no trailing dot, optional :port
	AllowedMethods      []string // upper-case
	AllowedPathPrefixes []string
	Inject              UseInject
	AllowHTTP           bool
	CreatedBy           string // bare uuid
	CreatedByType       PrincipalType
	CreatedAt           time.Time
	UpdatedAt           time.Time
}

// Injection slots of a UseConfig.
const (
	InjectBearer = "bearer" // Authorization: Bearer <value>
	InjectBasic  = "basic"  // Authorization: Basic base64(username:<value>) or base64(<value>:password)
	InjectHeader = "header" // <Name>: <Prefix><value>
	InjectQuery  = "query"  // ?<Name>=<value>
)

// UseInject names the one slot the value goes into.
type UseInject struct {
	As       string  // InjectBearer, InjectBasic, InjectHeader or InjectQuery
	Name     string  // header or query parameter name (header, query)
	Prefix   string  // text before the value (header)
	Username *string // basic: the username; the value is the password
	Password *string // basic: the password; the value is the username (exactly one of the two is set)
}

// UseConfigInput sets a destination config; empty AllowedMethods means the default, GET and POST.
type UseConfigInput struct {
	AllowedHosts        []string
	AllowedMethods      []string
	AllowedPathPrefixes []string
	Inject              UseInject
	AllowHTTP           bool
}

// UseRequest is the request a caller asks Clavis to make with a secret (spec use.md §3).
type UseRequest struct {
	Method    string // "" = GET
	URL       string
	Headers   map[string]string
	Body      []byte
	TimeoutMS int // 0 = the default, 10000
}

// UseResult is the upstream's answer with every rendered form of the value redacted.
type UseResult struct {
	Status     int
	Headers    map[string][]string // lower-case names, without Set-Cookie and hop-by-hop headers
	Body       []byte              // redacted, at most 1 MiB
	Truncated  bool
	Redactions int
}

// Uses are proxied uses of secrets (use without read, spec use.md) and their destination configs.
type Uses interface {
	// PutUseConfig sets the destination config of a path. Errors: KindInvalid, KindForbidden (not a user
	// with read and write on the path, nor the vault's owner; an agent; a scoped key), KindNotFound
	// (vault, or no secret at the path), KindConflict (the value is shorter than 16 bytes).
	PutUseConfig(ctx context.Context, vaultID, path string, in UseConfigInput) (*UseConfig, error)
	// GetUseConfig returns the destination config of a path. Errors: KindForbidden (neither use nor
	// read), KindNotFound (vault, or no config).
	GetUseConfig(ctx context.Context, vaultID, path string) (*UseConfig, error)
	// DeleteUseConfig removes the destination config of a path. Errors: as PutUseConfig, and
	// KindNotFound when none is set.
	DeleteUseConfig(ctx context.Context, vaultID, path string) error
	// UseSecret sends req with the latest value injected and returns the redacted answer. Errors:
	// KindInvalid, KindForbidden, KindDestinationNotAllowed, KindNotFound, KindGone, KindConflict (value
	// too short), KindRateLimited, KindApprovalRequired, KindUnavailable (the use could not be audited:
	// nothing was sent), KindBadGateway, KindGatewayTimeout.
	UseSecret(ctx context.Context, vaultID, path string, req UseRequest) (*UseResult, error)
}
