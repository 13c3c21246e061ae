package main

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"clavis.dev/clavis/internal/clavistest"
)

// TestAuditVerifyCommand runs `clavis audit verify` against the database of a live test server.
func TestAuditVerifyCommand(t *testing.T) {
	env := clavistest.New(t)
	env.Signup(t)
	env.Signup(t)
	var out, errOut bytes.Buffer
	dir := filepath.Dir(env.DBPath)
	err := run(context.Background(), []string{"audit", "verify", "--data-dir", dir}, &out, &errOut)
	if err != nil || !strings.Contains(out.String(), "every chain intact") || strings.Count(errOut.String(), ": ok") != 2 {
		t.Fatalf("audit verify: %v\nstdout: %s\nstderr: %s", err, out.String(), errOut.String())
	}
	err = run(context.Background(), []string{"audit", "verify", "--data-dir", t.TempDir()}, &out, &errOut)
	if err == nil || errors.Is(err, errChainBroken) {
		t.Fatalf("audit verify of a missing database = %v, want an error", err)
	}
}
