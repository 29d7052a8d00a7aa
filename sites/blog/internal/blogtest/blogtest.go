// Package blogtest gives the blog's renderer tests their data: the sample
// data file, generated posts, static-file URLs, golden-file comparison, and
// a Source that counts reads.
package blogtest

import (
	"bytes"
	"encoding/json"
	"flag"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
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
