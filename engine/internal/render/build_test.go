package render

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestBuildGo(t *testing.T) {
	if testing.Short() {
		t.Skip("builds Go to wasm")
	}
	dir := t.TempDir()
	c := &clock{t: t, now: time.Now().Add(-24 * time.Hour), out: filepath.Join(dir, "out", "r.wasm")}
	c.write(filepath.Join(dir, "go.mod"), "module example.com/r\n\ngo 1.24\n")
	c.write(filepath.Join(dir, "main.go"), "package main\n\n//go:wasmexport f\nfunc f() {}\n\nfunc main() {}\n")
	steps := []struct {
		name string
		edit func()
		want bool
	}{
		{"first build", func() {}, true},
		{"up to date", func() {}, false},
		{"source touched", func() { c.touch(filepath.Join(dir, "main.go")) }, true},
		{"up to date again", func() {}, false},
		{"embedded file added", func() { c.write(filepath.Join(dir, "page.html"), "<p>") }, true},
		{"go.mod touched", func() { c.touch(filepath.Join(dir, "go.mod")) }, true},
	}
	for _, s := range steps {
		s.edit()
		built, err := BuildGo(context.Background(), dir, c.out)
		if err != nil || built != s.want {
			t.Fatalf("%s: built = %v, %v; want %v", s.name, built, err, s.want)
		}
		c.tick()
	}
	c.write(filepath.Join(dir, "main.go"), "package main\n\nfunc main() { undefined() }\n")
	_, err := BuildGo(context.Background(), dir, c.out)
	var be *BuildError
	if !errors.As(err, &be) || !strings.Contains(be.Output, "main.go:3:15: undefined: undefined") {
		t.Errorf("err = %v, want the compiler's message verbatim", err)
	}
}

func TestRunBuild(t *testing.T) {
	dir := t.TempDir()
	c := &clock{t: t, now: time.Now().Add(-24 * time.Hour), out: filepath.Join(dir, "out.wasm")}
	c.write(filepath.Join(dir, "src.c"), "x")
	argv := []string{"cp", "src.c", "out.wasm"}
	for _, want := range []bool{true, false} {
		if built, err := RunBuild(context.Background(), dir, argv, c.out, []string{"*.c"}); err != nil || built != want {
			t.Fatalf("built = %v, %v; want %v", built, err, want)
		}
		c.tick()
	}
	c.touch(filepath.Join(dir, "src.c"))
	if built, err := RunBuild(context.Background(), dir, argv, c.out, []string{"*.c"}); err != nil || !built {
		t.Fatalf("after touch: built = %v, %v; want true", built, err)
	}
	c.tick()
	c.touch(filepath.Join(dir, "src.c"))
	_, err := RunBuild(context.Background(), dir, []string{"sh", "-c", "echo 'src.c:1: error: boom' >&2; exit 1"}, c.out, []string{"*.c"})
	if got, want := err.Error(), "src.c:1: error: boom"; got != want {
		t.Errorf("err = %q, want %q", got, want)
	}
}

// clock sets modification times by hand, so staleness never depends on
// how fast a build runs: the output is at now, untouched inputs before
// it, touched ones after it.
type clock struct {
	t   *testing.T
	now time.Time
	out string
}

func (c *clock) write(path, s string) {
	writeFile(c.t, path, s)
	c.touch(path)
}

func (c *clock) touch(path string) { c.set(path, c.now.Add(time.Second)) }

// tick moves the clock past every touch and dates the output at it.
func (c *clock) tick() {
	c.now = c.now.Add(2 * time.Second)
	c.set(c.out, c.now)
}

func (c *clock) set(path string, t time.Time) {
	if err := os.Chtimes(path, t, t); err != nil && !os.IsNotExist(err) {
		c.t.Fatal(err)
	}
}

func writeFile(t *testing.T, path, s string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}
