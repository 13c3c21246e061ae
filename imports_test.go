package clavis_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// The import rules of DESIGN §2, checked on the direct imports of non-test files:
//
//   - the root package imports only the standard library;
//   - client imports only the standard library and the root package;
//   - internal/engine never imports a concrete store, a concrete key provider or net/http;
//   - the transports (internal/httpapi, internal/mcp, internal/cli, internal/web) never import
//     internal/engine, a concrete store or a concrete key provider, nor the packages under them:
//     internal/store, internal/token, internal/keyring (they speak the root's interfaces);
//   - only cmd/clavis and test harnesses (a path element ending in "test": clavistest, storetest,
//     keyringtest) import concrete implementations; an implementation may import its own subpackages;
//   - no production package (one that is not a harness) imports a test harness.
//
// Rules about a package and its subpackages apply to both; harnesses are exempt from the engine and
// transport rules. Packages that do not exist yet are skipped, except the root and client.

// concrete lists the implementations that only the composition root and harnesses may know.
var concrete = []string{"internal/store/sqlite", "internal/store/postgres", "internal/keyring/file", "internal/keyring/pkcs11"}

var transports = []string{"internal/httpapi", "internal/mcp", "internal/cli", "internal/web"}

// belowTransports lists what the transports reach only through the engine, behind the root's interfaces.
var belowTransports = []string{"internal/engine", "internal/store", "internal/token", "internal/keyring"}

// listedPackage is the part of `go list -json` output that the rules need.
type listedPackage struct {
	ImportPath string
	Imports    []string
	Standard   bool
	Module     *struct {
		Path string
		Main bool
	}
	Error *struct{ Err string }
}

// under reports whether rel is dir or inside it (module-relative paths; "" is the root).
func under(rel, dir string) bool { return rel == dir || strings.HasPrefix(rel, dir+"/") }

func underAny(rel string, dirs []string) (string, bool) {
	for _, d := range dirs {
		if under(rel, d) {
			return d, true
		}
	}
	return "", false
}

// isHarness reports whether a module-relative package path names a test harness.
func isHarness(rel string) bool {
	for _, e := range strings.Split(rel, "/") {
		if strings.HasSuffix(e, "test") {
			return true
		}
	}
	return false
}

// importViolations applies the rules to the packages of main module mod, using all (the packages and
// their dependencies, as `go list -deps` prints them) to tell standard-library imports apart. Each
// violation names the importing package, the import and the rule it breaks.
func importViolations(mod string, all []listedPackage) []string {
	std := map[string]bool{}
	for _, p := range all {
		std[p.ImportPath] = p.Standard
	}
	isStd := func(imp string) bool {
		if s, ok := std[imp]; ok {
			return s
		}
		// Not resolved (a package that does not load): standard-library paths have no dot in their
		// first element.
		return !strings.Contains(strings.SplitN(imp, "/", 2)[0], ".")
	}
	// local returns the module-relative path of imp, and whether it is in the main module.
	local := func(imp string) (string, bool) {
		if imp == mod {
			return "", true
		}
		if r, ok := strings.CutPrefix(imp, mod+"/"); ok {
			return r, true
		}
		return "", false
	}

	var out []string
	for _, p := range all {
		rel, ok := local(p.ImportPath)
		if !ok || p.Standard {
			continue
		}
		harness := isHarness(rel)
		for _, imp := range p.Imports {
			r, isLocal := local(imp)
			impConcrete, isConcrete := "", false
			if isLocal {
				impConcrete, isConcrete = underAny(r, concrete)
			}
			var broken []string
			if rel == "" && !isStd(imp) {
				broken = append(broken, "the root package imports only the standard library")
			}
			if rel == "client" && !isStd(imp) && !(isLocal && r == "") {
				broken = append(broken, "client imports only the standard library and the root package")
			}
			if under(rel, "internal/engine") && !harness && (isConcrete || under(imp, "net/http")) {
				broken = append(broken, "internal/engine never imports a concrete store, a concrete key provider or net/http")
			}
			if _, isTransport := underAny(rel, transports); isTransport && !harness && isLocal {
				if _, below := underAny(r, belowTransports); below {
					broken = append(broken, "transports never import internal/engine, internal/store, internal/token or internal/keyring (concrete stores and key providers included)")
				}
			}
			if isConcrete && rel != "cmd/clavis" && !harness && !under(rel, impConcrete) {
				broken = append(broken, "only cmd/clavis and test harnesses import concrete implementations")
			}
			if isLocal && isHarness(r) && !harness {
				broken = append(broken, "no production package imports a test harness")
			}
			for _, b := range broken {
				out = append(out, fmt.Sprintf("package %s imports %s: %s", p.ImportPath, imp, b))
			}
		}
	}
	return out
}

// TestImportRules runs `go list` over the module and fails for every import that breaks a rule.
// Packages that others are still writing may not compile; `-e` lists them anyway and their import lists
// (as far as they parse) are judged.
func TestImportRules(t *testing.T) {
	root, err := os.Getwd() // go test runs in the package directory: the module root
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatalf("%s is not the module root: %v", root, err)
	}
	// go test puts the go command that runs it first on PATH.
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("no go command to list packages with")
	}

	cmd := exec.Command("go", "list", "-e", "-deps", "-json=ImportPath,Imports,Standard,Module,Error", "./...")
	cmd.Dir = root
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("go list: %v\n%s", err, stderr.String())
	}
	var all []listedPackage
	mod := ""
	for dec := json.NewDecoder(&stdout); ; {
		var p listedPackage
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("decode go list output: %v", err)
		}
		if p.Module != nil && p.Module.Main {
			mod = p.Module.Path
			if p.Error != nil {
				t.Logf("go list: %s does not load (its imports are judged as listed): %s", p.ImportPath, p.Error.Err)
			}
		}
		all = append(all, p)
	}
	if mod == "" {
		t.Fatal("go list printed no package of the main module")
	}
	for _, want := range []string{mod, mod + "/client"} {
		if !slices.ContainsFunc(all, func(p listedPackage) bool { return p.ImportPath == want }) {
			t.Errorf("package %s is missing from go list output", want)
		}
	}
	for _, v := range importViolations(mod, all) {
		t.Error(v)
	}
}

// TestImportRulesCatch checks importViolations itself on made-up module trees.
func TestImportRulesCatch(t *testing.T) {
	const mod = "example.com/m"
	stdlib := []listedPackage{
		{ImportPath: "fmt", Standard: true},
		{ImportPath: "net/http", Standard: true},
		{ImportPath: "net/http/httptest", Standard: true},
	}
	pkg := func(rel string, imports ...string) listedPackage {
		p := listedPackage{ImportPath: mod, Imports: imports}
		if rel != "" {
			p.ImportPath += "/" + rel
		}
		p.Module = &struct {
			Path string
			Main bool
		}{mod, true}
		return p
	}
	m := func(rel string) string { return mod + "/" + rel }

	tests := []struct {
		name string
		pkgs []listedPackage
		want []string
	}{
		{
			name: "a tree that follows the rules",
			pkgs: []listedPackage{
				pkg("", "fmt"),
				pkg("client", "fmt", "net/http", mod),
				pkg("internal/engine", "fmt", mod, m("internal/store")),
				pkg("internal/httpapi", "net/http", mod),
				pkg("internal/store/sqlite", "fmt", m("internal/store/sqlite/migrations"), "modernc.org/sqlite"),
				pkg("internal/store/storetest", m("internal/store/sqlite")),
				pkg("internal/clavistest", m("internal/engine"), m("internal/keyring/file")),
				pkg("internal/engine/enginetest", "net/http/httptest", m("internal/store/sqlite")),
				pkg("cmd/clavis", m("internal/engine"), m("internal/store/postgres"), m("internal/keyring/pkcs11")),
				{ImportPath: "modernc.org/sqlite"},
			},
		},
		{
			name: "root imports a third-party package",
			pkgs: []listedPackage{pkg("", "fmt", "github.com/google/uuid"), {ImportPath: "github.com/google/uuid"}},
			want: []string{"package example.com/m imports github.com/google/uuid: the root package imports only the standard library"},
		},
		{
			name: "root imports an internal package",
			pkgs: []listedPackage{pkg("", m("internal/policy"))},
			want: []string{"package example.com/m imports example.com/m/internal/policy: the root package imports only the standard library"},
		},
		{
			name: "client imports an internal package",
			pkgs: []listedPackage{pkg("client", mod, m("internal/httpapi"))},
			want: []string{"package example.com/m/client imports example.com/m/internal/httpapi: client imports only the standard library and the root package"},
		},
		{
			name: "client imports a package that does not load",
			pkgs: []listedPackage{pkg("client", "golang.org/x/net/http2")},
			want: []string{"package example.com/m/client imports golang.org/x/net/http2: client imports only the standard library and the root package"},
		},
		{
			name: "engine imports net/http and a key provider",
			pkgs: []listedPackage{pkg("internal/engine", "net/http", m("internal/keyring/pkcs11"))},
			want: []string{
				"package example.com/m/internal/engine imports net/http: internal/engine never imports a concrete store, a concrete key provider or net/http",
				"package example.com/m/internal/engine imports example.com/m/internal/keyring/pkcs11: internal/engine never imports a concrete store, a concrete key provider or net/http",
				"package example.com/m/internal/engine imports example.com/m/internal/keyring/pkcs11: only cmd/clavis and test harnesses import concrete implementations",
			},
		},
		{
			name: "engine subpackage imports net/http/httptest",
			pkgs: []listedPackage{pkg("internal/engine/cache", "net/http/httptest")},
			want: []string{"package example.com/m/internal/engine/cache imports net/http/httptest: internal/engine never imports a concrete store, a concrete key provider or net/http"},
		},
		{
			name: "transport imports engine",
			pkgs: []listedPackage{pkg("internal/mcp", m("internal/engine"))},
			want: []string{"package example.com/m/internal/mcp imports example.com/m/internal/engine: transports never import internal/engine, internal/store, internal/token or internal/keyring (concrete stores and key providers included)"},
		},
		{
			name: "transport imports a concrete store",
			pkgs: []listedPackage{pkg("internal/cli", m("internal/store/postgres"))},
			want: []string{
				"package example.com/m/internal/cli imports example.com/m/internal/store/postgres: transports never import internal/engine, internal/store, internal/token or internal/keyring (concrete stores and key providers included)",
				"package example.com/m/internal/cli imports example.com/m/internal/store/postgres: only cmd/clavis and test harnesses import concrete implementations",
			},
		},
		{
			name: "transports import the store contract, token and keyring",
			pkgs: []listedPackage{
				pkg("internal/httpapi", mod, m("internal/store")),
				pkg("internal/web", m("internal/token")),
				pkg("internal/mcp/tools", m("internal/keyring")),
				pkg("internal/cli", m("internal/audit"), m("internal/policy"), m("internal/storage")),
			},
			want: []string{
				"package example.com/m/internal/httpapi imports example.com/m/internal/store: transports never import internal/engine, internal/store, internal/token or internal/keyring (concrete stores and key providers included)",
				"package example.com/m/internal/web imports example.com/m/internal/token: transports never import internal/engine, internal/store, internal/token or internal/keyring (concrete stores and key providers included)",
				"package example.com/m/internal/mcp/tools imports example.com/m/internal/keyring: transports never import internal/engine, internal/store, internal/token or internal/keyring (concrete stores and key providers included)",
			},
		},
		{
			name: "production packages import test harnesses",
			pkgs: []listedPackage{
				pkg("internal/engine", m("internal/store/storetest")),
				pkg("cmd/clavis", m("internal/clavistest")),
				pkg("internal/keyring/file", m("internal/keyring/keyringtest")),
				pkg("internal/clavistest", m("internal/keyring/keyringtest"), m("internal/store/storetest")),
			},
			want: []string{
				"package example.com/m/internal/engine imports example.com/m/internal/store/storetest: no production package imports a test harness",
				"package example.com/m/cmd/clavis imports example.com/m/internal/clavistest: no production package imports a test harness",
				"package example.com/m/internal/keyring/file imports example.com/m/internal/keyring/keyringtest: no production package imports a test harness",
			},
		},
		{
			name: "another command imports a concrete store subpackage",
			pkgs: []listedPackage{pkg("cmd/tool", m("internal/store/sqlite/migrations"))},
			want: []string{"package example.com/m/cmd/tool imports example.com/m/internal/store/sqlite/migrations: only cmd/clavis and test harnesses import concrete implementations"},
		},
		{
			name: "one implementation imports another",
			pkgs: []listedPackage{pkg("internal/store/postgres", m("internal/store/sqlite"))},
			want: []string{"package example.com/m/internal/store/postgres imports example.com/m/internal/store/sqlite: only cmd/clavis and test harnesses import concrete implementations"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := importViolations(mod, append(slices.Clone(stdlib), tc.pkgs...))
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("violations =\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
		})
	}
}
