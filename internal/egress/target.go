package egress

import (
	"net/url"
	"slices"
	"strconv"
	"strings"

	"clavis.dev/clavis"
)

// maxURLBytes bounds the caller's URL.
const maxURLBytes = 8 << 10

// Target is a caller's destination URL, parsed and canonicalised (use.md §2, Matching).
type Target struct {
	URL    *url.URL // what will be sent, before the value's query slot is added
	Method string   // upper-case
	Host   string   // lower-case punycode without a trailing dot; IPv4 dotted, IPv6 in brackets
	Port   int      // explicit, or the scheme's default
}

// Path is the URL path as it is sent ("/" when empty).
func (t *Target) Path() string {
	if p := t.URL.EscapedPath(); p != "" {
		return p
	}
	return "/"
}

// ParseTarget parses the caller's method and URL. A URL that is not an absolute http(s) URL, or that
// carries a user-info part, a fragment, dot segments, encoded slashes or backslashes, or already has the
// query parameter of the injection slot, is KindInvalid (400), as is a method that is not a token.
func ParseTarget(method, raw string, inj clavis.UseInject) (*Target, error) {
	bad := func(msg string) error { return clavis.Invalid("url", msg) }
	if method == "" {
		method = "GET"
	}
	if !isToken(method) {
		return nil, clavis.Invalid("method", "method must be an HTTP method")
	}
	if raw == "" {
		return nil, bad("url is required")
	}
	if len(raw) > maxURLBytes {
		return nil, bad("url is longer than 8 KiB")
	}
	for i := 0; i < len(raw); i++ {
		if c := raw[i]; c <= ' ' || c == 0x7f || c == '\\' {
			return nil, bad("url must not contain spaces, control characters or backslashes")
		}
	}
	if strings.Contains(raw, "#") {
		return nil, bad("url must not have a fragment")
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil, bad("url is malformed")
	}
	u.Scheme = strings.ToLower(u.Scheme)
	if u.Scheme != "https" && u.Scheme != "http" || u.Opaque != "" || u.Host == "" {
		return nil, bad("url must be an absolute https:// (or http://) URL")
	}
	if u.User != nil || strings.Contains(u.Host, "@") {
		return nil, bad("url must not have a user-info part")
	}
	t := &Target{URL: u, Method: strings.ToUpper(method)}
	if t.Host, err = urlHost(u.Hostname(), strings.HasPrefix(u.Host, "[")); err != nil {
		return nil, bad("url host: " + err.Error())
	}
	switch p := u.Port(); {
	case p == "" && strings.HasSuffix(u.Host, ":"):
		return nil, bad("url port is empty")
	case p == "" && u.Scheme == "https":
		t.Port = 443
	case p == "":
		t.Port = 80
	default:
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 || strconv.Itoa(n) != p {
			return nil, bad("url port must be 1 to 65535")
		}
		t.Port = n
	}
	if err := checkPath(t.Path()); err != nil {
		return nil, bad("url path: " + err.Error())
	}
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return nil, bad("url query is malformed")
	}
	if inj.As == clavis.InjectQuery && q.Has(inj.Name) {
		return nil, bad("url already has the query parameter the value goes into")
	}
	u.Host = joinHostPort(t.Host, portOrZero(u.Port(), t.Port)) // canonical host, explicit port kept
	u.Fragment, u.RawFragment = "", ""
	return t, nil
}

func portOrZero(explicit string, port int) int {
	if explicit == "" {
		return 0
	}
	return port
}

// urlHost canonicalises a URL's host name: an IP literal as netip writes it (IPv6 in brackets), else a
// DNS name in lower-case punycode. Numeric shorthands of IPv4 ("2130706433", "0x7f.1") are refused.
func urlHost(h string, bracketed bool) (string, error) {
	if bracketed {
		a, ok := ipLiteral("[" + h + "]")
		if !ok {
			return "", errString("malformed IPv6 address")
		}
		return hostOf(a), nil
	}
	if a, ok := ipLiteral(h); ok {
		return hostOf(a), nil
	}
	name, err := canonicalName(h)
	if err != nil {
		return "", err
	}
	labels := strings.Split(name, ".")
	last := labels[len(labels)-1]
	if strings.Trim(last, "0123456789") == "" || strings.HasPrefix(last, "0x") {
		return "", errString("numeric host names are not allowed; write the IP address in dotted form")
	}
	return name, nil
}

// checkPath refuses dot segments (also percent-encoded), encoded slashes and backslashes (%2F, %5C),
// malformed percent-encoding, and a query or fragment inside a path.
func checkPath(p string) error {
	if strings.ContainsAny(p, "?#\\") {
		return errString("must not contain ?, # or \\")
	}
	lower := strings.ToLower(p)
	if strings.Contains(lower, "%2f") || strings.Contains(lower, "%5c") {
		return errString("must not contain encoded slashes (%2F, %5C)")
	}
	for _, seg := range strings.Split(p, "/") {
		dec, err := url.PathUnescape(seg)
		if err != nil {
			return errString("malformed percent-encoding")
		}
		if dec == "." || dec == ".." {
			return errString("must not contain dot segments")
		}
	}
	return nil
}

func notAllowed(what string) error {
	return clavis.E(clavis.KindDestinationNotAllowed, what+" not allowed by the destination config")
}

// Allow checks t against cfg in the order of use.md §3 — scheme, host, port, method, path prefix — and
// returns KindDestinationNotAllowed naming the first that fails.
func Allow(cfg *clavis.UseConfig, t *Target) error {
	if t.URL.Scheme != "https" && !(t.URL.Scheme == "http" && cfg.AllowHTTP) {
		return notAllowed("scheme")
	}
	hostSeen := false
	portOK := false
	for _, e := range cfg.AllowedHosts {
		eh, ep, err := splitHostPort(e)
		if err != nil || !hostMatches(eh, t.Host) {
			continue
		}
		hostSeen = true
		if ep == 0 && t.Port == defaultPort(t.URL.Scheme) || ep == t.Port {
			portOK = true
			break
		}
	}
	switch {
	case !hostSeen:
		return notAllowed("host")
	case !portOK:
		return notAllowed("port")
	case !slices.Contains(cfg.AllowedMethods, t.Method):
		return notAllowed("method")
	}
	path := t.Path()
	for _, p := range cfg.AllowedPathPrefixes {
		if PathHasPrefix(path, p) {
			return nil
		}
	}
	return notAllowed("path")
}

// hostMatches compares a canonical host with a canonical entry host: equal, or for "*.domain" exactly
// one more label in front of domain.
func hostMatches(entry, host string) bool {
	rest, wildcard := strings.CutPrefix(entry, "*.")
	if !wildcard {
		return entry == host
	}
	label, ok := strings.CutSuffix(host, "."+rest)
	return ok && label != "" && !strings.ContainsAny(label, ".[]:")
}

// PathHasPrefix reports whether path starts with prefix in whole segments: "/v1/chat" matches
// "/v1/chat" and "/v1/chat/x", not "/v1/chatx"; "/" matches every path.
func PathHasPrefix(path, prefix string) bool {
	if prefix == "/" {
		return strings.HasPrefix(path, "/")
	}
	rest, ok := strings.CutPrefix(path, prefix)
	return ok && (rest == "" || rest[0] == '/')
}

func defaultPort(scheme string) int {
	if scheme == "http" {
		return 80
	}
	return 443
}
