package render

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// TestGoInputs: a renderer's inputs are the local packages its wasip1
// build imports, transitively; files for other platforms and tests do not
// count (parser.ParseDir, used before, ignored build tags).
func TestGoInputs(t *testing.T) {
	root := t.TempDir()
	files := map[string]string{
		"go.mod":                 "module example.com/site\n\ngo 1.22\n",
		"r/main.go":              "package main\n\nimport _ \"example.com/site/shared\"\n\nfunc main() {}\n",
		"r/host.go":              "//go:build !wasip1\n\npackage main\n\nimport _ \"example.com/site/hostonly\"\n",
		"r/main_test.go":         "package main\n\nimport _ \"example.com/site/testonly\"\n",
		"r/wasm_wasip1.go":       "package main\n\nimport _ \"example.com/site/wasmonly\"\n",
		"shared/shared.go":       "package shared\n\nimport _ \"example.com/site/shared/deep\"\n",
		"shared/deep/deep.go":    "package deep\n\nimport _ \"fmt\"\n",
		"hostonly/hostonly.go":   "package hostonly\n",
		"testonly/testonly.go":   "package testonly\n",
		"wasmonly/wasmonly.go":   "package wasmonly\n",
		"unrelated/unrelated.go": "package unrelated\n",
	}
	for name, body := range files {
		p := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := GoInputs(filepath.Join(root, "r"))
	if err != nil {
		t.Fatal(err)
	}
	for i, p := range got {
		got[i], _ = filepath.Rel(root, p)
	}
	slices.Sort(got)
	want := []string{"go.mod", "go.sum", "r", "shared", "shared/deep", "wasmonly"}
	if !slices.Equal(got, want) {
		t.Errorf("GoInputs = %q, want %q", got, want)
	}
}
