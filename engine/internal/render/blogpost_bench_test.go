package render

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// BenchmarkBlogPost renders the blog's post page through the engine's
// own path (pool, guard instrumentation, host functions, real clocks),
// with the Go renderer and its C twin, so that what the engine costs
// around a Go page shows against the same page in C. BenchmarkPostRender
// in sites/blog/renderers renders the same pages on a bare wazero. The
// guard and none variants are the guard instrumentation's cost (see
// instrument) on each; guard,wait reads the post as a plugin does,
// waiting in the middle of the render, so the guest resumes on cold
// caches (read its cpu-ns/op: the sleep is not CPU).
func BenchmarkBlogPost(b *testing.B) {
	data := genPosts(b, 200)
	var slugs []string
	for k := range data.items {
		if s, ok := strings.CutPrefix(k, "post:"); ok {
			slugs = append(slugs, s)
		}
	}
	assets := func(name string) (string, bool) { return "/assets/" + name, true }
	rt := newTestRuntime(b, nil)
	for _, lang := range []struct {
		name string
		wasm func(testing.TB) string
	}{
		{"Go", func(tb testing.TB) string {
			return buildGoGuest(tb, filepath.Join(repoRoot, "sites/blog/renderers/post"))
		}},
		{"C", buildPostC},
	} {
		for _, mode := range []struct {
			name string
			stop stopMode
			data Data
		}{{"guard", stopAuto, data}, {"none", stopNone, data}, {"guard,wait", stopAuto, waitingData{data}}} {
			b.Run(lang.name+"/"+mode.name, func(b *testing.B) {
				r := load(b, rt, Config{Name: "post", WasmPath: lang.wasm(b), Pool: 1, Data: mode.data, Assets: assets, stop: mode.stop})
				benchPosts(b, r, slugs)
			})
		}
	}
}

// benchPosts renders the posts of slugs in turn, reporting CPU time and
// the engine's allocations per render.
func benchPosts(b *testing.B, r Renderer, slugs []string) {
	b.ReportAllocs()
	start := cpuTime()
	i := 0
	for b.Loop() {
		slug := slugs[i%len(slugs)]
		i++
		req := Request{Mode: ModeBlocking, Route: "/posts/:slug", Path: "/posts/" + slug, Params: []Param{{Name: "slug", Value: slug}}}
		if _, err := r.Render(context.Background(), req); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(cpuTime()-start)/float64(b.N), "cpu-ns/op")
}

// genPosts is the data of n posts as the bench suite generates them
// (sites/blog/cmd/genposts), cached.
func genPosts(b *testing.B, n int) *memData {
	out := filepath.Join(cacheDir(b), fmt.Sprintf("genposts-%d.json", n))
	if _, err := os.Stat(out); err != nil {
		cmd := exec.Command("go", "run", "./sites/blog/cmd/genposts", "-n", strconv.Itoa(n), "-format", "json",
			"-newest", "2026-11-01T00:00:00Z", "-o", out)
		cmd.Dir = repoRoot
		if o, err := cmd.CombinedOutput(); err != nil {
			b.Fatalf("genposts: %v\n%s", err, o)
		}
	}
	return dataFile(b, out)
}

// buildPostC builds the blog's C post renderer as the bench suite's site
// does.
func buildPostC(tb testing.TB) string {
	tb.Helper()
	needTool(tb, "clang", "clang, lld and wasi-libc (apt install clang lld wasi-libc)")
	blog := filepath.Join(repoRoot, "sites/blog/renderers")
	out := filepath.Join(cacheDir(tb), "blog-post-c.wasm")
	cmd := exec.Command("clang", "--target=wasm32-wasi", "-mexec-model=reactor", "-O2",
		"-I"+filepath.Join(repoRoot, "sdk/c"), "-o", out,
		filepath.Join(blog, "post-c/post.c"), filepath.Join(blog, "post-c/md.c"), filepath.Join(blog, "about-c/json.c"))
	if b, err := cmd.CombinedOutput(); err != nil {
		tb.Fatalf("clang: %v\n%s", err, b)
	}
	return out
}

// waitingData answers Get after a pause, as the data read through a
// plugin does: the render's goroutine parks in the middle of the render.
type waitingData struct{ *memData }

func (d waitingData) Get(ctx context.Context, key string) ([]byte, bool, error) {
	time.Sleep(300 * time.Microsecond)
	return d.memData.Get(ctx, key)
}
