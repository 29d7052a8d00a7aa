package kiln_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestRendererModuleGraph: a renderer module outside the repository that
// requires only this SDK has exactly one module in its graph besides
// itself, needs no download (the module proxy is off), and keeps its own
// go line through go mod tidy.
func TestRendererModuleGraph(t *testing.T) {
	sdk, err := filepath.Abs(".")
	if err != nil {
		t.Fatal(err)
	}
	for _, goLine := range []string{"1.24.0", "1.25.0"} {
		t.Run("go "+goLine, func(t *testing.T) {
			dir := t.TempDir()
			gomod := "module example.com/renderer\n\ngo " + goLine + "\n\n" +
				"require github.com/kilnhq/kiln/sdk/go v0.0.0\n\n" +
				"replace github.com/kilnhq/kiln/sdk/go => " + sdk + "\n"
			main := "package main\n\nimport kiln \"github.com/kilnhq/kiln/sdk/go\"\n\n" +
				"func init() {\n\tkiln.Handle(func(*kiln.Request) (*kiln.Response, error) { return kiln.HTML([]byte(\"hi\")), nil })\n}\n\nfunc main() {}\n"
			for name, body := range map[string]string{"go.mod": gomod, "main.go": main} {
				if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			env := []string{"GOWORK=off", "GOPROXY=off", "GOFLAGS=-mod=mod", "GOTOOLCHAIN=local"}
			run(t, dir, env, "mod", "tidy")
			mods := strings.Fields(run(t, dir, env, "list", "-m", "-f", "{{.Path}}", "all"))
			if want := []string{"example.com/renderer", "github.com/kilnhq/kiln/sdk/go"}; strings.Join(mods, " ") != strings.Join(want, " ") {
				t.Errorf("go list -m all = %q, want %q", mods, want)
			}
			b, err := os.ReadFile(filepath.Join(dir, "go.mod"))
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(string(b), "\ngo "+goLine+"\n") {
				t.Errorf("go mod tidy changed the go line %s:\n%s", goLine, b)
			}
			run(t, dir, append(env, "GOOS=wasip1", "GOARCH=wasm"), "vet", ".")
		})
	}
}

func run(t *testing.T, dir string, env []string, args ...string) string {
	t.Helper()
	cmd := exec.Command("go", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}
