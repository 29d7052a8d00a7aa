package router

import (
	"errors"
	"reflect"
	"testing"

	"github.com/kilnhq/kiln/engine/internal/config"
	"github.com/kilnhq/kiln/engine/internal/render"
)

var patterns = []string{
	"/",
	"/about",
	"/posts",
	"/posts/new",
	"/posts/:slug",
	"/posts/:slug/edit",
	"/posts/new/draft",
	"/users/:id/posts/:post",
	"/docs/*path",
	"/docs/api",
	"/files/:name/*rest",
	"/a/:x/c",
	"/a/b/:y",
}

func table(t testing.TB, patterns ...string) *Table {
	t.Helper()
	routes := make([]*config.Route, len(patterns))
	for i, p := range patterns {
		routes[i] = &config.Route{Pattern: p}
	}
	tab, err := New(routes)
	if err != nil {
		t.Fatal(err)
	}
	return tab
}

func TestMatch(t *testing.T) {
	tab := table(t, patterns...)
	tests := []struct {
		path, route string
		params      []render.Param
	}{
		{"/", "/", nil},
		{"/about", "/about", nil},
		{"/posts", "/posts", nil},
		{"/posts/new", "/posts/new", nil},
		{"/posts/hello", "/posts/:slug", ps("slug", "hello")},
		{"/posts/new/edit", "/posts/:slug/edit", ps("slug", "new")},
		{"/posts/new/draft", "/posts/new/draft", nil},
		{"/posts/héllo wörld", "/posts/:slug", ps("slug", "héllo wörld")},
		{"/users/7/posts/9", "/users/:id/posts/:post", ps("id", "7", "post", "9")},
		{"/docs", "/docs/*path", ps("path", "")},
		{"/docs/api", "/docs/api", nil},
		{"/docs/api/v2", "/docs/*path", ps("path", "api/v2")},
		{"/docs/a/b/c", "/docs/*path", ps("path", "a/b/c")},
		{"/files/x", "/files/:name/*rest", ps("name", "x", "rest", "")},
		{"/files/x/y/z", "/files/:name/*rest", ps("name", "x", "rest", "y/z")},
		{"/a/b/c", "/a/b/:y", ps("y", "c")},
		{"/a/z/c", "/a/:x/c", ps("x", "z")},
		{"/nope", "", nil},
		{"/posts/a/b", "", nil},
		{"/users/7/posts", "", nil},
		{"/a/b", "", nil},
		{"/files", "", nil},
		{"", "", nil},
		{"posts", "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			r, params, ok := tab.Match(tt.path)
			got := ""
			if ok {
				got = r.Pattern
			}
			if got != tt.route || !reflect.DeepEqual(params, tt.params) {
				t.Errorf("Match(%q) = %q %v, want %q %v", tt.path, got, params, tt.route, tt.params)
			}
			if ok {
				if back := Expand(r.Pattern, params); back != tt.path {
					t.Errorf("Expand(%q, %v) = %q, want %q", r.Pattern, params, back, tt.path)
				}
			}
		})
	}
}

func TestMatchRootCatchAll(t *testing.T) {
	tab := table(t, "/*all", "/x")
	tests := []struct{ path, route, all string }{
		{"/", "/*all", ""},
		{"/x", "/x", ""},
		{"/x/y", "/*all", "x/y"},
		{"/y", "/*all", "y"},
	}
	for _, tt := range tests {
		r, params, ok := tab.Match(tt.path)
		if !ok || r.Pattern != tt.route {
			t.Errorf("Match(%q) = %v, %v; want %q", tt.path, r, ok, tt.route)
			continue
		}
		if tt.route == "/*all" && params[0].Value != tt.all {
			t.Errorf("Match(%q) all = %q, want %q", tt.path, params[0].Value, tt.all)
		}
	}
}

func TestMatchManyStatics(t *testing.T) {
	var pats []string
	for _, s := range []string{"a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k", "l"} {
		pats = append(pats, "/"+s, "/"+s+"/:id")
	}
	tab := table(t, pats...)
	for _, p := range pats {
		path := Expand(p, ps("id", "1"))
		if r, _, ok := tab.Match(path); !ok || r.Pattern != p {
			t.Errorf("Match(%q) = %v, %v; want %q", path, r, ok, p)
		}
	}
}

func TestNewErrors(t *testing.T) {
	tests := []struct {
		patterns []string
		conflict bool
	}{
		{[]string{"/posts/:slug", "/posts/:id"}, true},
		{[]string{"/docs/*a", "/docs/*b"}, true},
		{[]string{"/x", "/x"}, true},
		{[]string{"nope"}, false},
		{[]string{"/a/*b/c"}, false},
	}
	for _, tt := range tests {
		routes := make([]*config.Route, len(tt.patterns))
		for i, p := range tt.patterns {
			routes[i] = &config.Route{Pattern: p}
		}
		_, err := New(routes)
		if err == nil || errors.Is(err, ErrConflict) != tt.conflict {
			t.Errorf("New(%q) = %v, want conflict=%v", tt.patterns, err, tt.conflict)
		}
	}
}

func TestRoutes(t *testing.T) {
	tab := table(t, "/b", "/a")
	got := []string{}
	for _, r := range tab.Routes() {
		got = append(got, r.Pattern)
	}
	if want := []string{"/b", "/a"}; !reflect.DeepEqual(got, want) {
		t.Errorf("Routes() = %q, want %q", got, want)
	}
}

func TestExpand(t *testing.T) {
	tests := []struct {
		pattern string
		params  []render.Param
		want    string
	}{
		{"/", nil, "/"},
		{"/posts/:slug", ps("slug", "x"), "/posts/x"},
		{"/docs/*path", ps("path", ""), "/docs"},
		{"/docs/*path", ps("path", "a/b"), "/docs/a/b"},
		{"/*all", nil, "/"},
	}
	for _, tt := range tests {
		if got := Expand(tt.pattern, tt.params); got != tt.want {
			t.Errorf("Expand(%q, %v) = %q, want %q", tt.pattern, tt.params, got, tt.want)
		}
	}
}

func BenchmarkMatch(b *testing.B) {
	tab := table(b, patterns...)
	paths := []string{"/", "/about", "/posts/hello-world", "/users/7/posts/9", "/docs/a/b/c", "/nope/x"}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		tab.Match(paths[i%len(paths)])
	}
}

func BenchmarkMatchStatic(b *testing.B) {
	tab := table(b, patterns...)
	b.ReportAllocs()
	for b.Loop() {
		tab.Match("/posts/new/draft")
	}
}

// ps builds params from name, value pairs.
func ps(kv ...string) []render.Param {
	var p []render.Param
	for i := 0; i+1 < len(kv); i += 2 {
		p = append(p, render.Param{Name: kv[i], Value: kv[i+1]})
	}
	return p
}
