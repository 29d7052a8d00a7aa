package sdktest_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/kilnhq/kiln/sdk/internal/sdktest"
)

// rustToolchains are the two ways the Rust README builds a renderer: current
// Rust with wasm32-wasip1, and Debian's 1.63 with wasm32-wasi. Only a
// toolchain that has its target's standard library can run: rustup's
// targets are not installable here, so wasip1 runs where one is.
var rustToolchains = []struct {
	name  string
	rustc sdktest.RustC
	cargo string
	// required: missing fails the test when CI is set (.ci/run installs it)
	required bool
}{
	{"current wasip1", sdktest.RustCurrent, "cargo", false},
	{"debian wasi", sdktest.RustDebian, "/usr/bin/cargo", true},
}

func needRust(t *testing.T, r sdktest.RustC, required bool) {
	t.Helper()
	if r.Available(context.Background()) {
		return
	}
	msg := r.Rustc + " has no " + r.Target + " standard library"
	if required && os.Getenv("CI") != "" {
		t.Fatal(msg)
	}
	t.Skip(msg + " here")
}

// TestRustTargets builds the conformance renderer with rustc alone, as
// the README's commands do, for each target, and runs the SPEC cases.
func TestRustTargets(t *testing.T) {
	for _, tc := range rustToolchains {
		t.Run(tc.name, func(t *testing.T) {
			needRust(t, tc.rustc, tc.required)
			dir := t.TempDir()
			out := filepath.Join(dir, "conformance.wasm")
			err := tc.rustc.Build(context.Background(), sdkPath(t, "rust"), "conformance/src/lib.rs", dir, out)
			if err != nil {
				t.Fatal(err)
			}
			runConformance(t, out)
		})
	}
}

// TestRustCargo builds the conformance crate with Cargo, offline, from a
// copy of the SDK (Cargo writes beside the manifest), for each target.
func TestRustCargo(t *testing.T) {
	if testing.Short() {
		t.Skip("cargo builds; skipped with -short")
	}
	for _, tc := range rustToolchains {
		t.Run(tc.name, func(t *testing.T) {
			needRust(t, tc.rustc, tc.required)
			cargo, err := exec.LookPath(tc.cargo)
			if err != nil {
				t.Skipf("%s not found", tc.cargo)
			}
			dir := t.TempDir()
			runIn(t, dir, "cp", "-r", sdkPath(t, "rust"), "src")
			cmd := exec.Command(cargo, "build", "--offline", "--locked", "--release", "--target", tc.rustc.Target, "-p", "kiln-conformance")
			cmd.Dir = filepath.Join(dir, "src")
			cmd.Env = append(os.Environ(), "RUSTC="+tc.rustc.Rustc, "CARGO_TARGET_DIR="+filepath.Join(dir, "target"))
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("cargo build: %v\n%s", err, out)
			}
			runConformance(t, filepath.Join(dir, "target", tc.rustc.Target, "release", "kiln_conformance.wasm"))
		})
	}
}

// runConformance loads a conformance module and checks it against the
// SPEC cases.
func runConformance(t *testing.T, file string) {
	t.Helper()
	bin, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	h, err := sdktest.NewHost(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close(ctx)
	m, err := h.Load(ctx, filepath.Base(file), bin)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range conformanceCases {
		res, err := m.Call(ctx, "kiln_render", encode(tc.req), conformanceData)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		checkResult(t, res, tc.want, tc.wantFail)
	}
}
