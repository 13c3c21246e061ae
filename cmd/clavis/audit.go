package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	"clavis.dev/clavis"
	"clavis.dev/clavis/internal/engine"
)

const auditUsage = `Usage:
  clavis audit verify [flags]   verify every org's audit hash chain offline, from its first event

Reads the database directly (the server may keep running) with the root key, which unwraps the audit
key, a page of events at a time. Each chain must also end at its org's head, which every append
advances and counts: a chain that events were removed from the end of is broken at the head's event.
Exit status 0: every chain intact; 1: a chain is broken (the first broken event is named); 2: error.
`

var errChainBroken = errors.New("audit chain broken")

func auditCommand(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	// #nosec G602 -- false positive (-tests only): the length check guards args[0] and args[1:].
	if len(args) == 0 || args[0] != "verify" {
		fmt.Fprint(stderr, auditUsage)
		return errUsage
	}
	args = args[1:] // #nosec G602 -- args[0] exists, checked above
	s, err := newSettings("clavis audit verify", args, stderr)
	if err != nil {
		return err
	}
	sc := declareStoreSettings(s, true)
	pageSize := s.fs.Int("page-size", engine.DefaultAuditPage, "events read from the database at a time")
	if err := s.parse(args, serverSettingNames()); err != nil {
		return err
	}
	eng, closeAll, err := openOperatorEngine(ctx, sc, nil, nil)
	if err != nil {
		return err
	}
	defer closeAll()
	events := 0
	ok, err := eng.VerifyAllChains(ctx, *pageSize, func(i, n int, org string, r clavis.AuditVerification) {
		events += r.Checked
		status := "ok"
		switch {
		case r.Truncated && r.HeadCount == 0:
			status = fmt.Sprintf("BROKEN at event %s: the chain has %d events, but the org has no head", r.BrokenAt, r.Verified)
		case r.Truncated && r.Last == "":
			status = fmt.Sprintf("BROKEN at event %s: the chain is empty, but the head expects %d events ending at event %s",
				r.BrokenAt, r.HeadCount, r.BrokenAt)
		case r.Truncated:
			status = fmt.Sprintf("BROKEN at event %s: the chain ends after %d events at event %s, but the head expects %d events ending at event %s",
				r.BrokenAt, r.Verified, r.Last, r.HeadCount, r.BrokenAt)
		case !r.Valid:
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
