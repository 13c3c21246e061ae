//go:build !cgo

package pkcs11

import (
	"strings"
	"testing"
)

func TestOpenWithoutCgo(t *testing.T) {
	_, err := Open("pkcs11:token=clavis;object=root?"+mod+"&"+pin, true)
	if err == nil || !strings.Contains(err.Error(), "PKCS#11 support needs a cgo build") {
		t.Fatalf("Open without cgo = %v, want the cgo error", err)
	}
	// A malformed URI is still reported as such.
	if _, err := Open("pkcs11:token=clavis;object=root?"+pin, true); err == nil || !strings.Contains(err.Error(), "missing module-path") {
		t.Errorf("Open of a bad URI without cgo = %v, want the URI error", err)
	}
}
