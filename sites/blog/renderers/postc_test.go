package renderers_test

// Tests of the C post page (post-c): built to wasm as post-c.hcl builds it
// and run in wazero. Its pages are compared with the Go post page's (the
// layout package, as renderers/post calls it) for posts inside the
// Markdown subset md.c handles, and its Markdown converter is unit-tested
// and fuzzed natively.

import (
	"bytes"
	"context"
	"encoding/json"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"

	"github.com/kilnhq/kiln/sdk/go/abi"
	"github.com/kilnhq/kiln/sdk/go/kilntest"
	"github.com/kilnhq/kiln/sites/blog/internal/blogtest"
	"github.com/kilnhq/kiln/sites/blog/internal/layout"
	"github.com/kilnhq/kiln/sites/blog/internal/post"
)

const postCDir = "post-c"

// buildPostC builds post.wasm with the command post-c.hcl runs, plus
// warnings as errors.
func buildPostC(t testing.TB) []byte {
	t.Helper()
	clang := needTool(t, "clang", "clang, lld and wasi-libc (apt-get install clang lld wasi-libc)")
	out := filepath.Join(t.TempDir(), "post.wasm")
	cmd := exec.Command(clang, "--target=wasm32-wasi", "-mexec-model=reactor", "-O2", "-Wall", "-Wextra", "-Werror",
		"-I../../../../sdk/c", "-o", out, "post.c", "md.c", "../about-c/json.c")
	cmd.Dir = postCDir
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("clang: %v\n%s", err, b)
	}
	bin, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return bin
}

// instance is one module instance rendering many pages, one at a time, as
// the engine runs a renderer.
type instance struct {
	rt     wazero.Runtime
	host   *miniHost
	render api.Function
}

func newInstance(t testing.TB, bin []byte) *instance {
	t.Helper()
	ctx := context.Background()
	in := &instance{rt: wazero.NewRuntime(ctx), host: &miniHost{}}
	t.Cleanup(func() { in.rt.Close(ctx) })
	wasi_snapshot_preview1.MustInstantiate(ctx, in.rt)
	if _, err := in.host.module(in.rt).Instantiate(ctx); err != nil {
		t.Fatal(err)
	}
	mod, err := in.rt.InstantiateWithConfig(ctx, bin, wazero.NewModuleConfig().WithStartFunctions("_initialize"))
	if err != nil {
		t.Fatal(err)
	}
	in.render = mod.ExportedFunction(abi.ExportRender)
	return in
}

// renderError is a render that returned non-zero (kiln_fail), as opposed
// to a trap.
type renderError string

func (e renderError) Error() string { return "render failed: " + string(e) }

func (in *instance) run(req *abi.Request, src kilntest.Source) (abi.Response, error) {
	*in.host = miniHost{src: src, req: abi.AppendRequest(nil, req)}
	res, err := in.render.Call(context.Background(), uint64(len(in.host.req)))
	switch {
	case err != nil:
		return abi.Response{}, err
	case res[0] != 0:
		return abi.Response{}, renderError(in.host.fail)
	}
	return abi.DecodeResponse(in.host.resp)
}

func postRequest(slug string) *abi.Request {
	return &abi.Request{Mode: 2, Route: "/posts/:slug", Path: "/posts/" + slug, Params: []abi.Param{{Name: "slug", Value: slug}}}
}

func TestPostC(t *testing.T) {
	bin := buildPostC(t)
	checkExports(t, writeTemp(t, bin), []string{abi.ExportRender})
	in := newInstance(t, bin)
	for _, slug := range []string{"hello-world", "dynamic-routing"} {
		t.Run(slug, func(t *testing.T) {
			resp, err := in.run(postRequest(slug), blogtest.SampleData(t))
			if err != nil {
				t.Fatal(err)
			}
			if got, want := resp.Tags, []string{"post", "post:" + slug}; !slices.Equal(got, want) {
				t.Errorf("tags = %q, want %q", got, want)
			}
			if resp.Flags != 0 || resp.Status != 0 {
				t.Errorf("flags %d, status %d; want a 200 page", resp.Flags, resp.Status)
			}
			t.Chdir(postCDir)
			blogtest.Golden(t, slug+".golden.html", resp.Body)
		})
	}
}

func writeTemp(t *testing.T, bin []byte) string {
	t.Helper()
	f := filepath.Join(t.TempDir(), "m.wasm")
	if err := os.WriteFile(f, bin, 0o644); err != nil {
		t.Fatal(err)
	}
	return f
}

func TestPostCNotFound(t *testing.T) {
	in := newInstance(t, buildPostC(t))
	d := blogtest.SampleData(t)
	delete(d, "post:preview") // deleted from the data source
	tests := []struct {
		slug string
		gets int // a slug that could never exist reads nothing
	}{
		{"preview", 1},
		{"no-such-post", 1},
		{"Bad Slug", 0},
		{"..", 0},
		{"a%2Fb", 0},
		{"", 0},
	}
	for _, tt := range tests {
		src := &blogtest.Counter{Source: d}
		resp, err := in.run(postRequest(tt.slug), src)
		if err != nil {
			t.Fatalf("%q: %v", tt.slug, err)
		}
		if resp.Flags != abi.FlagNotFound || len(resp.Body) != 0 || src.Gets != tt.gets {
			t.Errorf("%q: flags %d, body %d bytes, %d reads; want NOT_FOUND, no body, %d reads", tt.slug, resp.Flags, len(resp.Body), src.Gets, tt.gets)
		}
		if got, want := resp.Tags, []string{"post", "post:" + tt.slug}; !slices.Equal(got, want) {
			t.Errorf("%q: tags = %q, want %q", tt.slug, got, want)
		}
	}
}

func TestPostCFailures(t *testing.T) {
	in := newInstance(t, buildPostC(t))
	tests := []struct {
		name, value string
	}{
		{"no title", `{"slug":"preview","date":"2026-01-01"}`},
		{"blank title", `{"slug":"preview","title":" \u00a0","date":"2026-01-01"}`},
		{"no date", `{"slug":"preview","title":"T"}`},
		{"bad date", `{"slug":"preview","title":"T","date":"2026-02-30"}`},
		{"bad slug", `{"slug":"a b","title":"T","date":"2026-01-01"}`},
		{"title not a string", `{"slug":"preview","title":1,"date":"2026-01-01"}`},
		{"author a number", `{"slug":"preview","title":"T","date":"2026-01-01","author":2}`},
		{"not JSON", `{"slug":`},
		{"not an object", `["post"]`},
	}
	for _, tt := range tests {
		d := blogtest.SampleData(t)
		d["post:preview"] = tt.value
		_, err := in.run(postRequest("preview"), d)
		if _, ok := err.(renderError); !ok || !strings.Contains(err.Error(), "post:preview") {
			t.Errorf("%s: err = %v, want a failed render naming post:preview", tt.name, err)
		}
		if _, goErr := post.Decode([]byte(tt.value)); goErr == nil {
			t.Errorf("%s: the Go post package accepts %s", tt.name, tt.value)
		}
	}
	if _, err := in.run(postRequest("hello-world"), kilntest.Unavailable); err == nil {
		t.Error("unavailable data source: want a failed render")
	}
}

// goPage is the Go post page for p, as renderers/post renders it.
func goPage(t testing.TB, p post.Post, d kilntest.Data) []byte {
	t.Helper()
	assets := func(name string) string { return d["kiln:asset:"+name] }
	body, err := layout.Markdown(p.Content)
	if err != nil {
		t.Fatal(err)
	}
	b, err := layout.RenderPost(layout.Post{Page: layout.NewPage(p.Title, p.Excerpt, assets), Post: layout.NewCard(p, assets), Body: body})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// comparePages renders value as post:<slug> with both pages: when the Go
// post package rejects the value the C render must fail, else the pages
// must be equal. A trap is always a bug.
func comparePages(t testing.TB, in *instance, d kilntest.Data, slug string, value []byte) {
	t.Helper()
	d[post.Key(slug)] = string(value)
	resp, err := in.run(postRequest(slug), d)
	if _, failed := err.(renderError); err != nil && !failed {
		t.Fatalf("trap: %v\nvalue: %s", err, value)
	}
	p, goErr := post.Decode(value)
	if goErr == nil && p.Slug != slug {
		goErr = os.ErrInvalid // the URL's slug is the key; Decode checks the value's
	}
	switch {
	case goErr != nil && err == nil:
		t.Fatalf("C renders a post Go rejects (%v):\n%s", goErr, value)
	case goErr == nil && err != nil:
		t.Fatalf("C fails (%v) on a post Go accepts:\n%s", err, value)
	case goErr == nil:
		if want := goPage(t, p, d); !bytes.Equal(resp.Body, want) {
			t.Fatalf("C page differs from the Go page for\n%s\n%s", value, diffLines(resp.Body, want))
		}
	}
}

func diffLines(got, want []byte) string {
	g, w := strings.Split(string(got), "\n"), strings.Split(string(want), "\n")
	for i := 0; i < len(g) || i < len(w); i++ {
		var gl, wl string
		if i < len(g) {
			gl = g[i]
		}
		if i < len(w) {
			wl = w[i]
		}
		if gl != wl {
			return " got: " + gl + "\nwant: " + wl
		}
	}
	return ""
}

// TestPostCMatchesGo checks the C page is the Go page, byte for byte, for
// genposts-style posts (and some escaping edge cases in the fields).
func TestPostCMatchesGo(t *testing.T) {
	in := newInstance(t, buildPostC(t))
	d := blogtest.SampleData(t)
	r := rand.New(rand.NewPCG(1, 2))
	for i := range 300 {
		p := blogtest.GenPost(r, i)
		b, err := p.MarshalJSON()
		if err != nil {
			t.Fatal(err)
		}
		comparePages(t, in, d, p.Slug, b)
	}
	// Shapes Go's JSON and date reading accept.
	for _, v := range []string{
		`{"slug":"s","title":"T","date":"2026-03-18","author":"Bare Name","content":"- a\n- b"}`,
		`{"slug":"s","title":"T","date":"2026-03-18T23:30:00.123-02:00","author":null,"excerpt":null,"content":null}`,
		`{"slug":"s","title":"T","date":"2026-12-31T23:59:59+00:00","author":{"name":"N"}}`,
		`{"slug":"s","title":"T","date":"2024-02-29T01:00:00+01:30","author":{"name":"N","picture":"http://x/y.png"}}`,
		`{"slug":"s","title":"\u003cb\u003e \ud83d\ude00","date":"2026-01-01T00:00:00Z","coverImage":"javascript:alert(1)"}`,
		`{"slug":"s","title":"T","date":"2026-01-01T00:00:00Z","coverImage":"/a:b c"}`,
	} {
		comparePages(t, in, d, "s", []byte(v))
	}
}

// FuzzPostCMarkdown renders fuzz-chosen posts with both pages. Plain
// `go test` runs the seeds; `go test -fuzz=FuzzPostCMarkdown` explores.
func FuzzPostCMarkdown(f *testing.F) {
	in := newInstance(f, buildPostC(f))
	d := blogtest.SampleData(f)
	f.Add([]byte("## Lorem ipsum\x00\x03"), uint64(1))
	f.Add([]byte{3, 2, 1, 0, 9, 8, 7, 200, 100, 50}, uint64(2))
	f.Fuzz(func(t *testing.T, md []byte, seed uint64) {
		p := blogtest.GenPost(rand.New(rand.NewPCG(seed, 0)), int(seed%1000))
		p.Content = blogtest.SubsetMarkdown(md)
		b, err := p.MarshalJSON()
		if err != nil {
			t.Fatal(err)
		}
		comparePages(t, in, d, p.Slug, b)
	})
}

// FuzzPostCFields fuzzes the fields Go and C both validate, escape and
// format (slug, title, date, author, URLs): same verdict, same page.
func FuzzPostCFields(f *testing.F) {
	in := newInstance(f, buildPostC(f))
	d := blogtest.SampleData(f)
	f.Add("hello-world", "Hello <World>", "2026-03-18T09:00:00Z", "Mara", "authors/mara.svg", "covers/hello-world.svg", "a+b")
	f.Add("x", " ", "2026-03-18", "", "", "https://e.org/a b", "")
	f.Add("caf\u00e9", "T", "2026-03-18T09:00:00.5+14:00", "\"q\"", "/p%2", "mailto:x", "\x00")
	f.Fuzz(func(t *testing.T, slug, title, date, author, picture, cover, excerpt string) {
		if post.ValidSlug(slug) != nil {
			return // the URL could never reach it; TestPostCNotFound covers it
		}
		v, err := json.Marshal(map[string]any{"slug": slug, "title": title, "date": date, "excerpt": excerpt,
			"author": map[string]string{"name": author, "picture": picture}, "coverImage": cover, "content": "Body."})
		if err != nil {
			t.Fatal(err)
		}
		comparePages(t, in, d, slug, v)
	})
}

// TestMarkdownC runs md.c's table tests natively, under the address and
// undefined-behaviour sanitizers.
func TestMarkdownC(t *testing.T) { runCTests(t, postCDir, "md_test", "md.c") }

// TestMarkdownFuzzC runs md.c's libFuzzer target for a bounded number of
// inputs, seeded from post-c/testdata/fuzz.
func TestMarkdownFuzzC(t *testing.T) { runCFuzz(t, postCDir, "md_fuzz", "md.c") }

// BenchmarkPostRender renders genposts-style posts in one module instance,
// as the engine does, with the C page and the Go page (renderers/post).
// BenchmarkRender in renderers/post renders the same posts natively.
func BenchmarkPostRender(b *testing.B) {
	d := blogtest.SampleData(b)
	slugs := blogtest.BenchPosts(d)
	run := func(b *testing.B, bin []byte) {
		in := newInstance(b, bin)
		b.ResetTimer()
		start := blogtest.CPUTime()
		for i := 0; b.Loop(); i++ {
			slug := slugs[i%len(slugs)]
			if resp, err := in.run(postRequest(slug), d); err != nil || len(resp.Body) == 0 {
				b.Fatalf("%s: %v", slug, err)
			}
		}
		b.ReportMetric(float64(blogtest.CPUTime()-start)/float64(b.N), "cpu-ns/op")
	}
	b.Run("C", func(b *testing.B) { run(b, buildPostC(b)) })
	b.Run("Go", func(b *testing.B) { run(b, buildGoWasm(b, "./post")) })
}

// buildGoWasm builds the Go renderer in pkg (relative to this folder) to
// wasm, as the engine does, and returns the module.
func buildGoWasm(b testing.TB, pkg string) []byte {
	b.Helper()
	out := filepath.Join(b.TempDir(), "renderer.wasm")
	cmd := exec.Command("go", "build", "-buildmode=c-shared", "-o", out, pkg)
	cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm")
	if o, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("go build %s: %v\n%s", pkg, err, o)
	}
	bin, err := os.ReadFile(out)
	if err != nil {
		b.Fatal(err)
	}
	return bin
}

// TestPostCPaths runs the C post page's paths export with PRERENDER set as
// a renderer block's env sets it, against the sample data plus index
// entries that must be skipped, and wants the Go renderer's choice: the
// date index newest first, through post.ParseIndexKey.
func TestPostCPaths(t *testing.T) {
	bin := buildPostC(t)
	checkExports(t, writeTemp(t, bin), []string{abi.ExportRender, abi.ExportPaths})
	data := blogtest.SampleData(t)
	var indexed []string
	for k := range data {
		if strings.HasPrefix(k, post.IndexPrefix) {
			indexed = append(indexed, k)
		}
	}
	slices.Sort(indexed)
	slices.Reverse(indexed)
	var newest []string
	for _, k := range indexed {
		if _, slug, ok := post.ParseIndexKey(k); ok {
			newest = append(newest, post.Path(slug))
		}
	}
	if len(newest) < 3 {
		t.Fatalf("the sample data has %d indexed posts; the test wants at least 3", len(newest))
	}
	// Entries the blog never writes: a short key, a bad slug, no separator.
	data[post.IndexPrefix+"junk"] = `"junk"`
	data[post.IndexPrefix+"2026-03-19T00:00:00Z:a/b"] = `"a/b"`
	data[post.IndexPrefix+"2026-03-19T00:00:00Zxslug"] = `"slug"`
	tests := []struct {
		prerender string
		want      []string
		fail      string
	}{
		{"", nil, ""},
		{"0", nil, ""},
		{"2", newest[:2], ""},
		{"all", newest, ""},
		{"1000", newest, ""},
		{"-1", nil, `PRERENDER = "-1": want a number of posts or "all"`},
		{"two", nil, `PRERENDER = "two": want a number of posts or "all"`},
	}
	for _, tt := range tests {
		t.Run("PRERENDER="+tt.prerender, func(t *testing.T) {
			got, fail := runPaths(t, bin, tt.prerender, data)
			if fail != tt.fail || !slices.Equal(got, tt.want) {
				t.Errorf("paths = %q, fail %q; want %q, fail %q", got, fail, tt.want, tt.fail)
			}
		})
	}
}

// runPaths instantiates bin with PRERENDER in its environment (unset when
// empty) and calls its paths export once.
func runPaths(t *testing.T, bin []byte, prerender string, src kilntest.Source) (paths []string, fail string) {
	t.Helper()
	ctx := context.Background()
	rt := wazero.NewRuntime(ctx)
	defer rt.Close(ctx)
	wasi_snapshot_preview1.MustInstantiate(ctx, rt)
	// Mode 0 is a build, when the engine calls the paths export.
	h := &miniHost{src: src, req: abi.AppendRequest(nil, &abi.Request{Route: "/posts/:slug"})}
	if _, err := h.module(rt).Instantiate(ctx); err != nil {
		t.Fatal(err)
	}
	cfg := wazero.NewModuleConfig().WithStartFunctions("_initialize")
	if prerender != "" {
		cfg = cfg.WithEnv("PRERENDER", prerender)
	}
	mod, err := rt.InstantiateWithConfig(ctx, bin, cfg)
	if err != nil {
		t.Fatal(err)
	}
	res, err := mod.ExportedFunction(abi.ExportPaths).Call(ctx, uint64(len(h.req)))
	if err != nil {
		t.Fatal(err)
	}
	if res[0] != 0 {
		return nil, h.fail
	}
	if paths, err = abi.DecodePaths(h.resp); err != nil {
		t.Fatal(err)
	}
	if len(paths) == 0 {
		paths = nil
	}
	return paths, ""
}
