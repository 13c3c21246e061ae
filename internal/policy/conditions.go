package policy

import (
	"bytes"
	"encoding/json"
	"net/netip"
	"time"

	"clavis.dev/clavis"
)

// Conditions is the parsed form of a policy's conditions (§3.6): every condition present must hold for the
// policy to apply, to allow and deny policies alike. A nil *Conditions means none and always holds.
// A Conditions is immutable and safe for concurrent use.
type Conditions struct {
	ipAllow []netip.Prefix // nil: no ip_allowlist; IPv4-mapped entries are stored as IPv4
	window  *timeWindow    // nil: no time_window
}

// timeWindow is either shape of time_window. Shape A (after/before) and shape B (start_hour/end_hour) are
// both stored as minutes of the local day: the window is from ≤ t < to, or t ≥ from || t < to when it wraps
// midnight (from > to). Shape B's end_hour 24 is minute 1440.
type timeWindow struct {
	loc      *time.Location
	from, to int
	days     uint8 // bit d set: local weekday d (0 = Sunday) is allowed; allDays unless days_of_week is given
}

const allDays = 1<<7 - 1

// ParseConditions validates a policy's raw conditions object (§3.6) and returns its parsed form, or nil, nil
// when there are none (nil, empty, null or {}). Known keys are ip_allowlist and time_window; anything else,
// wrong JSON types, duplicate keys, out-of-range values, unknown time zones, a time_window that mixes
// shapes or lacks a shape's required keys, and cron_expr are KindInvalid, field "conditions", with a message
// that names the offending key.
//
// Time zone names are resolved with time.LoadLocation (the host's zone database, else the copy embedded
// in this package); callers that evaluate often should parse once per policy rather than once per check.
func ParseConditions(raw json.RawMessage) (*Conditions, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	members, problem := objectMembers(raw, "conditions", func(key string) string {
		if key == "ip_allowlist" || key == "time_window" {
			return ""
		}
		return "unknown condition " + quote(key) + "; supported: ip_allowlist, time_window"
	})
	if problem != "" {
		return nil, invalidConditions(problem)
	}
	var c Conditions
	for _, m := range members {
		switch m.key {
		case "ip_allowlist":
			c.ipAllow, problem = parseIPAllowlist(m.value)
		case "time_window":
			c.window, problem = parseTimeWindow(m.value)
		}
		if problem != "" {
			return nil, invalidConditions(problem)
		}
	}
	if c.ipAllow == nil && c.window == nil {
		return nil, nil
	}
	return &c, nil
}

// Holds reports whether every condition holds for a request from ip at now. A nil *Conditions always holds.
//
// ip_allowlist holds when ip lies in one entry; an IPv4-mapped IPv6 address counts as its IPv4 address, an
// IPv6 zone is ignored, and an invalid (zero) ip is in no entry. time_window holds when the wall clock of
// now in the window's zone is inside the window and, if days_of_week was given, that local weekday is
// listed (for a window that wraps midnight, the weekday of the moment itself).
func (c *Conditions) Holds(ip netip.Addr, now time.Time) bool {
	if c == nil {
		return true
	}
	if c.ipAllow != nil && !ipAllowed(c.ipAllow, ip) {
		return false
	}
	if c.window != nil && !c.window.holds(now) {
		return false
	}
	return true
}

func ipAllowed(allow []netip.Prefix, ip netip.Addr) bool {
	ip = ip.Unmap().WithZone("")
	if !ip.IsValid() {
		return false
	}
	for _, p := range allow {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

func (w *timeWindow) holds(now time.Time) bool {
	local := now.In(w.loc)
	if w.days&(1<<local.Weekday()) == 0 {
		return false
	}
	h, m, _ := local.Clock()
	t := h*60 + m
	if w.from <= w.to {
		return w.from <= t && t < w.to
	}
	return t >= w.from || t < w.to
}

func invalidConditions(msg string) error { return clavis.Invalid("conditions", msg) }
