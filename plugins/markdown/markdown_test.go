package markdown

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/hashicorp/go-hclog"

	"github.com/kilnhq/kiln/plugins/internal/plugintest"
	"github.com/kilnhq/kiln/plugins/internal/snapshot"
	"github.com/kilnhq/kiln/sdk/plugin"
)

// blogDir copies testdata/blog into a temp folder.
func blogDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	des, err := os.ReadDir(filepath.Join("testdata", "blog"))
	if err != nil {
		t.Fatal(err)
	}
	for _, de := range des {
		b, err := os.ReadFile(filepath.Join("testdata", "blog", de.Name()))
		if err != nil {
			t.Fatal(err)
		}
		writeFile(t, dir, de.Name(), string(b))
	}
	return dir
}

// writeFile replaces a file the way editors do: temp file, then rename.
func writeFile(t *testing.T, dir, name, content string) {
	t.Helper()
	tmp := filepath.Join(dir, ".edit.tmp")
	if err := os.WriteFile(tmp, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, name)); err != nil {
		t.Fatal(err)
	}
}

func configure(t *testing.T, config string) *source {
	t.Helper()
	return plugintest.Configure(t, New().(*source), config)
}

func dirConfig(dir string) string { return fmt.Sprintf(`{"dir":%q}`, dir) }

func TestListGolden(t *testing.T) {
	s := configure(t, dirConfig(blogDir(t)))
	page, err := s.List(context.Background(), plugin.ListRequest{Prefix: "post:", Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, it := range page.Items {
		fmt.Fprintf(&b, "%s %d %s\n", it.Key, it.Revision, it.Value)
	}
	golden, err := os.ReadFile(filepath.Join("testdata", "list.golden"))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := b.String(), string(golden); got != want {
		t.Errorf("list =\n%s\nwant\n%s", got, want)
	}
	for _, it := range page.Items {
		var p Post
		if err := json.Unmarshal(it.Value, &p); err != nil || "post:"+p.Slug != it.Key {
			t.Errorf("value of %s does not decode to its post: %v", it.Key, err)
		}
	}
}

// summary is an event without its value, plus the post title.
type summary struct {
	Rev     uint64
	Key     string
	Title   string
	Deleted bool
}

func summarize(t *testing.T, ev plugin.Event) summary {
	t.Helper()
	s := summary{Rev: ev.Revision, Key: ev.Key, Deleted: ev.Deleted}
	if !ev.Deleted && !ev.Bookmark {
		var p Post
		if err := json.Unmarshal(ev.Value, &p); err != nil {
			t.Fatal(err)
		}
		s.Title = p.Title
	}
	return s
}

func TestWatchEdits(t *testing.T) {
	dir := blogDir(t)
	s := configure(t, dirConfig(dir))
	w := plugintest.Watch(t, s, 0)
	if got, want := w.Next(t), (plugin.Event{Revision: 3, Bookmark: true}); !reflect.DeepEqual(got, want) {
		t.Fatalf("first event = %+v, want %+v", got, want)
	}
	// Each step changes the folder and expects the next event. Steps that
	// must not emit anything are followed by one that does, so an
	// unexpected event would show up in its place.
	steps := []struct {
		name string
		do   func()
		want summary
	}{
		{"edit", func() { writeFile(t, dir, "hello-world.md", "---\ntitle: Hello ISR!\n---\nnew\n") },
			summary{4, "post:hello-world", "Hello ISR!", false}},
		{"invalid file keeps last good, then an edit elsewhere", func() {
			writeFile(t, dir, "preview.md", "---\ntitle: broken\n")
			writeFile(t, dir, "2022-dynamic.md", "---\nslug: dynamic-routing\ntitle: Dynamic 2\n---\n")
		}, summary{5, "post:dynamic-routing", "Dynamic 2", false}},
		{"fix the invalid file", func() { writeFile(t, dir, "preview.md", "---\ntitle: Preview 2\n---\n") },
			summary{6, "post:preview", "Preview 2", false}},
		{"unchanged rewrite emits nothing, new file does", func() {
			writeFile(t, dir, "preview.md", "---\ntitle: Preview 2\n---\n")
			writeFile(t, dir, "new.md", "---\ntitle: New\n---\n")
		}, summary{7, "post:new", "New", false}},
		{"delete", func() { os.Remove(filepath.Join(dir, "new.md")) }, summary{8, "post:new", "", true}},
		{"plain write in place", func() {
			os.WriteFile(filepath.Join(dir, "hello-world.md"), []byte("---\ntitle: In place\n---\n"), 0o644)
		}, summary{9, "post:hello-world", "In place", false}},
	}
	for _, st := range steps {
		st.do()
		if got := summarize(t, w.Next(t)); got != st.want {
			t.Fatalf("%s: event = %+v, want %+v", st.name, got, st.want)
		}
		if st.name == "invalid file keeps last good, then an edit elsewhere" {
			it, found, _ := s.Get(context.Background(), "post:preview")
			if !found || !strings.Contains(string(it.Value), "Preview Mode") || it.Revision != 3 {
				t.Errorf("invalid file: Get = %s rev %d, want the last good post at 3", it.Value, it.Revision)
			}
		}
	}
}

func TestRestartResume(t *testing.T) {
	dir := blogDir(t)
	s := configure(t, dirConfig(dir))
	before, _, _ := s.Get(context.Background(), "post:preview")
	s.Close()

	// Changes made while the plugin is down.
	writeFile(t, dir, "hello-world.md", "---\ntitle: Edited offline\n---\n")
	os.Remove(filepath.Join(dir, "2022-dynamic.md"))
	writeFile(t, dir, "added.md", "---\ntitle: Added offline\n---\n")

	s = configure(t, dirConfig(dir))
	after, _, _ := s.Get(context.Background(), "post:preview")
	if after.Revision != before.Revision {
		t.Errorf("unchanged post revision %d -> %d", before.Revision, after.Revision)
	}
	w := plugintest.Watch(t, s, 3)
	want := []summary{
		{4, "post:added", "Added offline", false},
		{5, "post:hello-world", "Edited offline", false},
		{6, "post:dynamic-routing", "", true},
	}
	for i, sw := range want {
		if got := summarize(t, w.Next(t)); got != sw {
			t.Errorf("event %d = %+v, want %+v", i, got, sw)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, StateFile)); err != nil {
		t.Errorf("state file: %v", err)
	}
}

func TestInvalidAtStart(t *testing.T) {
	dir := blogDir(t)
	s := configure(t, dirConfig(dir))
	s.Close()
	writeFile(t, dir, "preview.md", "no front matter")

	s = New().(*source)
	defer s.Close()
	ds := s.Configure(context.Background(), []byte(dirConfig(dir)))
	if ds.HasErrors() || len(ds) != 1 || !strings.Contains(ds[0].Detail, "preview.md: missing front matter") {
		t.Fatalf("diagnostics = %v, want one warning about preview.md", ds)
	}
	if _, found, _ := s.Get(context.Background(), "post:preview"); found {
		t.Error("post of an invalid file served after restart")
	}
	w := plugintest.Watch(t, s, 3) // the post is held back, not deleted
	writeFile(t, dir, "preview.md", "---\ntitle: Preview Mode for Static Generation\n---\n")
	if got, want := summarize(t, w.Next(t)), (summary{4, "post:preview", "Preview Mode for Static Generation", false}); got != want {
		t.Errorf("event = %+v, want %+v", got, want)
	}
}

func TestDuplicateSlug(t *testing.T) {
	dir := blogDir(t)
	writeFile(t, dir, "zz-copy.md", "---\nslug: hello-world\ntitle: Copy\n---\n")
	s := New().(*source)
	defer s.Close()
	ds := s.Configure(context.Background(), []byte(dirConfig(dir)))
	if len(ds) != 1 || !strings.Contains(ds[0].Detail, `zz-copy.md: slug "hello-world" is already used by hello-world.md`) {
		t.Errorf("diagnostics = %v", ds)
	}
	it, _, _ := s.Get(context.Background(), "post:hello-world")
	if !strings.Contains(string(it.Value), `"title":"Hello World"`) {
		t.Errorf("hello-world = %s, want the first file's post", it.Value)
	}
}

func TestConfigure(t *testing.T) {
	dir := blogDir(t)
	tests := []struct {
		name, config, wantAttr string
	}{
		{"missing dir", `{}`, "dir"},
		{"no such dir", `{"dir":"/nonexistent/kiln"}`, "dir"},
		{"file not dir", fmt.Sprintf(`{"dir":%q}`, filepath.Join(dir, "preview.md")), "dir"},
		{"bad json", `{`, ""},
		{"unwritable state", fmt.Sprintf(`{"dir":%q,"state":"/nonexistent/kiln/state.json"}`, dir), "state"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := New().(*source)
			defer s.Close()
			ds := s.Configure(context.Background(), []byte(tt.config))
			if !ds.HasErrors() || ds[0].Attribute != tt.wantAttr {
				t.Errorf("diagnostics = %v, want an error on %q", ds, tt.wantAttr)
			}
		})
	}
	s := New().(*source)
	if _, _, err := s.Get(context.Background(), "x"); !errors.Is(err, snapshot.ErrNotOpen) || err.Error() != "markdown: not configured" {
		t.Errorf("get before configure: %v", err)
	}
}

// syncBuffer is a log destination safe for the watcher goroutine.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestInvalidLoggedOnce: an invalid file is logged once, however often it
// is rewritten with the same problem, and again once it changes problem.
func TestInvalidLoggedOnce(t *testing.T) {
	dir := blogDir(t)
	var logs syncBuffer
	s := New().(*source)
	s.log = hclog.New(&hclog.LoggerOptions{Output: &logs, JSONFormat: true})
	if ds := s.Configure(context.Background(), []byte(dirConfig(dir))); ds.HasErrors() {
		t.Fatal(ds)
	}
	defer s.Close()
	w := plugintest.Watch(t, s, 3)
	for i, bad := range []string{"no front matter", "still none", "---\nunterminated\n"} {
		writeFile(t, dir, "preview.md", bad)
		// A valid edit after the bad write: its event proves the rescan ran.
		writeFile(t, dir, "hello-world.md", fmt.Sprintf("---\ntitle: edit %d\n---\n", i))
		if got, want := summarize(t, w.Next(t)).Title, fmt.Sprintf("edit %d", i); got != want {
			t.Fatalf("event title = %q, want %q", got, want)
		}
	}
	if got, want := strings.Count(logs.String(), "invalid Markdown file"), 2; got != want {
		t.Errorf("logged %d times, want %d:\n%s", got, want, logs.String())
	}
}
