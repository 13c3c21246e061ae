//go:build !cgo

package pkcs11

import (
	"os"
	"strings"
	"testing"
)

// TestSoftHSMNeedsCgo keeps CI honest: where SoftHSM tests are required, a build without cgo (which
// leaves them out) fails instead of passing quietly.
func TestSoftHSMNeedsCgo(t *testing.T) {
	if os.Getenv("CLAVIS_REQUIRE_SOFTHSM") != "" {
		t.Fatal("CLAVIS_REQUIRE_SOFTHSM is set but this test binary was built without cgo, so the PKCS#11 tests cannot run (install gcc, CGO_ENABLED=1)")
	}
}

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
