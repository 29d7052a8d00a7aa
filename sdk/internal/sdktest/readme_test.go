package sdktest_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/kilnhq/kiln/sdk/go/abi"
	"github.com/kilnhq/kiln/sdk/internal/sdktest"
)

// readmeBlock returns the first fenced code block of kind in an SDK's README.
func readmeBlock(t *testing.T, lang sdktest.Lang, kind string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("../..", string(lang), "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile("(?s)```" + kind + "\n(.*?)```").FindSubmatch(b)
	if m == nil {
		t.Fatalf("%s README has no %s block", lang, kind)
	}
	return string(m[1])
}

func runIn(t *testing.T, dir, name string, args ...string) {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", name, err, out)
	}
}

func sdkPath(t *testing.T, rel string) string {
	t.Helper()
	p, err := filepath.Abs(filepath.Join("../..", rel))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// buildReadme builds the page of lang's README the way the README says.
func buildReadme(t *testing.T, lang sdktest.Lang, dir string) string {
	out := filepath.Join(dir, "page.wasm")
	switch lang {
	case sdktest.C:
		src := filepath.Join(dir, "page.c")
		writeFile(t, src, readmeBlock(t, lang, "c"))
		runIn(t, dir, "clang", "--target=wasm32-wasi", "-mexec-model=reactor", "-O2", "-s",
			"-I", sdkPath(t, "c"), "-o", out, src)
	case sdktest.Rust:
		writeFile(t, filepath.Join(dir, "page.rs"), readmeBlock(t, lang, "rust"))
		runIn(t, dir, "/usr/bin/rustc", "--edition", "2021", "--crate-type=rlib", "--crate-name", "kiln",
			"--target", "wasm32-wasi", "-O", sdkPath(t, "rust/src/lib.rs"), "-o", "libkiln.rlib")
		runIn(t, dir, "/usr/bin/rustc", "--edition", "2021", "--crate-type=cdylib", "--target", "wasm32-wasi",
			"-O", "-C", "strip=symbols", "--extern", "kiln=libkiln.rlib", "page.rs", "-o", out)
	case sdktest.AssemblyScript:
		// An npm project that installed the SDK and the compiler.
		mods := filepath.Join(dir, "node_modules")
		must(t, os.MkdirAll(filepath.Join(mods, "@kilnhq"), 0o755))
		must(t, os.Symlink(sdkPath(t, "assemblyscript"), filepath.Join(mods, "@kilnhq", "kiln-assemblyscript")))
		must(t, os.Symlink(sdkPath(t, "assemblyscript/node_modules/assemblyscript"), filepath.Join(mods, "assemblyscript")))
		must(t, os.MkdirAll(filepath.Join(dir, "assembly"), 0o755))
		writeFile(t, filepath.Join(dir, "assembly", "index.ts"), readmeBlock(t, lang, "ts"))
		writeFile(t, filepath.Join(dir, "asconfig.json"), readmeBlock(t, lang, "json"))
		runIn(t, dir, "node", filepath.Join(mods, "assemblyscript", "bin", "asc.js"), "assembly/index.ts",
			"--config", "asconfig.json", "--target", "release", "-o", out)
	}
	return out
}

func writeFile(t *testing.T, path, s string) { must(t, os.WriteFile(path, []byte(s), 0o644)) }

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// TestReadmeExamples builds the page each SDK's README shows, with the
// README's own commands, and renders a post with it.
func TestReadmeExamples(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: compiles three projects from scratch")
	}
	for _, lang := range sdktest.Langs {
		t.Run(string(lang), func(t *testing.T) {
			if _, err := cachedBuild(lang, "example"); errors.Is(err, sdktest.ErrToolchain) && os.Getenv("CI") == "" {
				t.Skip(err)
			}
			code, err := os.ReadFile(buildReadme(t, lang, t.TempDir()))
			must(t, err)
			ctx := context.Background()
			h, err := sdktest.NewHost(ctx)
			must(t, err)
			defer h.Close(ctx)
			m, err := h.Load(ctx, string(lang)+"-readme", code)
			must(t, err)
			res, err := m.Call(ctx, "kiln_render", encode(post("plain")), exampleData)
			must(t, err)
			got, err := abi.DecodeResponse(res.Answer)
			if err != nil || res.RC != 0 || len(got.Tags) == 0 || got.Tags[0] != "post:plain" {
				t.Errorf("rc %d failure %q, response %+v (err %v); want tag post:plain", res.RC, res.Failure, got, err)
			}
		})
	}
}
