package sqlite

import (
	"time"

	"clavis.dev/clavis"
)

// parseTime is clavis.ParseTime with a fast path for the stored form, clavis.TimeFormat
// ("2006-01-02T15:04:05.000000Z"): a valid instant in exactly that form is decoded digit by digit;
// anything else goes to clavis.ParseTime. The result is always the one clavis.ParseTime gives.
func parseTime(s string) (time.Time, error) {
	if len(s) != len(clavis.TimeFormat) || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' ||
		s[16] != ':' || s[19] != '.' || s[26] != 'Z' {
		return clavis.ParseTime(s)
	}
	num := func(i, j int) int {
		n := 0
		for ; i < j; i++ {
			c := s[i]
			if c < '0' || c > '9' {
				return -1
			}
			n = n*10 + int(c-'0')
		}
		return n
	}
	year, month, day := num(0, 4), num(5, 7), num(8, 10)
	hour, minute, sec, usec := num(11, 13), num(14, 16), num(17, 19), num(20, 26)
	if year < 0 || month < 1 || month > 12 || day < 1 || hour < 0 || hour > 23 || minute < 0 || minute > 59 ||
		sec < 0 || sec > 59 || usec < 0 {
		return clavis.ParseTime(s)
	}
	t := time.Date(year, time.Month(month), day, hour, minute, sec, usec*1000, time.UTC)
	if t.Day() != day { // 31 April and the like: time.Date would roll over, ParseTime refuses
		return clavis.ParseTime(s)
	}
	return t, nil
}
