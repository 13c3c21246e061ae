package policy

import (
	"encoding/json"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// The parsers below return a caller-safe problem description, or "" when the value is valid.

const ipAllowlistWant = "conditions.ip_allowlist must be a non-empty array of IPv4/IPv6 addresses or CIDRs"

func parseIPAllowlist(v json.RawMessage) ([]netip.Prefix, string) {
	var items []json.RawMessage
	if jsonKind(v) != '[' || json.Unmarshal(v, &items) != nil || len(items) == 0 {
		return nil, ipAllowlistWant
	}
	out := make([]netip.Prefix, 0, len(items))
	for i, item := range items {
		var s string
		if jsonKind(item) != '"' || json.Unmarshal(item, &s) != nil {
			return nil, "conditions.ip_allowlist[" + strconv.Itoa(i) + "] must be a string"
		}
		p, ok := parseIPEntry(s)
		if !ok {
			return nil, "conditions.ip_allowlist[" + strconv.Itoa(i) + "] " + quote(s) +
				" is not an IPv4/IPv6 address or CIDR"
		}
		out = append(out, p)
	}
	return out, ""
}

// parseIPEntry parses an address (a single-host prefix) or a CIDR (host bits are cleared). IPv4-mapped IPv6
// entries become IPv4 so that they compare with unmapped client addresses; zones are refused.
func parseIPEntry(s string) (netip.Prefix, bool) {
	if !strings.Contains(s, "/") {
		a, err := netip.ParseAddr(s)
		if err != nil || a.Zone() != "" {
			return netip.Prefix{}, false
		}
		a = a.Unmap()
		return netip.PrefixFrom(a, a.BitLen()), true
	}
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return netip.Prefix{}, false
	}
	if p.Addr().Is4In6() && p.Bits() >= 96 {
		p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
	}
	return p.Masked(), true
}

// windowKey numbers the keys of a time_window; -1 for any other key.
func windowKey(key string) int {
	switch key {
	case "after":
		return 0
	case "before":
		return 1
	case "start_hour":
		return 2
	case "end_hour":
		return 3
	case "days_of_week":
		return 4
	case "timezone":
		return 5
	}
	return -1
}

func parseTimeWindow(v json.RawMessage) (*timeWindow, string) {
	members, problem := objectMembers(v, "conditions.time_window", func(key string) string {
		switch {
		case key == "cron_expr":
			return "conditions.time_window.cron_expr is not supported; use after/before or start_hour/end_hour"
		case windowKey(key) < 0:
			return "unknown key " + quote(key) + " in conditions.time_window; supported: after, before, timezone" +
				" (shape A) or start_hour, end_hour, days_of_week, timezone (shape B)"
		}
		return ""
	})
	if problem != "" {
		return nil, problem
	}
	var val [6]json.RawMessage // indexed by windowKey
	for _, m := range members {
		val[windowKey(m.key)] = m.value
	}
	after, before, start, end, days, zone := val[0], val[1], val[2], val[3], val[4], val[5]
	shapeA := after != nil || before != nil
	shapeB := start != nil || end != nil || days != nil
	switch {
	case shapeA && shapeB:
		return nil, "conditions.time_window mixes shapes: use either after/before or start_hour/end_hour/days_of_week"
	case !shapeA && !shapeB:
		return nil, "conditions.time_window needs after and before, or start_hour and end_hour"
	case shapeA && (after == nil || before == nil):
		return nil, "conditions.time_window needs both after and before"
	case shapeB && (start == nil || end == nil):
		return nil, "conditions.time_window needs both start_hour and end_hour"
	}

	w := &timeWindow{loc: time.UTC, days: allDays}
	if zone != nil {
		if w.loc, problem = parseZone(zone); problem != "" {
			return nil, problem
		}
	}
	if shapeA {
		if w.from, problem = parseClock(after, "after"); problem != "" {
			return nil, problem
		}
		if w.to, problem = parseClock(before, "before"); problem != "" {
			return nil, problem
		}
		return w, ""
	}
	h, ok := parseInt(start)
	if !ok || h < 0 || h > 23 {
		return nil, "conditions.time_window.start_hour must be an integer from 0 to 23"
	}
	w.from = h * 60
	if h, ok = parseInt(end); !ok || h < 0 || h > 24 {
		return nil, "conditions.time_window.end_hour must be an integer from 0 to 24"
	}
	w.to = h * 60
	if days != nil {
		if w.days, problem = parseDays(days); problem != "" {
			return nil, problem
		}
	}
	return w, ""
}

// parseClock parses "HH:MM" (00:00–23:59) into minutes of the day.
func parseClock(v json.RawMessage, key string) (int, string) {
	var s string
	want := "conditions.time_window." + key + ` must be a time "HH:MM" from 00:00 to 23:59`
	if jsonKind(v) != '"' || json.Unmarshal(v, &s) != nil || len(s) != 5 || s[2] != ':' {
		return 0, want
	}
	h, okH := twoDigits(s[0], s[1])
	m, okM := twoDigits(s[3], s[4])
	if !okH || !okM || h > 23 || m > 59 {
		return 0, want
	}
	return h*60 + m, ""
}

func twoDigits(a, b byte) (int, bool) {
	if a < '0' || a > '9' || b < '0' || b > '9' {
		return 0, false
	}
	return int(a-'0')*10 + int(b-'0'), true
}

func parseDays(v json.RawMessage) (uint8, string) {
	const want = "conditions.time_window.days_of_week must be an array of integers from 0 (Sunday) to 6 (Saturday)"
	var items []json.RawMessage
	if jsonKind(v) != '[' || json.Unmarshal(v, &items) != nil {
		return 0, want
	}
	var days uint8
	for _, item := range items {
		d, ok := parseInt(item)
		if !ok || d < 0 || d > 6 {
			return 0, want
		}
		days |= 1 << d
	}
	return days, ""
}

// parseZone resolves an IANA time zone name. "Local" and names that are not shaped like IANA names are
// refused before the zone database is consulted.
func parseZone(v json.RawMessage) (*time.Location, string) {
	var name string
	if jsonKind(v) != '"' || json.Unmarshal(v, &name) != nil {
		return nil, "conditions.time_window.timezone must be a string naming an IANA time zone"
	}
	unknown := "conditions.time_window.timezone: unknown time zone " + quote(name)
	if !zoneNameShape(name) {
		return nil, unknown
	}
	if name == "UTC" {
		return time.UTC, ""
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, unknown
	}
	return loc, ""
}

// zoneNameShape reports whether name looks like an IANA zone name ("UTC", "Asia/Tokyo", "Etc/GMT+5"):
// 1–64 bytes of letters, digits, '_', '-', '+' and '/', not starting with '/', and not "Local".
func zoneNameShape(name string) bool {
	if name == "" || len(name) > 64 || name[0] == '/' || name == "Local" {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !isSegmentByte(c) && c != '+' && c != '/' {
			return false
		}
	}
	return true
}
