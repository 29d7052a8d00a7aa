// Package sdktest builds the C, Rust and AssemblyScript SDKs' renderers with
// their real toolchains and checks the modules against the renderer ABI
// (sdk/ABI.md) with a small wazero host.
package sdktest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// Lang is an SDK language.
type Lang string

// The languages this package builds.
const (
	C              Lang = "c"
	Rust           Lang = "rust"
	AssemblyScript Lang = "assemblyscript"
)

// Langs lists every language, in a stable order.
var Langs = []Lang{C, Rust, AssemblyScript}

// ErrToolchain means a compiler is not installed; the message says what to
// install.
var ErrToolchain = errors.New("sdktest: toolchain missing")

// Build compiles target ("conformance" or "example") of lang's SDK, found
// under sdkDir (the repository's sdk/ folder), into outDir, and returns the
// path of the .wasm file. The commands are the ones in each SDK's README.
func Build(ctx context.Context, lang Lang, sdkDir, target, outDir string) (string, error) {
	sdkDir, err := filepath.Abs(sdkDir)
	if err != nil {
		return "", err
	}
	if outDir, err = filepath.Abs(outDir); err != nil {
		return "", err
	}
	out := filepath.Join(outDir, fmt.Sprintf("%s-%s.wasm", lang, target))
	if err := Toolchain(ctx, lang, sdkDir); err != nil {
		return "", fmt.Errorf("build %s %s: %w", lang, target, err)
	}
	switch lang {
	case C:
		err = buildC(ctx, filepath.Join(sdkDir, "c"), target, out)
	case Rust:
		err = buildRust(ctx, filepath.Join(sdkDir, "rust"), target, outDir, out)
	case AssemblyScript:
		err = buildAS(ctx, filepath.Join(sdkDir, "assemblyscript"), target, out)
	default:
		err = fmt.Errorf("sdktest: unknown language %q", lang)
	}
	if err != nil {
		return "", fmt.Errorf("build %s %s: %w", lang, target, err)
	}
	return out, nil
}

// Toolchain reports, as an error wrapping ErrToolchain that says what to
// install, whether lang's toolchain is missing. Callers check it before
// using a cached build, so tests skip alike with or without a cache.
func Toolchain(ctx context.Context, lang Lang, sdkDir string) error {
	switch lang {
	case C:
		if _, err := exec.LookPath("clang"); err != nil {
			return fmt.Errorf("%w: install the Debian packages clang lld wasi-libc libclang-rt-14-dev-wasm32", ErrToolchain)
		}
		if _, err := os.Stat("/usr/lib/wasm32-wasi/crt1-reactor.o"); err != nil {
			return fmt.Errorf("%w: install the Debian packages wasi-libc libclang-rt-14-dev-wasm32", ErrToolchain)
		}
	case Rust:
		if _, err := RustToolchain(ctx); err != nil {
			return err
		}
	case AssemblyScript:
		// npm ci installs asc and links the package to itself, so the
		// example and conformance renderers import it by name.
		mods := filepath.Join(sdkDir, "assemblyscript", "node_modules")
		for _, p := range []string{".bin/asc", "@kilnhq/kiln-assemblyscript/package.json"} {
			if _, err := os.Stat(filepath.Join(mods, p)); err != nil {
				return fmt.Errorf("%w: run `npm ci` in sdk/assemblyscript (needs node and npm)", ErrToolchain)
			}
		}
	}
	return nil
}

func buildC(ctx context.Context, dir, target, out string) error {
	src := filepath.Join(dir, target, "main.c")
	return run(ctx, dir, "clang", "--target=wasm32-wasi", "-mexec-model=reactor", "-O2", "-s",
		"-Wall", "-Werror", "-o", out, src)
}

// RustC names a rustc and the WASI target it builds renderers for.
type RustC struct {
	Rustc, Target string
}

// RustCurrent is current Rust (1.78 and later; 1.84 dropped wasm32-wasi):
// the rustc on PATH, usually rustup's, with `rustup target add
// wasm32-wasip1`. RustDebian is Debian 12's rustc 1.63 with
// libstd-rust-dev-wasm32, which predates the wasip1 name. Both targets
// are WASI preview 1: the same ABI, the same modules.
var (
	RustCurrent = RustC{Rustc: "rustc", Target: "wasm32-wasip1"}
	RustDebian  = RustC{Rustc: "/usr/bin/rustc", Target: "wasm32-wasi"}
)

// RustToolchain returns the first of RustCurrent and RustDebian that has
// its target's standard library installed.
func RustToolchain(ctx context.Context) (RustC, error) {
	for _, r := range []RustC{RustCurrent, RustDebian} {
		if r.Available(ctx) {
			return r, nil
		}
	}
	return RustC{}, fmt.Errorf("%w: install the Debian packages rustc libstd-rust-dev-wasm32, or run `rustup target add wasm32-wasip1`", ErrToolchain)
}

// Available reports whether r's rustc runs and has its target's standard
// library.
func (r RustC) Available(ctx context.Context) bool {
	out, err := exec.CommandContext(ctx, r.Rustc, "--print", "target-libdir", "--target", r.Target).Output()
	if err != nil {
		return false
	}
	libs, _ := filepath.Glob(filepath.Join(strings.TrimSpace(string(out)), "libstd-*.rlib"))
	return len(libs) > 0
}

func buildRust(ctx context.Context, dir, target, outDir, out string) error {
	r, err := RustToolchain(ctx)
	if err != nil {
		return err
	}
	return r.Build(ctx, dir, filepath.Join(target, "src", "lib.rs"), outDir, out)
}

// Build compiles the SDK crate (dir/src/lib.rs) and then the renderer src
// against it, into out, without Cargo: the commands of the SDK's README.
func (r RustC) Build(ctx context.Context, dir, src, tmpDir, out string) error {
	lib := filepath.Join(tmpDir, "libkiln-"+r.Target+".rlib")
	err := run(ctx, dir, r.Rustc, "--edition", "2021", "--crate-type=rlib", "--crate-name", "kiln",
		"--target", r.Target, "-O", "src/lib.rs", "-o", lib)
	if err != nil {
		return err
	}
	return run(ctx, dir, r.Rustc, "--edition", "2021", "--crate-type=cdylib", "--crate-name", "renderer",
		"--target", r.Target, "-O", "-C", "strip=symbols", "--extern", "kiln="+lib, src, "-o", out)
}

func buildAS(ctx context.Context, dir, target, out string) error {
	asc := filepath.Join(dir, "node_modules", ".bin", "asc")
	return run(ctx, dir, asc, filepath.Join(target, "index.ts"), "--config", filepath.Join(target, "asconfig.json"),
		"--target", "release", "-o", out)
}

// SourceHash hashes the names and contents of the files under dir (an
// SDK's folder), skipping node_modules and build output, so a cached build
// can be reused until a source changes.
func SourceHash(dir string) (string, error) {
	h := sha256.New()
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == "node_modules" || d.Name() == "target") {
			return filepath.SkipDir
		}
		if d.IsDir() || strings.HasSuffix(path, ".wasm") {
			return nil
		}
		b, err := os.ReadFile(path)
		fmt.Fprintf(h, "%s %d\n", filepath.ToSlash(path), len(b))
		h.Write(b)
		return err
	})
	if err != nil {
		return "", fmt.Errorf("hash %s: %w", dir, err)
	}
	return hex.EncodeToString(h.Sum(nil)[:8]), nil
}

func run(ctx context.Context, dir, name string, args ...string) error {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stderr, &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s: %w\n%s", name, err, stderr.Bytes())
	}
	return nil
}
