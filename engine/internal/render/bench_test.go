package render

import (
	"context"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

var benchPost = &memData{items: map[string]string{
	"posts/hello": `{"Title":"Hello","Paragraphs":["one","two","three","four","five","six","seven","eight"]}`,
}}

var benchReq = Request{Mode: ModeBlocking, Route: "/posts/:slug", Path: "/posts/hello",
	Params: []Param{{Name: "slug", Value: "hello"}}}

func benchRender(b *testing.B, r Renderer, req Request) {
	b.Helper()
	ctx := context.Background()
	b.ReportAllocs()
	start := cpuTime()
	for b.Loop() {
		if _, err := r.Render(ctx, req); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(cpuTime()-start)/float64(b.N), "cpu-ns/op")
}

// cpuTime is the process's user+system CPU time: on a shared, loaded
// machine it says more than wall time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkRenderGo is the warm latency of a small html/template page.
func BenchmarkRenderGo(b *testing.B) {
	rt := newTestRuntime(b, nil)
	r := load(b, rt, Config{Name: "page", WasmPath: buildGoGuest(b, "testdata/page"), Pool: 1, Data: benchPost})
	benchRender(b, r, benchReq)
}

// BenchmarkRenderC is the warm latency of the C conformance renderer's
// /echo page.
func BenchmarkRenderC(b *testing.B) {
	rt := newTestRuntime(b, nil)
	r := load(b, rt, Config{Name: "c", WasmPath: buildConformanceB(b, "c"), Pool: 1})
	benchRender(b, r, Request{Route: "/echo", Path: "/echo", Params: []Param{{Name: "a", Value: "b"}}})
}

// buildConformanceB returns a conformance renderer TestConformance built.
func buildConformanceB(b *testing.B, lang string) string {
	out := filepath.Join(cacheDir(b), "conformance-"+lang+".wasm")
	if _, err := os.Stat(out); err != nil {
		b.Skip("run TestConformance first to build ", out)
	}
	return out
}

// BenchmarkRenderParallel is pool throughput with GOMAXPROCS goroutines
// and one instance per CPU.
func BenchmarkRenderParallel(b *testing.B) {
	rt := newTestRuntime(b, nil)
	r := load(b, rt, Config{Name: "page", WasmPath: buildGoGuest(b, "testdata/page"), Data: benchPost})
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := r.Render(context.Background(), benchReq); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkTimeout compares the ways to stop a runaway render: the guard
// instrumentation (the default), wazero's WithCloseOnContextDone, and
// nothing, on the page and on a tight loop of a million iterations.
func BenchmarkTimeout(b *testing.B) {
	rt := newTestRuntime(b, nil)
	modes := []struct {
		name string
		stop stopMode
	}{{"guard", stopAuto}, {"wazero", stopWazero}, {"none", stopNone}}
	for _, page := range []struct {
		name, pkg string
		req       Request
	}{
		{"page", "testdata/page", benchReq},
		{"spin", "testdata/misbehave", Request{Path: "/spin"}},
	} {
		for _, mode := range modes {
			b.Run(page.name+"/"+mode.name, func(b *testing.B) {
				r := load(b, rt, Config{Name: page.name, WasmPath: buildGoGuest(b, page.pkg), Pool: 1,
					Data: benchPost, stop: mode.stop})
				benchRender(b, r, page.req)
			})
		}
	}
}

// BenchmarkColdStart is NewRuntime + Load (compile, check, one instance,
// _initialize) + Close: with the caches warm on disk (compiled and
// instrumented modules), with only the compilation cache warm (the module
// is instrumented again, as before the instrumented modules were cached),
// and with both empty.
func BenchmarkColdStart(b *testing.B) {
	wasm := buildGoGuest(b, "testdata/page")
	for _, tt := range []struct {
		name          string
		wazero, guard bool // warm
	}{{"cache=warm", true, true}, {"cache=compiled-only", true, false}, {"cache=cold", false, false}} {
		b.Run(tt.name, func(b *testing.B) {
			dir := filepath.Join(b.TempDir(), "cache")
			coldStart(b, dir, wasm) // warms both
			start := cpuTime()
			for b.Loop() {
				b.StopTimer()
				if !tt.wazero {
					dir = b.TempDir()
				}
				if !tt.guard {
					os.RemoveAll(filepath.Join(dir, "guard"))
				}
				b.StartTimer()
				coldStart(b, dir, wasm)
			}
			b.ReportMetric(float64(cpuTime()-start)/float64(b.N), "cpu-ns/op")
		})
	}
}

func coldStart(b *testing.B, dir, wasm string) {
	rt, err := NewRuntime(context.Background(), dir, nil)
	if err != nil {
		b.Fatal(err)
	}
	r, err := rt.Load(context.Background(), Config{Name: "page", WasmPath: wasm, Pool: 1})
	if err != nil {
		b.Fatal(err)
	}
	r.Close(context.Background())
	rt.Close(context.Background())
}
