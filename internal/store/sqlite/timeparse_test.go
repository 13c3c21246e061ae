package sqlite

import (
	"math/rand/v2"
	"testing"
	"time"

	"clavis.dev/clavis"
)

// sameParse fails t unless parseTime(s) and clavis.ParseTime(s) agree: both fail, or both give the same
// instant in the same location.
func sameParse(t *testing.T, s string) {
	t.Helper()
	got, gerr := parseTime(s)
	want, werr := clavis.ParseTime(s)
	if (gerr == nil) != (werr == nil) || got != want {
		t.Errorf("parseTime(%q) = %v, %v; clavis.ParseTime = %v, %v", s, got, gerr, want, werr)
	}
}

func TestParseTimeMatchesClavis(t *testing.T) {
	for _, s := range []string{
		"2026-05-01T10:00:00.123456Z", "0000-01-01T00:00:00.000000Z", "9999-12-31T23:59:59.999999Z",
		"2024-02-29T12:00:00.000000Z", "2025-02-29T12:00:00.000000Z", "2026-04-31T00:00:00.000000Z",
		"2026-00-01T00:00:00.000000Z", "2026-13-01T00:00:00.000000Z", "2026-01-00T00:00:00.000000Z",
		"2026-01-32T00:00:00.000000Z", "2026-01-01T24:00:00.000000Z", "2026-01-01T00:60:00.000000Z",
		"2026-01-01T00:00:60.000000Z", "2026-01-01T00:00:00.00000aZ", "2026-01-01T00:00:00.+00000Z",
		"-026-01-01T00:00:00.000000Z", "2026-01-01t00:00:00.000000Z", "2026-01-01T00:00:00.000000z",
		"2026-01-01T00:00:00.000000+00:00", "2026-01-01T02:00:00.000000+02:00", "2026-01-01T00:00:00Z",
		"2026-01-01T00:00:00.1234567Z", "", "x",
	} {
		sameParse(t, s)
	}
	rng := rand.New(rand.NewPCG(7, 8)) // #nosec G404 -- reproducible test data, not a secret
	for range 20000 {
		at := time.Unix(rng.Int64N(253402300799), rng.Int64N(1e9))
		s := clavis.FormatTime(at)
		sameParse(t, s)
		b := []byte(s)
		b[rng.IntN(len(b))] = "0123456789-:.TZ+x"[rng.IntN(17)]
		sameParse(t, string(b))
	}
}

func FuzzParseTime(f *testing.F) {
	f.Add("2026-05-01T10:00:00.123456Z")
	f.Add("2026-02-30T10:00:00.123456Z")
	f.Fuzz(sameParse)
}
