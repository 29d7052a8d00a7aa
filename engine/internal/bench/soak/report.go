package main

import (
	"fmt"
	"os/exec"
	"runtime"
	"sort"
	"strings"
	"time"
)

// verdicts are the soak's three targets, and whether kiln lived.
type verdicts struct {
	requests, errors int64

	refAt          time.Duration // the RSS reference sample's time
	rssRef, rssEnd int64
	rssChange      float64 // end over reference, minus one
	rssFlat        bool    // |change| ≤ 10%

	diskStart, diskEnd int64
	diskOK             bool // growth ≤ bound

	alive bool
}

func (v verdicts) pass() bool {
	return v.alive && v.errors == 0 && v.requests > 0 && v.rssFlat && v.diskOK
}

// rssRefAt is when the RSS reference is taken: at 1 minute, or half-way
// through a soak shorter than 2 minutes.
func rssRefAt(d time.Duration) time.Duration {
	if d < 2*time.Minute {
		return d / 2
	}
	return time.Minute
}

// judge decides the verdicts from the samples (one a second, in order),
// the normal load's counts and the disk bound.
func judge(samples []sample, d time.Duration, requests, errors, diskBound int64, exited bool) verdicts {
	v := verdicts{requests: requests, errors: errors, alive: !exited, refAt: rssRefAt(d)}
	if len(samples) == 0 {
		return v
	}
	ref := samples[len(samples)-1]
	for _, s := range samples {
		if s.at >= v.refAt {
			ref = s
			break
		}
	}
	first, last := samples[0], samples[len(samples)-1]
	v.refAt, v.rssRef, v.rssEnd = ref.at, ref.rss, last.rss
	if ref.rss > 0 {
		v.rssChange = float64(last.rss)/float64(ref.rss) - 1
		v.rssFlat = 10*(last.rss-ref.rss) <= ref.rss && 10*(ref.rss-last.rss) <= ref.rss
	}
	v.diskStart, v.diskEnd = first.disk, last.disk
	v.diskOK = last.disk-first.disk <= diskBound
	return v
}

func (r *result) verdict(o options) verdicts {
	var errs int64
	for _, n := range r.load.errors {
		errs += n
	}
	return judge(r.samples, r.duration, r.load.requests, errs, o.diskBound, r.exited)
}

// report is the markdown section for BENCHMARKS.md.
func (r *result) report(o options) string {
	v := r.verdict(o)
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	p("## Hostile-traffic soak (issue 11)\n\n")
	p("Run %s UTC on %s; `go tool task soak -- -duration %s` (engine/internal/bench/soak). "+
		"The machine is shared with other agents' builds and tests, so throughput and latency are noisy; the targets are not rates.\n\n",
		time.Now().UTC().Format("2006-01-02 15:04"), machine(), dur(o.duration))
	p("**Method.** A real `kiln serve` of the example blog (jsonfile source, the blog's four renderers, plus `/b/posts/:slug` with "+
		"`fallback = \"blocking\"`), with an admin secret and the default limits. Once `/` and the %d posts are stored, "+
		"for %s: %d keep-alive clients GET those %d stored pages back to back from 127.0.0.1 (an error is a transport error, a "+
		"status other than 200, or an empty body), while each flood below runs from its own loopback address, plus %d idle sockets "+
		"(half with an unfinished request line) reopened whenever kiln closes one. kiln's RSS (main process, `/proc/PID/status`) "+
		"and the store folder's allocated blocks are sampled every second, `/metrics` (with the secret) every 10 s.\n\n",
		len(r.pages)-1, dur(o.duration), o.workers, len(r.pages), o.idle)

	p("| Target | Result | Met |\n|---|---|---|\n")
	p("| 0 errors on stored pages | %s of %s requests%s | %s |\n", commas(v.errors), commas(v.requests), errorList(r.load.errors), yes(v.errors == 0 && v.requests > 0))
	p("| RSS at the end within 10%% of its level at %s | %.0f MB at %s → %.0f MB at the end (%+.1f%%), max %.0f MB | %s |\n",
		short(rssRefAt(r.duration)), mb(v.rssRef), short(v.refAt), mb(v.rssEnd), v.rssChange*100, mb(maxRSS(r.samples)), yes(v.rssFlat))
	p("| Store disk growth under %.0f MiB | %.1f MB → %.1f MB (%+.1f MB; %.2f bytes per unique URL) | %s |\n",
		mb(o.diskBound), mb(v.diskStart), mb(v.diskEnd), mb(v.diskEnd-v.diskStart), perUnique(v.diskEnd-v.diskStart, r.unique), yes(v.diskOK))
	p("| kiln still running | %s | %s |\n\n", map[bool]string{true: "yes", false: "no: it exited"}[v.alive], yes(v.alive))

	secs := r.duration.Seconds()
	p("| Traffic | How | Requests | Answers |\n|---|---|---|---|\n")
	p("| normal load | %d clients, GET the stored pages in turn | %s (%s/s; p50 %s, p99 %s) | X-Kiln-Cache %s |\n",
		o.workers, commas(r.load.requests), commas(int64(float64(r.load.requests)/secs)),
		r.load.percentile(0.5).Round(10*time.Microsecond), r.load.percentile(0.99).Round(10*time.Microsecond), counts(r.load.cache))
	for _, f := range r.floods {
		n := f.t.snapshot()
		p("| %s | %s | %s | %s |\n", f.name, f.how, commas(sum(n)), counts(n))
	}
	p("| idle sockets | %d held from 127.0.0.3, reopened when closed | %s closed by kiln, %s dials failed | held at the end: %d |\n\n",
		o.idle, commas(r.idle.closed.Load()), commas(r.idle.failed.Load()), lastIdle(r.samples))

	p("From `/metrics` (start → max → end): goroutines %s; open fds %s; stored pages %s; `kiln_store_read_only` %s. ",
		series(r, "go_goroutines"), series(r, "process_open_fds"), series(r, "kiln_store_pages"), series(r, "kiln_store_read_only"))
	p("kiln's log (default level, info) grew by %s bytes, %.0f per unique URL. ", commas(r.log1-r.log0), perUnique(r.log1-r.log0, r.unique))
	p("kiln RSS every 30 s (MB): %s. Store disk every 30 s (MB): %s.\n", every30(r.samples, func(s sample) float64 { return mb(s.rss) }, "%.0f"),
		every30(r.samples, func(s sample) float64 { return mb(s.disk) }, "%.1f"))
	if len(r.mem) > 0 {
		p("\nkiln's memory every minute (MB; Go's parts from `/metrics` `go_memstats_*`, RSS split from `/proc/PID/status`). " +
			"Idle kept: heap idle minus released, held by Go and not yet returned to the OS; Go other: the runtime's metadata and caches; " +
			"non-Go: RSS minus what Go has mapped and not released (wazero's linear memories and compiled code, the binary's text; a lower bound, as Go counts as mapped some metadata it has not touched yet); Go mapped: `go_memstats_sys_bytes`.\n\n")
		p("| at | RSS | anon | file | heap in use | idle kept | stacks | Go other | non-Go | Go mapped | goroutines |\n|---|---|---|---|---|---|---|---|---|---|---|\n")
		for _, m := range everyMinute(r.mem) {
			p("| %s | %.0f | %.0f | %.0f | %.0f | %.0f | %.1f | %.0f | %.0f | %.0f | %s |\n", short(m.at.Round(10*time.Second)), mb(m.rss), mb(m.anon), mb(m.file),
				mb(m.heapInuse), mb(m.heapIdle), mb(m.stacks), mb(m.goOther()), mb(m.nonGo()), mb(m.goSys), commas(m.goroutines))
		}
	}
	return b.String()
}

// everyMinute picks the first sample, the first at or past each whole
// minute, and the last.
func everyMinute(ms []memSample) []memSample {
	var out []memSample
	next := time.Duration(0)
	for i, m := range ms {
		if m.at >= next || i == 0 || i == len(ms)-1 {
			out = append(out, m)
			next = (m.at/time.Minute + 1) * time.Minute
		}
	}
	return out
}

// dur writes 10m for 10m0s.
func dur(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		return strings.TrimSuffix(s, "0s")
	}
	return s
}

func machine() string {
	kernel, _ := exec.Command("uname", "-r").Output()
	return fmt.Sprintf("%d CPUs, Linux %s, %s", runtime.NumCPU(), strings.TrimSpace(string(kernel)), runtime.Version())
}

func yes(ok bool) string {
	if ok {
		return "yes"
	}
	return "**no**"
}

func short(d time.Duration) string {
	if d%time.Minute == 0 {
		return fmt.Sprintf("%d min", int(d/time.Minute))
	}
	return fmt.Sprintf("%d s", int(d.Round(time.Second)/time.Second))
}

func errorList(errs map[string]int64) string {
	if len(errs) == 0 {
		return ""
	}
	return " (" + counts(errs) + ")"
}

// counts lists a tally's outcomes, most frequent first.
func counts(m map[string]int64) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if m[keys[i]] != m[keys[j]] {
			return m[keys[i]] > m[keys[j]]
		}
		return keys[i] < keys[j]
	})
	parts := make([]string, len(keys))
	for i, k := range keys {
		name := k
		if name == "" {
			name = "(none)"
		}
		parts[i] = fmt.Sprintf("%s %s", name, commas(m[k]))
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}

func sum(m map[string]int64) int64 {
	var n int64
	for _, v := range m {
		n += v
	}
	return n
}

func maxRSS(samples []sample) int64 {
	var m int64
	for _, s := range samples {
		m = max(m, s.rss)
	}
	return m
}

func lastIdle(samples []sample) int64 {
	if len(samples) == 0 {
		return 0
	}
	return samples[len(samples)-1].idle
}

func perUnique(growth, unique int64) float64 {
	if unique == 0 {
		return 0
	}
	return float64(growth) / float64(unique)
}

func series(r *result, name string) string {
	return fmt.Sprintf("%s → %s → %s", commas(int64(r.m0[name])), commas(int64(r.mmax[name])), commas(int64(r.m1[name])))
}

func every30(samples []sample, f func(sample) float64, format string) string {
	var parts []string
	for i, s := range samples {
		if i%30 == 0 || i == len(samples)-1 {
			parts = append(parts, fmt.Sprintf(format, f(s)))
		}
	}
	return strings.Join(parts, " ")
}

// commas writes n with thousands separators.
func commas(n int64) string {
	s := fmt.Sprint(n)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	if neg {
		return "-" + s
	}
	return s
}
