package isr

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kilnhq/kiln/engine/internal/config"
	"github.com/kilnhq/kiln/engine/internal/render"
	"github.com/kilnhq/kiln/engine/internal/router"
	"github.com/kilnhq/kiln/engine/internal/store"
)

// postRenderer answers every path with a blog post's worth of HTML
// (about 8 KB of varied words), at once: what the engine adds to a
// render is what BenchmarkEngineFirstRender measures.
type postRenderer struct {
	words []string
	paths []string // build-time paths
}

func (r postRenderer) Name() string { return "page" }

func (r postRenderer) Render(_ context.Context, req render.Request) (*render.Response, error) {
	rnd := rand.New(rand.NewPCG(uint64(len(req.Path)), uint64(req.Path[len(req.Path)-1])))
	var b strings.Builder
	b.WriteString("<!doctype html><html><head><title>" + req.Path + "</title></head><body><article>")
	for b.Len() < 8<<10 {
		b.WriteString("<p>")
		for range 40 + rnd.IntN(40) {
			b.WriteString(r.words[rnd.IntN(len(r.words))])
			b.WriteByte(' ')
		}
		b.WriteString("</p>\n")
	}
	b.WriteString("</article></body></html>")
	return &render.Response{Status: 200, Body: []byte(b.String())}, nil
}

func (r postRenderer) Paths(context.Context, render.Request) ([]string, bool, error) {
	return r.paths, r.paths != nil, nil
}

func (postRenderer) Fallback(context.Context, render.Request) (*render.Response, bool, error) {
	return nil, false, nil
}

func (postRenderer) Close(context.Context) error { return nil }

// BenchmarkEngineFirstRender is a blocking first render of a new path
// through the engine, with a renderer that costs nothing and a real
// Pebble store on disk: the engine's own cost of a first answer
// (compression included when it is on the answer's path).
func BenchmarkEngineFirstRender(b *testing.B) {
	dir := b.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "page.wasm"), nil, 0o644); err != nil {
		b.Fatal(err)
	}
	cfg, err := config.Parse(filepath.Join(dir, "site.hcl"), []byte("renderer \"page\" {\n  wasm = \"page.wasm\"\n}\n"+
		"route \"/p/:slug\" {\n  renderer = \"page\"\n}\n"))
	if err != nil {
		b.Fatal(err)
	}
	st, err := store.Open(filepath.Join(dir, "store"), store.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	routes, err := router.New(cfg.Routes)
	if err != nil {
		b.Fatal(err)
	}
	words := strings.Fields("kiln renders pages once and serves them from the store while data changes arrive " +
		"as events the engine marks what they touch stale and renders again in the background a request never waits " +
		"unless nothing is stored yet compression brotli gzip pebble wasm renderer plugin route fallback blocking")
	eng := New(Options{Site: cfg, Pages: st, Queue: st, History: st, Routes: routes,
		Renderers: map[string]render.Renderer{"page": postRenderer{words: words}},
		Logger:    slog.New(slog.NewTextHandler(io.Discard, nil))})
	defer eng.Close()
	n := 0
	for b.Loop() {
		n++
		a := eng.Serve(context.Background(), Request{Path: fmt.Sprintf("/p/%d", n), Accept: AcceptGzip | AcceptBrotli,
			UserAgent: []byte("Mozilla/5.0 kiln-bench")})
		if a.Status != 200 {
			b.Fatalf("status %d", a.Status)
		}
	}
}

// BenchmarkStartPrerender is what `kiln serve` does at start over a store
// of 50,000 pages, all of them stored: find the build-time paths that
// are missing (none). It reports the hot cache filled by it.
func BenchmarkStartPrerender(b *testing.B) {
	const pages = 50000
	dir := b.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "page.wasm"), nil, 0o644); err != nil {
		b.Fatal(err)
	}
	cfg, err := config.Parse(filepath.Join(dir, "site.hcl"), []byte("renderer \"page\" {\n  wasm = \"page.wasm\"\n}\n"+
		"route \"/p/:slug\" {\n  renderer = \"page\"\n}\n"))
	if err != nil {
		b.Fatal(err)
	}
	routes, err := router.New(cfg.Routes)
	if err != nil {
		b.Fatal(err)
	}
	paths := make([]string, pages)
	st, err := store.Open(filepath.Join(dir, "store"), store.Options{})
	if err != nil {
		b.Fatal(err)
	}
	body := []byte(strings.Repeat("<p>a stored post</p>\n", 100))
	for i := range paths {
		paths[i] = fmt.Sprintf("/p/%d", i)
		p := &store.Page{Path: paths[i], Route: "/p/:slug", Kind: store.KindPage, Status: 200, Body: body, ETag: `"x"`}
		if err := st.Put(p, store.PutOptions{Build: true, NoSync: true}); err != nil {
			b.Fatal(err)
		}
	}
	if err := st.Close(); err != nil {
		b.Fatal(err)
	}
	var hot int64
	for b.Loop() {
		st, err := store.Open(filepath.Join(dir, "store"), store.Options{})
		if err != nil {
			b.Fatal(err)
		}
		eng := New(Options{Site: cfg, Pages: st, Queue: st, History: st, Routes: routes,
			Renderers: map[string]render.Renderer{"page": postRenderer{paths: paths}},
			Logger:    slog.New(slog.NewTextHandler(io.Discard, nil))})
		sum, err := eng.Build(context.Background(), BuildOptions{OnlyMissing: true})
		if err != nil || sum.Skipped != pages {
			b.Fatalf("skipped %d, %v", sum.Skipped, err)
		}
		hot = st.Stats().HotBytes
		eng.Close()
		st.Close()
	}
	b.ReportMetric(float64(hot)/(1<<20), "hot-MB")
}
