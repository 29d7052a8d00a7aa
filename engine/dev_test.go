package main

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fsnotify/fsnotify"
	"golang.org/x/mod/modfile"

	"github.com/kilnhq/kiln/engine/internal/config"
	"github.com/kilnhq/kiln/engine/internal/render"
)

// devSite lays out a site whose Go renderers a and b import the local
// package shared, and c imports nothing local. The module requires only
// the Go SDK, replaced with this repository's, which has no dependencies:
// so its go.sum is empty.
func devSite(t *testing.T) string {
	t.Helper()
	sdk, _ := filepath.Abs("../sdk/go")
	dir := t.TempDir()
	files := map[string]string{
		"go.mod": "module devsite\n\ngo " + goLine(t, sdk) + "\n\nrequire github.com/kilnhq/kiln/sdk/go v0.0.0\n\nreplace github.com/kilnhq/kiln/sdk/go => " + sdk + "\n",
		"go.sum": "",
		"site.hcl": `site {
  store = "store"
}
renderer "a" {
  source = "./a"
  pool   = 1
}
renderer "b" {
  source = "./b"
  pool   = 1
}
renderer "c" {
  source = "./c"
  pool   = 1
}
route "/a" {
  renderer = "a"
}
route "/b" {
  renderer = "b"
}
route "/c" {
  renderer = "c"
}
static "/assets/" {
  dir = "./public"
}
`,
		"shared/shared.go":  "package shared\n\nconst Version = \"v1\"\n",
		"a/main.go":         devRenderer("a", true),
		"b/main.go":         devRenderer("b", true),
		"c/main.go":         devRenderer("c", false),
		"public/style.css":  "body { color: black }\n",
		"public/img/a.svg":  "<svg/>\n",
		"notes/unrelated.t": "not an input\n",
	}
	for name, body := range files {
		writeFile(t, filepath.Join(dir, name), body)
	}
	return dir
}

// goLine is the go line of the module in dir, which a module requiring it
// must meet.
func goLine(t *testing.T, dir string) string {
	f, err := modfile.ParseLax("go.mod", []byte(readFile(t, filepath.Join(dir, "go.mod"))), nil)
	if err != nil || f.Go == nil {
		t.Fatalf("read the go line of go.mod: %v", err)
	}
	return f.Go.Version
}

// devRenderer is a Go renderer printing its name and shared.Version, or
// "own" when it does not import shared.
func devRenderer(name string, shared bool) string {
	imp, expr := "", `"own"`
	if shared {
		imp, expr = "\t\"devsite/shared\"\n", "shared.Version"
	}
	return "package main\n\nimport (\n\tkiln \"github.com/kilnhq/kiln/sdk/go\"\n" + imp +
		")\n\nfunc init() {\n\tkiln.Handle(func(*kiln.Request) (*kiln.Response, error) {\n" +
		"\t\treturn kiln.HTML([]byte(\"<html><body><h1>" + name + " \" + " + expr + " + \"</h1></body></html>\")), nil\n\t})\n}\n\nfunc main() {}\n"
}

func writeFile(t *testing.T, path, body string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
}

// newDevWatch is a watcher over the site in dir, with reload and statics
// given by the test.
func newDevWatch(t *testing.T, dir string, reload func(context.Context, string) error) (*devWatch, *strings.Builder) {
	cfg, err := config.Load(filepath.Join(dir, "site.hcl"))
	if err != nil {
		t.Fatal(err)
	}
	w, err := fsnotify.NewWatcher()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })
	term := &strings.Builder{}
	d := &devWatch{
		w: w, cfg: cfg, log: slog.New(slog.NewTextHandler(io.Discard, nil)), term: term,
		reload: reload, statics: func() error { return nil }, errs: map[string]string{},
	}
	d.refresh()
	return d, term
}

// TestDevClassify: a change is traced to every renderer built from it, as
// serve's staleness check (render.GoInputs) sees it.
func TestDevClassify(t *testing.T) {
	dir := devSite(t)
	d, _ := newDevWatch(t, dir, nil)
	for _, tc := range []struct {
		path      string
		renderers []string
		config    bool
		static    bool
	}{
		{path: "shared/shared.go", renderers: []string{"a", "b"}},
		{path: "shared/new_file.go", renderers: []string{"a", "b"}},
		{path: "a/main.go", renderers: []string{"a"}},
		{path: "c/main.go", renderers: []string{"c"}},
		{path: "go.mod", renderers: []string{"a", "b", "c"}},
		{path: "go.sum", renderers: []string{"a", "b", "c"}},
		{path: "site.hcl", config: true},
		{path: "public/style.css", static: true},
		{path: "public/img/a.svg", static: true},
		{path: "notes/unrelated.t"},
	} {
		t.Run(tc.path, func(t *testing.T) {
			var c change
			d.classify(filepath.Join(dir, tc.path), &c)
			slices.Sort(c.renderers)
			if !slices.Equal(c.renderers, tc.renderers) || c.config != tc.config || c.static != tc.static {
				t.Errorf("classify(%s) = renderers %q, config %v, static %v; want %q, %v, %v",
					tc.path, c.renderers, c.config, c.static, tc.renderers, tc.config, tc.static)
			}
		})
	}
}

// TestDevClassifyFollowsNewImports: after a rebuild the inputs are read
// again, so a package a renderer starts importing is watched for it.
func TestDevClassifyFollowsNewImports(t *testing.T) {
	dir := devSite(t)
	d, _ := newDevWatch(t, dir, func(context.Context, string) error { return nil })
	writeFile(t, filepath.Join(dir, "c/main.go"), devRenderer("c", true))
	d.rebuild(context.Background(), []string{"c"})
	d.refresh()
	var c change
	d.classify(filepath.Join(dir, "shared/shared.go"), &c)
	slices.Sort(c.renderers)
	if want := []string{"a", "b", "c"}; !slices.Equal(c.renderers, want) {
		t.Errorf("after c imports shared, a change to it rebuilds %q, want %q", c.renderers, want)
	}
}

// TestDevRebuildsInParallel: every renderer a change touches is rebuilt at
// the same time (each build waits until all have started), and a failed
// build is printed for the terminal and kept for the page until it builds.
func TestDevRebuildsInParallel(t *testing.T) {
	dir := devSite(t)
	names := []string{"a", "b", "c"}
	var started sync.WaitGroup
	started.Add(len(names))
	all := make(chan struct{})
	go func() { started.Wait(); close(all) }()
	parallel, fail := true, true
	d, term := newDevWatch(t, dir, func(ctx context.Context, name string) error {
		if parallel {
			started.Done()
			select {
			case <-all:
			case <-time.After(time.Minute):
				return errors.New("the other builds did not start: rebuilds ran one after another")
			}
		}
		if name == "b" && fail {
			return &render.BuildError{Output: "./main.go:3:1: syntax error: non-declaration statement outside function body"}
		}
		return nil
	})
	d.rebuild(context.Background(), []string{"c", "a", "b"})
	wantErr := "renderer b:\n./main.go:3:1: syntax error: non-declaration statement outside function body"
	if got := d.buildErrors(); got != wantErr {
		t.Errorf("build errors for the page:\n%s\nwant:\n%s", got, wantErr)
	}
	if got, want := term.String(), "kiln dev: renderer b failed to build:\n./main.go:3:1: syntax error"; !strings.HasPrefix(got, want) {
		t.Errorf("terminal:\n%s\nwant it to start with:\n%s", got, want)
	}
	parallel, fail = false, false
	d.rebuild(context.Background(), []string{"b"})
	if got := d.buildErrors(); got != "" {
		t.Errorf("after b builds, build errors = %q, want none", got)
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestDevProcess runs the real `kiln dev` on devSite and edits its files
// as a person would: a shared package (both importers rebuild, the other
// renderer does not), a broken build (in the page and on the terminal),
// the fix, and a stylesheet.
func TestDevProcess(t *testing.T) {
	if testing.Short() {
		t.Skip("builds Go renderers to wasm and runs kiln dev")
	}
	dir := devSite(t)
	k := startKilnCmd(t, kilnBinary(t), dir, "dev")
	for _, p := range []string{"/a", "/b", "/c"} {
		k.waitBody(p, "<h1>"+p[1:]+" ")
	}
	writeFile(t, filepath.Join(dir, "shared/shared.go"), "package shared\n\nconst Version = \"v2\"\n")
	k.waitBody("/a", "<h1>a v2</h1>")
	k.waitBody("/b", "<h1>b v2</h1>")
	k.waitLog(`msg="rebuild done" renderers=a,b `)

	writeFile(t, filepath.Join(dir, "shared/shared.go"), "package shared\n\nconst Version = \"v3\n")
	k.waitBody("/a", "Build failed")
	k.waitBody("/c", "renderer b:") // every page shows the failed build
	k.waitLog("kiln dev: renderer a failed to build:")
	k.waitLog("kiln dev: renderer b failed to build:")
	k.waitLog("shared.go:3:")

	writeFile(t, filepath.Join(dir, "shared/shared.go"), "package shared\n\nconst Version = \"v4\"\n")
	k.waitBody("/b", "<h1>b v4</h1>")
	k.waitBody("/c", "<h1>c own</h1>")

	writeFile(t, filepath.Join(dir, "public/style.css"), "body { color: red }\n")
	k.waitBody("/assets/style.css", "color: red")
	if log := readFile(t, filepath.Join(dir, "kiln.log")); strings.Contains(log, "renderers=a,b,c") || strings.Contains(log, "renderers=c") {
		t.Errorf("c, which imports nothing that changed, was rebuilt:\n%s", log)
	}
}

// waitBody polls path until its body contains want.
func (p *kilnProcess) waitBody(path, want string) {
	p.t.Helper()
	deadline := time.Now().Add(3 * time.Minute)
	var body string
	for time.Now().Before(deadline) {
		resp, err := http.Get(p.base + path)
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if body = string(b); strings.Contains(body, want) {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	p.t.Fatalf("%s never contained %q; last body:\n%.2000s\nlog:\n%s", path, want, body, readFile(p.t, p.log.Name()))
}

// waitLog polls the process's output until it contains want.
func (p *kilnProcess) waitLog(want string) {
	p.t.Helper()
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		if strings.Contains(readFile(p.t, p.log.Name()), want) {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	p.t.Fatalf("the terminal never showed %q:\n%s", want, readFile(p.t, p.log.Name()))
}
