// Package kiln_test holds no code: its test runs the tests of the
// repository's other modules, so that `go test ./...` at the root, which
// only reaches the root module's packages, tests every module (see
// "Modules" in RATIONALE.md).
package kiln_test

import (
	"flag"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/modfile"
)

// TestWorkspaceModules runs `go test ./...` in every other module of
// go.work, with this run's -race, -short, -v, -count and remaining
// -timeout.
func TestWorkspaceModules(t *testing.T) {
	b, err := os.ReadFile("go.work")
	if err != nil {
		t.Fatal(err)
	}
	work, err := modfile.ParseWork("go.work", b, nil)
	if err != nil {
		t.Fatal(err)
	}
	var mods []string
	for _, u := range work.Use {
		if d := filepath.Clean(u.Path); d != "." && hasGo(t, d) {
			mods = append(mods, d)
		}
	}
	if len(mods) == 0 {
		t.Fatal("go.work uses no module besides the root")
	}
	// go test caches this test's result keyed on the files it opens: open
	// every directory of the repository (each one's listing hashes its
	// files' sizes and times), so an edit anywhere runs it again.
	readTree(t, ".")

	args := []string{"test"}
	if raceEnabled {
		args = append(args, "-race")
	}
	if testing.Short() {
		args = append(args, "-short")
	}
	if testing.Verbose() {
		args = append(args, "-v")
	}
	if c := flag.Lookup("test.count"); c != nil && c.Value.String() != "1" {
		args = append(args, "-count="+c.Value.String())
	}
	if d, ok := t.Deadline(); ok {
		args = append(args, "-timeout="+time.Until(d).Truncate(time.Second).String())
	}
	for _, m := range mods {
		t.Run(filepath.ToSlash(m), func(t *testing.T) {
			t.Parallel()
			cmd := exec.Command("go", append(slices.Clip(args), "./...")...)
			cmd.Dir = m
			cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
			if err := cmd.Run(); err != nil {
				t.Errorf("go %s ./... in %s: %v", strings.Join(args[1:], " "), m, err)
			}
		})
	}
}

// hasGo reports whether the module in dir has Go files (the tools module
// has none).
func hasGo(t *testing.T, dir string) bool {
	t.Helper()
	found := false
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(p, ".go") {
			found = true
			return filepath.SkipAll
		}
		return nil
	})
	return found
}

// readTree opens every directory under root but hidden ones, node_modules
// and Rust's target.
func readTree(t *testing.T, root string) {
	t.Helper()
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && p != root && (strings.HasPrefix(d.Name(), ".") || d.Name() == "node_modules" || d.Name() == "target") {
			return filepath.SkipDir
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
