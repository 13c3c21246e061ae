//go:build !cgo

package pkcs11

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
)

// errNoCgo is what every operation of a build without cgo returns.
var errNoCgo = errors.New("pkcs11 root key: PKCS#11 support needs a cgo build (CGO_ENABLED=1 and a C compiler); this binary was built without cgo")

// Provider is a placeholder in builds without cgo: Open never returns one.
type Provider struct{}

// Open checks the URI, then fails: PKCS#11 support needs a cgo build.
func Open(uri string, create bool) (*Provider, error) {
	if _, err := ParseURI(uri); err != nil {
		return nil, fmt.Errorf("pkcs11 root key: %w", err)
	}
	return nil, errNoCgo
}

// Close does nothing.
func (p *Provider) Close() error { return nil }

// Wrap fails: PKCS#11 support needs a cgo build.
func (p *Provider) Wrap(context.Context, []byte, []byte) ([]byte, error) { return nil, errNoCgo }

// Unwrap fails: PKCS#11 support needs a cgo build.
func (p *Provider) Unwrap(context.Context, []byte, []byte) ([]byte, error) { return nil, errNoCgo }

// ID names the missing provider.
func (p *Provider) ID() string { return "pkcs11-unavailable" }

// String names the missing provider.
func (p *Provider) String() string { return "pkcs11 root key (unavailable: built without cgo)" }

// GoString is String, for %#v.
func (p *Provider) GoString() string { return p.String() }

// LogValue is String.
func (p *Provider) LogValue() slog.Value { return slog.StringValue(p.String()) }
