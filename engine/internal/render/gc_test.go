package render

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// BenchmarkGuestGC renders the blog's post page (goldmark, html/template)
// with the Go guest's collector as it ships and with the settings tried
// against it: a lazier collector, the collector off with the instance
// replaced at the memory high-water mark (the pool already does that), and
// the collector off until a soft memory limit. mem-MiB/op is the linear
// memory the instance ends with, which its resident pages follow.
func BenchmarkGuestGC(b *testing.B) {
	wasm := buildGoGuest(b, filepath.Join(repoRoot, "sites/blog/renderers/post"))
	data := blogData(b)
	var slugs []string
	for k := range data.items {
		if s, ok := strings.CutPrefix(k, "post:"); ok {
			slugs = append(slugs, s)
		}
	}
	rt := newTestRuntime(b, nil)
	for _, tt := range []struct {
		name string
		env  map[string]string
	}{
		{"default", nil},
		{"GOGC=200", map[string]string{"GOGC": "200"}},
		{"GOGC=400", map[string]string{"GOGC": "400"}},
		{"GOGC=off,high-water", map[string]string{"GOGC": "off"}},
		{"GOGC=off,GOMEMLIMIT=64MiB", map[string]string{"GOGC": "off", "GOMEMLIMIT": "64MiB"}},
		{"GOGC=off,GOMEMLIMIT=32MiB", map[string]string{"GOGC": "off", "GOMEMLIMIT": "32MiB"}},
	} {
		b.Run(tt.name, func(b *testing.B) {
			r := load(b, rt, Config{Name: "post", WasmPath: wasm, Pool: 1, Data: data, Env: tt.env})
			b.ReportAllocs()
			start, created := cpuTime(), r.created.Load()
			i := 0
			for b.Loop() {
				slug := slugs[i%len(slugs)]
				i++
				req := Request{Route: "/posts/:slug", Path: "/posts/" + slug, Params: []Param{{Name: "slug", Value: slug}}}
				if _, err := r.Render(b.Context(), req); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(cpuTime()-start)/float64(b.N), "cpu-ns/op")
			b.ReportMetric(float64(r.created.Load()-created)/float64(b.N)*1000, "replaced/1k-op")
			b.ReportMetric(float64(r.pool.stats().Memory)/(1<<20), "mem-MiB")
		})
	}
}

// blogData is the example blog's data file.
func blogData(b *testing.B) *memData {
	return dataFile(b, filepath.Join(repoRoot, "sites/blog/data.json"))
}

// dataFile is a jsonfile data file (key to JSON value) as memData.
func dataFile(b *testing.B, file string) *memData {
	raw, err := os.ReadFile(file)
	if err != nil {
		b.Fatal(err)
	}
	var items map[string]json.RawMessage
	if err := json.Unmarshal(raw, &items); err != nil {
		b.Fatal(err)
	}
	d := &memData{items: map[string]string{}}
	for k, v := range items {
		d.items[k] = string(v)
	}
	return d
}
