package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestParseMetrics(t *testing.T) {
	in := `# HELP kiln_hot_cache_hits_total Hot cache hits.
# TYPE kiln_hot_cache_hits_total counter
kiln_hot_cache_hits_total 1234
kiln_requests_total{cache="HIT"} 1.5e+06
kiln_regeneration_seconds_count{outcome="ok",reason="stale"} 7
broken line
`
	got := parseMetrics([]byte(in))
	want := map[string]float64{
		"kiln_hot_cache_hits_total":                                    1234,
		`kiln_requests_total{cache="HIT"}`:                             1.5e6,
		`kiln_regeneration_seconds_count{outcome="ok",reason="stale"}`: 7,
	}
	if len(got) != len(want) {
		t.Errorf("got %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %v, want %v", k, got[k], v)
		}
	}
}

// TestZipfPerm checks that ranks map to every index exactly once.
func TestZipfPerm(t *testing.T) {
	for _, n := range []int{1, 2, 3, 10, 100, 2000, 10000, 100000, 99991} {
		seen := make([]bool, n)
		for r := 1; r <= n; r++ {
			i := zipfIndex(r, n)
			if i < 0 || i >= n || seen[i] {
				t.Fatalf("n=%d: rank %d maps to %d, out of range or taken", n, r, i)
			}
			seen[i] = true
		}
	}
}

// needWrk skips a test when wrk is missing, unless CI is set.
func needWrk(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("wrk"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("wrk is missing")
		}
		t.Skip("wrk is missing")
	}
}

// recorder is an HTTP server counting what wrk asks for.
type recorder struct {
	mu    sync.Mutex
	paths map[string]int
	reqs  []recorded
	total int
}

type recorded struct{ method, path, auth, ctype, body string }

func newRecorder(t *testing.T, keep func(r *http.Request) bool) (*recorder, string) {
	rec := &recorder{paths: map[string]int{}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body strings.Builder
		if r.Body != nil {
			b := make([]byte, 512)
			n, _ := r.Body.Read(b)
			body.Write(b[:n])
		}
		rec.mu.Lock()
		rec.total++
		rec.paths[r.URL.Path]++
		if keep != nil && keep(r) {
			rec.reqs = append(rec.reqs, recorded{r.Method, r.URL.Path, r.Header.Get("Authorization"), r.Header.Get("Content-Type"), body.String()})
		}
		rec.mu.Unlock()
		w.Write([]byte("ok"))
	}))
	t.Cleanup(srv.Close)
	return rec, srv.URL
}

// runScript runs wrk with script against base, a second at a time, until
// rec has recorded at least want requests (a machine busy with other
// tests, or the race detector, serves fewer per second).
func runScript(t *testing.T, script []byte, base string, rec *recorder, want int) {
	t.Helper()
	f := filepath.Join(t.TempDir(), "s.lua")
	if err := os.WriteFile(f, script, 0o644); err != nil {
		t.Fatal(err)
	}
	for range 30 {
		w, err := runWrkLoad(context.Background(), f, base, time.Second)
		if err != nil {
			t.Fatal(err)
		}
		if w.Errors() > 0 {
			t.Fatalf("wrk: %s", w)
		}
		rec.mu.Lock()
		total := rec.total
		rec.mu.Unlock()
		if total >= want {
			return
		}
	}
	t.Fatalf("wrk made fewer than %d requests in 30 runs", want)
}

// TestPathsLua runs the generated scripts in wrk against a recording
// server: every path is a slug in range, the Zipf script's most asked
// path is rank 1's with about its share (1/H_n), the uniform one's is
// not far above the mean.
func TestPathsLua(t *testing.T) {
	needWrk(t)
	const n = 100
	var hn float64
	for r := 1; r <= n; r++ {
		hn += 1 / float64(r)
	}
	for _, tt := range []struct {
		name     string
		zipf     bool
		top      int     // the index asked most, -1 for any
		min, max float64 // bounds on its share of the requests
	}{
		{"zipf", true, zipfIndex(1, n), 0.6 / hn, 1.4 / hn},
		{"uniform", false, -1, 0, 3.0 / n},
	} {
		rec, base := newRecorder(t, nil)
		runScript(t, pathsLua(n, "/posts/generated-", tt.zipf, 1), base, rec, 2000)
		rec.mu.Lock() // wrk's last requests may still be finishing
		best, bestN := "", 0
		for p, c := range rec.paths {
			i, err := strconv.Atoi(strings.TrimPrefix(p, "/posts/generated-"))
			if err != nil || i < 0 || i >= n || p != "/posts/"+slug(i) {
				t.Errorf("%s: path %q is not a post slug in [0, %d)", tt.name, p, n)
			}
			if c > bestN {
				best, bestN = p, c
			}
		}
		share := float64(bestN) / float64(rec.total)
		if tt.top >= 0 && best != "/posts/"+slug(tt.top) {
			t.Errorf("%s: most asked %s, want %s", tt.name, best, "/posts/"+slug(tt.top))
		}
		if share < tt.min || share > tt.max {
			t.Errorf("%s: most asked path has %.3f of %d requests, want %.3f to %.3f", tt.name, share, rec.total, tt.min, tt.max)
		}
		if tt.zipf {
			// Rank 2 has about half the share of rank 1.
			r2 := float64(rec.paths["/posts/"+slug(zipfIndex(2, n))]) / float64(bestN)
			if r2 < 0.3 || r2 > 0.7 {
				t.Errorf("zipf: rank 2 over rank 1 = %.2f, want about 0.5", r2)
			}
		}
		t.Logf("%s: %d requests, %d distinct paths, top %s at %.3f", tt.name, rec.total, len(rec.paths), best, share)
		rec.mu.Unlock()
	}
}

func TestLoadedLine(t *testing.T) {
	tests := []struct {
		in   string
		want bool
	}{
		{"  loaded 3 renderer(s) in 3.59s\n", true},
		{"serving on 127.0.0.1:3000\n  loaded 12 renderer(s) in 120ms\n", true},
		{"  built 3 renderer(s) to wasm in 9.1s: [home post notfound]\n", false},
		{`level=ERROR msg="load renderer" err="not loaded 3 renderer(s) in time"`, false},
	}
	for _, tt := range tests {
		if got := loadedLine.MatchString(tt.in); got != tt.want {
			t.Errorf("loadedLine(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func TestHitShare(t *testing.T) {
	m0 := map[string]float64{"kiln_hot_cache_hits_total": 100, "kiln_hot_cache_misses_total": 50}
	tests := []struct {
		name string
		m1   map[string]float64
		want float64
	}{
		{"some misses", map[string]float64{"kiln_hot_cache_hits_total": 900, "kiln_hot_cache_misses_total": 250}, 80},
		{"all hits", map[string]float64{"kiln_hot_cache_hits_total": 200, "kiln_hot_cache_misses_total": 50}, 100},
		{"no requests", m0, 0},
	}
	for _, tt := range tests {
		if got := hitShare(m0, tt.m1); got != tt.want {
			t.Errorf("%s: hitShare = %v, want %v", tt.name, got, tt.want)
		}
	}
}

// TestZipfOrder checks that the pairs alternate which store goes first.
func TestZipfOrder(t *testing.T) {
	for i, want := range [][2]int{{0, 1}, {1, 0}, {0, 1}, {1, 0}} {
		if got := zipfOrder(i); got != want {
			t.Errorf("zipfOrder(%d) = %v, want %v", i, got, want)
		}
	}
}

func TestZipfRatios(t *testing.T) {
	got := zipfRatios([]float64{100, 0, 200, 50}, []float64{90, 10, 100})
	want := []float64{0.9, 0.5}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("zipfRatios = %v, want %v", got, want)
	}
}

func TestParseZipf(t *testing.T) {
	tests := []struct {
		in      string
		want    [2]int
		wantErr bool
	}{
		{"1000,50000", [2]int{1000, 50000}, false},
		{"200, 5000", [2]int{200, 5000}, false},
		{"50000,1000", [2]int{}, true},
		{"1000,1000", [2]int{}, true},
		{"1000", [2]int{}, true},
		{"1,2,3", [2]int{}, true},
		{"x,2", [2]int{}, true},
	}
	for _, tt := range tests {
		got, err := parseZipf(tt.in)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("parseZipf(%q) = %v, %v; want %v, error %v", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
}
