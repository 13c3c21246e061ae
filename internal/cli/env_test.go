package cli

import (
	"bytes"
	"reflect"
	"testing"
)

func TestEnvName(t *testing.T) {
	for _, tc := range []struct{ path, prefix, want string }{
		{"api-keys/openai", "", "API_KEYS_OPENAI"},
		{"app/api-keys/openai", "app/", "API_KEYS_OPENAI"},
		{"app/api-keys/openai", "app", "API_KEYS_OPENAI"},
		{"app/db-url", "app/db-url", "DB_URL"},
		{"app/db-url", "app/db-url/", "DB_URL"},
		{"x/a.b c", "x", "A_B_C"},
	} {
		if got := envName(tc.path, tc.prefix); got != tc.want {
			t.Errorf("envName(%q, %q) = %q, want %q", tc.path, tc.prefix, got, tc.want)
		}
	}
}

func TestRefusedName(t *testing.T) {
	for name, want := range map[string]bool{
		"": true, "1X": true, "PATH": true, "HOME": true, "LD_PRELOAD": true, "DYLD_X": true, "PYTHONPATH": true,
		"PERL5LIB": true, "HTTPS_PROXY": true, "GIT_SSH": true, "CLAVIS_URL": true, "ONECLAW_X": true, "NODE_OPTIONS": true,
		"BASH_ENV": true, "DB_URL": false, "API_KEY": false, "PATHS": false,
	} {
		if got := refusedName(name); got != want {
			t.Errorf("refusedName(%q) = %v, want %v", name, got, want)
		}
	}
}

func TestChildEnv(t *testing.T) {
	parent := []string{"CLAVIS_TOKEN=t", "ONECLAW_AGENT_API_KEY=k", "ONECLAW_VAULT_ID=v", "DB=old", "KEEP=1"}
	vars := []envSecret{{Name: "DB", Value: "new"}, {Name: "X", Value: "y"}}
	if got, want := childEnv(parent, vars, false), []string{"ONECLAW_VAULT_ID=v", "KEEP=1", "DB=new", "X=y"}; !reflect.DeepEqual(got, want) {
		t.Errorf("override: got %q, want %q", got, want)
	}
	if got, want := childEnv(parent, vars, true), []string{"ONECLAW_VAULT_ID=v", "DB=old", "KEEP=1", "X=y"}; !reflect.DeepEqual(got, want) {
		t.Errorf("no override: got %q, want %q", got, want)
	}
}

func TestDotenvRoundTrip(t *testing.T) {
	vals := []string{"plain", "two words", `it's "q" $HOME \ end`, "line1\nline2", "", "a=b#c"}
	var vars []envSecret
	for i, v := range vals {
		vars = append(vars, envSecret{Name: string(rune('A' + i)), Value: v})
	}
	out, err := renderEnv("dotenv", vars)
	if err != nil {
		t.Fatal(err)
	}
	kvs, err := parseDotenv(string(out))
	if err != nil {
		t.Fatal(err)
	}
	for i, kv := range kvs {
		if kv[1] != vals[i] {
			t.Errorf("%s: got %q, want %q", kv[0], kv[1], vals[i])
		}
	}
}

func TestJSONToYAML(t *testing.T) {
	var got bytes.Buffer
	in := `{"id":"x","n":1,"list":["a","b"],"empty":[],"obj":{"k":"true"},"arr":[{"a":1,"b":null}]}`
	if err := jsonToYAML(&got, []byte(in)); err != nil {
		t.Fatal(err)
	}
	want := "id: x\nn: 1\nlist:\n- a\n- b\nempty: []\nobj:\n  k: \"true\"\narr:\n- a: 1\n  b: null\n"
	if got.String() != want {
		t.Errorf("got\n%s\nwant\n%s", got.String(), want)
	}
}
