package renderers_test

import (
	"testing"

	"github.com/kilnhq/kiln/sdk/go/abi"
	"github.com/kilnhq/kiln/sites/blog/internal/blogtest"
)

// BenchmarkHomeRender renders the blog's home page (renderers/home) in
// one module instance, as the engine does, over the sample data: a
// listing of the date index, one batched read of the posts it shows, and
// the page. It reports CPU time per render beside ns/op.
func BenchmarkHomeRender(b *testing.B) {
	d := blogtest.SampleData(b)
	in := newInstance(b, buildGoWasm(b, "./home"))
	req := &abi.Request{Mode: 2, Route: "/", Path: "/"}
	b.ResetTimer()
	start := blogtest.CPUTime()
	for b.Loop() {
		if resp, err := in.run(req, d); err != nil || len(resp.Body) == 0 {
			b.Fatalf("home: %v", err)
		}
	}
	b.ReportMetric(float64(blogtest.CPUTime()-start)/float64(b.N), "cpu-ns/op")
}
