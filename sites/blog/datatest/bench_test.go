package datatest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"
)

// BenchmarkEventToFresh measures, on the kv blog, the time from a write of
// a post through the admin API (PUT /_kiln/data/blog?key=post:...) until
// GET of its page serves the new title: watch event, batching (a lone
// edit waits 5 ms for company), render, store. One edit per iteration, one at a time.
//
//	go test -run '^$' -bench EventToFresh -benchtime 1000x ./sites/blog/datatest/
func BenchmarkEventToFresh(b *testing.B) {
	blog := openKVBlog(b)
	blog.stored("/posts/hello-world", "Hello World")
	var p map[string]any
	if err := json.Unmarshal([]byte(blog.admin("GET", "/_kiln/data/blog?key=post:hello-world", nil)), &p); err != nil {
		b.Fatal(err)
	}
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := range b.N {
		title := fmt.Sprintf("Edit number %d", i)
		p["title"] = title
		v, _ := json.Marshal(p)
		start := time.Now()
		blog.admin("PUT", "/_kiln/data/blog?key=post:hello-world", strings.NewReader(string(v)))
		freshWithin(blog, "/posts/hello-world", title)
		lat = append(lat, time.Since(start))
	}
	b.StopTimer()
	reportLatency(b, lat)
}

// freshWithin polls path every millisecond until its body has want.
func freshWithin(b *blog, path, want string) {
	b.t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		r := b.get(path)
		if r.status == http.StatusOK && strings.Contains(r.body, want) {
			return
		}
		if time.Now().After(deadline) {
			b.t.Fatalf("%s never served %q", path, want)
		}
		time.Sleep(time.Millisecond)
	}
}

func reportLatency(b *testing.B, lat []time.Duration) {
	if len(lat) == 0 {
		return
	}
	slices.Sort(lat)
	q := func(f float64) float64 {
		return float64(lat[min(len(lat)-1, int(f*float64(len(lat))))].Microseconds()) / 1000
	}
	b.ReportMetric(q(0.50), "p50-ms")
	b.ReportMetric(q(0.99), "p99-ms")
	b.ReportMetric(float64(lat[len(lat)-1].Microseconds())/1000, "max-ms")
}

// BenchmarkImport10000 imports 10,000 generated posts (20,000 keys) into
// the kv blog through the admin API, once per iteration on a fresh site,
// and reports the import's wall time, the time until the home page showed
// the newest post, and how often the home page regenerated.
//
//	go test -run '^$' -bench Import10000 ./sites/blog/datatest/
func BenchmarkImport10000(b *testing.B) {
	data := generatePosts(b, 10000)
	var took, fresh time.Duration
	renders := 0
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		blog := openKVBlog(b)
		b.StartTimer()
		r := importPosts(blog, data)
		b.StopTimer()
		blog.stop()
		took, fresh, renders = took+r.took, fresh+r.fresh, renders+r.homeRenders
	}
	n := float64(b.N)
	b.ReportMetric(took.Seconds()/n, "import-s")
	b.ReportMetric(fresh.Seconds()/n, "home-fresh-s")
	b.ReportMetric(float64(renders)/n, "home-renders")
}
