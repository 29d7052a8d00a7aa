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
// is missing or older than any of its inputs (GoInputs): the package, the
// local packages it imports, and the files that choose module versions.
// built says whether it ran the compiler.
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
// its module stale: the package directory and the directories of the local
// packages it imports, transitively, with the go.mod and go.sum of its
// module. A local package is one of the renderer's module, or of a module
// on disk that the build uses instead of a download: a `replace` with a
// directory in go.mod, or a module of the go.work workspace the build runs
// in (go.work and go.work.sum are inputs then too). So in this repository
// an edit to the Go SDK rebuilds the blog's renderers. `kiln dev` watches
// the same list.
func GoInputs(pkgDir string) ([]string, error) { return goInputs(pkgDir) }

func goInputs(pkgDir string) ([]string, error) {
	mods, inputs, err := localModules(pkgDir)
	if err != nil {
		return nil, err
	}
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
		for _, imp := range buildImports(dir) {
			if d, ok := mods.dir(imp); ok {
				queue = append(queue, d)
			}
		}
	}
	return inputs, nil
}

// modules maps the path of each module on disk to its directory.
type modules map[string]string

// dir is the directory of the package path imp, if it belongs to one of
// the modules (the longest module path wins, as nested modules do).
func (m modules) dir(imp string) (string, bool) {
	best := ""
	for path := range m {
		if (imp == path || strings.HasPrefix(imp, path+"/")) && len(path) > len(best) {
			best = path
		}
	}
	if best == "" {
		return "", false
	}
	return filepath.Join(m[best], filepath.FromSlash(strings.TrimPrefix(imp[len(best):], "/"))), true
}

// localModules finds the module holding pkgDir and the modules on disk
// its build uses (its replaces with a directory, and the go.work
// workspace's modules unless GOWORK=off), with the files that choose
// versions: each of their go.mod files, the main go.sum, go.work and
// go.work.sum.
func localModules(pkgDir string) (modules, []string, error) {
	root, modPath, err := findModule(pkgDir)
	if err != nil {
		return nil, nil, err
	}
	mods := modules{modPath: root}
	inputs := []string{filepath.Join(root, "go.mod"), filepath.Join(root, "go.sum")}
	if b, err := os.ReadFile(filepath.Join(root, "go.mod")); err == nil {
		if f, err := modfile.Parse("go.mod", b, nil); err == nil {
			inputs = append(inputs, replaceDirs(mods, root, f.Replace)...)
		}
	}
	work := goWork(root)
	if work == "" {
		return mods, inputs, nil
	}
	b, err := os.ReadFile(work)
	if err != nil {
		return mods, inputs, nil
	}
	f, err := modfile.ParseWork(work, b, nil)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", work, err)
	}
	base := filepath.Dir(work)
	inputs = append(inputs, work, work+".sum")
	for _, u := range f.Use {
		d := u.Path
		if !filepath.IsAbs(d) {
			d = filepath.Join(base, d)
		}
		if d == root {
			continue
		}
		if b, err := os.ReadFile(filepath.Join(d, "go.mod")); err == nil {
			mods[modfile.ModulePath(b)] = d
			inputs = append(inputs, filepath.Join(d, "go.mod"))
		}
	}
	inputs = append(inputs, replaceDirs(mods, base, f.Replace)...)
	return mods, inputs, nil
}

// replaceDirs adds the replacements with a directory to mods, relative to
// base, and returns their go.mod files.
func replaceDirs(mods modules, base string, rs []*modfile.Replace) []string {
	var gomods []string
	for _, r := range rs {
		if r.New.Version != "" {
			continue // a replacement by another module version, downloaded
		}
		d := r.New.Path
		if !filepath.IsAbs(d) {
			d = filepath.Join(base, d)
		}
		mods[r.Old.Path] = d
		gomods = append(gomods, filepath.Join(d, "go.mod"))
	}
	return gomods
}

// goWork is the go.work file a build in dir uses: $GOWORK if set (none
// when "off"), else the first go.work in dir or above.
func goWork(dir string) string {
	switch w := os.Getenv("GOWORK"); w {
	case "off":
		return ""
	case "":
	default:
		return w
	}
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.work")); err == nil {
			return filepath.Join(d, "go.work")
		}
		if filepath.Dir(d) == d {
			return ""
		}
	}
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

// buildImports returns the imports of the package in dir, as built for
// wasip1 (build tags and file suffixes apply; tests are left out).
func buildImports(dir string) []string {
	bc := build.Default
	bc.GOOS, bc.GOARCH, bc.CgoEnabled = "wasip1", "wasm", false
	pkg, _ := bc.ImportDir(dir, build.ImportComment)
	if pkg == nil {
		return nil
	}
	return pkg.Imports
}
