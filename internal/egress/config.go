// Package egress is the outbound half of use without read (spec use.md): it validates destination
// configs, parses and matches the caller's URL against them, prepares the request with the value in its
// one slot, sends it through the network guard without following redirects, and redacts every rendered
// form of the value from the answer.
//
// Errors are *clavis.Error: KindInvalid for malformed configs and URLs (400) and
// KindDestinationNotAllowed for a destination outside the config (403); Send reports upstream failures as
// a *SendError carrying only a category, never a Go error string or a URL.
package egress

import (
	"net/http"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/net/idna"
	"golang.org/x/net/publicsuffix"

	"clavis.dev/clavis"
)

// Limits of a destination config (use.md §2).
const (
	maxEntries = 32
	// MinValueBytes is the shortest value that may be used: a redaction count over a shorter value
	// would be an oracle for it.
	MinValueBytes = 16
)

// DefaultMethods is allowed_methods when a config gives none.
func DefaultMethods() []string { return []string{"GET", "POST"} }

// forbiddenSlots are the header names the value may never be injected as (use.md §2): hop-by-hop headers,
// Host, Content-Length, Transfer-Encoding and Cookie.
var forbiddenSlots = []string{"Host", "Content-Length", "Transfer-Encoding", "Cookie", "Connection", "Keep-Alive",
	"Proxy-Connection", "Proxy-Authenticate", "Proxy-Authorization", "Te", "Trailer", "Upgrade"}

// NormalizeConfig validates in and returns it in canonical form: hosts lower-case punycode without a
// trailing dot, methods upper-case and deduplicated (default GET and POST), path prefixes without a
// trailing slash. literalAllowed reports whether an IP-literal host may be named (only addresses that
// --use-allow-private opens). Errors: KindInvalid naming the field.
func NormalizeConfig(in clavis.UseConfigInput, literalAllowed func(netip.Addr) bool) (clavis.UseConfigInput, error) {
	out := clavis.UseConfigInput{AllowHTTP: in.AllowHTTP, Inject: in.Inject}
	if len(in.AllowedHosts) < 1 || len(in.AllowedHosts) > maxEntries {
		return out, clavis.Invalid("allowed_hosts", "allowed_hosts must have 1 to 32 entries")
	}
	for _, h := range in.AllowedHosts {
		n, err := normalizeHostEntry(h, literalAllowed)
		if err != nil {
			return out, err
		}
		if !slices.Contains(out.AllowedHosts, n) {
			out.AllowedHosts = append(out.AllowedHosts, n)
		}
	}
	methods := in.AllowedMethods
	if len(methods) == 0 {
		methods = DefaultMethods()
	}
	if len(methods) > maxEntries {
		return out, clavis.Invalid("allowed_methods", "allowed_methods must have at most 32 entries")
	}
	for _, m := range methods {
		if !isToken(m) || strings.ToUpper(m) != m {
			return out, clavis.Invalid("allowed_methods", "allowed_methods entries must be upper-case HTTP methods")
		}
		if !slices.Contains(out.AllowedMethods, m) {
			out.AllowedMethods = append(out.AllowedMethods, m)
		}
	}
	if len(in.AllowedPathPrefixes) < 1 || len(in.AllowedPathPrefixes) > maxEntries {
		return out, clavis.Invalid("allowed_path_prefixes", "allowed_path_prefixes must have 1 to 32 entries")
	}
	for _, p := range in.AllowedPathPrefixes {
		n, err := normalizePrefix(p)
		if err != nil {
			return out, err
		}
		if !slices.Contains(out.AllowedPathPrefixes, n) {
			out.AllowedPathPrefixes = append(out.AllowedPathPrefixes, n)
		}
	}
	return out, checkInject(in.Inject)
}

// normalizeHostEntry checks one allowed_hosts entry: host, host:port, *.domain or *.domain:port, where
// host may be an IP literal ([v6] with a port or in brackets) that literalAllowed opens.
func normalizeHostEntry(entry string, literalAllowed func(netip.Addr) bool) (string, error) {
	bad := func(msg string) error {
		return clavis.Invalid("allowed_hosts", "allowed_hosts entry "+strconv.Quote(entry)+": "+msg)
	}
	host, port, err := splitHostPort(entry)
	if err != nil {
		return "", bad(err.Error())
	}
	if a, ok := ipLiteral(host); ok {
		if !literalAllowed(a) {
			return "", bad("an IP address is allowed only when --use-allow-private covers it")
		}
		return joinHostPort(hostOf(a), port), nil
	}
	wildcard := strings.HasPrefix(host, "*.")
	name, err := canonicalName(strings.TrimPrefix(host, "*."))
	if err != nil {
		return "", bad(err.Error())
	}
	if wildcard {
		// *.example.com is fine; *.com, *.co.uk and *.github.io are not: their domain is a public suffix
		// (ICANN or private section of the list), or has no registrable domain at all
		if _, err := publicsuffix.EffectiveTLDPlusOne(name); err != nil {
			return "", bad("a wildcard must stay inside a registrable domain, not over a public suffix")
		}
		name = "*." + name
	}
	return joinHostPort(name, port), nil
}

// splitHostPort splits "host", "host:port", "[v6]" and "[v6]:port"; port is 0 when absent.
func splitHostPort(s string) (string, int, error) {
	if s == "" {
		return "", 0, errString("empty host")
	}
	if strings.ContainsAny(s, "/?#@ \t\r\n\x00\\%") {
		return "", 0, errString("a host entry is a host name with an optional port, not a URL")
	}
	host, portStr := s, ""
	if strings.HasPrefix(s, "[") {
		end := strings.IndexByte(s, ']')
		if end < 0 {
			return "", 0, errString("unclosed [")
		}
		host, portStr = s[:end+1], s[end+1:]
		if portStr != "" {
			if !strings.HasPrefix(portStr, ":") {
				return "", 0, errString("malformed port")
			}
			portStr = portStr[1:]
		}
	} else if i := strings.LastIndexByte(s, ':'); i >= 0 {
		host, portStr = s[:i], s[i+1:]
		if strings.Contains(host, ":") {
			return "", 0, errString("an IPv6 address must be written in brackets")
		}
	}
	port := 0
	if portStr != "" || strings.HasSuffix(s, ":") {
		n, err := strconv.Atoi(portStr)
		if err != nil || n < 1 || n > 65535 || strconv.Itoa(n) != portStr {
			return "", 0, errString("the port must be 1 to 65535")
		}
		port = n
	}
	if host == "" {
		return "", 0, errString("empty host")
	}
	return host, port, nil
}

// ipLiteral parses an IPv4 address or a bracketed IPv6 address.
func ipLiteral(host string) (netip.Addr, bool) {
	if strings.HasPrefix(host, "[") && strings.HasSuffix(host, "]") {
		a, err := netip.ParseAddr(host[1 : len(host)-1])
		return a, err == nil && a.Is6() && a.Zone() == ""
	}
	a, err := netip.ParseAddr(host)
	return a, err == nil && a.Is4()
}

// hostOf writes an address as a URL host: IPv6 in brackets.
func hostOf(a netip.Addr) string {
	if a.Is6() && !a.Is4In6() {
		return "[" + a.String() + "]"
	}
	return a.Unmap().String()
}

func joinHostPort(host string, port int) string {
	if port == 0 {
		return host
	}
	return host + ":" + strconv.Itoa(port)
}

// canonicalName is a DNS name in lower-case punycode without a trailing dot; anything that is not a
// valid host name is an error.
func canonicalName(name string) (string, error) {
	name = strings.TrimSuffix(name, ".")
	if name == "" || strings.Contains(name, "*") {
		return "", errString("malformed host name")
	}
	a, err := idna.Lookup.ToASCII(name)
	if err != nil || a == "" || len(a) > 253 {
		return "", errString("malformed host name")
	}
	for _, label := range strings.Split(a, ".") {
		if label == "" || len(label) > 63 {
			return "", errString("malformed host name")
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				return "", errString("malformed host name")
			}
		}
	}
	if _, err := netip.ParseAddr(a); err == nil {
		return "", errString("malformed host name") // an IPv6 literal without brackets
	}
	return a, nil
}

// normalizePrefix checks an allowed_path_prefixes entry: it starts with "/", has no dot segments,
// encoded slashes, query or fragment; a trailing "/" is dropped (prefixes match whole segments).
func normalizePrefix(p string) (string, error) {
	if !strings.HasPrefix(p, "/") || len(p) > 1024 {
		return "", clavis.Invalid("allowed_path_prefixes", "allowed_path_prefixes entries must start with /")
	}
	if err := checkPath(p); err != nil {
		return "", clavis.Invalid("allowed_path_prefixes", "allowed_path_prefixes entry "+strconv.Quote(p)+": "+err.Error())
	}
	if len(p) > 1 {
		p = strings.TrimSuffix(p, "/")
	}
	return p, nil
}

// checkInject validates the injection slot.
func checkInject(in clavis.UseInject) error {
	bad := func(msg string) error { return clavis.Invalid("inject", msg) }
	switch in.As {
	case clavis.InjectBearer:
		if in.Name != "" || in.Prefix != "" || in.Username != nil || in.Password != nil {
			return bad(`inject "bearer" takes no other field`)
		}
	case clavis.InjectBasic:
		if in.Name != "" || in.Prefix != "" || (in.Username == nil) == (in.Password == nil) {
			return bad(`inject "basic" takes exactly one of username or password`)
		}
		if in.Username != nil && (strings.Contains(*in.Username, ":") || !headerSafe(*in.Username)) {
			return bad("inject.username must not contain ':' or a control character")
		}
		if in.Password != nil && !headerSafe(*in.Password) {
			return bad("inject.password must not contain a control character")
		}
	case clavis.InjectHeader:
		if in.Username != nil || in.Password != nil {
			return bad(`inject "header" takes name and prefix only`)
		}
		if !isToken(in.Name) {
			return bad("inject.name must be a valid header name")
		}
		if slices.Contains(forbiddenSlots, http.CanonicalHeaderKey(in.Name)) {
			return bad("inject.name may not be a hop-by-hop, Host, Content-Length, Transfer-Encoding or Cookie header")
		}
		if !headerSafe(in.Prefix) {
			return bad("inject.prefix must not contain a control character")
		}
	case clavis.InjectQuery:
		if in.Prefix != "" || in.Username != nil || in.Password != nil {
			return bad(`inject "query" takes name only`)
		}
		if in.Name == "" || len(in.Name) > 256 || !headerSafe(in.Name) {
			return bad("inject.name must be a query parameter name")
		}
	default:
		return bad(`inject.as must be "bearer", "basic", "header" or "query"`)
	}
	return nil
}

// isToken reports whether s is an RFC 9110 token (header names, methods).
func isToken(s string) bool {
	if s == "" || len(s) > 256 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0) {
			return false
		}
	}
	return true
}

// headerSafe reports whether s may appear in a header value: no CR, LF, NUL or other control character
// but tab.
func headerSafe(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 && c != '\t' || c == 0x7f {
			return false
		}
	}
	return true
}

// ValueHeaderSafe reports whether a value may go into a header slot (no line break, no NUL).
func ValueHeaderSafe(v []byte) bool { return headerSafe(string(v)) }

type errString string

func (e errString) Error() string { return string(e) }
