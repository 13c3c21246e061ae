package main

import (
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"clavis.dev/clavis/internal/ratelimit"
)

func TestServerFlags(t *testing.T) {
	t.Setenv("CLAVIS_DATA_DIR", "/env/data")
	t.Setenv("CLAVIS_LISTEN", "127.0.0.1:9999")
	t.Setenv("CLAVIS_RATE_LIMIT_AUTH", "5:1")
	t.Setenv("CLAVIS_RATE_LIMIT_IPV6_PREFIX", "56")
	c, err := parseServerFlags([]string{"--listen", "127.0.0.1:7000", "--dev", "--jwt-leeway", "10s"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	for _, x := range []struct{ name, got, want string }{
		{"flag beats environment", c.listen, "127.0.0.1:7000"},
		{"environment beats default", c.dataDir, "/env/data"},
		{"database defaults into the data dir", c.database, "sqlite:/env/data/clavis.db"},
		{"root key defaults into the data dir", c.rootKey, "file:/env/data/root.key"},
		{"--dev opens signup", c.signup, "open"},
		{"rate limits default on", c.rateLimits, "on"},
	} {
		if x.got != x.want {
			t.Errorf("%s: got %q, want %q", x.name, x.got, x.want)
		}
	}
	if c.leeway != 10*time.Second {
		t.Errorf("leeway = %v, want 10s", c.leeway)
	}
	if c.authLimit != (ratelimit.Rule{Burst: 5, Rate: 1}) || c.principalLimit != (ratelimit.Rule{Burst: 200, Rate: 100}) {
		t.Errorf("rate limits = %+v %+v", c.authLimit, c.principalLimit)
	}
	if c.ipv6Prefix != 56 {
		t.Errorf("IPv6 prefix = %d, want 56 from the environment", c.ipv6Prefix)
	}
}

func TestServerFlagsDefaultsAndErrors(t *testing.T) {
	c, err := parseServerFlags(nil, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.signup != "first-user" || c.listen != "127.0.0.1:8080" || c.leeway != 5*time.Second || c.ipv6Prefix != 64 {
		t.Errorf("defaults: %+v", c)
	}
	for _, args := range [][]string{
		{"--signup", "sometimes"}, {"--rate-limits", "maybe"}, {"--jwt-leeway", "2m"}, {"--jwt-leeway", "-1s"},
		{"--rate-limit-auth", "0:1"}, {"--rate-limit-principal", "x"}, {"--no-such-flag"}, {"stray"},
		{"--rate-limit-ipv6-prefix", "0"}, {"--rate-limit-ipv6-prefix", "129"}, {"--rate-limit-ipv6-prefix", "/64"},
	} {
		if _, err := parseServerFlags(args, io.Discard); err == nil {
			t.Errorf("parseServerFlags(%q) accepted", args)
		}
	}
}

func TestParsePrefixes(t *testing.T) {
	got, err := parsePrefixes("10.0.0.0/8, 192.0.2.7 ,fd00::/8")
	if err != nil || len(got) != 3 || got[1].String() != "192.0.2.7/32" {
		t.Fatalf("parsePrefixes = %v, %v", got, err)
	}
	if _, err := parsePrefixes("10.0.0.0/33"); err == nil {
		t.Fatalf("a bad CIDR was accepted")
	}
}

func TestServerConfigFile(t *testing.T) {
	dir := t.TempDir()
	cfg := dir + "/clavis.json"
	if err := os.WriteFile(cfg, []byte(`{"listen":"127.0.0.1:9000","data-dir":"/file/data","signup":"closed","jwt-leeway":"20s","dev":false}`), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("CLAVIS_DATA_DIR", "/env/data")
	c, err := parseServerFlags([]string{"--config", cfg, "--signup", "open"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	for _, x := range []struct{ name, got, want string }{
		{"file beats default", c.listen, "127.0.0.1:9000"},
		{"environment beats file", c.dataDir, "/env/data"},
		{"flag beats file", c.signup, "open"},
	} {
		if x.got != x.want {
			t.Errorf("%s: got %q, want %q", x.name, x.got, x.want)
		}
	}
	if c.leeway != 20*time.Second {
		t.Errorf("leeway from the file = %v", c.leeway)
	}
	for _, bad := range []string{`{"no-such-flag":"x"}`, `["listen"]`, `{"listen":{"a":1}}`} {
		if err := os.WriteFile(cfg, []byte(bad), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := parseServerFlags([]string{"--config=" + cfg}, io.Discard); err == nil {
			t.Errorf("config %s accepted", bad)
		}
	}
}

// TestRedactDSN: a password never reaches the log, also in a query that cannot be fully parsed.
func TestRedactDSN(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"sqlite:/data/clavis.db", "sqlite:/data/clavis.db"},
		{"postgres://u:pw@h:5432/db?sslmode=disable", "postgres://u:xxxxx@h:5432/db?sslmode=disable"},
		{"postgres://u@h/db?password=pw&sslmode=disable", "postgres://u@h/db?password=xxxxx&sslmode=disable"},
		{"postgres://u@h/db?password=pw%zz", "(unparseable database URL)"},
		{"postgres://u@h/db?" + strings.Repeat("a=1&", 10_001) + "password=pw", "(unparseable database URL)"},
	} {
		if got := redactDSN(c.in); got != c.want {
			t.Errorf("redactDSN(%.60q) = %.80q, want %q", c.in, got, c.want)
		}
	}
}
