package main

import (
	"context"
	"fmt"
	"github.com/kilnhq/kiln/engine/internal/bench/wrk"
	"os/exec"
	"slices"
	"strconv"
	"time"
)

// result is one wrk run.
type result struct {
	rps      float64
	p50, p99 time.Duration
	requests int64
	cpu      time.Duration // server CPU time (user+system) per request
	mallocs  float64       // heap allocations per request (kiln only, from /metrics)
	errors   string        // wrk's socket error line, if any (timeouts on a busy machine)
}

// measure runs each encoding in turn: it warms each target up, then runs
// wrk o.runs times per target, rotating which goes first each round so
// drift in the machine's load falls on all. Results are by encoding, then
// by target name.
func (l *lab) measure(ctx context.Context) (map[string]map[string][]result, error) {
	res := map[string]map[string][]result{}
	for _, enc := range l.o.encodings {
		fmt.Printf("\n%s:\n", enc)
		for _, t := range l.targets {
			if _, err := l.wrk(ctx, t, enc, l.o.warmup); err != nil {
				return nil, err
			}
		}
		res[enc] = map[string][]result{}
		for i := range l.o.runs {
			for j := range l.targets {
				t := l.targets[(i+j)%len(l.targets)]
				r, err := l.wrkCounted(ctx, t, enc)
				if err != nil {
					return nil, err
				}
				fmt.Printf("run %d  %-5s  %s\n", i+1, t.name, r)
				res[enc][t.name] = append(res[enc][t.name], r)
			}
		}
	}
	return res, nil
}

// wrkCounted is a timed run that also reads the CPU time the server
// spent per request (less sensitive to a busy machine than requests/s)
// (all its processes: nginx's workers count) and, for kiln, the heap
// allocations per request from its /metrics.
func (l *lab) wrkCounted(ctx context.Context, t target, enc string) (result, error) {
	before, err := mallocs(t.metrics)
	if err != nil {
		return result{}, err
	}
	cpu0, err := groupCPU(t.pgid)
	if err != nil {
		return result{}, err
	}
	r, err := l.wrk(ctx, t, enc, l.o.duration)
	if err != nil {
		return r, err
	}
	cpu1, err := groupCPU(t.pgid)
	if err != nil {
		return r, err
	}
	after, err := mallocs(t.metrics)
	if r.requests > 0 {
		r.cpu = (cpu1 - cpu0) / time.Duration(r.requests)
		r.mallocs = (after - before) / float64(r.requests)
	}
	return r, err
}

func (r result) String() string {
	s := fmt.Sprintf("%8.0f req/s  p50 %-9s p99 %-9s cpu %5.1fµs/req", r.rps, r.p50, r.p99,
		float64(r.cpu)/float64(time.Microsecond))
	if r.mallocs > 0 {
		s += fmt.Sprintf(" %.2f mallocs/req", r.mallocs)
	}
	if r.errors != "" {
		s += " (" + r.errors + ")"
	}
	return s
}

// wrkArgs is the wrk command line for a run of d asking for enc.
func (l *lab) wrkArgs(enc string, d time.Duration, url string) []string {
	args := []string{"wrk", "-t" + strconv.Itoa(l.o.threads), "-c" + strconv.Itoa(l.o.conns),
		"-d" + strconv.Itoa(int(d.Seconds())) + "s", "--latency"}
	if ae := acceptEncoding(enc); ae != "" {
		args = append(args, "-H", "Accept-Encoding: "+ae)
	}
	return pinned(l.wrkCPU, append(args, url))
}

// wrk runs one load test against t.
func (l *lab) wrk(ctx context.Context, t target, enc string, d time.Duration) (result, error) {
	args := l.wrkArgs(enc, d, t.url)
	out, err := exec.CommandContext(ctx, args[0], args[1:]...).CombinedOutput()
	if ctx.Err() != nil {
		return result{}, ctx.Err()
	}
	if err != nil {
		return result{}, fmt.Errorf("wrk %s: %w\n%s", t.name, err, out)
	}
	r, err := parseWrk(out)
	if err != nil {
		return result{}, fmt.Errorf("wrk %s: %w\n%s", t.name, err, out)
	}
	return r, nil
}

// parseWrk reads a `wrk --latency` run, and refuses one with non-2xx
// answers.
func parseWrk(out []byte) (result, error) {
	w, err := wrk.Parse(out)
	if err != nil {
		return result{}, err
	}
	if w.Non2xx > 0 {
		return result{}, fmt.Errorf("wrong answers during the run: %d non-2xx or 3xx responses", w.Non2xx)
	}
	r := result{rps: w.RPS, p50: w.P50, p99: w.P99, requests: w.Requests}
	if w.Errors() > 0 {
		r.errors = fmt.Sprintf("socket errors: connect %d, read %d, write %d, timeout %d", w.Connect, w.Read, w.Write, w.Timeout)
	}
	return r, nil
}

// median takes each metric's median on its own.
func median(rs []result) result {
	rps := make([]float64, len(rs))
	p50 := make([]time.Duration, len(rs))
	p99 := make([]time.Duration, len(rs))
	cpu := make([]time.Duration, len(rs))
	allocs := make([]float64, len(rs))
	for i, r := range rs {
		rps[i], p50[i], p99[i], cpu[i], allocs[i] = r.rps, r.p50, r.p99, r.cpu, r.mallocs
	}
	return result{rps: mid(rps), p50: mid(p50), p99: mid(p99), cpu: mid(cpu), mallocs: mid(allocs)}
}

func mid[T float64 | time.Duration](v []T) T {
	slices.Sort(v)
	n := len(v)
	if n%2 == 1 {
		return v[n/2]
	}
	return (v[n/2-1] + v[n/2]) / 2
}

func sorted(s []string) []string {
	slices.Sort(s)
	return s
}
