package jsonfile

import (
	"context"
	"encoding/json"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/kilnhq/kiln/plugins/internal/plugintest"
)

// newSource configures a source over dir/data.json (written first when
// content is not empty).
func newSource(t *testing.T, dir, content string) *source {
	t.Helper()
	path := filepath.Join(dir, "data.json")
	if content != "" {
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	s := New().(*source)
	if ds := s.Configure(context.Background(), []byte(`{"path":`+strconv.Quote(path)+`}`)); ds != nil {
		t.Fatalf("Configure: %v", ds)
	}
	return s
}

// edit rewrites the data file and reloads it, as the file watcher would.
func edit(t *testing.T, s *source, content string) {
	t.Helper()
	if err := os.WriteFile(s.path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	s.reload()
}

func TestParseData(t *testing.T) {
	tests := []struct {
		name, in, want, err string
	}{
		{"object", `{"b": [1, 2], "a": {"x": "y"}}`, `a={"x":"y"} b=[1,2]`, ""},
		{"empty", ` {} `, ``, ""},
		{"duplicate keeps last", `{"a": 1, "a": 2}`, `a=2`, ""},
		{"null", `null`, "", "1:1: top level must be a JSON object"},
		{"array", `[1]`, "", "1:1: top level must be a JSON object"},
		{"empty file", ``, "", "1:1: top level must be a JSON object"},
		{"half written", "{\n  \"a\": 1,\n  \"b\": ", "", "3:8: unexpected end of JSON input"},
		{"trailing comma", "{\"a\": 1,\n}", "", "2:1: invalid character '}' looking for beginning of object key string"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data, err := parseData([]byte(tt.in))
			if tt.err != "" {
				if err == nil || err.Error() != tt.err {
					t.Fatalf("err = %v, want %s", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, k := range slices.Sorted(maps.Keys(data)) {
				got = append(got, k+"="+string(data[k]))
			}
			if g := strings.Join(got, " "); g != tt.want {
				t.Errorf("got %s, want %s", g, tt.want)
			}
		})
	}
}

// TestOfflineEdits: a second process over the same file and state (the
// plugin restarted) gives edits made while nothing ran new revisions.
func TestOfflineEdits(t *testing.T) {
	dir := t.TempDir()
	s1 := newSource(t, dir, `{"a": 1, "b": 2, "c": 3}`) // a@1 b@2 c@3
	if err := os.WriteFile(s1.path, []byte(`{"a": 1, "b": 20, "d": 4}`), 0o644); err != nil {
		t.Fatal(err)
	}
	s2 := newSource(t, dir, "")
	got := plugintest.Changes(t, s2, 3, 6)
	want := []string{"b=20@4", "d=4@5", "c-@6"}
	if !slices.Equal(got, want) {
		t.Errorf("Watch(3) after restart = %q, want %q", got, want)
	}
	if it, _, _ := s2.Get(context.Background(), "a"); it.Revision != 1 {
		t.Errorf("unchanged key a moved to revision %d", it.Revision)
	}
}

func TestInvalidFileKeepsLastGoodData(t *testing.T) {
	s := newSource(t, t.TempDir(), `{"a": 1}`)
	edit(t, s, `{"a": 2, "b": `) // half written
	edit(t, s, `[]`)
	if it, _, _ := s.Get(context.Background(), "a"); string(it.Value) != "1" {
		t.Errorf("a = %s after invalid edits, want 1", it.Value)
	}
	edit(t, s, `{"a": 2}`)
	if it, _, _ := s.Get(context.Background(), "a"); string(it.Value) != "2" || it.Revision != 2 {
		t.Errorf("a = %s@%d after a valid edit, want 2@2", it.Value, it.Revision)
	}
}

func TestPutDelete(t *testing.T) {
	s := newSource(t, t.TempDir(), `{"a": 1}`)
	ctx := context.Background()
	steps := []struct {
		op, key, value string
		wantRev        uint64
	}{
		{"put", "b", `{"x": [1]}`, 2},
		{"put", "b", `{"x":[1]}`, 2}, // same value: no change
		{"delete", "a", "", 3},
		{"delete", "missing", "", 3},
	}
	for _, st := range steps {
		var rev uint64
		var err error
		if st.op == "put" {
			rev, err = s.Put(ctx, st.key, []byte(st.value))
		} else {
			rev, err = s.Delete(ctx, st.key)
		}
		if err != nil || rev != st.wantRev {
			t.Errorf("%s %s = %d, %v; want %d", st.op, st.key, rev, err, st.wantRev)
		}
	}
	if _, err := s.Put(ctx, "c", []byte("{")); err == nil {
		t.Error("Put of invalid JSON succeeded")
	}
	b, _ := os.ReadFile(s.path)
	var got map[string]any
	if err := json.Unmarshal(b, &got); err != nil || len(got) != 1 || got["b"] == nil {
		t.Errorf("data file = %s, want only b", b)
	}
	s.reload() // the watcher seeing our own write changes nothing
	if got := plugintest.Changes(t, s, 1, 3); !slices.Equal(got, []string{`b={"x":[1]}@2`, "a-@3"}) {
		t.Errorf("Watch(1) = %q", got)
	}
}

func TestConfigure(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name, config, attr string
	}{
		{"not json", `{`, ""},
		{"no path", `{}`, "path"},
		{"missing file", `{"path": ` + strconv.Quote(filepath.Join(dir, "nope.json")) + `}`, "path"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ds := New().Configure(context.Background(), []byte(tt.config))
			if !ds.HasErrors() || ds[0].Attribute != tt.attr {
				t.Errorf("Configure(%s) = %v, want an error about %q", tt.config, ds, tt.attr)
			}
		})
	}
}

func FuzzParseData(f *testing.F) {
	for _, s := range []string{`{"a": 1}`, `{"a": {"b": [1, "x", null]}}`, `{`, `null`, `{"a":1,}`, "{\"\\u00e9\": \"\\ud800\"}"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		data, err := parseData(b)
		if err != nil {
			return
		}
		for k, v := range data {
			if !json.Valid(v) {
				t.Fatalf("value of %q is not valid JSON: %q", k, v)
			}
		}
	})
}

// TestWriteKeepsFile: a Put changes the bytes of its value only, and the
// file keeps its mode, whatever it is (the write replaces the file with a
// temp file, which os.CreateTemp makes 0600).
func TestWriteKeepsFile(t *testing.T) {
	for _, mode := range []os.FileMode{0o644, 0o640, 0o664, 0o600, 0o444, 0o604} {
		t.Run(mode.String(), func(t *testing.T) {
			s := newSource(t, t.TempDir(), "{\n  \"z\": \"a \\u003e b\",\n  \"a\": {\"x\": 1}\n}\n")
			if err := os.Chmod(s.path, mode); err != nil {
				t.Fatal(err)
			}
			for i, v := range []string{`{"x": 2}`, `{"x":3}`} {
				if _, err := s.Put(context.Background(), "a", []byte(v)); err != nil {
					t.Fatalf("put %d: %v", i, err)
				}
				fi, err := os.Stat(s.path)
				if err != nil {
					t.Fatal(err)
				}
				if got, want := fi.Mode().Perm(), mode; got != want {
					t.Errorf("mode after put %d = %v, want %v", i, got, want)
				}
			}
			b, _ := os.ReadFile(s.path)
			if got, want := string(b), "{\n  \"z\": \"a \\u003e b\",\n  \"a\": {\"x\":3}\n}\n"; got != want {
				t.Errorf("file = %q, want %q", got, want)
			}
		})
	}
}

// TestWriteRefusesInvalidFile: a write does not overwrite a file that is
// being edited into something invalid.
func TestWriteRefusesInvalidFile(t *testing.T) {
	s := newSource(t, t.TempDir(), `{"a": 1}`)
	if err := os.WriteFile(s.path, []byte(`{"a": 1, "b": `), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Put(context.Background(), "c", []byte("3")); err == nil || !strings.Contains(err.Error(), "fix it first") {
		t.Errorf("Put over an invalid file: err = %v", err)
	}
	if b, _ := os.ReadFile(s.path); string(b) != `{"a": 1, "b": ` {
		t.Errorf("file = %q, want the author's edit kept", b)
	}
}

// TestReorderFiresNothing: rewriting the file with members reordered and
// reindented (as `jq -S` does) changes nothing; one real change among
// them is one event.
func TestReorderFiresNothing(t *testing.T) {
	s := newSource(t, t.TempDir(), `{"b": {"y": 1, "x": [1, 2]}, "a": "a>b"}`) // a@1 b@2
	edit(t, s, "{\n  \"a\": \"a\\u003eb\",\n  \"b\": {\n    \"x\": [\n      1,\n      2\n    ],\n    \"y\": 1\n  }\n}\n")
	edit(t, s, `{"a": "a>b", "b": {"x": [1, 2], "y": 1.0}, "c": 3}`)
	if got, want := plugintest.Changes(t, s, 2, 3), []string{"c=3@3"}; !slices.Equal(got, want) {
		t.Errorf("Watch(2) = %q, want %q", got, want)
	}
}
