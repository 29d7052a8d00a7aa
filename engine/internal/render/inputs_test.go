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
	t.Setenv("GOWORK", "")
	writeTree(t, root, files)
	want := []string{"go.mod", "go.sum", "r", "shared", "shared/deep", "wasmonly"}
	if got := relInputs(t, root, "r"); !slices.Equal(got, want) {
		t.Errorf("GoInputs = %q, want %q", got, want)
	}
}

// TestGoInputsLocalModules: packages of modules on disk that the build
// uses instead of downloads count as local: a replace with a directory, or
// a module of the go.work workspace (unless GOWORK=off), as the Go SDK is
// for the blog's renderers in this repository.
func TestGoInputsLocalModules(t *testing.T) {
	renderer := "package main\n\nimport (\n\t_ \"example.com/lib/a\"\n\t_ \"example.com/wlib\"\n\t_ \"example.com/remote\"\n)\n\nfunc main() {}\n"
	libs := map[string]string{
		"lib/go.mod":       "module example.com/lib\n\ngo 1.22\n",
		"lib/a/a.go":       "package a\n\nimport _ \"example.com/lib/b\"\n",
		"lib/b/b.go":       "package b\n",
		"lib/c/c.go":       "package c\n",
		"wlib/go.mod":      "module example.com/wlib\n\ngo 1.22\n",
		"wlib/w.go":        "package wlib\n",
		"site/r/main.go":   renderer,
		"remote/go.mod":    "module example.com/remote\n\ngo 1.22\n",
		"remote/r.go":      "package remote\n",
		"other/go.mod":     "module example.com/other\n\ngo 1.22\n",
		"other/other.go":   "package other\n",
		"unused/go.mod":    "module example.com/unused\n\ngo 1.22\n",
		"unused/unused.go": "package unused\n",
	}
	siteMod := "module example.com/site\n\ngo 1.22\n\n" +
		"replace example.com/lib => ../lib\n\n" +
		"replace example.com/remote => example.com/fork v1.0.0\n"
	for _, tc := range []struct {
		name   string
		gowork string
		files  map[string]string
		want   []string
	}{
		{
			name:  "replace",
			files: map[string]string{"site/go.mod": siteMod},
			want:  []string{"lib/a", "lib/b", "lib/go.mod", "site/go.mod", "site/go.sum", "site/r"},
		},
		{
			name: "workspace",
			files: map[string]string{
				"site/go.mod": siteMod,
				"go.work":     "go 1.22\n\nuse (\n\t./site\n\t./wlib\n\t./unused\n)\n",
			},
			want: []string{"go.work", "go.work.sum", "lib/a", "lib/b", "lib/go.mod", "site/go.mod",
				"site/go.sum", "site/r", "unused/go.mod", "wlib", "wlib/go.mod"},
		},
		{
			name:   "GOWORK=off",
			gowork: "off",
			files: map[string]string{
				"site/go.mod": siteMod,
				"go.work":     "go 1.22\n\nuse (\n\t./site\n\t./wlib\n)\n",
			},
			want: []string{"lib/a", "lib/b", "lib/go.mod", "site/go.mod", "site/go.sum", "site/r"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			t.Setenv("GOWORK", tc.gowork)
			writeTree(t, root, libs)
			writeTree(t, root, tc.files)
			if got := relInputs(t, root, "site/r"); !slices.Equal(got, tc.want) {
				t.Errorf("GoInputs = %q, want %q", got, tc.want)
			}
		})
	}
}

func writeTree(t *testing.T, root string, files map[string]string) {
	t.Helper()
	for name, body := range files {
		p := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// relInputs is GoInputs of pkg, relative to root and sorted.
func relInputs(t *testing.T, root, pkg string) []string {
	t.Helper()
	got, err := GoInputs(filepath.Join(root, pkg))
	if err != nil {
		t.Fatal(err)
	}
	for i, p := range got {
		got[i], _ = filepath.Rel(root, p)
	}
	slices.Sort(got)
	return got
}
