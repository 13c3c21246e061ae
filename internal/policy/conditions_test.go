package policy

import (
	"encoding/json"
	"errors"
	"net/netip"
	"strings"
	"testing"
	"time"

	"clavis.dev/clavis"
)

func TestParseConditionsNone(t *testing.T) {
	for _, raw := range []string{"", "null", "{}", " { } ", "\n null\t"} {
		c, err := ParseConditions(json.RawMessage(raw))
		if c != nil || err != nil {
			t.Errorf("ParseConditions(%q): got (%v, %v), want (nil, nil)", raw, c, err)
		}
	}
	if c, err := ParseConditions(nil); c != nil || err != nil {
		t.Errorf("ParseConditions(nil): got (%v, %v), want (nil, nil)", c, err)
	}
}

func TestParseConditionsValid(t *testing.T) {
	valid := []string{
		`{"ip_allowlist":["10.0.0.0/8"]}`,
		`{"ip_allowlist":["192.0.2.1","2001:db8::/32","::1","::ffff:10.0.0.1","::ffff:10.0.0.0/104","10.1.2.3/8"]}`,
		`{"time_window":{"after":"08:00","before":"20:00"}}`,
		`{"time_window":{"after":"22:00","before":"06:00","timezone":"UTC"}}`,
		`{"time_window":{"after":"00:00","before":"23:59","timezone":"Asia/Tokyo"}}`,
		`{"time_window":{"after":"09:00","before":"17:00","timezone":"America/Argentina/Buenos_Aires"}}`,
		`{"time_window":{"after":"09:00","before":"17:00","timezone":"Etc/GMT+5"}}`,
		`{"time_window":{"start_hour":0,"end_hour":24}}`,
		`{"time_window":{"start_hour":23,"end_hour":0,"timezone":"Europe/Berlin"}}`,
		`{"time_window":{"start_hour":9,"end_hour":17,"days_of_week":[1,2,3,4,5]}}`,
		`{"time_window":{"start_hour":9,"end_hour":17,"days_of_week":[0,6,6]}}`,
		`{"time_window":{"start_hour":9,"end_hour":17,"days_of_week":[]}}`,
		`{"ip_allowlist":["10.0.0.0/8"],"time_window":{"after":"08:00","before":"20:00"}}`,
		` { "time_window" : { "before" : "20:00" , "after" : "08:00" } } `,
	}
	for _, raw := range valid {
		c, err := ParseConditions(json.RawMessage(raw))
		if err != nil || c == nil {
			t.Errorf("ParseConditions(%s): got (%v, %v), want parsed conditions", raw, c, err)
		}
	}
}

// TestParseConditionsInvalid lists every invalid case of the conformance suite first, then the rest of §3.6.
// want is a fragment of the message, which must say precisely what is wrong.
func TestParseConditionsInvalid(t *testing.T) {
	tests := []struct{ raw, want string }{
		{`{"geo":"eu"}`, `unknown condition "geo"`},
		{`{"ip_allowlist":[]}`, "non-empty array"},
		{`{"ip_allowlist":["not-an-ip"]}`, `ip_allowlist[0] "not-an-ip" is not an IPv4/IPv6 address or CIDR`},
		{`{"ip_allowlist":"10.0.0.0/8"}`, "ip_allowlist must be a non-empty array"},
		{`{"time_window":{"after":"25:00","before":"26:00"}}`, `after must be a time "HH:MM"`},
		{`{"time_window":{"after":"08:00","before":"20:00","timezone":"Mars/Olympus"}}`, `unknown time zone "Mars/Olympus"`},
		{`{"time_window":{"start_hour":24,"end_hour":5}}`, "start_hour must be an integer from 0 to 23"},
		{`{"time_window":{"start_hour":1,"end_hour":5,"days_of_week":[7]}}`, "days_of_week must be an array of integers from 0"},
		{`{"time_window":{"after":"08:00","before":"20:00","start_hour":8}}`, "mixes shapes"},
		{`{"time_window":{"cron_expr":"0 0 * * * *"}}`, "cron_expr is not supported"},
		{`{"time_window":{}}`, "needs after and before, or start_hour and end_hour"},

		// not an object
		{`[]`, "conditions must be a JSON object"},
		{`"x"`, "conditions must be a JSON object"},
		{`1`, "conditions must be a JSON object"},
		{`true`, "conditions must be a JSON object"},
		{`{`, "conditions is not valid JSON"},
		{`{"ip_allowlist":["10.0.0.0/8"]} {}`, "conditions is not valid JSON"},
		{`{"ip_allowlist":["10.0.0.0/8"],"ip_allowlist":["0.0.0.0/0"]}`, `duplicate key "ip_allowlist" in conditions`},
		{`{"attribute_conditions":{}}`, `unknown condition "attribute_conditions"`},
		{`{"cron_expr":"* * * * *"}`, `unknown condition "cron_expr"`},
		{`{"IP_ALLOWLIST":["10.0.0.0/8"]}`, `unknown condition "IP_ALLOWLIST"`},
		// ip_allowlist
		{`{"ip_allowlist":null}`, "ip_allowlist must be a non-empty array"},
		{`{"ip_allowlist":{"a":"10.0.0.0/8"}}`, "ip_allowlist must be a non-empty array"},
		{`{"ip_allowlist":[167772160]}`, "ip_allowlist[0] must be a string"},
		{`{"ip_allowlist":["10.0.0.0/8",null]}`, "ip_allowlist[1] must be a string"},
		{`{"ip_allowlist":["10.0.0.0/33"]}`, "is not an IPv4/IPv6 address or CIDR"},
		{`{"ip_allowlist":["2001:db8::/129"]}`, "is not an IPv4/IPv6 address or CIDR"},
		{`{"ip_allowlist":["10.0.0"]}`, "is not an IPv4/IPv6 address or CIDR"},
		{`{"ip_allowlist":[""]}`, "is not an IPv4/IPv6 address or CIDR"},
		{`{"ip_allowlist":["fe80::1%eth0"]}`, "is not an IPv4/IPv6 address or CIDR"},
		{`{"ip_allowlist":[" 10.0.0.1"]}`, "is not an IPv4/IPv6 address or CIDR"},
		// time_window: shape and keys
		{`{"time_window":null}`, "conditions.time_window must be a JSON object"},
		{`{"time_window":"08:00-20:00"}`, "conditions.time_window must be a JSON object"},
		{`{"time_window":{"after":"08:00"}}`, "needs both after and before"},
		{`{"time_window":{"before":"08:00"}}`, "needs both after and before"},
		{`{"time_window":{"start_hour":8}}`, "needs both start_hour and end_hour"},
		{`{"time_window":{"end_hour":8,"days_of_week":[1]}}`, "needs both start_hour and end_hour"},
		{`{"time_window":{"days_of_week":[1]}}`, "needs both start_hour and end_hour"},
		{`{"time_window":{"timezone":"UTC"}}`, "needs after and before, or start_hour and end_hour"},
		{`{"time_window":{"after":"08:00","before":"20:00","days_of_week":[1]}}`, "mixes shapes"},
		{`{"time_window":{"start_hour":8,"end_hour":9,"before":"20:00"}}`, "mixes shapes"},
		{`{"time_window":{"after":"08:00","before":"20:00","cron_expr":"* * * * *"}}`, "cron_expr is not supported"},
		{`{"time_window":{"after":"08:00","before":"20:00","tz":"UTC"}}`, `unknown key "tz" in conditions.time_window`},
		{`{"time_window":{"after":"08:00","after":"09:00","before":"20:00"}}`, `duplicate key "after" in conditions.time_window`},
		// time_window: shape A values
		{`{"time_window":{"after":"8:00","before":"20:00"}}`, `after must be a time "HH:MM"`},
		{`{"time_window":{"after":"08:60","before":"20:00"}}`, `after must be a time "HH:MM"`},
		{`{"time_window":{"after":"08:00","before":"24:00"}}`, `before must be a time "HH:MM"`},
		{`{"time_window":{"after":"08:00:00","before":"20:00"}}`, `after must be a time "HH:MM"`},
		{`{"time_window":{"after":"08h00","before":"20:00"}}`, `after must be a time "HH:MM"`},
		{`{"time_window":{"after":"-1:00","before":"20:00"}}`, `after must be a time "HH:MM"`},
		{`{"time_window":{"after":800,"before":"20:00"}}`, `after must be a time "HH:MM"`},
		{`{"time_window":{"after":null,"before":"20:00"}}`, `after must be a time "HH:MM"`},
		// time_window: shape B values
		{`{"time_window":{"start_hour":-1,"end_hour":5}}`, "start_hour must be an integer from 0 to 23"},
		{`{"time_window":{"start_hour":1.5,"end_hour":5}}`, "start_hour must be an integer from 0 to 23"},
		{`{"time_window":{"start_hour":1e1,"end_hour":5}}`, "start_hour must be an integer from 0 to 23"},
		{`{"time_window":{"start_hour":"8","end_hour":5}}`, "start_hour must be an integer from 0 to 23"},
		{`{"time_window":{"start_hour":99999999999999999999,"end_hour":5}}`, "start_hour must be an integer from 0 to 23"},
		{`{"time_window":{"start_hour":1,"end_hour":25}}`, "end_hour must be an integer from 0 to 24"},
		{`{"time_window":{"start_hour":1,"end_hour":null}}`, "end_hour must be an integer from 0 to 24"},
		{`{"time_window":{"start_hour":1,"end_hour":5,"days_of_week":[-1]}}`, "days_of_week must be an array of integers"},
		{`{"time_window":{"start_hour":1,"end_hour":5,"days_of_week":["mon"]}}`, "days_of_week must be an array of integers"},
		{`{"time_window":{"start_hour":1,"end_hour":5,"days_of_week":1}}`, "days_of_week must be an array of integers"},
		{`{"time_window":{"start_hour":1,"end_hour":5,"days_of_week":null}}`, "days_of_week must be an array of integers"},
		// time zones
		{`{"time_window":{"after":"08:00","before":"20:00","timezone":""}}`, `unknown time zone ""`},
		{`{"time_window":{"after":"08:00","before":"20:00","timezone":"Local"}}`, `unknown time zone "Local"`},
		{`{"time_window":{"after":"08:00","before":"20:00","timezone":"asia/tokyo"}}`, `unknown time zone "asia/tokyo"`},
		{`{"time_window":{"after":"08:00","before":"20:00","timezone":"../etc/passwd"}}`, `unknown time zone "../etc/passwd"`},
		{`{"time_window":{"after":"08:00","before":"20:00","timezone":"/etc/localtime"}}`, `unknown time zone "/etc/localtime"`},
		{`{"time_window":{"after":"08:00","before":"20:00","timezone":"+09:00"}}`, `unknown time zone "+09:00"`},
		{`{"time_window":{"start_hour":1,"end_hour":5,"timezone":9}}`, "timezone must be a string naming an IANA time zone"},
		{`{"time_window":{"start_hour":1,"end_hour":5,"timezone":null}}`, "timezone must be a string naming an IANA time zone"},
	}
	for _, tt := range tests {
		c, err := ParseConditions(json.RawMessage(tt.raw))
		if c != nil {
			t.Errorf("ParseConditions(%s): got conditions %+v, want none", tt.raw, c)
		}
		var e *clavis.Error
		if !errors.As(err, &e) || e.Kind != clavis.KindInvalid || e.Fields["conditions"] != e.Message {
			t.Errorf("ParseConditions(%s): got error %#v, want KindInvalid with field conditions", tt.raw, err)
			continue
		}
		if !strings.Contains(e.Message, tt.want) {
			t.Errorf("ParseConditions(%s): got message %q, want it to contain %q", tt.raw, e.Message, tt.want)
		}
	}
}

func mustConditions(t testing.TB, raw string) *Conditions {
	t.Helper()
	c, err := ParseConditions(json.RawMessage(raw))
	if err != nil || c == nil {
		t.Fatalf("ParseConditions(%s): got (%v, %v)", raw, c, err)
	}
	return c
}

func TestHoldsNil(t *testing.T) {
	var c *Conditions
	if !c.Holds(netip.Addr{}, time.Time{}) {
		t.Fatal("nil conditions must hold")
	}
}

func TestHoldsIPAllowlist(t *testing.T) {
	c := mustConditions(t, `{"ip_allowlist":["10.0.0.0/8","192.0.2.7","2001:db8::/32","::1",
		"::ffff:172.16.0.0/108","::ffff:198.51.100.9","fe80::/10","10.200.1.2/32"]}`)
	tests := []struct {
		ip   string
		want bool
	}{
		{"10.0.0.1", true}, // IPv4 in a CIDR
		{"10.255.255.255", true},
		{"11.0.0.1", false},
		{"9.255.255.255", false},
		{"192.0.2.7", true}, // a single address
		{"192.0.2.8", false},
		{"2001:db8::1", true}, // IPv6 in a CIDR
		{"2001:db8:ffff::1", true},
		{"2001:db9::1", false},
		{"::1", true},
		{"::2", false},
		{"::ffff:10.1.2.3", true},      // a mapped client compares as IPv4
		{"::ffff:11.1.2.3", false},     //
		{"::ffff:192.0.2.7", true},     //
		{"172.16.5.5", true},           // a mapped CIDR entry compares as IPv4 (172.16.0.0/12)
		{"172.32.0.1", false},          //
		{"::ffff:172.16.5.5", true},    // both mapped
		{"198.51.100.9", true},         // a mapped address entry compares as IPv4
		{"fe80::1%eth0", true},         // zones are ignored
		{"::ffff:0a00:0001", true},     // 10.0.0.1 written in hex
		{"0:0:0:0:0:ffff:a00:1", true}, //
		{"::a00:1", false},             // IPv4-compatible (not mapped) is IPv6
	}
	for _, tt := range tests {
		ip := netip.MustParseAddr(tt.ip)
		if got := c.Holds(ip, time.Now()); got != tt.want {
			t.Errorf("ip_allowlist Holds(%s): got %v, want %v", tt.ip, got, tt.want)
		}
	}
	if c.Holds(netip.Addr{}, time.Now()) {
		t.Error("ip_allowlist must not hold for an unknown (zero) client IP")
	}
	open := mustConditions(t, `{"ip_allowlist":["0.0.0.0/0"]}`)
	if !open.Holds(netip.MustParseAddr("::ffff:8.8.8.8"), time.Now()) || open.Holds(netip.MustParseAddr("2001:db8::1"), time.Now()) {
		t.Error("0.0.0.0/0 must hold for every IPv4 client (mapped or not) and no IPv6 client")
	}
}

// at builds an instant in zone (an IANA name) from a wall-clock time.
func at(t *testing.T, zone string, year int, month time.Month, day, hour, min int) time.Time {
	t.Helper()
	loc, err := time.LoadLocation(zone)
	if err != nil {
		t.Fatal(err)
	}
	return time.Date(year, month, day, hour, min, 0, 0, loc)
}

func TestHoldsTimeWindow(t *testing.T) {
	// 2026-03-02 is a Monday; 2026-03-07 a Saturday; 2026-03-08 a Sunday.
	utc := func(day, hour, min int) time.Time { return at(t, "UTC", 2026, time.March, day, hour, min) }
	tests := []struct {
		name   string
		window string
		now    time.Time
		want   bool
	}{
		// shape A: after ≤ local < before
		{"A before the window", `{"after":"08:00","before":"20:00"}`, utc(2, 7, 59), false},
		{"A at after", `{"after":"08:00","before":"20:00"}`, utc(2, 8, 0), true},
		{"A inside", `{"after":"08:00","before":"20:00"}`, utc(2, 12, 30), true},
		{"A last minute", `{"after":"08:00","before":"20:00"}`, utc(2, 19, 59).Add(59*time.Second + 999*time.Millisecond), true},
		{"A at before", `{"after":"08:00","before":"20:00"}`, utc(2, 20, 0), false},
		{"A minutes count", `{"after":"08:30","before":"08:45"}`, utc(2, 8, 44), true},
		{"A minutes count, before", `{"after":"08:30","before":"08:45"}`, utc(2, 8, 29), false},
		{"A timezone defaults to UTC", `{"after":"08:00","before":"09:00"}`, at(t, "Asia/Tokyo", 2026, time.March, 2, 17, 30), true},
		{"A empty window never holds", `{"after":"08:00","before":"08:00"}`, utc(2, 8, 0), false},
		// shape A wrapping midnight
		{"A wrap late evening", `{"after":"22:00","before":"06:00"}`, utc(2, 23, 0), true},
		{"A wrap at after", `{"after":"22:00","before":"06:00"}`, utc(2, 22, 0), true},
		{"A wrap midnight", `{"after":"22:00","before":"06:00"}`, utc(2, 0, 0), true},
		{"A wrap early morning", `{"after":"22:00","before":"06:00"}`, utc(2, 5, 59), true},
		{"A wrap at before", `{"after":"22:00","before":"06:00"}`, utc(2, 6, 0), false},
		{"A wrap midday", `{"after":"22:00","before":"06:00"}`, utc(2, 12, 0), false},
		{"A wrap just before after", `{"after":"22:00","before":"06:00"}`, utc(2, 21, 59), false},
		// shape A in other zones
		{"A Tokyo inside (00:30 UTC = 09:30 JST)", `{"after":"09:00","before":"17:00","timezone":"Asia/Tokyo"}`, utc(2, 0, 30), true},
		{"A Tokyo after (08:30 UTC = 17:30 JST)", `{"after":"09:00","before":"17:00","timezone":"Asia/Tokyo"}`, utc(2, 8, 30), false},
		{"A Tokyo before (23:30 UTC = 08:30 JST)", `{"after":"09:00","before":"17:00","timezone":"Asia/Tokyo"}`, utc(1, 23, 30), false},
		{"A New York in summer (13:30 UTC = 09:30 EDT)", `{"after":"09:00","before":"17:00","timezone":"America/New_York"}`,
			at(t, "UTC", 2026, time.July, 1, 13, 30), true},
		{"A New York in winter (13:30 UTC = 08:30 EST)", `{"after":"09:00","before":"17:00","timezone":"America/New_York"}`,
			at(t, "UTC", 2026, time.January, 14, 13, 30), false},
		// shape B: start_hour ≤ local hour < end_hour
		{"B before", `{"start_hour":9,"end_hour":17}`, utc(2, 8, 59), false},
		{"B at start", `{"start_hour":9,"end_hour":17}`, utc(2, 9, 0), true},
		{"B last minute", `{"start_hour":9,"end_hour":17}`, utc(2, 16, 59), true},
		{"B at end", `{"start_hour":9,"end_hour":17}`, utc(2, 17, 0), false},
		{"B whole day, midnight", `{"start_hour":0,"end_hour":24}`, utc(2, 0, 0), true},
		{"B whole day, last minute", `{"start_hour":0,"end_hour":24}`, utc(2, 23, 59), true},
		{"B empty window never holds", `{"start_hour":5,"end_hour":5}`, utc(2, 5, 0), false},
		// shape B wrapping midnight
		{"B wrap late", `{"start_hour":22,"end_hour":6}`, utc(2, 23, 30), true},
		{"B wrap early", `{"start_hour":22,"end_hour":6}`, utc(2, 5, 59), true},
		{"B wrap at end", `{"start_hour":22,"end_hour":6}`, utc(2, 6, 0), false},
		{"B wrap midday", `{"start_hour":22,"end_hour":6}`, utc(2, 12, 0), false},
		{"B wrap to midnight", `{"start_hour":23,"end_hour":0}`, utc(2, 23, 15), true},
		{"B wrap to midnight, after", `{"start_hour":23,"end_hour":0}`, utc(2, 0, 15), false},
		// shape B with days_of_week (0 = Sunday)
		{"B weekdays on Monday", `{"start_hour":0,"end_hour":24,"days_of_week":[1,2,3,4,5]}`, utc(2, 12, 0), true},
		{"B weekdays on Saturday", `{"start_hour":0,"end_hour":24,"days_of_week":[1,2,3,4,5]}`, utc(7, 12, 0), false},
		{"B Sunday is 0", `{"start_hour":0,"end_hour":24,"days_of_week":[0]}`, utc(8, 12, 0), true},
		{"B Saturday is 6", `{"start_hour":0,"end_hour":24,"days_of_week":[6]}`, utc(7, 12, 0), true},
		{"B day listed, hour outside", `{"start_hour":9,"end_hour":17,"days_of_week":[1]}`, utc(2, 18, 0), false},
		{"B no day listed never holds", `{"start_hour":0,"end_hour":24,"days_of_week":[]}`, utc(2, 12, 0), false},
		{"B weekday is local: Sunday 15:30 UTC is Monday in Tokyo", `{"start_hour":0,"end_hour":24,"days_of_week":[1],"timezone":"Asia/Tokyo"}`,
			utc(8, 15, 30), true},
		{"B weekday is local: Monday 10:00 UTC is Monday in Tokyo too", `{"start_hour":0,"end_hour":24,"days_of_week":[0],"timezone":"Asia/Tokyo"}`,
			utc(2, 10, 0), false},
		{"B hour is local: 00:30 UTC is 09:30 JST", `{"start_hour":9,"end_hour":10,"timezone":"Asia/Tokyo"}`, utc(2, 0, 30), true},
		{"B wrap counts the weekday of the moment", `{"start_hour":22,"end_hour":6,"days_of_week":[1]}`, utc(3, 1, 0), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := mustConditions(t, `{"time_window":`+tt.window+`}`)
			if got := c.Holds(netip.Addr{}, tt.now); got != tt.want {
				t.Fatalf("%s at %s: got %v, want %v", tt.window, tt.now.Format(time.RFC3339), got, tt.want)
			}
		})
	}
}

func TestHoldsEveryCondition(t *testing.T) {
	c := mustConditions(t, `{"ip_allowlist":["10.0.0.0/8"],"time_window":{"after":"08:00","before":"20:00"}}`)
	in, out := netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("192.0.2.1")
	day, night := at(t, "UTC", 2026, time.March, 2, 12, 0), at(t, "UTC", 2026, time.March, 2, 22, 0)
	tests := []struct {
		ip   netip.Addr
		now  time.Time
		want bool
	}{
		{in, day, true},
		{in, night, false},
		{out, day, false},
		{out, night, false},
	}
	for _, tt := range tests {
		if got := c.Holds(tt.ip, tt.now); got != tt.want {
			t.Errorf("Holds(%s, %s): got %v, want %v", tt.ip, tt.now.Format(time.RFC3339), got, tt.want)
		}
	}
}

func FuzzParseConditions(f *testing.F) {
	for _, s := range []string{
		`{}`, `null`, `{"geo":"eu"}`, `{"ip_allowlist":["10.0.0.0/8","::ffff:10.0.0.0/104"]}`,
		`{"time_window":{"after":"22:00","before":"06:00","timezone":"Asia/Tokyo"}}`,
		`{"time_window":{"start_hour":9,"end_hour":17,"days_of_week":[1,2,3]}}`,
		`{"time_window":{"cron_expr":"0 0 * * * *"}}`, `{"ip_allowlist":[]}`, `{"a":1,"a":2}`,
	} {
		f.Add(s, "10.1.2.3", int64(1772452800))
	}
	f.Fuzz(func(t *testing.T, raw, ip string, unix int64) {
		c, err := ParseConditions(json.RawMessage(raw))
		if err != nil {
			if c != nil {
				t.Fatalf("ParseConditions(%q): got conditions and error %v", raw, err)
			}
			checkInvalid(t, err, "conditions")
			return
		}
		if c != nil && !json.Valid([]byte(raw)) {
			t.Fatalf("ParseConditions(%q): accepted invalid JSON", raw)
		}
		addr, _ := netip.ParseAddr(ip)
		c.Holds(addr, time.Unix(unix, 0)) // must not panic
	})
}
