package config

import (
	"fmt"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"
)

// parseValid parses src as if it were testdata/valid/site.hcl.
func parseValid(t *testing.T, src string) *Site {
	t.Helper()
	s, err := Parse("testdata/valid/site.hcl", []byte(src))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return s
}

func abs(t *testing.T, rel string) string {
	t.Helper()
	p, err := filepath.Abs(filepath.Join("testdata/valid", rel))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestParseDefaults(t *testing.T) {
	got := parseValid(t, `
renderer "page" {
  wasm = "shell.wasm"
}
route "/" {
  renderer = "page"
}
`)
	dir := abs(t, "")
	want := &Site{
		File: filepath.Join(dir, "site.hcl"), Dir: dir,
		Listen: ":3000", StoreDir: filepath.Join(dir, ".kiln"),
		AdminSecretEnv: "KILN_ADMIN_SECRET", PreviewSecretEnv: "KILN_PREVIEW_SECRET",
		HotCacheBytes: 64 << 20, NegativeTTL: 60 * time.Second, RetryBackoff: 10 * time.Second, MaxAdminBody: 1 << 20,
		Renderers: []*Renderer{{
			Name: "page", Wasm: filepath.Join(dir, "shell.wasm"), Pool: DefaultPool(),
			Timeout: 2 * time.Second, MaxMemory: 128 << 20, MaxResponse: 16 << 20,
			IdleTimeout: 30 * time.Second, MaxLog: 1 << 20, MaxDependencies: 10000, MaxTags: 128,
			Pos: Pos{"testdata/valid/site.hcl", 2, 1},
		}},
		Routes: []*Route{{
			Pattern: "/", Renderer: "page", Fallback: FallbackBlocking, Policy: PolicyEager, MaxFirstRenders: DefaultMaxFirstRenders,
			Timeout: 2 * time.Second, Pos: Pos{"testdata/valid/site.hcl", 5, 1},
		}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got\n%s\nwant\n%s", dump(got), dump(want))
	}
}

func TestParseFull(t *testing.T) {
	s, err := Load("testdata/valid/full.hcl")
	if err != nil {
		t.Fatal(err)
	}
	dir := abs(t, "")
	site := Site{File: s.File, Dir: s.Dir, Listen: s.Listen, MetricsListen: s.MetricsListen, StoreDir: s.StoreDir, AdminSecretEnv: s.AdminSecretEnv,
		PreviewSecretEnv: s.PreviewSecretEnv, NotFound: s.NotFound, HotCacheBytes: s.HotCacheBytes,
		NegativeTTL: s.NegativeTTL, RetryBackoff: s.RetryBackoff}
	wantSite := Site{File: filepath.Join(dir, "full.hcl"), Dir: dir, Listen: "127.0.0.1:8080", MetricsListen: "127.0.0.1:9090",
		StoreDir: filepath.Join(dir, "state"), AdminSecretEnv: "BLOG_ADMIN", PreviewSecretEnv: "BLOG_PREVIEW",
		NotFound: "shell", HotCacheBytes: 1e9, NegativeTTL: 30 * time.Second, RetryBackoff: 90 * time.Second}
	if !reflect.DeepEqual(site, wantSite) {
		t.Errorf("site settings:\ngot  %+v\nwant %+v", site, wantSite)
	}
	file := "testdata/valid/full.hcl"
	wantRenderers := []*Renderer{
		{Name: "post", Source: filepath.Join(dir, "renderers/post"), Data: "blog", Pool: 2, Timeout: 3 * time.Second,
			MaxMemory: 64 << 20, MaxResponse: 1 << 20, Env: map[string]string{"PRERENDER": "all", "LIMIT": "10"},
			MemoryBudget: 192 << 20, IdleTimeout: 5 * time.Minute, MaxLog: 64 << 10, MaxDependencies: 50000, MaxTags: 16,
			Pos: Pos{file, 12, 1}},
		{Name: "shell", Wasm: filepath.Join(dir, "shell.wasm"),
			Build: []string{"clang", "--target=wasm32-wasi", "-o", "shell.wasm", "shell.c"},
			Watch: []string{filepath.Join(dir, "src/*.c")}, Data: "blog", Pool: DefaultPool(),
			Timeout: 2 * time.Second, MaxMemory: 128 << 20, MaxResponse: 16 << 20,
			IdleTimeout: 30 * time.Second, MaxLog: 1 << 20, MaxDependencies: 10000, MaxTags: 128, Pos: Pos{file, 27, 1}},
	}
	if !reflect.DeepEqual(s.Renderers, wantRenderers) {
		t.Errorf("renderers:\ngot  %s\nwant %s", dump(s.Renderers), dump(wantRenderers))
	}
	wantSources := []*DataSource{
		{Name: "blog", Plugin: "jsonfile",
			Config:       []byte(`{"limits":{"max":10},"path":"` + filepath.Join(dir, "data.json") + `","pretty":true}`),
			ConfigPos:    map[string]Pos{"path": {file, 37, 5}, "pretty": {file, 38, 5}, "limits": {file, 39, 5}},
			StartTimeout: 10 * time.Second, Pos: Pos{file, 34, 1}},
		{Name: "db", Command: filepath.Join(dir, "bin/pg-plugin"), Args: []string{"--verbose"},
			SHA256: "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", Env: []string{"DATABASE_URL"},
			Config: []byte("{}"), ConfigPos: map[string]Pos{}, StartTimeout: 30 * time.Second, Pos: Pos{file, 43, 1}},
	}
	if !reflect.DeepEqual(s.DataSources, wantSources) {
		t.Errorf("data sources:\ngot  %s\nwant %s", dump(s.DataSources), dump(wantSources))
	}
	wantRoutes := []*Route{
		{Pattern: "/", Renderer: "post", Revalidate: 10 * time.Second, Fallback: FallbackBlocking,
			Timeout: 3 * time.Second, Policy: PolicyEager, MaxFirstRenders: DefaultMaxFirstRenders, Pos: Pos{file, 51, 1}},
		{Pattern: "/posts/:slug", Renderer: "post", Revalidate: time.Minute, Expire: time.Hour, Fallback: FallbackTrue,
			FallbackRenderer: "shell", Paths: []string{"/posts/a", "/posts/b"}, HasPaths: true,
			Timeout: 3 * time.Second, Policy: PolicyLazy, MaxFirstRenders: DefaultMaxFirstRenders, Pos: Pos{file, 56, 1}},
		{Pattern: "/docs/*path", Renderer: "post", Fallback: FallbackFalse, Paths: []string{}, HasPaths: true,
			Timeout: 5 * time.Second, Policy: PolicyEager, MaxFirstRenders: DefaultMaxFirstRenders, Pos: Pos{file, 66, 1}},
	}
	if !reflect.DeepEqual(s.Routes, wantRoutes) {
		t.Errorf("routes:\ngot  %s\nwant %s", dump(s.Routes), dump(wantRoutes))
	}
	if got, want := len(s.OnChange), 1; got != want {
		t.Fatalf("len(OnChange) = %d, want %d", got, want)
	}
	o := s.OnChange[0]
	gotRule := []string{o.Name, o.Source, o.Match, string(o.Policy), o.Pos.String(), sources(o.Revalidate), sources(o.Tags)}
	wantRule := []string{"posts", "blog", "post:*", "lazy", file + ":73:1", `"/posts/${item.value.slug}" "/"`, `"post" lower(item.key)`}
	if !reflect.DeepEqual(gotRule, wantRule) {
		t.Errorf("on_change:\ngot  %q\nwant %q", gotRule, wantRule)
	}
	wantStatic := []*Static{{Prefix: "/assets/", Dir: filepath.Join(dir, "public"), Pos: Pos{file, 81, 1}}}
	if !reflect.DeepEqual(s.Static, wantStatic) {
		t.Errorf("static:\ngot  %s\nwant %s", dump(s.Static), dump(wantStatic))
	}
}

func sources(ts []Template) string {
	out := make([]string, len(ts))
	for i, t := range ts {
		out[i] = t.Source
	}
	return strings.Join(out, " ")
}

func TestParseValues(t *testing.T) {
	tests := []struct {
		name, body string
		check      func(*Site) (got, want any)
	}{
		{"revalidate false", `route "/" {
  renderer = "p"
  revalidate = false
}`, func(s *Site) (any, any) { return s.Routes[0].Revalidate, time.Duration(0) }},
		{"revalidate seconds string", `route "/" {
  renderer = "p"
  revalidate = "90"
}`, func(s *Site) (any, any) { return s.Routes[0].Revalidate, 90 * time.Second }},
		{"revalidate fractional seconds", `route "/" {
  renderer = "p"
  revalidate = 1.5
}`, func(s *Site) (any, any) { return s.Routes[0].Revalidate, 1500 * time.Millisecond }},
		{"fallback false bool", `route "/" {
  renderer = "p"
  fallback = false
}`, func(s *Site) (any, any) { return s.Routes[0].Fallback, FallbackFalse }},
		{"fallback blocking", `route "/" {
  renderer = "p"
  fallback = "blocking"
}`, func(s *Site) (any, any) { return s.Routes[0].Fallback, FallbackBlocking }},
		{"paths absent", `route "/:a" {
  renderer = "p"
}`, func(s *Site) (any, any) {
			return [2]any{s.Routes[0].Paths == nil, s.Routes[0].HasPaths}, [2]any{true, false}
		}},
		{"size KiB", `site {
  hot_cache = "512KiB"
}`, func(s *Site) (any, any) { return s.HotCacheBytes, int64(512 << 10) }},
		{"size fraction", `site {
  hot_cache = "1.5 MiB"
}`, func(s *Site) (any, any) { return s.HotCacheBytes, int64(1.5 * (1 << 20)) }},
		{"size bytes number", `site {
  hot_cache = 4096
}`, func(s *Site) (any, any) { return s.HotCacheBytes, int64(4096) }},
		{"size zero disables", `site {
  hot_cache = 0
}`, func(s *Site) (any, any) { return s.HotCacheBytes, int64(0) }},
		{"absolute store kept", `site {
  store = "/var/lib/kiln"
}`, func(s *Site) (any, any) { return s.StoreDir, "/var/lib/kiln" }},
		{"single source is the default", `data_source "only" {
  plugin = "kv"
}`, func(s *Site) (any, any) { return s.Renderers[0].Data, "only" }},
		{"bare command left for PATH", `data_source "x" {
  command = "kiln-pg"
}`, func(s *Site) (any, any) { return s.DataSources[0].Command, "kiln-pg" }},
		{"plugin dir resolved, other strings not", `data_source "x" {
  plugin = "markdown"
  config {
    dir = "/abs/posts"
    url = "rel/x"
  }
}`, func(s *Site) (any, any) { return string(s.DataSources[0].Config), `{"dir":"/abs/posts","url":"rel/x"}` }},
		{"route timeout overrides renderer", `route "/" {
  renderer = "p"
  timeout = "9s"
}`, func(s *Site) (any, any) { return s.Routes[0].Timeout, 9 * time.Second }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := "renderer \"p\" {\n  wasm = \"shell.wasm\"\n}\n" + tt.body + "\n"
			got, want := tt.check(parseValid(t, src))
			if !reflect.DeepEqual(got, want) {
				t.Errorf("got %v, want %v", got, want)
			}
		})
	}
}

func TestTemplateEval(t *testing.T) {
	s := parseValid(t, `
data_source "blog" {
  plugin = "jsonfile"
}
on_change "posts" {
  match      = "post:*"
  revalidate = [
    "/posts/${item.value.slug}",
    "/tags/${lower(item.value.tags[0])}",
    item.deleted ? "/deleted" : "/live/${trimprefix(item.key, "post:")}",
    "/${try(item.value.slug, "none")}",
    "/n/${item.value.n}",
  ]
}
`)
	rule := s.OnChange[0]
	tests := []struct {
		name  string
		tmpl  int
		item  EventItem
		want  string
		error string
	}{
		{"json field", 0, EventItem{Key: "post:1", Value: []byte(`{"slug":"héllo"}`)}, "/posts/héllo", ""},
		{"json list and function", 1, EventItem{Value: []byte(`{"tags":["Go","Wasm"]}`)}, "/tags/go", ""},
		{"key when live", 2, EventItem{Key: "post:7"}, "/live/7", ""},
		{"deleted branch", 2, EventItem{Key: "post:7", Deleted: true}, "/deleted", ""},
		{"try on plain string", 3, EventItem{Value: []byte("not json")}, "/none", ""},
		{"number", 4, EventItem{Value: []byte(`{"n":42}`)}, "/n/42", ""},
		{"missing field", 0, EventItem{Value: []byte(`{"title":"x"}`)}, "", `site.hcl:8:5`},
		{"deleted item has null value", 0, EventItem{Deleted: true}, "", `on_change "posts"`},
		{"not json", 0, EventItem{Value: []byte(`{"slug":`)}, "", `"/posts/${item.value.slug}"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := rule.Revalidate[tt.tmpl].Eval(tt.item)
			if tt.error != "" {
				if err == nil || !strings.Contains(err.Error(), tt.error) {
					t.Fatalf("Eval = %q, %v; want error containing %q", got, err, tt.error)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("Eval = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

func TestParsePattern(t *testing.T) {
	tests := []struct {
		pattern, shape string
		match, miss    []string
	}{
		{"/", "/", []string{"/"}, []string{"/a"}},
		{"/posts/:slug", "/posts/:", []string{"/posts/a"}, []string{"/posts", "/posts/a/b", "/posts/"}},
		{"/docs/*path", "/docs/*", []string{"/docs", "/docs/a", "/docs/a/b"}, []string{"/doc", "/"}},
		{"/*all", "/*", []string{"/", "/x/y"}, nil},
		{"/a/:b/c", "/a/:/c", []string{"/a/x/c"}, []string{"/a/x", "/a//c"}},
	}
	for _, tt := range tests {
		segs, err := ParsePattern(tt.pattern)
		if err != nil {
			t.Fatalf("ParsePattern(%q): %v", tt.pattern, err)
		}
		if got := Shape(segs); got != tt.shape {
			t.Errorf("Shape(%q) = %q, want %q", tt.pattern, got, tt.shape)
		}
		for _, p := range tt.match {
			if !MatchSegments(segs, p) {
				t.Errorf("%q does not match %q", tt.pattern, p)
			}
		}
		for _, p := range tt.miss {
			if MatchSegments(segs, p) {
				t.Errorf("%q matches %q", tt.pattern, p)
			}
		}
	}
}

// TestTemplateHammer evaluates one template from many goroutines (run
// with -race): on_change rules are shared by every event handler.
func TestTemplateHammer(t *testing.T) {
	s := parseValid(t, `
on_change "posts" {
  match      = "*"
  revalidate = ["/posts/${item.value.slug}"]
}
`)
	tmpl := s.OnChange[0].Revalidate[0]
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 200 {
				slug := fmt.Sprintf("p%d-%d", g, i)
				got, err := tmpl.Eval(EventItem{Value: []byte(`{"slug":"` + slug + `"}`)})
				if err != nil || got != "/posts/"+slug {
					errs <- fmt.Errorf("Eval = %q, %v; want %q", got, err, "/posts/"+slug)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
