package clavis

import "time"

// TimeFormat is the one wire and storage form of every instant: RFC 3339, UTC, microseconds, "Z".
// Audit integrity hashes cover this exact string, so it must never change.
const TimeFormat = "2006-01-02T15:04:05.000000Z"

// Now returns the current instant truncated to the precision of TimeFormat.
func Now() time.Time { return Truncate(time.Now()) }

// Truncate brings t to UTC at the precision of TimeFormat, so that it survives a round trip unchanged.
func Truncate(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

// FormatTime renders t in TimeFormat.
func FormatTime(t time.Time) string { return t.UTC().Format(TimeFormat) }

// ParseTime parses a TimeFormat string (or any RFC 3339 time) into UTC.
func ParseTime(s string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, err
	}
	return Truncate(t), nil
}
