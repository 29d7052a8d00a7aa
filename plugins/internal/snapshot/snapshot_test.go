package snapshot

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/hashicorp/go-hclog"

	"github.com/kilnhq/kiln/plugins/internal/plugintest"
	"github.com/kilnhq/kiln/sdk/plugin"
)

// set builds a full set from "key=value" pairs; a value "@file" part
// ("key=value@file") sets Value.File.
func set(pairs ...string) map[string]Value {
	m := map[string]Value{}
	for _, p := range pairs {
		k, v, _ := strings.Cut(p, "=")
		v, file, _ := strings.Cut(v, "@")
		m[k] = Value{Data: []byte(v), File: file}
	}
	return m
}

// open opens a snapshot whose state file is dir/state.
func open(t *testing.T, dir string, values map[string]Value, invalid map[string]error) *Snapshot {
	t.Helper()
	s := New("test", hclog.NewNullLogger())
	if ds := s.Open(StateFile{Path: filepath.Join(dir, "state")}, values, invalid); ds != nil {
		t.Fatal(ds)
	}
	return s
}

// get returns "value@rev" for a served key and "" for a missing one.
func get(t *testing.T, s *Snapshot, key string) string {
	t.Helper()
	it, found, err := s.Get(context.Background(), key)
	if err != nil {
		t.Fatal(err)
	}
	if !found {
		return ""
	}
	return string(it.Value) + "@" + strconv.FormatUint(it.Revision, 10)
}

func TestList(t *testing.T) {
	s := open(t, t.TempDir(), set("=0", "a/1=1", "a/2=2", "a/3=3", "b=4"), nil)
	tests := []struct {
		name    string
		prefix  string
		limit   int
		reverse bool
		want    string // pages separated by "|"
	}{
		{"all", "", 10, false, ",a/1,a/2,a/3,b"},
		{"empty key paged", "", 1, false, "|a/1|a/2|a/3|b"},
		{"reverse paged", "", 2, true, "b,a/3|a/2,a/1|"},
		{"prefix", "a/", 2, false, "a/1,a/2|a/3"},
		{"prefix reverse", "a/", 2, true, "a/3,a/2|a/1"},
		{"prefix exact page", "a/", 3, false, "a/1,a/2,a/3"},
		{"zero limit is one", "a/", 0, false, "a/1|a/2|a/3"},
		{"no match", "c", 3, false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var pages []string
			req := plugin.ListRequest{Prefix: tt.prefix, Limit: tt.limit, Reverse: tt.reverse}
			for {
				p, err := s.List(context.Background(), req)
				if err != nil {
					t.Fatal(err)
				}
				var keys []string
				for _, it := range p.Items {
					keys = append(keys, it.Key)
				}
				pages = append(pages, strings.Join(keys, ","))
				if p.Next == "" {
					break
				}
				req.Cursor = p.Next
			}
			if got := strings.Join(pages, "|"); got != tt.want {
				t.Errorf("pages %q, want %q", got, tt.want)
			}
		})
	}
	_, err := s.List(context.Background(), plugin.ListRequest{Cursor: "bogus", Limit: 1})
	if !errors.Is(err, ErrCursor) || err.Error() != "test: invalid cursor" {
		t.Errorf("bad cursor: err = %v, want %q", err, "test: invalid cursor")
	}
}

func TestUpdateAndWatch(t *testing.T) {
	s := open(t, t.TempDir(), set("a=1", "b=2"), nil) // a@1 b@2
	steps := []struct {
		name    string
		values  map[string]Value
		changed bool
	}{
		{"change and add", set("a=1", "b=3", "c=4"), true}, // b@3 c@4
		{"delete", set("a=1", "b=3"), true},                // c-@5
		{"same set", set("a=1", "b=3"), false},
		{"add back", set("a=1", "b=3", "c=6"), true}, // c@6
	}
	for _, st := range steps {
		if got := s.Update(st.values, nil); got != st.changed {
			t.Errorf("%s: Update = %v, want %v", st.name, got, st.changed)
		}
	}
	if got, want := plugintest.Changes(t, s, 2, 6), []string{"b=3@3", "c=6@6"}; !slices.Equal(got, want) {
		t.Errorf("Watch(2) = %q, want %q", got, want)
	}
	if got, want := plugintest.Changes(t, s, 4, 6), []string{"c=6@6"}; !slices.Equal(got, want) {
		t.Errorf("Watch(4) = %q, want %q", got, want)
	}
	if got, want := plugintest.Changes(t, s, 0, 6), []string{"bookmark@6"}; !slices.Equal(got, want) {
		t.Errorf("Watch(0) = %q, want %q", got, want)
	}
}

// TestWatchLive: a watcher from now receives the changes made after its
// bookmark.
func TestWatchLive(t *testing.T) {
	s := open(t, t.TempDir(), set("a=1"), nil)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	events := make(chan plugin.Event, 10)
	go s.Watch(ctx, 0, func(ev plugin.Event) error {
		events <- ev
		return nil
	})
	if ev := <-events; !ev.Bookmark || ev.Revision != 1 {
		t.Fatalf("first event = %+v, want a bookmark at 1", ev)
	}
	// One change at a time: changes to one key made before the watcher
	// looks collapse into the latest.
	steps := []struct {
		values map[string]Value
		want   string
	}{
		{set("a=2"), "a=2@2"},
		{set("a=2", "b=3"), "b=3@3"},
		{set("b=3"), "a-@4"},
	}
	for _, st := range steps {
		s.Update(st.values, nil)
		if got := plugintest.Describe(<-events); got != st.want {
			t.Errorf("event = %s, want %s", got, st.want)
		}
	}
}

// TestReopen: a second snapshot over the same state file (the plugin
// restarted) gives the edits made while nothing ran new revisions.
func TestReopen(t *testing.T) {
	dir := t.TempDir()
	open(t, dir, set("a=1", "b=2", "c=3"), nil) // a@1 b@2 c@3
	s := open(t, dir, set("a=1", "b=20", "d=4"), nil)
	if got, want := plugintest.Changes(t, s, 3, 6), []string{"b=20@4", "d=4@5", "c-@6"}; !slices.Equal(got, want) {
		t.Errorf("Watch(3) after restart = %q, want %q", got, want)
	}
	if got, want := get(t, s, "a"), "1@1"; got != want {
		t.Errorf("unchanged key a = %s, want %s", got, want)
	}
}

// TestStateLost: when the host is ahead of the snapshot (its state file was
// deleted or is unreadable), every key is sent again above the host's
// revision.
func TestStateLost(t *testing.T) {
	tests := []struct {
		name  string
		spoil func(path string) error
	}{
		{"deleted", os.Remove},
		{"garbage", func(path string) error { return os.WriteFile(path, []byte("{"), 0o644) }},
		{"bad entry", func(path string) error {
			return os.WriteFile(path, []byte(`{"revision":1,"keys":{"a":{"rev":2,"hash":"x"}}}`), 0o644)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			open(t, dir, set("a=1", "b=2", "c=3"), nil)
			if err := tt.spoil(filepath.Join(dir, "state")); err != nil {
				t.Fatal(err)
			}
			s := open(t, dir, set("a=1", "b=2"), nil)
			if got, want := plugintest.Changes(t, s, 40, 42), []string{"a=1@41", "b=2@42"}; !slices.Equal(got, want) {
				t.Errorf("Watch(40) = %q, want %q", got, want)
			}
			if got, want := plugintest.Changes(t, open(t, dir, set("a=1", "b=2"), nil), 41, 42), []string{"b=2@42"}; !slices.Equal(got, want) {
				t.Errorf("Watch(41) after restart = %q, want %q (restamped revisions are durable)", got, want)
			}
		})
	}
}

// TestInvalidFile: a key whose file is invalid keeps its last good value;
// known only from the state file, it is held back until the file is fixed.
func TestInvalidFile(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir, set("a=1@a.md", "b=2@b.md"), nil) // a@1 b@2
	broken := map[string]error{"a.md": errors.New("broken")}
	if s.Update(set("b=2@b.md"), broken) {
		t.Error("an invalid file counted as a change")
	}
	if got, want := get(t, s, "a"), "1@1"; got != want {
		t.Errorf("a while its file is invalid = %s, want the last good %s", got, want)
	}

	s = open(t, dir, set("b=2@b.md"), broken) // restart with a.md still invalid
	if got := get(t, s, "a"); got != "" {
		t.Errorf("a held since restart = %s, want not served", got)
	}
	if p, _ := s.List(context.Background(), plugin.ListRequest{Limit: 10}); len(p.Items) != 1 {
		t.Errorf("list while a is held = %+v, want b only", p.Items)
	}
	s.Update(set("a=1@a.md", "b=2@b.md"), nil) // fixed, same content
	if got, want := plugintest.Changes(t, s, 2, 3), []string{"a=1@3"}; !slices.Equal(got, want) {
		t.Errorf("Watch(2) after the fix = %q, want %q", got, want)
	}
}

func TestChange(t *testing.T) {
	s := open(t, t.TempDir(), set("a=1"), nil)
	var persisted string
	persist := func(m map[string][]byte) error {
		var kv []string
		for _, k := range sortedKeys(m) {
			kv = append(kv, k+"="+string(m[k]))
		}
		persisted = strings.Join(kv, " ")
		return nil
	}
	steps := []struct {
		name, key, value string // value "" deletes
		wantRev          uint64
		wantPersisted    string
	}{
		{"put", "b", "x", 2, "a=1 b=x"},
		{"same value", "b", "x", 2, ""},
		{"delete", "a", "", 3, "b=x"},
		{"delete missing", "missing", "", 3, ""},
		{"delete again", "a", "", 3, ""},
	}
	for _, st := range steps {
		persisted = ""
		var value []byte
		if st.value != "" {
			value = []byte(st.value)
		}
		rev, err := s.Change(st.key, value, persist)
		if err != nil || rev != st.wantRev || persisted != st.wantPersisted {
			t.Errorf("%s: rev %d, err %v, persisted %q; want %d, %q", st.name, rev, err, persisted, st.wantRev, st.wantPersisted)
		}
	}
	failed := errors.New("disk full")
	if _, err := s.Change("c", []byte("3"), func(map[string][]byte) error { return failed }); err != failed {
		t.Errorf("failed persist: err = %v, want %v", err, failed)
	}
	if got := get(t, s, "c"); got != "" {
		t.Errorf("c after a failed persist = %s, want missing", got)
	}
	if got, want := plugintest.Changes(t, s, 1, 3), []string{"b=x@2", "a-@3"}; !slices.Equal(got, want) {
		t.Errorf("Watch(1) = %q, want %q", got, want)
	}
}

func TestNotOpen(t *testing.T) {
	s := New("test", hclog.NewNullLogger())
	ctx := context.Background()
	_, _, getErr := s.Get(ctx, "a")
	_, listErr := s.List(ctx, plugin.ListRequest{})
	watchErr := s.Watch(ctx, 0, func(plugin.Event) error { return nil })
	_, changeErr := s.Change("a", []byte("1"), func(map[string][]byte) error { return nil })
	for i, err := range []error{getErr, listErr, watchErr, changeErr} {
		if !errors.Is(err, ErrNotOpen) || err.Error() != "test: not configured" {
			t.Errorf("call %d: err = %v, want %q", i, err, "test: not configured")
		}
	}
	if s.Update(set("a=1"), nil) {
		t.Error("Update before Open changed something")
	}
	s = open(t, t.TempDir(), nil, nil)
	if ds := s.Open(StateFile{Path: filepath.Join(t.TempDir(), "state")}, nil, nil); !ds.HasErrors() || ds[0].Summary != "already configured" {
		t.Errorf("second Open = %v, want already configured", ds)
	}
}

func TestOpenUnwritableState(t *testing.T) {
	s := New("test", hclog.NewNullLogger())
	ds := s.Open(StateFile{Path: filepath.Join(t.TempDir(), "missing", "state")}, set("a=1"), nil)
	if !ds.HasErrors() || ds[0].Attribute != "state" {
		t.Errorf("Open with an unwritable state file = %v, want an error on state", ds)
	}
}

// TestStateFileGolden pins the state file format, compact and indented.
func TestStateFileGolden(t *testing.T) {
	for _, indent := range []bool{false, true} {
		name := "state-compact.golden"
		if indent {
			name = "state-indented.golden"
		}
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "state")
			s := New("test", hclog.NewNullLogger())
			if ds := s.Open(StateFile{Path: path, Indent: indent}, set("a=1@a.md", "b=2", "c=3"), nil); ds != nil {
				t.Fatal(ds)
			}
			s.Update(set("a=1@a.md", "b=2"), nil)
			got, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			want, err := os.ReadFile(filepath.Join("testdata", name))
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != string(want) {
				t.Errorf("state file =\n%s\nwant\n%s", got, want)
			}
		})
	}
}

func FuzzParseState(f *testing.F) {
	f.Add([]byte(`{"revision": 3, "keys": {"a": {"rev": 1, "hash": "ab", "file": "a.md"}, "b": {"rev": 3, "deleted": true}}}`))
	f.Add([]byte(`{"revision": 1, "keys": {"a": {"rev": 2, "hash": "ab"}}}`))
	f.Add([]byte(`{"revision": 1, "keys": {"a": {"rev": 1, "hash": "ab", "deleted": true}}}`))
	f.Add([]byte(`{}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		st, err := parseState(b)
		if err != nil {
			return
		}
		for k, e := range st.entries() {
			if e.rev == 0 || e.rev > st.Revision || e.deleted == (e.hash != "") {
				t.Fatalf("accepted bad entry %q: %+v", k, e)
			}
		}
	})
}

func FuzzCursor(f *testing.F) {
	for _, s := range []string{"", "a", "k", "kk", "posts/\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, key string) {
		got, err := decodeCursor(encodeCursor(key))
		if err != nil || got != key {
			t.Fatalf("round trip of %q = %q, %v", key, got, err)
		}
		if k, err := decodeCursor(key); err == nil && encodeCursor(k) != key {
			t.Fatalf("decodeCursor(%q) = %q does not re-encode", key, k)
		}
	})
}
