package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kilnhq/kiln/plugins/markdown"
	"github.com/kilnhq/kiln/sites/blog/internal/blogtest"
	"github.com/kilnhq/kiln/sites/blog/internal/post"
)

// readJSON runs genposts and decodes its JSON object output.
func readJSON(t *testing.T, args ...string) map[string]json.RawMessage {
	t.Helper()
	out := filepath.Join(t.TempDir(), "out.json")
	if err := run(append(args, "-o", out)); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("output is not a JSON object: %v", err)
	}
	return m
}

// TestJSON checks every post is valid and has exactly one index key that
// points back at it, for both object formats.
func TestJSON(t *testing.T) {
	for _, format := range []string{"json", "kv-import"} {
		t.Run(format, func(t *testing.T) {
			m := readJSON(t, "-n", "25", "-format", format)
			if got, want := len(m), 50; got != want {
				t.Fatalf("%d keys, want %d (25 posts + 25 index keys)", got, want)
			}
			for k, v := range m {
				if strings.HasPrefix(k, post.Prefix) {
					p, err := post.Decode(v)
					if err != nil || post.Key(p.Slug) != k {
						t.Fatalf("%s: %v (slug %q)", k, err, p.Slug)
					}
					if _, ok := m[post.IndexKey(p.Date, p.Slug)]; !ok {
						t.Errorf("%s has no index key", k)
					}
					continue
				}
				_, slug, ok := post.ParseIndexKey(k)
				var s string
				if !ok || json.Unmarshal(v, &s) != nil || s != slug {
					t.Errorf("bad index entry %s = %s", k, v)
				}
			}
		})
	}
}

// TestDeterministic checks post i does not depend on -n, and a seed
// changes the text.
func TestDeterministic(t *testing.T) {
	a := readJSON(t, "-n", "3")
	b := readJSON(t, "-n", "5")
	c := readJSON(t, "-n", "3", "-seed", "2")
	k := post.Key("generated-000002")
	if !bytes.Equal(a[k], b[k]) {
		t.Errorf("post 2 differs between -n 3 and -n 5")
	}
	if bytes.Equal(a[k], c[k]) {
		t.Errorf("post 2 is the same with another seed")
	}
}

// TestSamplePostsInSync checks sites/blog/posts/*.md is what genposts
// makes from data.json, and data.json's index matches its posts.
func TestSamplePostsInSync(t *testing.T) {
	dir := blogtest.Dir()
	out := t.TempDir()
	if err := run([]string{"-from", filepath.Join(dir, "data.json"), "-format", "markdown", "-o", out}); err != nil {
		t.Fatal(err)
	}
	want, _ := filepath.Glob(filepath.Join(dir, "posts", "*.md"))
	got, _ := filepath.Glob(filepath.Join(out, "*.md"))
	if len(got) != len(want) || len(got) == 0 {
		t.Fatalf("generated %d files, posts/ has %d", len(got), len(want))
	}
	for _, w := range want {
		g, _ := os.ReadFile(filepath.Join(out, filepath.Base(w)))
		wb, _ := os.ReadFile(w)
		if !bytes.Equal(g, wb) {
			t.Errorf("%s is out of date: go run ./sites/blog/cmd/genposts -from sites/blog/data.json -format markdown -o sites/blog/posts", w)
		}
	}
	m := readJSON(t, "-from", filepath.Join(dir, "data.json"))
	sample, err := os.ReadFile(filepath.Join(dir, "data.json"))
	if err != nil {
		t.Fatal(err)
	}
	var data map[string]json.RawMessage
	if err := json.Unmarshal(sample, &data); err != nil {
		t.Fatal(err)
	}
	var gotIndex, wantIndex []string
	for k := range m {
		if strings.HasPrefix(k, post.IndexPrefix) {
			wantIndex = append(wantIndex, k)
		}
	}
	for k := range data {
		if strings.HasPrefix(k, post.IndexPrefix) {
			gotIndex = append(gotIndex, k)
		}
	}
	slices.Sort(gotIndex)
	slices.Sort(wantIndex)
	if !slices.Equal(gotIndex, wantIndex) {
		t.Errorf("data.json index keys = %q, want %q", gotIndex, wantIndex)
	}
}

func TestMarkdownFile(t *testing.T) {
	g := newGenerator(1, mustDate("2026-01-01T00:00:00Z"))
	p := g.post(0)
	p.Title = `Quotes "and" back\slash: yes`
	blogtest.Golden(t, "post.md", markdownFile(p))
}

func TestErrors(t *testing.T) {
	for _, args := range [][]string{
		{"-format", "xml"},
		{"-n", "-1"},
		{"-newest", "soon"},
		{"-from", "/no/such/file.json"},
		{"extra"},
	} {
		if err := run(append(args, "-o", filepath.Join(t.TempDir(), "x"))); err == nil {
			t.Errorf("run(%q) succeeded, want an error", args)
		}
	}
}

func mustDate(s string) time.Time {
	d, err := post.ParseDate(s)
	if err != nil {
		panic(err)
	}
	return d
}

// TestMarkdownPluginReadsPosts parses posts/*.md with the markdown
// plugin's parser and checks the blog reads the same posts as data.json
// (less the author picture, which the plugin does not keep).
func TestMarkdownPluginReadsPosts(t *testing.T) {
	dir := blogtest.Dir()
	files, _ := filepath.Glob(filepath.Join(dir, "posts", "*.md"))
	want, err := readDataFile(filepath.Join(dir, "data.json"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		mp, err := markdown.ParsePost(filepath.Base(f), src)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		v, _ := json.Marshal(mp)
		got, err := post.Decode(v)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		i := slices.IndexFunc(want, func(p post.Post) bool { return p.Slug == got.Slug })
		if i < 0 {
			t.Fatalf("%s: slug %q not in data.json", f, got.Slug)
		}
		w := want[i]
		w.Author.Picture = ""
		if got != w {
			t.Errorf("%s:\n got %+v\nwant %+v", f, got, w)
		}
	}
}
