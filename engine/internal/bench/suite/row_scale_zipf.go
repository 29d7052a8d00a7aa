package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// zipfStore builds (once per lab) a blog of n posts, every post
// prerendered into its store, for the Zipf comparison of row 7. The
// c.scale-post site is bigSite's.
func (l *lab) zipfStore(ctx context.Context, c config, n int) (*site, string, error) {
	if n == c.scale {
		s, err := l.bigSite(ctx, c)
		return s, buildCacheOf(l).bigLine, err
	}
	warm, err := l.warmRenderers(ctx)
	if err != nil {
		return nil, "", err
	}
	s, err := l.newSite(ctx, fmt.Sprintf("zipf-%d", n), siteOptions{Posts: n, Prerender: "all"})
	if err != nil {
		return nil, "", err
	}
	if err := seedStore(warm, s.store); err != nil {
		return nil, "", err
	}
	l.logf("building %d posts for the Zipf comparison", n)
	out, err := l.kilnCmd(ctx, "build", "--config", s.config)
	if err != nil {
		return nil, "", err
	}
	line, pages, _, err := parseBuilt(out)
	if err == nil && pages < n {
		err = fmt.Errorf("zipf build: %s", line)
	}
	return s, line, err
}

// zipfLoad is one wrk run of a Zipf mix against one server and what
// /metrics said about it.
type zipfLoad struct {
	rps     float64
	hitPct  float64 // hot-cache hits over hits plus misses, in %
	served  float64 // requests answered as stored hits
	request int64   // requests wrk made
}

// zipfOrder is the order of the two stores in pair i: the small one
// first in even pairs, the large one first in odd ones, so neither
// always runs right after the other's load.
func zipfOrder(i int) [2]int {
	if i%2 == 0 {
		return [2]int{0, 1}
	}
	return [2]int{1, 0}
}

// zipfRatios is large over small req/s for each pair of runs.
func zipfRatios(small, large []float64) []float64 {
	var r []float64
	for i := range min(len(small), len(large)) {
		if small[i] > 0 {
			r = append(r, large[i]/small[i])
		}
	}
	return r
}

// loadAvg is the first three fields of /proc/loadavg, or "?".
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if f := strings.Fields(string(b)); err == nil && len(f) >= 3 {
		return strings.Join(f[:3], " ")
	}
	return "?"
}

// rowScaleZipf adds to row 7 the comparison of hits at scale: the
// same Zipf mix over c.zipf[0] and c.zipf[1] stored pages, both servers
// up at once, wrk runs alternating between them in pairs.
func rowScaleZipf(ctx context.Context, l *lab, c config, r *row, load, warmup time.Duration) error {
	sizes := c.zipf
	var servers [2]*server
	defer func() {
		for _, sv := range servers {
			if sv != nil {
				sv.stop()
			}
		}
	}()
	var scripts [2]string
	for i, n := range sizes {
		s, line, err := l.zipfStore(ctx, c, n)
		if err != nil {
			return err
		}
		r.note("Zipf comparison, %s pages, the store was built by: `%s`", commas(int64(n)), line)
		scripts[i] = filepath.Join(l.work, fmt.Sprintf("zipf-%d.lua", n))
		if err := os.WriteFile(scripts[i], pathsLua(n, "/posts/generated-", true, 1), 0o644); err != nil {
			return err
		}
		if servers[i], _, err = s.serve(ctx, "/posts/"+slug(0)); err != nil {
			return err
		}
	}
	// Three warm-ups' worth: the larger store's hot cache settles (fills,
	// and its admission counts build up) well after a row's usual warm-up.
	for i := range sizes {
		if _, err := runWrkLoad(ctx, scripts[i], servers[i].base, 3*warmup); err != nil {
			return err
		}
	}
	runs := max(5, c.runs)
	loads := [2]string{loadAvg(), ""}
	var rps, hit [2][]float64
	for p := range runs {
		for _, i := range zipfOrder(p) {
			z, err := zipfRun(ctx, scripts[i], servers[i].base, load)
			if err != nil {
				return err
			}
			l.logf("Zipf pair %d, %d pages: %.0f req/s, hot-cache hits %.1f%%, load %s", p, sizes[i], z.rps, z.hitPct, loadAvg())
			rps[i], hit[i] = append(rps[i], z.rps), append(hit[i], z.hitPct)
			if z.served < float64(z.request)*0.99 {
				r.note("Zipf comparison, %s pages: only %.0f of wrk's %d requests were answered as stored hits.",
					commas(int64(sizes[i])), z.served, z.request)
			}
		}
	}
	loads[1] = loadAvg()
	var med [2]stat
	for i, n := range sizes {
		name := fmt.Sprintf("Zipf over %s pages (pairs)", commas(int64(n)))
		med[i] = r.measure(name+": requests/s", "req/s", rps[i])
		r.measure(name+": hot-cache hit ratio", "%", hit[i])
	}
	ratio := r.measure(fmt.Sprintf("Zipf: %s over %s pages, req/s of each pair", commas(int64(sizes[1])), commas(int64(sizes[0]))),
		"×", zipfRatios(rps[0], rps[1]))
	r.note("Zipf comparison: load average %s before the pairs, %s after.", loads[0], loads[1])
	r.target(fmt.Sprintf("Zipf over %s stored pages ≥ 0.9× the req/s over %s", commas(int64(sizes[1])), commas(int64(sizes[0]))),
		num(ratio.Median, "×"), ratio.Median >= 0.9, fmt.Sprintf("%s against %s req/s (medians); the hot cache answered "+
			"%.1f%% of the larger mix's requests, the rest were read from Pebble.", num(med[1].Median, ""), num(med[0].Median, ""),
			statOf(hit[1]).Median))
	return nil
}

// zipfRun is one measured wrk run, with the hot-cache counters of
// /metrics read around it.
func zipfRun(ctx context.Context, script, base string, d time.Duration) (zipfLoad, error) {
	w, m0, m1, err := meteredLoad(ctx, script, base, d)
	if err != nil {
		return zipfLoad{}, err
	}
	z := zipfLoad{rps: w.RPS, request: w.Requests}
	z.hitPct = hitShare(m0, m1)
	z.served = m1[`kiln_requests_total{cache="HIT"}`] - m0[`kiln_requests_total{cache="HIT"}`]
	return z, nil
}

// hitShare is the hot cache's hits over hits plus misses between two
// scrapes of /metrics, in %.
func hitShare(m0, m1 map[string]float64) float64 {
	hits := m1["kiln_hot_cache_hits_total"] - m0["kiln_hot_cache_hits_total"]
	misses := m1["kiln_hot_cache_misses_total"] - m0["kiln_hot_cache_misses_total"]
	if hits+misses <= 0 {
		return 0
	}
	return 100 * hits / (hits + misses)
}
