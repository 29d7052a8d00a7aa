package main

import (
	"testing"

	kiln "github.com/kilnhq/kiln/sdk/go"
	"github.com/kilnhq/kiln/sdk/go/kilntest"
	"github.com/kilnhq/kiln/sites/blog/internal/blogtest"
)

// BenchmarkRender renders natively (not in wasm) the posts that
// BenchmarkPostRender in sites/blog/renderers renders in wasm: the
// renderer's own cost, for the ratio and for profiling with -cpuprofile.
func BenchmarkRender(b *testing.B) {
	d := blogtest.SampleData(b)
	slugs := blogtest.BenchPosts(d)
	req := &kiln.Request{Mode: kiln.ModeBlocking, Route: "/posts/:slug", Params: []kiln.Param{{Name: "slug"}}}
	start := blogtest.CPUTime()
	for i := 0; b.Loop(); i++ {
		slug := slugs[i%len(slugs)]
		req.Path, req.Params[0].Value = "/posts/"+slug, slug
		if _, err := kilntest.Render(req, d); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(blogtest.CPUTime()-start)/float64(b.N), "cpu-ns/op")
}
