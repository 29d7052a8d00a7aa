package main

import (
	"bytes"
	"context"
	_ "embed"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"text/template"
	"time"
)

// The mixed load's site and shares.
const (
	mixedPosts = 2000 // stored posts, all prerendered
	mixedStale = 300  // posts also requested under /stale/posts/
	mixedHit   = 95   // % GET of a stored post
	mixedStal  = 4    // % GET of a stale post
	mixedReval = 1    // % POST /_kiln/revalidate
)

// rowMixed is row 8: one long wrk run of hits, stale pages and
// on-demand revalidations, with kiln's memory sampled every second.
func rowMixed(ctx context.Context, l *lab, c config) *row {
	r := &row{Title: "Mixed load", How: fmt.Sprintf("The kv blog of %s posts, all prerendered by `kiln build`. "+
		"First each of %d posts is requested once under `/stale/posts/` (revalidate 1s), so those pages are stored and "+
		"go stale a second later. Then one run of `wrk -t1 -c32 -d%ds --timeout 10s` with a Lua script: %d%% GET "+
		"`/posts/<slug>` (stored and fresh: hits), %d%% GET `/stale/posts/<slug>` over the %d (served stale, each "+
		"regenerated in the background at most about once a second), %d%% `POST /_kiln/revalidate` of a stored post "+
		"with the admin secret (a synchronous render), slugs uniform. Errors are wrk's socket errors (connect, read, "+
		"write, timeout) and non-2xx/3xx answers. kiln's RSS is read from /proc every second; it is flat when the "+
		"last sample is within 10%% of the sample at 10 s (at half the load for loads under 20 s).",
		commas(mixedPosts), mixedStale, int(c.mixed.Seconds()), mixedHit, mixedStal, mixedStale, mixedReval)}
	warm, err := l.warmRenderers(ctx)
	if err != nil {
		r.Err = err
		return r
	}
	s, err := l.newSite(ctx, "mixed", siteOptions{Posts: mixedPosts, Prerender: "all"})
	if err != nil {
		r.Err = err
		return r
	}
	if err := seedStore(warm, s.store); err != nil {
		r.Err = err
		return r
	}
	if _, err := l.kilnCmd(ctx, "build", "--config", s.config); err != nil {
		r.Err = err
		return r
	}
	from := logSize(s)
	sv, _, err := s.serve(ctx, "/posts/"+slug(0))
	if err != nil {
		r.Err = err
		return r
	}
	// A first render waits for the renderers to load, and times out if
	// that takes longer than the render timeout.
	if _, err := renderersLoaded(sv, from, 5*time.Minute); err != nil {
		r.Err = err
		return r
	}
	for i := range mixedStale {
		if err := getOK(sv.base + "/stale/posts/" + slug(i)); err != nil {
			r.Err = err
			return r
		}
	}
	script := filepath.Join(l.work, "mixed.lua")
	if err := os.WriteFile(script, mixedLua(mixedPosts, mixedStale, mixedHit, mixedStal, benchSecret), 0o644); err != nil {
		r.Err = err
		return r
	}
	m0, err := scrapeMetrics(sv.base)
	if err != nil {
		r.Err = err
		return r
	}
	smp := sampleRSS(sv.cmd.Process.Pid, time.Second)
	w, err := runWrkLoad(ctx, script, sv.base, c.mixed)
	samples := smp.stop()
	if err != nil {
		r.Err = err
		return r
	}
	m1, err := scrapeMetrics(sv.base)
	if err != nil {
		r.Err = err
		return r
	}
	l.logf("mixed: %s", w)
	one := func(v float64) []float64 { return []float64{v} }
	r.measure("requests/s", "req/s", one(w.RPS))
	r.measure("p50", "ms", one(ms(w.P50)))
	r.measure("p99", "ms", one(ms(w.P99)))
	r.measure("errors (socket errors and non-2xx/3xx)", "", one(float64(w.Errors())))
	rss := make([]int64, len(samples))
	var pluginMax int64
	for i, x := range samples {
		rss[i] = x.kiln
		pluginMax = max(pluginMax, x.plugin)
	}
	if len(rss) == 0 || rss[0] == 0 {
		r.Err = fmt.Errorf("no RSS samples of kiln (pid %d)", sv.cmd.Process.Pid)
		return r
	}
	ref := flatRef(len(rss), c.mixed)
	fl := rssFlatness(rss, ref)
	r.measure("kiln RSS, first sample", "MB", one(mb(rss[0])))
	r.measure(fmt.Sprintf("kiln RSS at %d s", ref), "MB", one(mb(rss[ref])))
	r.measure("kiln RSS, last sample", "MB", one(mb(rss[len(rss)-1])))
	r.measure("kiln RSS, max", "MB", one(mb(fl.max)))
	r.measure("kv plugin RSS, max", "MB", one(mb(pluginMax)))
	r.note("Answers by cache state during the load (kiln_requests_total): %s.", cacheDeltas(m0, m1))
	r.note("Regenerations during the load by outcome and reason (kiln_regeneration_seconds_count): %s.", regenDeltas(m0, m1))
	r.note("kiln RSS every second (MB): %s.", rssSeries(rss))
	r.target("no errors", fmt.Sprintf("%d of %s requests (socket: connect %d, read %d, write %d, timeout %d; non-2xx/3xx %d)",
		w.Errors(), commas(w.Requests), w.Connect, w.Read, w.Write, w.Timeout, w.Non2xx), w.Errors() == 0, "")
	r.target(fmt.Sprintf("RSS flat (last sample within 10%% of the sample at %d s)", ref),
		fmt.Sprintf("%s at %d s → %s at the end (%+.1f%%), max %s", num(mb(rss[ref]), "MB"), ref, num(mb(rss[len(rss)-1]), "MB"),
			fl.change*100, num(mb(fl.max), "MB")), fl.flat, "RSS grew during the load.")
	if c.mixed < 20*time.Second {
		r.note("A %s load is too short to show slow growth; the full suite runs 60 s.", c.mixed)
	}
	return r
}

// getOK GETs url and wants a 200.
func getOK(url string) error {
	resp, err := http.Get(url)
	if err != nil {
		return err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		return fmt.Errorf("GET %s: %d", url, resp.StatusCode)
	}
	return nil
}

//go:embed testdata/mixed.lua.tmpl
var mixedLuaText string

var mixedLuaTmpl = template.Must(template.New("mixed.lua").Parse(mixedLuaText))

// mixedLua is the mixed load's wrk script: hitPct % GET /posts/ over n
// posts, stalePct % GET /stale/posts/ over the first stale, the rest
// POST /_kiln/revalidate of a post with the admin secret.
func mixedLua(n, stale, hitPct, stalePct int, secret string) []byte {
	var buf bytes.Buffer
	err := mixedLuaTmpl.Execute(&buf, map[string]any{
		"N": n, "Stale": stale, "HitPct": hitPct, "StalePct": stalePct, "RevalPct": 100 - hitPct - stalePct,
		"Hits": float64(hitPct) / 100, "Stales": float64(stalePct) / 100, "Secret": secret, "Seed": 1,
	})
	if err != nil {
		panic(err) // the template is fixed
	}
	return buf.Bytes()
}

// flatRef is the sample the last one is compared with: the one at 10 s,
// or at half the load when it is shorter than 20 s (samples are a second
// apart, the first at the start).
func flatRef(samples int, load time.Duration) int {
	ref := 10
	if load < 20*time.Second {
		ref = int(load / time.Second / 2)
	}
	return max(0, min(ref, samples-1))
}

// flatness is how an RSS series moved.
type flatness struct {
	max    int64
	change float64 // last over the reference sample, minus one
	flat   bool    // |change| ≤ 10%
}

func rssFlatness(rss []int64, ref int) flatness {
	var f flatness
	if len(rss) == 0 || ref < 0 || ref >= len(rss) || rss[ref] == 0 {
		return f
	}
	for _, v := range rss {
		f.max = max(f.max, v)
	}
	last, base := rss[len(rss)-1], rss[ref]
	f.change = float64(last)/float64(base) - 1
	f.flat = 10*(last-base) <= base && 10*(base-last) <= base
	return f
}

func rssSeries(rss []int64) string {
	s := make([]string, len(rss))
	for i, v := range rss {
		s[i] = fmt.Sprintf("%.0f", mb(v))
	}
	return strings.Join(s, " ")
}

// cacheDeltas lists the change of kiln_requests_total by cache state.
func cacheDeltas(m0, m1 map[string]float64) string {
	return seriesDeltas(m0, m1, `kiln_requests_total{cache="`, `"}`)
}

// regenDeltas lists the change of the regeneration count by reason and
// outcome.
func regenDeltas(m0, m1 map[string]float64) string {
	return seriesDeltas(m0, m1, `kiln_regeneration_seconds_count{`, `}`)
}

func seriesDeltas(m0, m1 map[string]float64, prefix, suffix string) string {
	var parts []string
	for k, v := range m1 {
		label, ok := strings.CutPrefix(k, prefix)
		if !ok {
			continue
		}
		if d := v - m0[k]; d > 0 {
			parts = append(parts, fmt.Sprintf("%s %s", strings.TrimSuffix(label, suffix), commas(int64(d))))
		}
	}
	sort.Strings(parts)
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}
