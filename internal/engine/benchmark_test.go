package engine

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestSkipReadAuditOnlyInHarnesses keeps the benchmark switch out of production: outside this file's
// declaration, only test files and test harnesses (a directory named *test, such as clavistest) may
// call SkipReadAuditForBenchmark.
func TestSkipReadAuditOnlyInHarnesses(t *testing.T) {
	root := filepath.Join("..", "..") // the module root
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatalf("module root not found: %v", err)
	}
	var callers []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if name := d.Name(); p != root && (strings.HasPrefix(name, ".") || strings.HasSuffix(name, "test") || name == "testdata") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(p, ".go") || strings.HasSuffix(p, "_test.go") || p == filepath.Join(root, "internal", "engine", "benchmark.go") {
			return nil
		}
		b, err := os.ReadFile(p) // #nosec G122 G304 -- the repository's own source files
		if err != nil {
			return err
		}
		if strings.Contains(string(b), "SkipReadAuditForBenchmark(") {
			callers = append(callers, p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range callers {
		t.Errorf("%s calls SkipReadAuditForBenchmark; only test harnesses may", p)
	}
}
