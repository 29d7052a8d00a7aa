package sdktest_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kilnhq/kiln/sdk/internal/sdktest"
)

// buildTrap builds testdata/trap for lang: a renderer that aborts, panics
// or fails an assertion.
func buildTrap(t *testing.T, lang sdktest.Lang, dir string) string {
	out := filepath.Join(dir, "trap.wasm")
	trap, err := filepath.Abs("testdata/trap")
	must(t, err)
	switch lang {
	case sdktest.C:
		runIn(t, dir, "clang", "--target=wasm32-wasi", "-mexec-model=reactor", "-O2", "-I", sdkPath(t, "c"),
			"-o", out, filepath.Join(trap, "main.c"))
	case sdktest.Rust:
		runIn(t, dir, "/usr/bin/rustc", "--edition", "2021", "--crate-type=rlib", "--crate-name", "kiln",
			"--target", "wasm32-wasi", "-O", sdkPath(t, "rust/src/lib.rs"), "-o", "libkiln.rlib")
		runIn(t, dir, "/usr/bin/rustc", "--edition", "2021", "--crate-type=cdylib", "--target", "wasm32-wasi",
			"-O", "--extern", "kiln=libkiln.rlib", filepath.Join(trap, "lib.rs"), "-o", out)
	case sdktest.AssemblyScript:
		// The abort function's internal name follows the import path the
		// entry file uses, relative to the working directory.
		writeFile(t, filepath.Join(dir, "asconfig.json"), "{}")
		runIn(t, sdkPath(t, "assemblyscript"), "node_modules/.bin/asc", "../internal/sdktest/testdata/trap/index.ts",
			"--config", filepath.Join(dir, "asconfig.json"), "--runtime", "incremental", "--exportStart", "_initialize",
			"--use", "abort=../assemblyscript/assembly/index/kilnAbort",
			"-O2", "-o", out)
	}
	return out
}

// TestTrap checks that a renderer that crashes fails the render with a
// trap, and that the Rust and AssemblyScript SDKs report the panic or
// assertion message through kiln.fail first.
func TestTrap(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: compiles three modules from scratch")
	}
	wantFail := map[sdktest.Lang]string{sdktest.Rust: "boom: 0 items", sdktest.AssemblyScript: "boom"}
	for _, lang := range sdktest.Langs {
		t.Run(string(lang), func(t *testing.T) {
			if _, err := cachedBuild(lang, "conformance"); errors.Is(err, sdktest.ErrToolchain) && os.Getenv("CI") == "" {
				t.Skip(err)
			}
			code, err := os.ReadFile(buildTrap(t, lang, t.TempDir()))
			must(t, err)
			ctx := context.Background()
			h, err := sdktest.NewHost(ctx)
			must(t, err)
			defer h.Close(ctx)
			m, err := h.Load(ctx, string(lang)+"-trap", code)
			must(t, err)
			res, err := m.Call(ctx, "kiln_render", encode(blocking("/x")), conformanceData)
			if err == nil {
				t.Fatalf("render succeeded (rc %d), want a trap", res.RC)
			}
			if res.Answer != nil {
				t.Errorf("a trapped render sent an answer")
			}
			if want := wantFail[lang]; !strings.Contains(res.Failure, want) {
				t.Errorf("failure = %q, want it to contain %q", res.Failure, want)
			}
		})
	}
}
