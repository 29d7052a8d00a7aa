package main

import (
	"testing"

	kiln "github.com/kilnhq/kiln/sdk/go"
	"github.com/kilnhq/kiln/sdk/go/kilntest"
	"github.com/kilnhq/kiln/sites/blog/internal/blogtest"
)

// BenchmarkRender renders the sample hello-world post natively (not in
// wasm): the renderer's own cost, for profiling with -cpuprofile.
func BenchmarkRender(b *testing.B) {
	d := blogtest.SampleData(b)
	req := &kiln.Request{Mode: kiln.ModeBlocking, Route: "/posts/:slug", Path: "/posts/hello-world",
		Params: []kiln.Param{{Name: "slug", Value: "hello-world"}}}
	for b.Loop() {
		if _, err := kilntest.Render(req, d); err != nil {
			b.Fatal(err)
		}
	}
}
