package egress

import (
	"net/netip"
	"slices"
	"strings"
	"testing"

	"clavis.dev/clavis"
)

var loopbackOnly = func(a netip.Addr) bool { return netip.MustParsePrefix("127.0.0.0/8").Contains(a.Unmap()) }

func bearerConfig(hosts ...string) clavis.UseConfigInput {
	return clavis.UseConfigInput{AllowedHosts: hosts, AllowedPathPrefixes: []string{"/v1"}, Inject: clavis.UseInject{As: clavis.InjectBearer}}
}

func TestNormalizeConfigHosts(t *testing.T) {
	tests := []struct {
		entry string
		want  string // "" = 400
	}{
		{"api.example.com", "api.example.com"},
		{"API.Example.COM.", "api.example.com"},
		{"api.example.com:8443", "api.example.com:8443"},
		{"*.example.com", "*.example.com"},
		{"*.example.com:8443", "*.example.com:8443"},
		{"*.api.example.co.uk", "*.api.example.co.uk"},
		{"*.example.co.uk", "*.example.co.uk"},
		{"bücher.example", "xn--bcher-kva.example"},
		{"127.0.0.1", "127.0.0.1"},
		{"127.0.0.1:9000", "127.0.0.1:9000"},
		{"[::ffff:127.0.0.1]", "127.0.0.1"},
		{"*.com", ""}, // public suffixes
		{"*.co.uk", ""},
		{"*.github.io", ""},
		{"*.example", ""}, // an unknown TLD has no registrable domain either
		{"*", ""},
		{"*.*.example.com", ""},
		{"a.*.example.com", ""},
		{"10.0.0.1", ""}, // IP literals only where --use-allow-private opens them
		{"[::1]", ""},
		{"169.254.169.254", ""},
		{"::1", ""},
		{"api.example.com:0", ""},
		{"api.example.com:65536", ""},
		{"api.example.com:", ""},
		{"api.example.com:08", ""},
		{"https://api.example.com", ""},
		{"api.example.com/v1", ""},
		{"user@api.example.com", ""},
		{"", ""},
		{"exa mple.com", ""},
		{"a..b", ""},
	}
	for _, tt := range tests {
		out, err := NormalizeConfig(bearerConfig(tt.entry), loopbackOnly)
		if tt.want == "" {
			if !clavis.IsKind(err, clavis.KindInvalid) {
				t.Errorf("host %q: got %v (%v), want 400", tt.entry, out.AllowedHosts, err)
			}
			continue
		}
		if err != nil || !slices.Equal(out.AllowedHosts, []string{tt.want}) {
			t.Errorf("host %q: got %v, %v; want [%s]", tt.entry, out.AllowedHosts, err, tt.want)
		}
	}
}

func TestNormalizeConfigFields(t *testing.T) {
	str := func(s string) *string { return &s }
	ok := bearerConfig("api.example.com")
	out, err := NormalizeConfig(ok, loopbackOnly)
	if err != nil || !slices.Equal(out.AllowedMethods, []string{"GET", "POST"}) || !slices.Equal(out.AllowedPathPrefixes, []string{"/v1"}) {
		t.Fatalf("defaults: got %+v, %v", out, err)
	}
	with := func(f func(*clavis.UseConfigInput)) clavis.UseConfigInput {
		c := bearerConfig("api.example.com")
		f(&c)
		return c
	}
	bad := map[string]clavis.UseConfigInput{
		"no hosts":          with(func(c *clavis.UseConfigInput) { c.AllowedHosts = nil }),
		"33 hosts":          with(func(c *clavis.UseConfigInput) { c.AllowedHosts = slices.Repeat([]string{"a.example.com"}, 33) }),
		"lower-case method": with(func(c *clavis.UseConfigInput) { c.AllowedMethods = []string{"get"} }),
		"bad method":        with(func(c *clavis.UseConfigInput) { c.AllowedMethods = []string{"GE T"} }),
		"no prefixes":       with(func(c *clavis.UseConfigInput) { c.AllowedPathPrefixes = nil }),
		"relative prefix":   with(func(c *clavis.UseConfigInput) { c.AllowedPathPrefixes = []string{"v1"} }),
		"dot prefix":        with(func(c *clavis.UseConfigInput) { c.AllowedPathPrefixes = []string{"/v1/../admin"} }),
		"encoded slash":     with(func(c *clavis.UseConfigInput) { c.AllowedPathPrefixes = []string{"/v1%2Fadmin"} }),
		"no inject":         with(func(c *clavis.UseConfigInput) { c.Inject = clavis.UseInject{} }),
		"unknown inject":    with(func(c *clavis.UseConfigInput) { c.Inject = clavis.UseInject{As: "cookie"} }),
		"bearer with name":  with(func(c *clavis.UseConfigInput) { c.Inject.Name = "X" }),
		"basic with both": with(func(c *clavis.UseConfigInput) {
			c.Inject = clavis.UseInject{As: "basic", Username: str("u"), Password: str("p")}
		}),
		"basic with neither":   with(func(c *clavis.UseConfigInput) { c.Inject = clavis.UseInject{As: "basic"} }),
		"basic colon username": with(func(c *clavis.UseConfigInput) { c.Inject = clavis.UseInject{As: "basic", Username: str("a:b")} }),
		"header without name":  with(func(c *clavis.UseConfigInput) { c.Inject = clavis.UseInject{As: "header"} }),
		"header Host":          with(func(c *clavis.UseConfigInput) { c.Inject = clavis.UseInject{As: "header", Name: "host"} }),
		"header Cookie":        with(func(c *clavis.UseConfigInput) { c.Inject = clavis.UseInject{As: "header", Name: "Cookie"} }),
		"header Connection":    with(func(c *clavis.UseConfigInput) { c.Inject = clavis.UseInject{As: "header", Name: "connection"} }),
		"header TE":            with(func(c *clavis.UseConfigInput) { c.Inject = clavis.UseInject{As: "header", Name: "TE"} }),
		"header Content-Length": with(func(c *clavis.UseConfigInput) {
			c.Inject = clavis.UseInject{As: "header", Name: "Content-Length"}
		}),
		"header Transfer-Encoding": with(func(c *clavis.UseConfigInput) {
			c.Inject = clavis.UseInject{As: "header", Name: "Transfer-Encoding"}
		}),
		"header prefix CRLF": with(func(c *clavis.UseConfigInput) {
			c.Inject = clavis.UseInject{As: "header", Name: "X-Api-Key", Prefix: "a\r\nb"}
		}),
		"query without name": with(func(c *clavis.UseConfigInput) { c.Inject = clavis.UseInject{As: "query"} }),
	}
	for name, in := range bad {
		if _, err := NormalizeConfig(in, loopbackOnly); !clavis.IsKind(err, clavis.KindInvalid) {
			t.Errorf("%s: got %v, want 400", name, err)
		}
	}
	good := map[string]clavis.UseInject{
		"basic username": {As: "basic", Username: str("")},
		"basic password": {As: "basic", Password: str("x")},
		"header":         {As: "header", Name: "X-Api-Key", Prefix: "Token "},
		"authorization":  {As: "header", Name: "Authorization", Prefix: "Token "},
		"query":          {As: "query", Name: "key"},
	}
	for name, inj := range good {
		c := bearerConfig("api.example.com")
		c.Inject = inj
		if _, err := NormalizeConfig(c, loopbackOnly); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// TestAllow is the matching table of use.md §2: scheme, host, port, method and whole-segment path prefix.
func TestAllow(t *testing.T) {
	in := clavis.UseConfigInput{
		AllowedHosts:        []string{"api.example.com", "*.svc.example.com:8443", "127.0.0.1:9000", "plain.example.com:80"},
		AllowedMethods:      []string{"GET", "POST"},
		AllowedPathPrefixes: []string{"/v1/chat", "/status/"},
		Inject:              clavis.UseInject{As: clavis.InjectQuery, Name: "key"},
	}
	norm, err := NormalizeConfig(in, loopbackOnly)
	if err != nil {
		t.Fatal(err)
	}
	cfg := &clavis.UseConfig{AllowedHosts: norm.AllowedHosts, AllowedMethods: norm.AllowedMethods,
		AllowedPathPrefixes: norm.AllowedPathPrefixes, Inject: norm.Inject}
	tests := []struct {
		method, url string
		want        string // "" allowed, "400", or the detail's first word
	}{
		{"GET", "https://api.example.com/v1/chat", ""},
		{"", "https://api.example.com/v1/chat/x?y=1", ""},
		{"post", "https://API.EXAMPLE.COM./v1/chat", ""},
		{"GET", "https://api.example.com:443/v1/chat", ""},
		{"GET", "https://api.example.com/status", ""},
		{"GET", "https://api.example.com/status/ok", ""},
		{"GET", "https://a.svc.example.com:8443/v1/chat", ""},
		{"GET", "https://127.0.0.1:9000/v1/chat", ""},
		{"GET", "https://api.example.com/v1/chatx", "path"},
		{"GET", "https://api.example.com/v1", "path"},
		{"GET", "https://api.example.com/", "path"},
		{"GET", "https://api.example.com", "path"},
		{"DELETE", "https://api.example.com/v1/chat", "method"},
		{"GET", "http://api.example.com/v1/chat", "scheme"},
		{"GET", "http://plain.example.com/v1/chat", "scheme"},
		{"GET", "https://api.example.com:8443/v1/chat", "port"},
		{"GET", "https://a.svc.example.com/v1/chat", "port"},
		{"GET", "https://svc.example.com:8443/v1/chat", "host"},
		{"GET", "https://a.b.svc.example.com:8443/v1/chat", "host"},
		{"GET", "https://evil.com/v1/chat", "host"},
		{"GET", "https://api.example.com.evil.com/v1/chat", "host"},
		{"GET", "https://127.0.0.2:9000/v1/chat", "host"},
		{"GET", "https://[::ffff:127.0.0.1]:9000/v1/chat", ""},
		{"GET", "https://user:pw@api.example.com/v1/chat", "400"},
		{"GET", "https://api.example.com@evil.com/v1/chat", "400"},
		{"GET", "https://api.example.com/v1/chat#frag", "400"},
		{"GET", "https://api.example.com/v1/chat/../../admin", "400"},
		{"GET", "https://api.example.com/v1/chat/%2e%2e/admin", "400"},
		{"GET", "https://api.example.com/v1/chat/./x", "400"},
		{"GET", "https://api.example.com/v1/chat%2Fx", "400"},
		{"GET", "https://api.example.com/v1/chat%5cx", "400"},
		{"GET", "https://api.example.com/v1/chat\\x", "400"},
		{"GET", "https://api.example.com/v1/chat?key=mine", "400"},
		{"GET", "https://api.example.com/v1/chat?a=1&k%65y=mine", "400"},
		{"GET", "ftp://api.example.com/v1/chat", "400"},
		{"GET", "api.example.com/v1/chat", "400"},
		{"GET", "//api.example.com/v1/chat", "400"},
		{"GET", "https:///v1/chat", "400"},
		{"GET", "https://api.example.com:99999/v1/chat", "400"},
		{"GET", "https://2130706433/v1/chat", "400"},
		{"GET", "https://0x7f.1/v1/chat", "400"},
		{"GET", "https://api.example.com/v1/chat x", "400"},
		{"GE T", "https://api.example.com/v1/chat", "400"},
		{"GET", "", "400"},
	}
	for _, tt := range tests {
		target, err := ParseTarget(tt.method, tt.url, cfg.Inject)
		if err == nil {
			err = Allow(cfg, target)
		}
		var got string
		switch {
		case err == nil:
		case clavis.IsKind(err, clavis.KindInvalid):
			got = "400"
		case clavis.IsKind(err, clavis.KindDestinationNotAllowed):
			got, _, _ = strings.Cut(err.(*clavis.Error).Message, " ")
		default:
			got = err.Error()
		}
		if got != tt.want {
			t.Errorf("%s %s: got %q (%v), want %q", tt.method, tt.url, got, err, tt.want)
		}
	}
}

func TestPathHasPrefix(t *testing.T) {
	for _, tt := range []struct {
		path, prefix string
		want         bool
	}{
		{"/v1/chat", "/v1/chat", true}, {"/v1/chat/x", "/v1/chat", true}, {"/v1/chatx", "/v1/chat", false},
		{"/v1", "/v1/chat", false}, {"/anything", "/", true}, {"/", "/", true},
	} {
		if got := PathHasPrefix(tt.path, tt.prefix); got != tt.want {
			t.Errorf("PathHasPrefix(%q, %q) = %v", tt.path, tt.prefix, got)
		}
	}
}

// FuzzAllow checks the matcher's contract on any URL: an allowed URL has exactly a configured host
// (or one label under a wildcard), the default or configured port, https, and a path under a prefix in
// whole segments, without dot segments, encoded slashes, user-info or fragment.
func FuzzAllow(f *testing.F) {
	for _, s := range []string{"https://api.example.com/v1/chat", "https://a.svc.example.com:8443/v1/x",
		"https://api.example.com/v1/chat/../x", "https://api.example.com%2F@evil.com/v1", "https://[::1]/v1",
		"https://api.example.com./v1/chat?q=1", "https://xn--bcher-kva.example.com/v1"} {
		f.Add("GET", s)
	}
	norm, err := NormalizeConfig(clavis.UseConfigInput{AllowedHosts: []string{"api.example.com", "*.svc.example.com:8443"},
		AllowedPathPrefixes: []string{"/v1"}, Inject: clavis.UseInject{As: clavis.InjectQuery, Name: "key"}}, loopbackOnly)
	if err != nil {
		f.Fatal(err)
	}
	cfg := &clavis.UseConfig{AllowedHosts: norm.AllowedHosts, AllowedMethods: norm.AllowedMethods,
		AllowedPathPrefixes: norm.AllowedPathPrefixes, Inject: norm.Inject}
	f.Fuzz(func(t *testing.T, method, raw string) {
		target, err := ParseTarget(method, raw, cfg.Inject)
		if err != nil {
			return
		}
		if Allow(cfg, target) != nil {
			return
		}
		u := target.URL
		if u.Scheme != "https" || u.User != nil || u.Fragment != "" || strings.Contains(raw, "#") {
			t.Fatalf("allowed %q: scheme %q, user %v, fragment %q", raw, u.Scheme, u.User, u.Fragment)
		}
		switch host := target.Host; {
		case host == "api.example.com" && target.Port == 443:
		case strings.HasSuffix(host, ".svc.example.com") && target.Port == 8443 &&
			!strings.Contains(strings.TrimSuffix(host, ".svc.example.com"), "."):
		default:
			t.Fatalf("allowed %q: host %q port %d", raw, host, target.Port)
		}
		if u.Hostname() != target.Host {
			t.Fatalf("allowed %q: would send to %q, matched %q", raw, u.Hostname(), target.Host)
		}
		p := target.Path()
		if p != "/v1" && !strings.HasPrefix(p, "/v1/") {
			t.Fatalf("allowed %q: path %q", raw, p)
		}
		if u.Query().Has("key") {
			t.Fatalf("allowed %q: already carries the slot's parameter", raw)
		}
		for _, seg := range strings.Split(u.Path, "/") {
			if seg == "." || seg == ".." {
				t.Fatalf("allowed %q: dot segment in %q", raw, u.Path)
			}
		}
		if strings.ContainsAny(u.Path, "\\") || strings.Contains(strings.ToLower(u.EscapedPath()), "%2f") {
			t.Fatalf("allowed %q: slash tricks in %q", raw, u.EscapedPath())
		}
	})
}
