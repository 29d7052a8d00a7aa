package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"slices"
	"time"
)

// report is every number of a session, printed for people and written as
// JSON (-json) for a program that builds a Markdown report from it.
type report struct {
	Path       string           `json:"path"`
	Config     string           `json:"config,omitempty"` // empty: the built-in test site
	Runs       int              `json:"runs"`
	Wrk        wrkReport        `json:"wrk"`
	GOMAXPROCS int              `json:"gomaxprocs"` // of kiln and bare
	Pinning    pinReport        `json:"pinning"`
	Nginx      string           `json:"nginx_version,omitempty"`
	NginxConf  string           `json:"nginx_conf,omitempty"` // as written, with its work-directory paths
	FileCache  bool             `json:"nginx_open_file_cache"`
	BareKiln   bool             `json:"bare_kiln_settings"` // bare had Kiln's timeouts and buffer sizes
	Baseline   string           `json:"baseline,omitempty"` // the git revision "baseline" was built from
	Encodings  []encodingReport `json:"encodings"`
}

type wrkReport struct {
	Threads     int      `json:"threads"`
	Connections int      `json:"connections"`
	DurationS   float64  `json:"duration_s"`
	WarmupS     float64  `json:"warmup_s"`
	Args        []string `json:"args"` // of the first kiln run, per encoding in encodings[].wrk_args
}

type pinReport struct {
	Pinned     bool   `json:"pinned"`
	ServerCPUs string `json:"server_cpus,omitempty"` // taskset -c list shared by all servers
	WrkCPUs    string `json:"wrk_cpus,omitempty"`
	Summary    string `json:"summary"`
}

type encodingReport struct {
	Encoding  string                  `json:"encoding"`
	BodyBytes int                     `json:"body_bytes"`
	WrkArgs   []string                `json:"wrk_args"`
	Servers   map[string]serverReport `json:"servers"`
	Order     []string                `json:"order"`           // server names, as printed
	Ratios    map[string]ratio        `json:"ratios"`          // "kiln/nginx", "kiln/bare"
	Targets   map[string]float64      `json:"targets_rps_min"` // the requests/s ratio each should reach
}

type serverReport struct {
	RPS           []float64 `json:"rps"` // every timed run, in run order
	MedianRPS     float64   `json:"median_rps"`
	MinRPS        float64   `json:"min_rps"`
	MaxRPS        float64   `json:"max_rps"`
	P50ms         float64   `json:"p50_ms"` // median over runs
	P99ms         float64   `json:"p99_ms"`
	CPUusPerReq   float64   `json:"cpu_us_per_req"`            // median; all the server's processes
	MallocsPerReq float64   `json:"mallocs_per_req,omitempty"` // median; kiln only
	Errors        []string  `json:"errors,omitempty"`          // wrk socket error lines
}

// ratio is kiln's medians over another server's; CPU is the other's CPU
// time per request over kiln's (the requests/s ratio a CPU-bound server
// would reach on an idle machine).
type ratio struct {
	RPS float64 `json:"rps"`
	P50 float64 `json:"p50"`
	P99 float64 `json:"p99"`
	CPU float64 `json:"cpu"`
}

// targets are the requests/s ratios issue 6 asks Kiln to reach.
// kiln/baseline is against kiln at an earlier commit (-baseline): the same
// throughput, within the runs' noise.
var targets = map[string]float64{"kiln/nginx": 1.0, "kiln/bare": 0.8, "kiln/baseline": 0.95}

// summarize turns the runs into a report.
func (l *lab) summarize(res map[string]map[string][]result) report {
	o := l.o
	pin := pinReport{Summary: "unpinned: servers and wrk share every CPU"}
	if l.serverCPU != "" {
		pin = pinReport{Pinned: true, ServerCPUs: l.serverCPU, WrkCPUs: l.wrkCPU,
			Summary: "servers on CPU " + l.serverCPU + ", wrk on CPU " + l.wrkCPU}
	}
	rep := report{
		Path: o.path, Config: o.config, Runs: o.runs, GOMAXPROCS: l.gomaxprocs, Pinning: pin,
		Nginx: l.nginxVer, NginxConf: l.nginxConf, FileCache: o.nginxFileCache && !o.noNginx, BareKiln: o.bareKiln, Baseline: o.baseline,
		Wrk: wrkReport{Threads: o.threads, Connections: o.conns, DurationS: o.duration.Seconds(), WarmupS: o.warmup.Seconds()},
	}
	for _, enc := range o.encodings {
		er := encodingReport{Encoding: enc, BodyBytes: l.bodyLen[enc], Servers: map[string]serverReport{},
			Ratios: map[string]ratio{}, Targets: map[string]float64{}}
		if len(l.targets) > 0 {
			er.WrkArgs = l.wrkArgs(enc, o.duration, l.targets[0].url)
		}
		for _, t := range l.targets {
			er.Order = append(er.Order, t.name)
			er.Servers[t.name] = serverSummary(res[enc][t.name])
		}
		k, ok := res[enc]["kiln"]
		for _, other := range []string{"nginx", "bare", "baseline"} {
			rs, there := res[enc][other]
			if !ok || !there {
				continue
			}
			name := "kiln/" + other
			er.Ratios[name] = ratioOf(median(k), median(rs))
			er.Targets[name] = targets[name]
		}
		rep.Encodings = append(rep.Encodings, er)
	}
	if len(rep.Encodings) > 0 {
		rep.Wrk.Args = rep.Encodings[0].WrkArgs
	}
	return rep
}

func serverSummary(rs []result) serverReport {
	m := median(rs)
	s := serverReport{MedianRPS: m.rps, P50ms: ms(m.p50), P99ms: ms(m.p99),
		CPUusPerReq: float64(m.cpu) / float64(time.Microsecond), MallocsPerReq: m.mallocs}
	for _, r := range rs {
		s.RPS = append(s.RPS, r.rps)
		if r.errors != "" {
			s.Errors = append(s.Errors, r.errors)
		}
	}
	if len(s.RPS) > 0 {
		s.MinRPS, s.MaxRPS = slices.Min(s.RPS), slices.Max(s.RPS)
	}
	return s
}

// ratioOf is a's medians over b's (CPU the other way round).
func ratioOf(a, b result) ratio {
	return ratio{RPS: div(a.rps, b.rps), P50: div(float64(a.p50), float64(b.p50)),
		P99: div(float64(a.p99), float64(b.p99)), CPU: div(float64(b.cpu), float64(a.cpu))}
}

func div(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return a / b
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// print writes the human-readable summary.
func (r report) print(w io.Writer) {
	cfg := "built-in test site"
	if r.Config != "" {
		cfg = r.Config
	}
	fmt.Fprintf(w, "\nGET %s (%s), wrk -t%d -c%d -d%gs, median of %d runs, GOMAXPROCS=%d (kiln, bare), %s",
		r.Path, cfg, r.Wrk.Threads, r.Wrk.Connections, r.Wrk.DurationS, r.Runs, r.GOMAXPROCS, r.Pinning.Summary)
	if r.Nginx != "" {
		fmt.Fprintf(w, ", %s with 2 workers", r.Nginx)
		if r.FileCache {
			fmt.Fprint(w, " and open_file_cache")
		}
	}
	fmt.Fprintln(w)
	for _, e := range r.Encodings {
		fmt.Fprintf(w, "\n%s (%d body bytes):\n", e.Encoding, e.BodyBytes)
		for _, name := range e.Order {
			s := e.Servers[name]
			fmt.Fprintf(w, "  %-8s %8.0f req/s (%.0f..%.0f)  p50 %6.3fms  p99 %6.3fms  cpu %5.1fµs/req",
				name, s.MedianRPS, s.MinRPS, s.MaxRPS, s.P50ms, s.P99ms, s.CPUusPerReq)
			if s.MallocsPerReq > 0 {
				fmt.Fprintf(w, "  %.2f mallocs/req", s.MallocsPerReq)
			}
			if len(s.Errors) > 0 {
				fmt.Fprintf(w, "  (%d runs with socket errors)", len(s.Errors))
			}
			fmt.Fprintln(w)
		}
		for _, name := range []string{"kiln/nginx", "kiln/bare", "kiln/baseline"} {
			q, ok := e.Ratios[name]
			if !ok {
				continue
			}
			fmt.Fprintf(w, "  %-13s %.2fx req/s (target >= %.2f), p50 %.2fx, p99 %.2fx; other/kiln CPU per request %.2fx\n",
				name, q.RPS, e.Targets[name], q.P50, q.P99, q.CPU)
		}
	}
}

// write saves the report as indented JSON.
func (r report) write(path string) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}
