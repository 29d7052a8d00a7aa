package sdktest_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/kilnhq/kiln/sdk/internal/sdktest"
	"github.com/tetratelabs/wazero"
)

// The SDKs' own unit tests, run with each language's toolchain.

// TestRustUnit runs the Rust crate's own unit tests (codec, JSON) on the
// host with Debian's rustc.
func TestRustUnit(t *testing.T) {
	if _, err := cachedBuild(sdktest.Rust, "conformance"); errors.Is(err, sdktest.ErrToolchain) && os.Getenv("CI") == "" {
		t.Skip(err)
	}
	bin := filepath.Join(t.TempDir(), "kiln-test")
	runIn(t, sdkPath(t, "rust"), "/usr/bin/rustc", "--edition", "2021", "--test", "src/lib.rs", "-o", bin)
	runIn(t, t.TempDir(), bin)
}

// TestCJSON runs the unit tests of sdk/c/kiln_json.h (testdata/json),
// compiled as a WASI command, in wazero.
func TestCJSON(t *testing.T) {
	if _, err := cachedBuild(sdktest.C, "conformance"); errors.Is(err, sdktest.ErrToolchain) && os.Getenv("CI") == "" {
		t.Skip(err)
	}
	dir := t.TempDir()
	out := filepath.Join(dir, "json.wasm")
	src, err := filepath.Abs("testdata/json/main.c")
	must(t, err)
	runIn(t, dir, "clang", "--target=wasm32-wasi", "-O2", "-Wall", "-Werror", "-I", sdkPath(t, "c"), "-o", out, src)
	code, err := os.ReadFile(out)
	must(t, err)
	stdout, err := sdktest.RunCommand(context.Background(), code)
	if err != nil || stdout != "" {
		t.Errorf("json tests: %v\n%s", err, stdout)
	}
}

// TestASJSON runs the unit tests of sdk/assemblyscript/assembly/json.ts
// (testdata/json/json.ts): its run export returns the first failed case.
func TestASJSON(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: compiles an AssemblyScript module from scratch")
	}
	if _, err := cachedBuild(sdktest.AssemblyScript, "conformance"); errors.Is(err, sdktest.ErrToolchain) && os.Getenv("CI") == "" {
		t.Skip(err)
	}
	dir := t.TempDir()
	out := filepath.Join(dir, "json.wasm")
	writeFile(t, filepath.Join(dir, "asconfig.json"), "{}")
	runIn(t, sdkPath(t, "assemblyscript"), "node_modules/.bin/asc", "../internal/sdktest/testdata/json/json.ts",
		"--config", filepath.Join(dir, "asconfig.json"), "--runtime", "incremental", "--use", "abort=", "-O2", "-o", out)
	code, err := os.ReadFile(out)
	must(t, err)
	ctx := context.Background()
	rt := wazero.NewRuntime(ctx)
	defer rt.Close(ctx)
	m, err := rt.Instantiate(ctx, code)
	must(t, err)
	got, err := m.ExportedFunction("run").Call(ctx)
	must(t, err)
	if got[0] != 0 {
		t.Errorf("json.ts case %d failed", got[0])
	}
}
