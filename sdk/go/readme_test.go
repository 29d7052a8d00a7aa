package kiln_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// goBlocks returns the ```go blocks of a README.
func goBlocks(t *testing.T, file string) []string {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, m := range regexp.MustCompile("(?s)```go\n(.*?)```").FindAllSubmatch(b, -1) {
		out = append(out, string(m[1]))
	}
	return out
}

func goCmd(t *testing.T, env []string, args ...string) {
	t.Helper()
	cmd := exec.Command("go", args...)
	cmd.Env = append(os.Environ(), env...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// TestReadmeRenderersBuild builds every renderer (a block that starts with
// "package main") of this README and of the repository's README for
// WebAssembly, as Kiln does, and runs this README's kilntest example
// against its first renderer.
func TestReadmeRenderersBuild(t *testing.T) {
	if testing.Short() {
		t.Skip("builds wasm modules; skipped with -short")
	}
	wasm := []string{"GOOS=wasip1", "GOARCH=wasm"}
	var renderers []string
	for _, readme := range []string{"README.md", "../../README.md"} {
		for _, b := range goBlocks(t, readme) {
			if strings.HasPrefix(b, "package main\n") {
				renderers = append(renderers, b)
			}
		}
	}
	if len(renderers) < 3 {
		t.Fatalf("found %d renderers in the READMEs, want at least 3", len(renderers))
	}
	for i, src := range renderers {
		dir := t.TempDir()
		main := filepath.Join(dir, "main.go")
		if err := os.WriteFile(main, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
		goCmd(t, wasm, "build", "-buildmode=c-shared", "-o", filepath.Join(dir, "page.wasm"), main)
		if i == 0 {
			testFirst(t, dir, main)
		}
	}
}

// testFirst runs the README's kilntest block against its first renderer.
func testFirst(t *testing.T, dir, main string) {
	t.Helper()
	var test string
	for _, b := range goBlocks(t, "README.md") {
		if strings.HasPrefix(b, "func Test") {
			test = b
		}
	}
	if test == "" {
		t.Fatal("README has no kilntest example")
	}
	src := "package main\n\nimport (\n\t\"testing\"\n\n\tkiln \"github.com/kilnhq/kiln/sdk/go\"\n" +
		"\t\"github.com/kilnhq/kiln/sdk/go/kilntest\"\n)\n\n" + test
	file := filepath.Join(dir, "main_test.go")
	if err := os.WriteFile(file, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	goCmd(t, nil, "test", main, file)
}
