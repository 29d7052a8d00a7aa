package main

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestRSSFlatness(t *testing.T) {
	const m = 1_000_000
	tests := []struct {
		name string
		rss  []int64
		ref  int
		want flatness
	}{
		{"flat", []int64{80 * m, 100 * m, 104 * m, 105 * m}, 1, flatness{max: 105 * m, change: 0.05, flat: true}},
		{"grows", []int64{80 * m, 100 * m, 120 * m}, 1, flatness{max: 120 * m, change: 0.2, flat: false}},
		{"shrinks a lot", []int64{200 * m, 100 * m}, 0, flatness{max: 200 * m, change: -0.5, flat: false}},
		{"just at 10%", []int64{100 * m, 110 * m}, 0, flatness{max: 110 * m, change: 0.1, flat: true}},
		{"no samples", nil, 0, flatness{}},
		{"reference out of range", []int64{m}, 3, flatness{}},
	}
	for _, tt := range tests {
		got := rssFlatness(tt.rss, tt.ref)
		if got.max != tt.want.max || got.flat != tt.want.flat || abs(got.change-tt.want.change) > 1e-9 {
			t.Errorf("%s: got %+v, want %+v", tt.name, got, tt.want)
		}
	}
}

func TestFlatRef(t *testing.T) {
	tests := []struct {
		samples int
		load    time.Duration
		want    int
	}{
		{61, 60 * time.Second, 10},
		{11, 10 * time.Second, 5},
		{3, 60 * time.Second, 2}, // the load ended early
		{0, 60 * time.Second, 0},
	}
	for _, tt := range tests {
		if got := flatRef(tt.samples, tt.load); got != tt.want {
			t.Errorf("flatRef(%d, %s) = %d, want %d", tt.samples, tt.load, got, tt.want)
		}
	}
}

func TestSeriesDeltas(t *testing.T) {
	m0 := map[string]float64{`kiln_requests_total{cache="HIT"}`: 10, `kiln_requests_total{cache="STALE"}`: 5}
	m1 := map[string]float64{`kiln_requests_total{cache="HIT"}`: 2010, `kiln_requests_total{cache="STALE"}`: 5,
		`kiln_requests_total{cache="MISS"}`: 3, "kiln_hot_cache_hits_total": 9}
	if got, want := cacheDeltas(m0, m1), "HIT 2,000, MISS 3"; got != want {
		t.Errorf("cacheDeltas = %q, want %q", got, want)
	}
	if got, want := cacheDeltas(m0, m0), "none"; got != want {
		t.Errorf("cacheDeltas = %q, want %q", got, want)
	}
}

// TestMixedLua runs the mixed script in wrk against a recording server:
// the shares of each kind, the revalidations' header and body.
func TestMixedLua(t *testing.T) {
	needWrk(t)
	const n, stale = 2000, 300
	rec, base := newRecorder(t, func(r *http.Request) bool { return r.Method == "POST" })
	runScript(t, mixedLua(n, stale, 95, 4, benchSecret), base, rec, 5000)
	rec.mu.Lock()
	defer rec.mu.Unlock()
	var hits, stales, posts int
	for p, c := range rec.paths {
		switch {
		case p == "/_kiln/revalidate":
			posts += c
		case strings.HasPrefix(p, "/stale/posts/"):
			i, err := strconv.Atoi(strings.TrimPrefix(p, "/stale/posts/generated-"))
			if err != nil || i < 0 || i >= stale {
				t.Errorf("stale path %q is not one of the first %d posts", p, stale)
			}
			stales += c
		case strings.HasPrefix(p, "/posts/"):
			i, err := strconv.Atoi(strings.TrimPrefix(p, "/posts/generated-"))
			if err != nil || i < 0 || i >= n {
				t.Errorf("path %q is not one of the %d posts", p, n)
			}
			hits += c
		default:
			t.Errorf("unexpected path %q", p)
		}
	}
	for _, s := range []struct {
		name     string
		got      int
		min, max float64
	}{{"hits", hits, 0.93, 0.97}, {"stale", stales, 0.03, 0.05}, {"revalidations", posts, 0.005, 0.015}} {
		if share := float64(s.got) / float64(rec.total); share < s.min || share > s.max {
			t.Errorf("%s: %.4f of %d requests, want %.3f to %.3f", s.name, share, rec.total, s.min, s.max)
		}
	}
	if len(rec.reqs) == 0 {
		t.Fatal("no revalidation recorded")
	}
	for _, r := range rec.reqs {
		var body struct{ Paths []string }
		err := json.Unmarshal([]byte(r.body), &body)
		if r.auth != "Bearer "+benchSecret || r.ctype != "application/json" || err != nil || len(body.Paths) != 1 ||
			!strings.HasPrefix(body.Paths[0], "/posts/generated-") {
			t.Fatalf("revalidation %+v (body: %v), want the admin secret and one post path", r, err)
		}
	}
}
