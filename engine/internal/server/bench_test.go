package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/kilnhq/kiln/engine/internal/config"
	"github.com/kilnhq/kiln/engine/internal/isr"
	"github.com/kilnhq/kiln/engine/internal/server"
	"github.com/kilnhq/kiln/engine/internal/site"
)

// The benchmarks run the same real site as the tests (kiln binary for
// the jsonfile plugin, wasm renderer from testdata/page, Pebble in a temp
// dir). They have their own small harness because the tests' env is tied
// to *testing.T.

// benchSite is one open site, optionally served over loopback.
type benchSite struct {
	site   *site.Site
	srv    *server.Server
	base   string
	client *http.Client
}

// openBench opens a site with routes and data, prerenders its build
// paths and serves it on 127.0.0.1.
func openBench(b testing.TB, routes string, data map[string]any) *benchSite {
	b.Helper()
	dir := b.TempDir()
	cfgPath := filepath.Join(dir, "site.hcl")
	mustWrite(b, cfgPath, fmt.Sprintf(siteHCL, pageWasm, routes))
	js, err := json.Marshal(data)
	if err != nil {
		b.Fatal(err)
	}
	mustWrite(b, filepath.Join(dir, "data.json"), string(js))
	cfg, err := config.Load(cfgPath)
	if err != nil {
		b.Fatalf("load config: %v", err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	s, err := site.Open(context.Background(), cfg, site.Options{Logger: log, Executable: kilnBin, CacheDir: compileCache})
	if err != nil {
		b.Fatalf("open site: %v", err)
	}
	if _, err := s.Engine.Build(context.Background(), isr.BuildOptions{OnlyMissing: true}); err != nil {
		s.Close()
		b.Fatalf("build: %v", err)
	}
	bs := &benchSite{site: s, client: &http.Client{
		Transport: &http.Transport{DisableCompression: true, MaxIdleConnsPerHost: 64},
		Timeout:   30 * time.Second,
	}}
	bs.srv = server.New(server.Options{
		Engine: s.Engine, Metrics: s.Metrics, Assets: s.Assets, Logger: log,
		AdminSecret: adminSecret, PreviewSecret: "preview-token",
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	go bs.srv.Serve(ln)
	bs.base = "http://" + ln.Addr().String()
	b.Cleanup(func() {
		bs.srv.Shutdown()
		s.Close()
	})
	return bs
}

func mustWrite(b testing.TB, path, s string) {
	b.Helper()
	if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
		b.Fatal(err)
	}
}

// hitRoutes and hitData are the site of the hit benchmarks.
const hitRoutes = `route "/p/:slug" {
  renderer   = "page"
  revalidate = "1h"
  expire     = "2h"
}`

var hitData = map[string]any{"page:/p/a": page("A", "build", true, "big", 200)}

// TestHitDoesNotAllocate keeps BenchmarkHit's 0 allocs/op: serving a
// stored page from the hot cache must not allocate.
func TestHitDoesNotAllocate(t *testing.T) {
	bs := openBench(t, hitRoutes, hitData)
	for _, enc := range []string{"identity", "gzip", "br"} {
		ctx := hitCtx(t, "/p/a?x=1", enc)
		bs.srv.Handle(ctx)
		// AllocsPerRun counts every malloc in the process, and the site
		// still warms renderer instances in the background for a while:
		// take the quietest of a few measurements.
		allocs := math.Inf(1)
		for try := 0; try < 10 && allocs > 0; try++ {
			allocs = min(allocs, testing.AllocsPerRun(1000, func() {
				ctx.Response.Reset()
				ctx.Request.SetRequestURI("/p/a?x=1")
				bs.srv.Handle(ctx)
			}))
		}
		checkHit(t, ctx, enc, 200)
		if allocs != 0 {
			t.Errorf("%s hit: %v allocations, want 0", enc, allocs)
		}
	}
}

// BenchmarkHit is the hot path: a stored, fresh page served from the hot
// cache by Server.Handle, with no network in between. It should report
// 0 allocs/op for every encoding, with a query string, and for a
// conditional request answered 304. no-route (a path no route matches,
// answered with the cached 404 page) is there for comparison: it copies
// the path once.
func BenchmarkHit(b *testing.B) {
	bs := openBench(b, hitRoutes, hitData)
	for _, c := range []struct {
		name, target, enc string
		inm               bool // send the page's ETag in If-None-Match
		status            int
	}{
		{"identity", "/p/a", "identity", false, 200},
		{"gzip", "/p/a", "gzip", false, 200},
		{"br", "/p/a", "br", false, 200},
		{"query", "/p/a?utm_source=x", "br", false, 200},
		{"not-modified", "/p/a", "br", true, 304},
		{"no-route", "/wp-login.php", "identity", false, 404},
	} {
		b.Run(c.name, func(b *testing.B) {
			ctx := hitCtx(b, c.target, c.enc)
			bs.srv.Handle(ctx)
			if c.inm {
				ctx.Request.Header.SetBytesV("If-None-Match", ctx.Response.Header.Peek("ETag"))
			}
			ctx.Response.Reset()
			bs.srv.Handle(ctx)
			checkHit(b, ctx, c.enc, c.status)
			b.SetBytes(int64(len(ctx.Response.Body())))
			b.ReportAllocs()
			cpu := cpuTime()
			for b.Loop() {
				ctx.Response.Reset()
				ctx.Request.SetRequestURI(c.target)
				bs.srv.Handle(ctx)
			}
			b.ReportMetric(float64(cpuTime()-cpu)/float64(b.N), "cpu-ns/op")
			checkHit(b, ctx, c.enc, c.status)
		})
	}
}

// cpuTime is the process's user plus system CPU time. On a machine
// shared with other work, CPU time per op varies less than wall time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// hitCtx builds the reused request context of a browser-like GET.
func hitCtx(b testing.TB, path, enc string) *fasthttp.RequestCtx {
	b.Helper()
	var req fasthttp.Request
	req.SetRequestURI(path)
	req.Header.SetHost("127.0.0.1")
	req.Header.Set("User-Agent", "Mozilla/5.0 (X11; Linux x86_64) kiln-bench")
	req.Header.Set("Accept", "text/html,application/xhtml+xml")
	if enc != "identity" {
		req.Header.Set("Accept-Encoding", enc)
	}
	ctx := &fasthttp.RequestCtx{}
	ctx.Init(&req, nil, nil)
	return ctx
}

// checkHit checks the last response of a hit benchmark.
func checkHit(b testing.TB, ctx *fasthttp.RequestCtx, enc string, status int) {
	b.Helper()
	h := &ctx.Response.Header
	if status == 404 {
		enc = "identity" // the 404 page is small
	}
	// A 304 names the representation its ETag validates (one strong ETag
	// per encoding), Content-Encoding included: the isr etags script.
	if got, want := ctx.Response.StatusCode(), status; got != want {
		b.Fatalf("status %d, want %d", got, want)
	}
	if got, want := string(h.Peek("X-Kiln-Cache")), "HIT"; got != want {
		b.Fatalf("X-Kiln-Cache %q, want %q", got, want)
	}
	want := enc
	if enc == "identity" {
		want = ""
	}
	if got := string(h.Peek("Content-Encoding")); got != want {
		b.Fatalf("Content-Encoding %q, want %q", got, want)
	}
}

// BenchmarkFirstRender is the blocking first render of a path never
// generated before, through the real server over loopback: route match,
// a wasm render reading the jsonfile plugin over gRPC, compression,
// a synced Pebble write. Every iteration asks for a new path. It reports
// time to first byte percentiles.
func BenchmarkFirstRender(b *testing.B) {
	const max = 20000 // distinct paths prepared for the data source
	data := map[string]any{}
	for i := range max {
		data[fmt.Sprintf("page:/p/%d", i)] = page(fmt.Sprintf("Page %d", i), "big", 100)
	}
	bs := openBench(b, `route "/p/:slug" {
  renderer = "page"
  fallback = "blocking"
}`, data)
	var next atomic.Int64
	lat := make([]time.Duration, 0, 1024)
	for b.Loop() {
		n := next.Add(1)
		if n > max {
			b.Fatalf("more than %d iterations: raise max", max)
		}
		lat = append(lat, bs.ttfb(b, "GET", fmt.Sprintf("/p/%d", n), "", "MISS"))
	}
	reportLatency(b, lat)
}

// BenchmarkRevalidate is POST /_kiln/revalidate for one stored path: the
// request returns once the page is rendered again and stored.
func BenchmarkRevalidate(b *testing.B) {
	bs := openBench(b, `route "/p/:slug" {
  renderer = "page"
}`, map[string]any{"page:/p/a": page("A", "build", true, "big", 100)})
	lat := make([]time.Duration, 0, 1024)
	for b.Loop() {
		lat = append(lat, bs.ttfb(b, "POST", "/_kiln/revalidate", `{"paths":["/p/a"]}`, ""))
	}
	reportLatency(b, lat)
}

// ttfb sends one request and returns the time until its response headers
// arrived. It checks the status (and X-Kiln-Cache when cache is set), and
// reads the body so the connection is reused.
func (bs *benchSite) ttfb(b *testing.B, method, path, body, cache string) time.Duration {
	req, err := http.NewRequest(method, bs.base+path, strings.NewReader(body))
	if err != nil {
		b.Fatal(err)
	}
	req.Header.Set("User-Agent", "Mozilla/5.0 kiln-bench")
	if method == "POST" {
		req.Header.Set("Authorization", "Bearer "+adminSecret)
	}
	start := time.Now()
	resp, err := bs.client.Do(req)
	d := time.Since(start)
	if err != nil {
		b.Fatalf("%s %s: %v", method, path, err)
	}
	out, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		b.Fatal(err)
	}
	if resp.StatusCode != 200 || (cache != "" && resp.Header.Get("X-Kiln-Cache") != cache) {
		b.Fatalf("%s %s: %d %s: %.200s", method, path, resp.StatusCode, resp.Header.Get("X-Kiln-Cache"), out)
	}
	return d
}

// reportLatency reports p50 and p99 of lat in milliseconds.
func reportLatency(b *testing.B, lat []time.Duration) {
	if len(lat) == 0 {
		return
	}
	slices.Sort(lat)
	pct := func(p float64) float64 {
		i := min(len(lat)-1, int(p*float64(len(lat))))
		return float64(lat[i]) / float64(time.Millisecond)
	}
	b.ReportMetric(pct(0.50), "p50-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
}

// BenchmarkMetricsScrape is one /metrics scrape (the text format, no
// compression) served by Server.Handle, next to a hit in the same run:
// the scrape's cost in hits is the ratio of their cpu-ns/op.
func BenchmarkMetricsScrape(b *testing.B) {
	bs := openBench(b, hitRoutes, hitData)
	for _, c := range []struct{ name, target string }{
		{"hit", "/p/a"},
		{"scrape", "/metrics"},
	} {
		b.Run(c.name, func(b *testing.B) {
			ctx := hitCtx(b, c.target, "identity")
			ctx.Request.Header.Set("Authorization", "Bearer "+adminSecret)
			bs.srv.Handle(ctx)
			if got := ctx.Response.StatusCode(); got != 200 {
				b.Fatalf("%s: %d", c.target, got)
			}
			b.SetBytes(int64(len(ctx.Response.Body())))
			b.ReportAllocs()
			cpu := cpuTime()
			for b.Loop() {
				ctx.Response.Reset()
				ctx.Request.SetRequestURI(c.target)
				bs.srv.Handle(ctx)
			}
			b.ReportMetric(float64(cpuTime()-cpu)/float64(b.N), "cpu-ns/op")
			if got := ctx.Response.StatusCode(); got != 200 {
				b.Fatalf("%s: %d", c.target, got)
			}
		})
	}
}
