package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	"clavis.dev/clavis"
)

const auditUsage = `Usage:
  clavis audit verify [flags]   verify every org's audit hash chain offline, from its first event

Reads the database directly (the server may keep running) with the root key, which unwraps the audit
key. Exit status 0: every chain intact; 1: a chain is broken (the first broken event is named); 2: error.
`

var errChainBroken = errors.New("audit chain broken")

func auditCommand(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "verify" {
		fmt.Fprint(stderr, auditUsage)
		return errUsage
	}
	s, err := newSettings("clavis audit verify", args[1:], stderr)
	if err != nil {
		return err
	}
	sc := declareStoreSettings(s, true)
	if err := s.parse(args[1:], serverSettingNames()); err != nil {
		return err
	}
	eng, closeAll, err := openOperatorEngine(ctx, sc, nil, nil)
	if err != nil {
		return err
	}
	defer closeAll()
	events := 0
	ok, err := eng.VerifyAllChains(ctx, func(i, n int, org string, r clavis.AuditVerification) {
		events += r.Checked
		status := "ok"
		if !r.Valid {
			status = "BROKEN at event " + r.BrokenAt
		}
		fmt.Fprintf(stderr, "[%d/%d] org %s: %d events checked, %d verified: %s\n", i, n, org, r.Checked, r.Verified, status)
	})
	if err != nil {
		return err
	}
	if !ok {
		fmt.Fprintln(stdout, "audit verify: a chain is BROKEN")
		return errChainBroken
	}
	fmt.Fprintf(stdout, "audit verify: every chain intact (%d events)\n", events)
	return nil
}
