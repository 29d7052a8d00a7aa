// Package blogtest gives the blog's renderer tests their data: the sample
// data file, generated posts, static-file URLs, golden-file comparison, and
// a Source that counts reads.
package blogtest

import (
	"bytes"
	"encoding/json"
	"flag"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	kiln "github.com/kilnhq/kiln/sdk/go"
	"github.com/kilnhq/kiln/sdk/go/kilntest"
	"github.com/kilnhq/kiln/sites/blog/internal/post"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata/")

// Dir is the sites/blog directory.
func Dir() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// SampleData is sites/blog/data.json plus the asset keys.
func SampleData(t testing.TB) kilntest.Data {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(Dir(), "data.json"))
	if err != nil {
		t.Fatal(err)
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		t.Fatal(err)
	}
	d := Assets(t)
	for k, v := range raw {
		d[k] = string(v)
	}
	return d
}

// Assets maps every file under public/ as the engine does, with a fixed
// hash: kiln:asset:style.css -> /assets/style.test.css.
func Assets(t testing.TB) kilntest.Data {
	t.Helper()
	d := kilntest.Data{}
	root := filepath.Join(Dir(), "public")
	err := filepath.WalkDir(root, func(path string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return err
		}
		name, _ := filepath.Rel(root, path)
		name = filepath.ToSlash(name)
		ext := filepath.Ext(name)
		d["kiln:asset:"+name] = "/assets/" + name[:len(name)-len(ext)] + ".test" + ext
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// AddPosts stores n generated posts with their index keys, one hour apart,
// the newest at newest, slugs p00000, p00001, ...
func AddPosts(t testing.TB, d kilntest.Data, n int, newest time.Time) {
	t.Helper()
	for i := range n {
		p := post.Post{
			Slug: "p" + pad(i), Title: "Post " + pad(i), Date: newest.Add(-time.Duration(i) * time.Hour),
			Author: post.Author{Name: "Mara Lind"}, Excerpt: "Excerpt.", Content: "Body.",
		}
		b, err := p.MarshalJSON()
		if err != nil {
			t.Fatal(err)
		}
		d[post.Key(p.Slug)] = string(b)
		d[post.IndexKey(p.Date, p.Slug)] = string(post.IndexValue(p.Slug))
	}
}

func pad(i int) string {
	s := []byte("00000")
	for j := len(s) - 1; i > 0 && j >= 0; j-- {
		s[j] = byte('0' + i%10)
		i /= 10
	}
	return string(s)
}

// Counter is a Source that counts Get, GetMany and List calls on another
// Source.
type Counter struct {
	kilntest.Source
	Gets, Batches, Lists int
	Keys                 []string // every key got, alone or in a batch, in order
}

var _ kilntest.ManySource = (*Counter)(nil)

// GetMany counts one batch and forwards its keys one Get at a time.
func (c *Counter) GetMany(keys []string) ([][]byte, []bool, error) {
	c.Batches++
	c.Keys = append(c.Keys, keys...)
	values, found := make([][]byte, len(keys)), make([]bool, len(keys))
	for i, k := range keys {
		v, f, err := c.Source.Get(k)
		if err != nil {
			return nil, nil, err
		}
		values[i], found[i] = v, f
	}
	return values, found, nil
}

// Get counts and forwards.
func (c *Counter) Get(key string) ([]byte, bool, error) {
	c.Gets++
	c.Keys = append(c.Keys, key)
	return c.Source.Get(key)
}

// List counts and forwards.
func (c *Counter) List(prefix, cursor string, limit int, reverse bool) ([]kiln.Item, string, error) {
	c.Lists++
	return c.Source.List(prefix, cursor, limit, reverse)
}

// Golden compares got with testdata/name, rewriting it under -update.
func Golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the rendered page (run go test -update to accept):\n%s", path, firstDiff(got, want))
	}
}

// firstDiff shows the first differing line.
func firstDiff(got, want []byte) string {
	g, w := bytes.Split(got, []byte("\n")), bytes.Split(want, []byte("\n"))
	for i := 0; i < len(g) || i < len(w); i++ {
		var gl, wl []byte
		if i < len(g) {
			gl = g[i]
		}
		if i < len(w) {
			wl = w[i]
		}
		if !bytes.Equal(gl, wl) {
			return "line " + strconv.Itoa(i+1) + ":\n got: " + string(gl) + "\nwant: " + string(wl)
		}
	}
	return ""
}

// GenPost is a post as sites/blog/cmd/genposts writes them, with a
// Markdown body from SubsetMarkdown (inside the C twin's Markdown subset).
func GenPost(r *rand.Rand, i int) post.Post {
	authors := []post.Author{{Name: "Mara Lind", Picture: "authors/mara.svg"}, {Name: "Theo Park"}, {Name: "Ana <&> O'Neil+"}}
	covers := []string{"covers/hello-world.svg", "", "https://example.org/a b?x=1&y='2'", "/x/%41%zz+", "covers/none.svg"}
	src := make([]byte, 24+r.IntN(64))
	for j := range src {
		src[j] = byte(r.Uint32())
	}
	return post.Post{
		Slug:       "generated-" + string(rune('a'+i%26)) + string(rune('a'+i/26%26)),
		Title:      []string{"How quiet pages regenerate", `"Quotes" & <tags> + 'more'`, "Café"}[i%3],
		Date:       time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).Add(-time.Duration(r.IntN(1e6)) * time.Minute),
		Author:     authors[i%len(authors)],
		Excerpt:    []string{"Lorem ipsum dolor.", "", "a+b <c> & \"d\""}[i%3],
		CoverImage: covers[i%len(covers)],
		Content:    SubsetMarkdown(src),
	}
}

// SubsetMarkdown turns fuzz bytes into Markdown inside md.c's subset (see
// md.h): paragraphs, headings and tight lists of plain words, so goldmark
// and md.c must agree on it byte for byte.
func SubsetMarkdown(b []byte) string {
	// Lines start with one of the first plain words: "-", ">" or "#"
	// there would start another block.
	const plain = 12
	words := []string{"Lorem", "ipsum", "dolor", "sit", "amet.", "x2", "snake_case", "a-b", "Café", "a,b", "TITLE", "q", "&", ">", "#", "##", "-"}
	next := func() int {
		if len(b) == 0 {
			return 0
		}
		c := int(b[0])
		b = b[1:]
		return c
	}
	text := func() string {
		n := 1 + next()%6
		w := make([]string, n)
		w[0] = words[next()%plain]
		for i := 1; i < n; i++ {
			w[i] = words[next()%len(words)]
		}
		return strings.Join(w, " ")
	}
	var s strings.Builder
	for kind, last := 0, -1; len(b) > 0; last = kind {
		lead := strings.Repeat(" ", next()%4) // up to 3 spaces: still a block start
		kind = next() % 4
		if last == 3 { // after a list, a list or an indented block would continue it
			lead = ""
			kind %= 3
		}
		switch kind {
		case 0, 1: // paragraph
			for n := 1 + next()%3; n > 0; n-- {
				s.WriteString(lead + text() + strings.Repeat(" ", next()%2) + "\n")
			}
		case 2: // heading, maybe closed
			s.WriteString(lead + strings.Repeat("#", 1+next()%6) + " " + text())
			if next()%3 == 0 {
				s.WriteString(" " + strings.Repeat("#", 1+next()%3))
			}
			s.WriteString("\n")
		case 3: // tight list, items maybe with a lazy continuation line
			for n := 1 + next()%4; n > 0; n-- {
				s.WriteString("- " + text() + "\n")
				if next()%4 == 0 {
					s.WriteString(text() + "\n")
				}
			}
		}
		s.WriteString("\n")
	}
	return s.String()
}

// BenchPosts stores the 200 generated posts the post benchmarks render, in
// wasm and natively, and returns their slugs.
func BenchPosts(d kilntest.Data) []string {
	r := rand.New(rand.NewPCG(1, 2))
	slugs := make([]string, 200)
	for i := range slugs {
		p := GenPost(r, i)
		p.Slug = "p" + string(rune('a'+i%26)) + string(rune('a'+i/26))
		v, _ := p.MarshalJSON()
		d[post.Key(p.Slug)] = string(v)
		slugs[i] = p.Slug
	}
	return slugs
}

// CPUTime is the process's user and system CPU time. Benchmarks report it
// per op beside ns/op: on a shared machine it moves less than wall time,
// and it counts the native garbage collector's other threads, which a
// wasm guest runs inline.
func CPUTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
