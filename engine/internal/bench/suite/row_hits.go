package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
)

// hitsReport is the part of the hits tool's -json output the suite reads
// (engine/internal/bench/hits/report.go).
type hitsReport struct {
	Pinning struct {
		Summary string `json:"summary"`
	} `json:"pinning"`
	Baseline   string `json:"baseline"`
	GOMAXPROCS int    `json:"gomaxprocs"`
	Encodings  []struct {
		Encoding  string   `json:"encoding"`
		BodyBytes int      `json:"body_bytes"`
		WrkArgs   []string `json:"wrk_args"`
		Servers   map[string]struct {
			RPS           []float64 `json:"rps"`
			P50ms         float64   `json:"p50_ms"`
			P99ms         float64   `json:"p99_ms"`
			CPUusPerReq   float64   `json:"cpu_us_per_req"`
			MallocsPerReq float64   `json:"mallocs_per_req"`
			Errors        []string  `json:"errors"`
		} `json:"servers"`
		Ratios map[string]struct {
			RPS float64 `json:"rps"`
			CPU float64 `json:"cpu"`
		} `json:"ratios"`
	} `json:"encodings"`
}

// rowHits is row 1: the hits tool (engine/internal/bench/hits) on a
// stored blog post, Kiln against nginx and a bare fasthttp server.
func rowHits(ctx context.Context, l *lab, c config) *row {
	r := &row{Title: "Hits"}
	s, err := l.newSite(ctx, "hits", siteOptions{Posts: 10})
	if err != nil {
		r.Err = err
		return r
	}
	out := filepath.Join(l.work, "hits.json")
	duration := "10s"
	if c.quick {
		duration = "3s"
	}
	// Unpinned: on two cores, pinning all three servers to one CPU made
	// nginx's two workers fight over it, and it flattered Kiln.
	cmd := exec.CommandContext(ctx, "go", "run", "./engine/internal/bench/hits", "-runs", strconv.Itoa(c.runs),
		"-duration", duration, "-encodings", "identity,gzip", "-pin=false", "-config", s.config, "-path", "/posts/"+slug(0), "-json", out)
	if c.baseline != "" {
		cmd.Args = append(cmd.Args, "-baseline", c.baseline)
	}
	cmd.Dir = l.root
	cmd.Env = append(os.Environ(), "KILN_ADMIN_SECRET="+benchSecret)
	if b, err := cmd.CombinedOutput(); err != nil {
		r.Err = fmt.Errorf("hits: %v\n%s", err, lastLines(string(b), 30))
		return r
	}
	b, err := os.ReadFile(out)
	if err != nil {
		r.Err = err
		return r
	}
	var h hitsReport
	if err := json.Unmarshal(b, &h); err != nil {
		r.Err = fmt.Errorf("hits -json: %v", err)
		return r
	}
	if len(h.Encodings) == 0 {
		r.Err = fmt.Errorf("hits -json: no encodings")
		return r
	}
	e0 := h.Encodings[0]
	r.How = fmt.Sprintf("`wrk %s` against a stored blog post (%s bytes identity) served by `kiln serve`, and in "+
		"the same run the same bytes served by nginx (its own config in a temp dir: 2 workers, `sendfile`, "+
		"`tcp_nopush`, access log off, `open_file_cache`, the gzip body from a `.gz` file with `gzip_static`) and by a bare "+
		"fasthttp server returning a `[]byte` (engine/internal/bench/bare). The servers take turns, in a rotating "+
		"order, for %d timed runs each per encoding after a warm-up. Placement: %s; GOMAXPROCS %d for kiln and "+
		"bare. Reference: nginx about 51,000 req/s, Next.js about 2,400 req/s on a cached ISR page.",
		strings.TrimPrefix(strings.Join(e0.WrkArgs, " "), "wrk "), commas(int64(e0.BodyBytes)), c.runs, h.Pinning.Summary, h.GOMAXPROCS)
	for _, e := range h.Encodings {
		for _, name := range []string{"kiln", "baseline", "nginx", "bare"} {
			sv, ok := e.Servers[name]
			if !ok {
				continue
			}
			r.measure(fmt.Sprintf("%s, %s: requests/s", name, e.Encoding), "", sv.RPS)
			for _, q := range []struct {
				name string
				v    float64
			}{{"p50", sv.P50ms}, {"p99", sv.P99ms}} {
				r.Measures = append(r.Measures, measure{Name: fmt.Sprintf("%s, %s: %s latency", name, e.Encoding, q.name),
					Unit: "ms", Runs: len(sv.RPS), Stat: stat{Median: q.v}, MedianOnly: true})
			}
			for _, er := range sv.Errors {
				r.note("%s, %s: wrk reported %s", name, e.Encoding, er)
			}
		}
		for _, k := range []struct {
			name string
			goal float64
		}{{"kiln/nginx", 1.0}, {"kiln/bare", 0.8}, {"kiln/baseline", 0.95}} {
			ra, ok := e.Ratios[k.name]
			if !ok {
				continue
			}
			what := k.name
			if k.name == "kiln/baseline" {
				what = "kiln/kiln at " + h.Baseline
			}
			r.target(fmt.Sprintf("%s requests/s ≥ %.2g, %s", what, k.goal, e.Encoding), num(ra.RPS, "×"), ra.RPS >= k.goal,
				fmt.Sprintf("Measured CPU per request: the other server uses %s of Kiln's; see the notes.", num(ra.CPU, "×")))
		}
		if ks, ok := e.Servers["kiln"]; ok && ks.MallocsPerReq > 0 {
			r.note("%s: %.2f heap allocations per request in kiln under load (from /metrics, all goroutines, GC included).", e.Encoding, ks.MallocsPerReq)
		}
	}
	r.note("Where kiln's CPU goes under this load (`perf record` on `kiln serve`, taken while the suite was written, %s): "+
		"63%% in the read and write system calls and the kernel under them, 15%% in the Go runtime's "+
		"scheduler and monitor, 5.9%% in Kiln's handler (`Server.Handle`, of which 2.5%% are the connection deadlines "+
		"its read and write timeouts set). nginx makes the same system calls from C with no runtime; the hit path "+
		"itself allocates nothing (row 2).", "2026-11-25")
	return r
}

// rowAllocs is row 2: BenchmarkHit in engine/internal/server, the hit
// path through Server.Handle with no network.
func rowAllocs(ctx context.Context, l *lab, c config) *row {
	r := &row{Title: "Hit path allocations", How: "`go test -run '^$' -bench '^BenchmarkHit$' -benchmem -count N ./engine/internal/server`: " +
		"a stored page served from the hot cache by `Server.Handle`, the fasthttp handler, with no network in between, " +
		"for each encoding, a query string, a conditional request answered 304, and a path no route matches."}
	cmd := exec.CommandContext(ctx, "go", "test", "-run", "^$", "-bench", "^BenchmarkHit$", "-benchmem",
		"-count", strconv.Itoa(c.runs), "./engine/internal/server")
	cmd.Dir = l.root
	b, err := cmd.CombinedOutput()
	if err != nil {
		r.Err = fmt.Errorf("go test: %v\n%s", err, lastLines(string(b), 30))
		return r
	}
	res := map[string]map[string][]float64{}
	for name, m := range parseBench(b) {
		if sub, ok := strings.CutPrefix(name, "Hit/"); ok {
			res[sub] = m
		}
	}
	if len(res) == 0 {
		r.Err = fmt.Errorf("no benchmark lines in:\n%s", lastLines(string(b), 30))
		return r
	}
	maxAllocs := 0.0
	for _, name := range benchOrder(res) {
		m := res[name]
		r.measure(name+": ns/op", "ns", m["ns/op"])
		r.measure(name+": CPU ns/op", "ns", m["cpu-ns/op"])
		a := r.measure(name+": allocs/op", "", m["allocs/op"])
		if name != "no-route" {
			maxAllocs = max(maxAllocs, a.Max)
		}
	}
	r.target("0 allocations per hit", fmt.Sprintf("%g allocs/op at most", maxAllocs), maxAllocs == 0, "An allocation on the hit path.")
	return r
}

var benchLine = regexp.MustCompile(`^Benchmark(\S+?)(?:-\d+)?\s+\d+\s+(.*)$`)

// parseBench reads `go test -bench` output into benchmark name (without
// "Benchmark" and the -GOMAXPROCS suffix) -> unit -> one value per run.
func parseBench(out []byte) map[string]map[string][]float64 {
	res := map[string]map[string][]float64{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		m := benchLine.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		f := strings.Fields(m[2])
		if res[m[1]] == nil {
			res[m[1]] = map[string][]float64{}
		}
		for i := 0; i+1 < len(f); i += 2 {
			v, err := strconv.ParseFloat(f[i], 64)
			if err == nil {
				res[m[1]][f[i+1]] = append(res[m[1]][f[i+1]], v)
			}
		}
	}
	return res
}

// benchOrder is the sub-benchmarks in the order the benchmark runs them.
func benchOrder(res map[string]map[string][]float64) []string {
	var out []string
	for _, n := range []string{"identity", "gzip", "br", "query", "not-modified", "no-route"} {
		if _, ok := res[n]; ok {
			out = append(out, n)
		}
	}
	for n := range res {
		if !strings.Contains(" identity gzip br query not-modified no-route ", " "+n+" ") {
			out = append(out, n)
		}
	}
	return out
}
