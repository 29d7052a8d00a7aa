package render

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"go/build"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/mod/modfile"
)

// BuildError is a failed build; its message is the compiler's output,
// verbatim, for the dev mode to show.
type BuildError struct {
	Output string
}

func (e *BuildError) Error() string { return e.Output }

// BuildGo builds the Go renderer package in pkgDir to outWasm when outWasm
// is missing or older than any file of the package, of the packages of the
// same module it imports (the Go SDK included), or the module's go.mod and
// go.sum. built says whether it ran the compiler.
func BuildGo(ctx context.Context, pkgDir, outWasm string) (built bool, err error) {
	inputs, err := goInputs(pkgDir)
	if err != nil {
		return false, fmt.Errorf("build %s: %w", pkgDir, err)
	}
	argv := []string{"go", "build", "-buildmode=c-shared", "-o", outWasm, "."}
	return buildIfStale(ctx, pkgDir, argv, []string{"GOOS=wasip1", "GOARCH=wasm"}, outWasm, inputs)
}

// RunBuild runs argv in dir when outWasm is missing or older than any file
// matched by watch (globs relative to dir; a directory counts every file
// under it). It is the build step of renderers in other languages.
func RunBuild(ctx context.Context, dir string, argv []string, outWasm string, watch []string) (bool, error) {
	if len(argv) == 0 {
		return false, errors.New("build: empty command")
	}
	var inputs []string
	for _, pattern := range watch {
		matches, err := filepath.Glob(filepath.Join(dir, pattern))
		if err != nil {
			return false, fmt.Errorf("build: watch %q: %w", pattern, err)
		}
		inputs = append(inputs, matches...)
	}
	return buildIfStale(ctx, dir, argv, nil, outWasm, inputs)
}

func buildIfStale(ctx context.Context, dir string, argv, env []string, outWasm string, inputs []string) (bool, error) {
	if !stale(outWasm, inputs) {
		return false, nil
	}
	if err := os.MkdirAll(filepath.Dir(outWasm), 0o755); err != nil {
		return false, fmt.Errorf("build: %w", err)
	}
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		if out.Len() == 0 {
			return true, fmt.Errorf("build: %s: %w", strings.Join(argv, " "), err)
		}
		return true, &BuildError{Output: strings.TrimSpace(out.String())}
	}
	return true, nil
}

// stale reports whether out is missing or older than any file under inputs.
func stale(out string, inputs []string) bool {
	fi, err := os.Stat(out)
	if err != nil {
		return true
	}
	return newest(inputs).After(fi.ModTime())
}

// newest is the latest modification time of the files under paths,
// skipping hidden directories.
func newest(paths []string) time.Time {
	var t time.Time
	for _, p := range paths {
		filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return nil
			}
			if d.IsDir() && path != p && strings.HasPrefix(d.Name(), ".") {
				return filepath.SkipDir
			}
			if info, err := d.Info(); err == nil && !d.IsDir() && info.ModTime().After(t) {
				t = info.ModTime()
			}
			return nil
		})
	}
	return t
}

// GoInputs lists what a Go renderer build depends on, and so what makes
// its module stale: the package directory, the directories of packages of
// the same module it imports, transitively, and the module's go.mod and
// go.sum. `kiln dev` watches the same list.
func GoInputs(pkgDir string) ([]string, error) { return goInputs(pkgDir) }

func goInputs(pkgDir string) ([]string, error) {
	root, modPath, err := findModule(pkgDir)
	if err != nil {
		return nil, err
	}
	inputs := []string{filepath.Join(root, "go.mod"), filepath.Join(root, "go.sum")}
	seen := map[string]bool{}
	queue := []string{pkgDir}
	for len(queue) > 0 {
		dir := queue[0]
		queue = queue[1:]
		if seen[dir] {
			continue
		}
		seen[dir] = true
		inputs = append(inputs, dir)
		for _, imp := range localImports(dir, modPath) {
			queue = append(queue, filepath.Join(root, filepath.FromSlash(imp)))
		}
	}
	return inputs, nil
}

// findModule finds the go.mod above dir and returns its directory and
// module path.
func findModule(dir string) (root, modPath string, err error) {
	dir, err = filepath.Abs(dir)
	if err != nil {
		return "", "", err
	}
	for d := dir; ; d = filepath.Dir(d) {
		b, err := os.ReadFile(filepath.Join(d, "go.mod"))
		if err == nil {
			return d, modfile.ModulePath(b), nil
		}
		if filepath.Dir(d) == d {
			return "", "", fmt.Errorf("no go.mod above %s", dir)
		}
	}
}

// localImports returns the imports of the package in dir, as built for
// wasip1 (build tags and file suffixes apply; tests are left out), that
// belong to module modPath, relative to the module root.
func localImports(dir, modPath string) []string {
	bc := build.Default
	bc.GOOS, bc.GOARCH, bc.CgoEnabled = "wasip1", "wasm", false
	pkg, _ := bc.ImportDir(dir, build.ImportComment)
	if pkg == nil {
		return nil
	}
	var out []string
	for _, path := range pkg.Imports {
		if rest, ok := strings.CutPrefix(path, modPath+"/"); ok {
			out = append(out, rest)
		}
	}
	return out
}
