package cli

import (
	"context"
	"fmt"
	"path"
	"sort"
	"strings"

	"clavis.dev/clavis"
)

// envSecret is one variable produced from a secret.
type envSecret struct {
	Name, Value, Path string
}

// secretSet is what run and export load: every readable secret under a prefix (or the given paths),
// with the versions seen, so that --watch can tell a change without reading values again.
type secretSet struct {
	Vars     []envSecret
	Versions map[string]int
}

// envName derives the variable name of the secret at p under prefix (docs/cli.md §3).
func envName(p, prefix string) string {
	prefix = strings.TrimSuffix(prefix, "/")
	rel := p
	if prefix != "" {
		if p == prefix {
			rel = path.Base(p)
		} else {
			rel = strings.TrimPrefix(strings.TrimPrefix(p, prefix), "/")
		}
	}
	b := []byte(strings.ToUpper(rel))
	for i, c := range b {
		if !(c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_') {
			b[i] = '_'
		}
	}
	return string(b)
}

// refusedName reports whether a variable name may change how programs run (docs/cli.md §3).
func refusedName(n string) bool {
	if n == "" || n[0] >= '0' && n[0] <= '9' {
		return true
	}
	switch n {
	case "PATH", "HOME", "SHELL", "IFS", "ENV", "BASH_ENV", "CDPATH", "NODE_OPTIONS", "RUBYOPT", "JAVA_TOOL_OPTIONS":
		return true
	}
	for _, p := range []string{"LD_", "DYLD_", "PYTHON", "PERL5", "GIT_", "CLAVIS_", "ONECLAW_"} {
		if strings.HasPrefix(n, p) {
			return true
		}
	}
	return strings.HasSuffix(n, "_PROXY") || n == "HTTP_PROXY"
}

// parseDotenv reads KEY=VALUE lines: blank lines and # comments are skipped, an optional "export "
// prefix is dropped, and a value in single or double quotes is unquoted (\n, \" and \\ in double
// quotes). A malformed line is an error naming its number.
func parseDotenv(text string) ([][2]string, error) {
	var out [][2]string
	for i, line := range strings.Split(strings.ReplaceAll(text, "\r\n", "\n"), "\n") {
		t := strings.TrimSpace(line)
		if t == "" || strings.HasPrefix(t, "#") {
			continue
		}
		t = strings.TrimPrefix(t, "export ")
		k, v, ok := strings.Cut(t, "=")
		k = strings.TrimSpace(k)
		if !ok || k == "" || strings.ContainsAny(k, " \t") {
			return nil, fmt.Errorf("line %d: want KEY=VALUE", i+1)
		}
		v = strings.TrimSpace(v)
		switch {
		case len(v) >= 2 && v[0] == '\'' && v[len(v)-1] == '\'':
			v = strings.ReplaceAll(v[1:len(v)-1], `'\''`, `'`)
		case len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"':
			v = strings.NewReplacer(`\n`, "\n", `\"`, `"`, `\\`, `\`, `\$`, `$`).Replace(v[1 : len(v)-1])
		case len(v) > 0 && (v[0] == '"' || v[0] == '\''):
			return nil, fmt.Errorf("line %d: unterminated quote", i+1)
		}
		out = append(out, [2]string{k, v})
	}
	return out, nil
}

// parseBundle reads an env_bundle value as the server validated it (api.md §4.5.2): KEY=VALUE lines,
// the value verbatim after the first '='; blank lines and # comments are skipped.
func parseBundle(v string) [][2]string {
	var out [][2]string
	for _, line := range strings.Split(v, "\n") {
		line = strings.TrimSuffix(line, "\r")
		if t := strings.TrimLeft(line, " \t"); t == "" || strings.HasPrefix(t, "#") {
			continue
		}
		if k, val, ok := strings.Cut(line, "="); ok {
			out = append(out, [2]string{k, val})
		}
	}
	return out
}

// loadOptions selects the secrets run and export load.
type loadOptions struct {
	Prefix   string
	Paths    []string
	AllowEnv []string
	Note     func(format string, a ...any)
	Progress func(done, total int) // called after each read when set
}

// versions lists the latest version of every selected secret without reading a value.
func versions(ctx context.Context, c clavis.Services, vault string, o loadOptions) (map[string]int, error) {
	out := map[string]int{}
	if len(o.Paths) > 0 {
		for _, p := range o.Paths {
			vs, err := c.ListVersions(ctx, vault, p)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", p, err)
			}
			if len(vs) > 0 {
				out[p] = vs[0].Version.Version
			}
		}
		return out, nil
	}
	ms, err := c.ListSecrets(ctx, vault, o.Prefix)
	if err != nil {
		return nil, err
	}
	for _, m := range ms {
		out[m.Secret.Path] = m.Version.Version
	}
	return out, nil
}

// loadSecrets reads the selected secrets and names their variables. Paths the caller may not read are
// skipped with a note; a name collision, or a refused name not in AllowEnv, is an error naming the paths.
func loadSecrets(ctx context.Context, c clavis.Services, vault string, o loadOptions) (*secretSet, error) {
	vers, err := versions(ctx, c, vault, o)
	if err != nil {
		return nil, err
	}
	paths := make([]string, 0, len(vers))
	for p := range vers {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	allowed := map[string]bool{}
	for _, n := range o.AllowEnv {
		allowed[n] = true
	}
	set := &secretSet{Versions: vers}
	seen := map[string]string{}
	add := func(name, value, p string) error {
		if prev, ok := seen[name]; ok {
			return fmt.Errorf("variable %s comes from both %s and %s", name, prev, p)
		}
		if refusedName(name) && !allowed[name] {
			return fmt.Errorf("secret %s gives the variable %q, which may change how programs run; pass --allow-env %s to accept it", p, name, name)
		}
		seen[name] = p
		set.Vars = append(set.Vars, envSecret{Name: name, Value: value, Path: p})
		return nil
	}
	for i, p := range paths {
		if o.Progress != nil {
			o.Progress(i, len(paths))
		}
		sv, err := c.GetSecret(ctx, vault, p)
		if clavis.IsKind(err, clavis.KindForbidden) || clavis.IsKind(err, clavis.KindApprovalRequired) {
			if o.Note != nil {
				o.Note("note: skipping %s (not readable by you)", p)
			}
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", p, err)
		}
		set.Versions[p] = sv.Version.Version
		if sv.Version.Type == "env_bundle" {
			for _, kv := range parseBundle(string(sv.Value)) {
				if err := add(kv[0], kv[1], p); err != nil {
					return nil, err
				}
			}
			continue
		}
		if err := add(envName(p, o.Prefix), string(sv.Value), p); err != nil {
			return nil, err
		}
	}
	return set, nil
}

// credentialVar reports whether an environment variable carries a Clavis credential, which run never
// passes to its child.
func credentialVar(name string) bool {
	if name == "CLAVIS_TOKEN" || name == "CLAVIS_API_KEY" {
		return true
	}
	return strings.HasPrefix(name, "ONECLAW_") && (strings.HasSuffix(name, "TOKEN") || strings.HasSuffix(name, "API_KEY"))
}

// childEnv is parent minus credential variables plus the secrets; a secret overrides an inherited
// variable unless noOverride.
func childEnv(parent []string, vars []envSecret, noOverride bool) []string {
	inherited := map[string]bool{}
	var out []string
	for _, kv := range parent {
		k, _, _ := strings.Cut(kv, "=")
		if credentialVar(k) {
			continue
		}
		inherited[k] = true
		out = append(out, kv)
	}
	for _, v := range vars {
		if inherited[v.Name] {
			if noOverride {
				continue
			}
			for i, kv := range out {
				if strings.HasPrefix(kv, v.Name+"=") {
					out = append(out[:i], out[i+1:]...)
					break
				}
			}
		}
		out = append(out, v.Name+"="+v.Value)
	}
	return out
}
