package sdktest_test

import (
	"context"
	"testing"

	"github.com/kilnhq/kiln/sdk/internal/sdktest"
)

// BenchmarkExampleRender measures a warm render of the blog post example
// (two data reads, JSON decoding, HTML escaping) per language, through the
// sdktest host. It reports the module size as wasm-bytes.
func BenchmarkExampleRender(b *testing.B) {
	req, target := encode(post("hello")), "example"
	for _, lang := range sdktest.Langs {
		b.Run(string(lang), func(b *testing.B) {
			m := load(b, lang, "example")
			ctx := context.Background()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if res, err := m.Call(ctx, "kiln_render", req, exampleData); err != nil || res.RC != 0 {
					b.Fatalf("render: %v %+v", err, res)
				}
			}
			b.ReportMetric(float64(len(wasm(b, lang, target))), "wasm-bytes")
		})
	}
}

// BenchmarkEmptyRender measures the fixed cost of one call: decode the
// request, encode an empty response.
func BenchmarkEmptyRender(b *testing.B) {
	req, target := encode(blocking("/empty")), "conformance"
	for _, lang := range sdktest.Langs {
		b.Run(string(lang), func(b *testing.B) {
			m := load(b, lang, "conformance")
			ctx := context.Background()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if res, err := m.Call(ctx, "kiln_render", req, conformanceData); err != nil || res.RC != 0 {
					b.Fatalf("render: %v %+v", err, res)
				}
			}
			b.ReportMetric(float64(len(wasm(b, lang, target))), "wasm-bytes")
		})
	}
}
