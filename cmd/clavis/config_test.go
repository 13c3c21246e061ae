package main

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseBool(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want bool
	}{
		{"1", true}, {"true", true}, {"TRUE", true}, {"yes", true}, {"Yes", true},
		{"0", false}, {"false", false}, {"no", false}, {"NO", false},
	} {
		got, err := parseBool(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("parseBool(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
	for _, bad := range []string{"", "on", "y", "2", "maybe"} {
		if _, err := parseBool(bad); err == nil {
			t.Errorf("parseBool(%q) accepted", bad)
		}
	}
}

// TestServerBoolSettings: --dev and --insecure-http take 1/0/true/false/yes/no from every source.
func TestServerBoolSettings(t *testing.T) {
	for _, tc := range []struct {
		name string
		env  map[string]string
		file string
		args []string
		dev  bool
		insc bool
	}{
		{"env yes", map[string]string{"CLAVIS_DEV": "yes", "CLAVIS_INSECURE_HTTP": "1"}, "", nil, true, true},
		{"env no", map[string]string{"CLAVIS_DEV": "no", "CLAVIS_INSECURE_HTTP": "FALSE"}, "", nil, false, false},
		{"file true", nil, `{"dev": true, "insecure-http": "yes"}`, nil, true, true},
		{"flag alone", nil, "", []string{"--dev", "--insecure-http"}, true, true},
		{"flag =no beats env", map[string]string{"CLAVIS_DEV": "1"}, "", []string{"--dev=no"}, false, false},
		{"flag =0 beats file", nil, `{"dev": "yes"}`, []string{"--dev=0"}, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			args := tc.args
			if tc.file != "" {
				path := filepath.Join(t.TempDir(), "clavis.json")
				if err := os.WriteFile(path, []byte(tc.file), 0o600); err != nil {
					t.Fatal(err)
				}
				args = append([]string{"--config", path}, args...)
			}
			c, err := parseServerFlags(args, io.Discard)
			if err != nil {
				t.Fatal(err)
			}
			if c.dev != tc.dev || c.insecureHTTP != tc.insc {
				t.Errorf("dev, insecure-http = %v, %v; want %v, %v", c.dev, c.insecureHTTP, tc.dev, tc.insc)
			}
		})
	}
	t.Setenv("CLAVIS_DEV", "maybe")
	if _, err := parseServerFlags(nil, io.Discard); err == nil || !strings.Contains(err.Error(), "CLAVIS_DEV") {
		t.Errorf("CLAVIS_DEV=maybe: err = %v, want one naming CLAVIS_DEV", err)
	}
}

// TestOperatorCommandsReadSettingsLikeServer: an operator command finds the data directory through
// CLAVIS_DATA_DIR, or through the server's config file (whose server-only settings it ignores); a flag
// still wins; a setting unknown to every command is an error.
func TestOperatorCommandsReadSettingsLikeServer(t *testing.T) {
	ctx := context.Background()
	missing := filepath.Join(t.TempDir(), "nowhere")
	for _, cmd := range [][]string{{"audit", "verify"}, {"keys", "rotate-jwt"}, {"backup", "--out", filepath.Join(t.TempDir(), "b")}} {
		name := strings.Join(cmd[:2], " ")
		t.Run(name, func(t *testing.T) {
			t.Setenv("CLAVIS_DATA_DIR", missing)
			err := run(ctx, cmd, io.Discard, io.Discard)
			if err == nil || !strings.Contains(err.Error(), missing) {
				t.Errorf("with CLAVIS_DATA_DIR: err = %v, want one naming %s", err, missing)
			}
			t.Setenv("CLAVIS_DATA_DIR", "")
			os.Unsetenv("CLAVIS_DATA_DIR")
			cfg := filepath.Join(t.TempDir(), "clavis.json")
			fromFile := filepath.Join(t.TempDir(), "from-file")
			if err := os.WriteFile(cfg, []byte(`{"data-dir": "`+fromFile+`", "listen": "0.0.0.0:8443", "rate-limits": "off", "dev": "no"}`), 0o600); err != nil {
				t.Fatal(err)
			}
			err = run(ctx, append(cmd, "--config", cfg), io.Discard, io.Discard)
			if err == nil || !strings.Contains(err.Error(), fromFile) {
				t.Errorf("with --config: err = %v, want one naming %s", err, fromFile)
			}
			err = run(ctx, append(cmd, "--config", cfg, "--data-dir", missing), io.Discard, io.Discard)
			if err == nil || !strings.Contains(err.Error(), missing) {
				t.Errorf("flag over --config: err = %v, want one naming %s", err, missing)
			}
			if err := os.WriteFile(cfg, []byte(`{"data-dir": "x", "no-such-setting": "1"}`), 0o600); err != nil {
				t.Fatal(err)
			}
			err = run(ctx, append(cmd, "--config", cfg), io.Discard, io.Discard)
			if err == nil || !strings.Contains(err.Error(), "no-such-setting") {
				t.Errorf("unknown setting: err = %v, want one naming it", err)
			}
		})
	}
}

// TestHelpListsEveryCommand: clavis help names every command that run dispatches.
func TestHelpListsEveryCommand(t *testing.T) {
	var out bytes.Buffer
	if err := run(context.Background(), []string{"help"}, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	for _, cmd := range []string{"server", "migrate", "audit verify", "keys rotate-jwt", "keys rotate-vault",
		"keys rewrap", "keys rotate-root", "backup", "restore", "version", "help"} {
		if !strings.Contains(out.String(), "clavis "+cmd) {
			t.Errorf("clavis help does not list %q", cmd)
		}
		first := strings.Fields(cmd)[0]
		if first == "help" {
			continue
		}
		// Every listed command is dispatched: an unknown one would print "unknown command".
		var errOut bytes.Buffer
		_ = run(context.Background(), []string{first, "-h"}, io.Discard, &errOut)
		if strings.Contains(errOut.String(), "unknown command") {
			t.Errorf("clavis %s: unknown command", first)
		}
	}
}

func TestVersionPrintsCommit(t *testing.T) {
	var out bytes.Buffer
	if err := run(context.Background(), []string{"version"}, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	if got := out.String(); !strings.HasPrefix(got, "clavis "+version+" (commit ") {
		t.Errorf("clavis version = %q", got)
	}
}

// TestDeployExampleConfig: the example settings in deploy/ are a valid server configuration with TLS.
func TestDeployExampleConfig(t *testing.T) {
	c, err := parseServerFlags([]string{"--config", "../../deploy/clavis.json"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.tlsCert == "" || c.tlsKey == "" || c.dataDir != "/var/lib/clavis" {
		t.Errorf("deploy/clavis.json: %+v", c)
	}
}
