package ratelimit

import (
	"net/netip"
	"testing"
)

func TestIPKey(t *testing.T) {
	for _, c := range []struct {
		name   string
		addr   string
		prefix int
		want   string
	}{
		{"IPv4 as itself", "203.0.113.7", 64, "203.0.113.7"},
		{"IPv4-mapped IPv6 counts as IPv4", "::ffff:203.0.113.7", 64, "203.0.113.7"},
		{"IPv6 by its /64", "2001:db8:1:2:aaaa:bbbb:cccc:dddd", 64, "2001:db8:1:2::/64"},
		{"another host of the same /64", "2001:db8:1:2::1", 64, "2001:db8:1:2::/64"},
		{"the next /64 is another client", "2001:db8:1:3::1", 64, "2001:db8:1:3::/64"},
		{"configured /56", "2001:db8:1:2ff::1", 56, "2001:db8:1:200::/56"},
		{"configured /128: the full address", "2001:db8::1", 128, "2001:db8::1/128"},
		{"out-of-range prefix: the default", "2001:db8:1:2::1", 0, "2001:db8:1:2::/64"},
		{"zone ignored", "fe80::1%eth0", 64, "fe80::/64"},
		{"invalid address", "", 64, "invalid IP"},
	} {
		t.Run(c.name, func(t *testing.T) {
			var a netip.Addr
			if c.addr != "" {
				a = netip.MustParseAddr(c.addr)
			}
			if got := IPKey(a, c.prefix); got != c.want {
				t.Errorf("IPKey(%s, %d) = %s, want %s", c.addr, c.prefix, got, c.want)
			}
		})
	}
}
