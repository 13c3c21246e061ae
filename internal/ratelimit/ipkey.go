package ratelimit

import "net/netip"

// DefaultIPv6Prefix is the IPv6 network length keyed as one client: a /64 is the smallest block a site
// or subscriber is given, and holds 2^64 addresses that one host can use freely.
const DefaultIPv6Prefix = 64

// IPKey is the bucket key of a client address: an IPv4 address (IPv4-mapped IPv6 included) as itself,
// an IPv6 address by its network of v6Prefix bits (DefaultIPv6Prefix when out of 1–128), so that one
// host cannot multiply its buckets by changing the interface bits of its address.
func IPKey(a netip.Addr, v6Prefix int) string {
	a = a.Unmap()
	if !a.Is6() {
		return a.String()
	}
	if v6Prefix < 1 || v6Prefix > 128 {
		v6Prefix = DefaultIPv6Prefix
	}
	p, _ := a.WithZone("").Prefix(v6Prefix) // cannot fail: a is IPv6 without zone, 1 ≤ v6Prefix ≤ 128
	return p.String()
}
