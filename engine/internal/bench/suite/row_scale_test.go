package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestParseWrkLoad(t *testing.T) {
	const ok = `Running 10s test @ http://127.0.0.1:40427/
  1 threads and 32 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency   784.11us    1.02ms  15.93ms   93.71%
    Req/Sec    55.14k     4.21k   60.03k    75.00%
  Latency Distribution
     50%  526.00us
     75%  712.00us
     90%    1.21ms
     99%    5.20ms
  109832 requests in 2.00s, 291.34MB read
Requests/sec:  54839.12
Transfer/sec:    145.46MB
`
	const bad = `Running 1m test @ http://127.0.0.1:40427/
  1 threads and 32 connections
  Latency Distribution
     50%    1.50ms
     75%    3.00ms
     90%  800.00ms
     99%    2.00s
  310000 requests in 1.00m, 2.91GB read
  Socket errors: connect 1, read 3, write 0, timeout 12
  Non-2xx or 3xx responses: 44
Requests/sec:   5166.41
Transfer/sec:     49.60MB
`
	tests := []struct {
		name    string
		in      string
		want    wrkLoad
		errors  int64
		wantErr bool
	}{
		{"clean", ok, wrkLoad{requests: 109832, rps: 54839.12, p50: 526 * time.Microsecond, p99: 5200 * time.Microsecond}, 0, false},
		{"errors", bad, wrkLoad{requests: 310000, rps: 5166.41, p50: 1500 * time.Microsecond, p99: 2 * time.Second,
			connect: 1, read: 3, tmout: 12, non2xx: 44}, 60, false},
		{"refused", "unable to connect to 127.0.0.1:1 Connection refused\n", wrkLoad{}, 0, true},
	}
	for _, tt := range tests {
		got, err := parseWrkLoad([]byte(tt.in))
		if (err != nil) != tt.wantErr {
			t.Errorf("%s: err = %v, want error %v", tt.name, err, tt.wantErr)
			continue
		}
		if tt.wantErr {
			continue
		}
		if got != tt.want || got.errors() != tt.errors {
			t.Errorf("%s: got %+v (%d errors), want %+v (%d)", tt.name, got, got.errors(), tt.want, tt.errors)
		}
	}
}

func TestWrkDuration(t *testing.T) {
	tests := []struct {
		in   string
		want time.Duration
	}{
		{"526.00us", 526 * time.Microsecond},
		{"1.21ms", 1210 * time.Microsecond},
		{"2.00s", 2 * time.Second},
		{"1.50m", 90 * time.Second},
		{"fast", 0},
	}
	for _, tt := range tests {
		if got := wrkDuration(tt.in); got != tt.want {
			t.Errorf("wrkDuration(%q) = %s, want %s", tt.in, got, tt.want)
		}
	}
}

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
		if w.errors() > 0 {
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
