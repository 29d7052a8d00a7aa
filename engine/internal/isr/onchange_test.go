package isr

import (
	"bytes"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/kilnhq/kiln/engine/internal/config"
	"github.com/kilnhq/kiln/engine/internal/datasource"
	"github.com/kilnhq/kiln/engine/internal/router"
	"github.com/kilnhq/kiln/engine/internal/store"
)

// TestOnChangePaths: an on_change rule's paths are normalized like request
// paths; one that cannot be (NUL, control characters, too long, not
// absolute) is dropped, never queued, with one short log line.
func TestOnChangePaths(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "page.wasm"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Parse(filepath.Join(dir, "site.hcl"), []byte(`
renderer "page" {
  wasm = "page.wasm"
}
route "/p/*rest" {
  renderer = "page"
  fallback = "false"
}
on_change "posts" {
  match      = "post:*"
  revalidate = ["/p/${trimprefix(item.key, "post:")}"]
}
`))
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.Open("store", store.Options{FS: vfs.NewMem()})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	routes, err := router.New(cfg.Routes)
	if err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	e := New(Options{Site: cfg, Pages: st, Queue: st, History: st, Routes: routes,
		Logger: slog.New(slog.NewTextHandler(&logs, nil)), Clock: &skewClock{}})
	long := strings.Repeat("x", router.MaxPathLen)
	for _, tc := range []struct {
		key  string
		want []string // queued paths; none means dropped with a log line
	}{
		{"post:a", []string{"/p/a"}},
		{"post:a/", []string{"/p/a"}},
		{"post:a//./b", []string{"/p/a/b"}},
		{"post:a%20b", []string{"/p/a b"}},
		{"post:a?x=1", []string{"/p/a"}},
		{"post:a\x00b", nil},
		{"post:a%00b", nil},
		{"post:a\nb", nil},
		{"post:a\x7fb", nil},
		{"post:../../etc", nil},
		{"post:a\\b", nil},
		{"post:" + long, nil},
	} {
		logs.Reset()
		a := affected{eager: map[string]string{}, lazy: map[string]bool{}, revs: map[string]uint64{}}
		e.affect(datasource.Change{Source: "data", Key: tc.key}, &a)
		got := slices.Sorted(func(yield func(string) bool) {
			for p := range a.eager {
				if !yield(p) {
					return
				}
			}
		})
		if !slices.Equal(got, tc.want) || len(a.lazy) != 0 {
			t.Errorf("key %.40q: queued %q (lazy %v), want %q", tc.key, got, a.lazy, tc.want)
		}
		lines := strings.Count(logs.String(), "\n")
		if tc.want == nil && (lines != 1 || !strings.Contains(logs.String(), "bad path, dropped") || logs.Len() > 512) {
			t.Errorf("key %.40q: %d log line(s), %d bytes, want one short line:\n%s", tc.key, lines, logs.Len(), logs.String())
		}
		if tc.want != nil && lines != 0 {
			t.Errorf("key %.40q: logged %s", tc.key, logs.String())
		}
	}
}
