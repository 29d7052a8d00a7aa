package main

import (
	"github.com/kilnhq/kiln/engine/internal/bench/wrk"

	"bytes"
	"context"
	_ "embed"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"text/template"
	"time"
)

// bigSite is the blog of c.scale posts on kv, every post prerendered
// into its store. Row 6 leaves it behind when it builds c.scale posts;
// otherwise the first caller builds it. Rows 7 and 9 serve it.
func (l *lab) bigSite(ctx context.Context, c config) (*site, error) {
	bc := buildCacheOf(l)
	bc.mu.Lock()
	if bc.big != nil && bc.bigSize == c.scale {
		defer bc.mu.Unlock()
		return bc.big, nil
	}
	if bc.bigTried {
		defer bc.mu.Unlock()
		return nil, bc.bigErr
	}
	bc.mu.Unlock()
	warm, err := l.warmRenderers(ctx)
	if err != nil {
		return nil, err
	}
	bc.mu.Lock()
	defer bc.mu.Unlock()
	bc.bigTried = true
	bc.bigErr = func() error {
		s, err := l.newSite(ctx, fmt.Sprintf("scale-%d", c.scale), siteOptions{Posts: c.scale, Prerender: "all"})
		if err != nil {
			return err
		}
		if err := seedStore(warm, s.store); err != nil {
			return err
		}
		l.logf("building %d posts into the scale store", c.scale)
		out, err := l.kilnCmd(ctx, "build", "--config", s.config)
		if err != nil {
			return err
		}
		line, pages, _, err := parseBuilt(out)
		if err != nil {
			return err
		}
		if pages < c.scale {
			return fmt.Errorf("scale build: %s", line)
		}
		bc.big, bc.bigSize, bc.bigLine = s, c.scale, line
		return nil
	}()
	return bc.big, bc.bigErr
}

// setBigSite hands row 6's build of c.scale posts to bigSite.
func setBigSite(l *lab, s *site, line string) {
	bc := buildCacheOf(l)
	bc.mu.Lock()
	defer bc.mu.Unlock()
	bc.big, bc.bigSize, bc.bigLine, bc.bigErr, bc.bigTried = s, s.opts.Posts, line, nil, true
}

// rowScale is row 7: c.scale stored pages: start-up, memory, and the hot
// cache under requests spread over all of them.
func rowScale(ctx context.Context, l *lab, c config) *row {
	load, warmup := 10*time.Second, 3*time.Second
	if c.quick {
		load, warmup = 5*time.Second, 2*time.Second
	}
	starts := max(5, c.runs)
	r := &row{Title: fmt.Sprintf("%s stored pages", commas(int64(c.scale))), How: fmt.Sprintf("The kv blog of %s posts, "+
		"all prerendered by `kiln build` (PRERENDER=all), with the default hot cache (64 MiB). Start-up: the time from "+
		"exec of `kiln serve` to the first 200 of a stored post (a different one each run, polled every 2 ms), %d runs "+
		"after an unmeasured one, with the compile cache warm; the RSS is read from /proc right after that answer "+
		"(stored pages are served before the renderers are loaded) and again once the server logs its renderers loaded. "+
		"Then, for each distribution, a fresh `kiln serve`, a %s warm-up, and %d run(s) of `wrk -t1 -c32 -d%s` with a Lua "+
		"script picking `/posts/<slug>` over all %s posts: Zipf (s = 1, popular posts scattered over the store by a "+
		"permutation) and uniform. The hot-cache hit ratio is the change of kiln_hot_cache_hits_total over hits plus "+
		"misses in /metrics across each run; the RSS is read after each run. wrk shares the machine with the server. "+
		"Last, the issue's hits at scale: the same Zipf mix over %s and over %s stored pages (each its own store, built the "+
		"same way), both servers up at once, a %s warm-up of each (the larger store's hot cache takes that long to settle), then %d pairs of %s wrk runs alternating which store "+
		"goes first; the ratio is taken within each pair, and the load average is noted before and after.",
		commas(int64(c.scale)), starts, warmup, c.runs, load, commas(int64(c.scale)),
		commas(int64(c.zipf[0])), commas(int64(c.zipf[1])), 3*warmup, max(5, c.runs), load)}
	s, err := l.bigSite(ctx, c)
	if err != nil {
		r.Err = err
		return r
	}
	r.note("The store was built by: `%s`", buildCacheOf(l).bigLine)

	// Start-up.
	var startMS, startRSS, startPlugin, loadedMS, loadedRSS []float64
	for i := range starts + 1 {
		from := logSize(s)
		sv, d, err := s.serve(ctx, "/posts/"+slug((i*7919+13)%c.scale))
		if err != nil {
			r.Err = err
			return r
		}
		rss, err := sv.rss()
		plugin := pluginRSS(sv.cmd.Process.Pid)
		var ld time.Duration
		var lrss int64
		if err == nil {
			ld, err = renderersLoaded(sv, from, 5*time.Minute)
		}
		if err == nil {
			lrss, err = sv.rss()
		}
		sv.stop()
		if err != nil {
			r.Err = err
			return r
		}
		l.logf("start-up %d: %s, RSS %.0f MB, plugin %.0f MB; renderers loaded at %s, RSS %.0f MB", i,
			d.Round(time.Millisecond), mb(rss), mb(plugin), ld.Round(time.Millisecond), mb(lrss))
		if i == 0 {
			continue
		}
		startMS = append(startMS, ms(d))
		startRSS = append(startRSS, mb(rss))
		startPlugin = append(startPlugin, mb(plugin))
		loadedMS = append(loadedMS, ms(ld))
		loadedRSS = append(loadedRSS, mb(lrss))
	}
	up := r.measure("start-up: exec to the first stored page", "ms", startMS)
	r.measure("RSS right after start-up (kiln)", "MB", startRSS)
	r.measure("RSS right after start-up (kv plugin)", "MB", startPlugin)
	r.measure("exec to the renderers loaded (the server's \"loaded N renderer(s)\" line)", "ms", loadedMS)
	r.measure("RSS with the renderers loaded, before any load (kiln)", "MB", loadedRSS)

	// Loads.
	worstRSS, worstDist := 0.0, ""
	for _, dist := range []struct {
		name string
		zipf bool
	}{{"Zipf", true}, {"uniform", false}} {
		script := filepath.Join(l.work, "scale-"+strings.ToLower(dist.name)+".lua")
		if err := os.WriteFile(script, pathsLua(c.scale, "/posts/generated-", dist.zipf, 1), 0o644); err != nil {
			r.Err = err
			return r
		}
		sv, _, err := s.serve(ctx, "/posts/"+slug(0))
		if err != nil {
			r.Err = err
			return r
		}
		if _, err := runWrkLoad(ctx, script, sv.base, warmup); err != nil {
			r.Err = err
			return r
		}
		var rps, p50, p99, ratio, rss, hot, errs []float64
		for range c.runs {
			w, m0, m1, err := meteredLoad(ctx, script, sv.base, load)
			if err != nil {
				r.Err = err
				return r
			}
			b, err := sv.rss()
			if err != nil {
				r.Err = err
				return r
			}
			hr := hitShare(m0, m1)
			l.logf("%s over %d pages: %s, hot-cache hits %.1f%%, RSS %.0f MB", dist.name, c.scale, w, hr, mb(b))
			rps = append(rps, w.RPS)
			p50 = append(p50, ms(w.P50))
			p99 = append(p99, ms(w.P99))
			ratio = append(ratio, hr)
			rss = append(rss, mb(b))
			hot = append(hot, mb(int64(m1["kiln_hot_cache_bytes"])))
			errs = append(errs, float64(w.Errors()))
			if served := m1[`kiln_requests_total{cache="HIT"}`] - m0[`kiln_requests_total{cache="HIT"}`]; served < float64(w.Requests)*0.99 {
				r.note("%s: only %.0f of wrk's %d requests were answered as stored hits (kiln_requests_total{cache=\"HIT\"}).",
					dist.name, served, w.Requests)
			}
		}
		sv.stop()
		r.measure(dist.name+": requests/s", "req/s", rps)
		r.measure(dist.name+": p50", "ms", p50)
		r.measure(dist.name+": p99", "ms", p99)
		r.measure(dist.name+": hot-cache hit ratio", "%", ratio)
		m := r.measure(dist.name+": RSS after the load (kiln)", "MB", rss)
		r.measure(dist.name+": hot cache after the load (kiln_hot_cache_bytes)", "MB", hot)
		if e := statOf(errs); e.Max > 0 {
			r.measure(dist.name+": wrk errors (socket errors and non-2xx/3xx)", "", errs)
		}
		if m.Max > worstRSS {
			worstRSS, worstDist = m.Max, dist.name
		}
	}
	loaded, up0 := statOf(loadedRSS).Median, statOf(startRSS).Median
	r.target("RSS < 300 MB with the default hot cache (the highest after any load)", num(worstRSS, "MB")+" ("+worstDist+")",
		worstRSS < 300, fmt.Sprintf("kiln holds %s before its renderers are loaded and %s once they are, before any "+
			"request: loading the renderers (their compiled modules and pools of wasm instances, filled at start), "+
			"not the pages, is most of it; the hot cache is bounded at 64 MiB.", num(up0, "MB"), num(loaded, "MB")))
	r.target("start-up ≤ 500 ms", num(up.Median, "ms"), up.Median <= 500, "")
	r.Err = rowScaleZipf(ctx, l, c, r, load, warmup)
	return r
}

// renderersLoaded waits for the server's "loaded N renderer(s) in" line
// and returns the time from exec to when it was seen (polled every 5 ms).
// The log is appended to by every server of the site: only what follows
// the first from bytes counts.
func renderersLoaded(sv *server, from int, timeout time.Duration) (time.Duration, error) {
	deadline := time.Now().Add(timeout)
	for {
		if out := sv.output(); len(out) > from && loadedLine.MatchString(out[from:]) {
			return time.Since(sv.start), nil
		}
		if sv.exited() {
			return 0, fmt.Errorf("%s exited:\n%s", sv.name, lastLines(sv.output(), 30))
		}
		if time.Now().After(deadline) {
			return 0, fmt.Errorf("%s: renderers not loaded after %s:\n%s", sv.name, timeout, lastLines(sv.output(), 30))
		}
		time.Sleep(5 * time.Millisecond)
	}
}

var loadedLine = regexp.MustCompile(`(?m)^\s*loaded \d+ renderer\(s\) in `)

// logSize is the size of the log of the site's servers now.
func logSize(s *site) int {
	fi, err := os.Stat(filepath.Join(s.l.work, s.name+".log"))
	if err != nil {
		return 0
	}
	return int(fi.Size())
}

// pluginRSS is the summed RSS of the `kiln plugin` processes under pid.
func pluginRSS(pid int) int64 {
	var sum int64
	for _, p := range treeOf(pid) {
		if plugin, _ := kilnRole(p); plugin {
			if rss, err := rssOf(p); err == nil {
				sum += rss
			}
		}
	}
	return sum
}

//go:embed testdata/paths.lua.tmpl
var pathsLuaText string

var pathsLuaTmpl = template.Must(template.New("paths.lua").Parse(pathsLuaText))

// pathsLua is a wrk script requesting prefix+%06d for indexes in [0, n),
// Zipf-distributed with exponent s (rank r → index zipfIndex(r, n)), or
// uniformly.
func pathsLua(n int, prefix string, zipf bool, s float64) []byte {
	a, b := zipfPerm(n)
	var buf bytes.Buffer
	err := pathsLuaTmpl.Execute(&buf, map[string]any{
		"N": n, "Last": n - 1, "Prefix": prefix, "Zipf": zipf, "S": strconv.FormatFloat(s, 'g', -1, 64),
		"A": a, "B": b, "Seed": 1,
	})
	if err != nil {
		panic(err) // the template is fixed
	}
	return buf.Bytes()
}

// zipfPerm is the permutation from Zipf rank to post index the paths
// script uses: rank r (1-based) is index (a*(r-1)+b) mod n, with a
// coprime to n near 0.618·n so neighbouring ranks land far apart.
func zipfPerm(n int) (a, b int) {
	if n <= 2 {
		return 1, 0
	}
	a = max(1, int(float64(n)*0.6180339887))
	for gcd(a, n) != 1 {
		a++
	}
	return a, n / 3
}

// zipfIndex is the post index of Zipf rank r (1-based) among n.
func zipfIndex(r, n int) int {
	a, b := zipfPerm(n)
	return (a*(r-1) + b) % n
}

func gcd(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

// meteredLoad is one wrk run with /metrics scraped before and after it.
func meteredLoad(ctx context.Context, script, base string, d time.Duration) (w wrk.Result, m0, m1 map[string]float64, err error) {
	if m0, err = scrapeMetrics(base); err != nil {
		return
	}
	if w, err = runWrkLoad(ctx, script, base, d); err != nil {
		return
	}
	m1, err = scrapeMetrics(base)
	return
}

// runWrkLoad runs `wrk -t1 -c32 --latency --timeout 10s -s script` on
// base for d.
func runWrkLoad(ctx context.Context, script, base string, d time.Duration) (wrk.Result, error) {
	args := []string{"-t1", "-c32", "-d" + strconv.Itoa(max(1, int(d.Round(time.Second).Seconds()))) + "s",
		"--latency", "--timeout", "10s", "-s", script, base + "/"}
	out, err := exec.CommandContext(ctx, "wrk", args...).CombinedOutput()
	if ctx.Err() != nil {
		return wrk.Result{}, ctx.Err()
	}
	if err != nil {
		return wrk.Result{}, fmt.Errorf("wrk %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	w, err := wrk.Parse(out)
	if err != nil {
		return w, fmt.Errorf("wrk %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return w, nil
}

// scrapeMetrics reads the server's /metrics into series → value, a
// series being the name with its labels as printed
// (kiln_requests_total{cache="HIT"}).
func scrapeMetrics(base string) (map[string]float64, error) {
	req, _ := http.NewRequest("GET", base+"/metrics", nil)
	req.Header.Set("Authorization", "Bearer "+benchSecret) // the suite's sites have the admin secret
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != 200 {
		return nil, fmt.Errorf("/metrics: %d", resp.StatusCode)
	}
	return parseMetrics(b), nil
}

func parseMetrics(b []byte) map[string]float64 {
	m := map[string]float64{}
	for _, line := range strings.Split(string(b), "\n") {
		if line == "" || line[0] == '#' {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if i < 0 {
			continue
		}
		if v, err := strconv.ParseFloat(line[i+1:], 64); err == nil {
			m[line[:i]] = v
		}
	}
	return m
}
