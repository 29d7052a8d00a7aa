// Command hits measures Kiln's hit path under load against nginx and a
// bare fasthttp server serving the same bytes, run on purpose
// (`task bench:load`), never as a test.
//
// It builds kiln and bench/bare, serves a site with one stored page (the
// server tests' testdata/page renderer, or -config and -path), then
// starts two servers answering that page's exact bytes:
//
//   - nginx, with its own config in the work directory (2 workers,
//     sendfile, tcp_nopush, no access log, open_file_cache unless
//     -nginx-open-file-cache=false), serving the body from a file and
//     the gzip body kiln sends from <file>.gz with gzip_static;
//   - bare, a fasthttp server replaying kiln's response (headers too)
//     from memory.
//
// It checks that all three send byte-identical bodies for every encoding,
// then for each encoding runs wrk against each server in turn, rotating
// the order every round so drift in the machine's load falls on all, and
// reports per server the median requests/s (with min and max), the median
// p50/p99 latency and CPU time per request, and the ratios kiln/nginx and
// kiln/bare. With -json it also writes every number to a file. With
// -baseline REV, kiln built from that revision of the repository serves
// the same site from its own store, and kiln/baseline is reported too: the
// hit path's throughput against an earlier commit, in the same run.
//
// With -pin (the default, on 2+ CPUs) the three servers share CPU 0 and
// wrk gets CPU 1; with -pin=false everything shares every CPU. Kiln and
// bare get the same GOMAXPROCS: -gomaxprocs, or by default the number of
// CPUs the servers may use. Only 127.0.0.1 is used; every process started
// is stopped on exit.
//
//	go run ./engine/internal/bench/hits -runs 3 -duration 10s
//	go run ./engine/internal/bench/hits -pin=false -json hits.json
//	go run ./engine/internal/bench/hits -config site.hcl -path /posts/hello-world
//
// A relative -config is read from the current directory, else from the
// module root; the site's own relative paths resolve against the config
// file's directory, as `kiln serve` does.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"
)

// options are the command-line flags.
type options struct {
	runs           int
	duration       time.Duration
	warmup         time.Duration
	threads        int
	conns          int
	gomaxprocs     int
	pin            bool
	config         string
	path           string
	encodings      []string
	size           int
	keep           bool
	bareKiln       bool
	noNginx        bool
	nginxFileCache bool
	json           string
	baseline       string // a git revision whose kiln serves too, as "baseline"
}

func main() {
	var o options
	var encodings string
	flag.IntVar(&o.runs, "runs", 3, "wrk runs per server and encoding (the median is reported)")
	flag.DurationVar(&o.duration, "duration", 10*time.Second, "length of each wrk run (whole seconds)")
	flag.DurationVar(&o.warmup, "warmup", 2*time.Second, "untimed wrk run against each server first, per encoding")
	flag.IntVar(&o.threads, "threads", 1, "wrk threads")
	flag.IntVar(&o.conns, "conns", 32, "wrk connections")
	flag.IntVar(&o.gomaxprocs, "gomaxprocs", 0, "GOMAXPROCS of kiln and bare (0: the number of CPUs the servers may use)")
	flag.BoolVar(&o.pin, "pin", true, "pin the servers to CPU 0 and wrk to CPU 1 with taskset (when there are 2+ CPUs); false: all share every CPU")
	flag.StringVar(&o.config, "config", "", "serve this site.hcl instead of the built-in test site (then set -path)")
	flag.StringVar(&o.path, "path", "/p/a", "the stored page to request")
	flag.StringVar(&encodings, "encodings", "identity,gzip", "comma-separated encodings to measure, each a wrk Accept-Encoding (identity sends none)")
	flag.IntVar(&o.size, "size", 200, "test site page size, in repetitions of \"lorem ipsum \"")
	flag.BoolVar(&o.keep, "keep", false, "keep the work directory")
	flag.BoolVar(&o.bareKiln, "bare-kiln-settings", false, "give bare the timeouts and buffer sizes of Kiln's server")
	flag.BoolVar(&o.noNginx, "no-nginx", false, "leave nginx out (kiln and bare only)")
	flag.BoolVar(&o.nginxFileCache, "nginx-open-file-cache", true, "let nginx keep the page's file open (open_file_cache) instead of open/fstat/close per request")
	flag.StringVar(&o.json, "json", "", "also write the results to this `file` as JSON")
	flag.StringVar(&o.baseline, "baseline", "", "also serve the same site with kiln built from this git `revision` (its own store), as \"baseline\"")
	flag.Parse()
	var err error
	if o.encodings, err = parseEncodings(encodings); err != nil {
		fmt.Fprintln(os.Stderr, "hits:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err = run(ctx, o)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "hits:", err)
		os.Exit(1)
	}
}

// parseEncodings reads -encodings: identity and gzip, each once, in the
// order given.
func parseEncodings(s string) ([]string, error) {
	var out []string
	for e := range strings.SplitSeq(s, ",") {
		e = strings.ToLower(strings.TrimSpace(e))
		switch e {
		case "":
			continue
		case "identity", "gzip":
		default:
			return nil, fmt.Errorf("-encodings: %q is not identity or gzip (nginx serves no other stored variant)", e)
		}
		for _, seen := range out {
			if seen == e {
				return nil, fmt.Errorf("-encodings: %s twice", e)
			}
		}
		out = append(out, e)
	}
	if len(out) == 0 {
		return nil, errors.New("-encodings: none given")
	}
	return out, nil
}

// acceptEncoding is the Accept-Encoding header a request for enc carries;
// "" for identity (none sent).
func acceptEncoding(enc string) string {
	if enc == "identity" {
		return ""
	}
	return enc
}

func run(ctx context.Context, o options) error {
	root, err := moduleRoot()
	if err != nil {
		return err
	}
	if o.config != "" {
		if o.config, err = findConfig(o.config, root); err != nil {
			return err
		}
	}
	work, err := os.MkdirTemp("", "kiln-bench-hits")
	if err != nil {
		return err
	}
	if o.keep {
		fmt.Println("work directory:", work)
	} else {
		defer os.RemoveAll(work)
	}
	l := &lab{o: o, root: root, work: work, bodyLen: map[string]int{}}
	defer l.stopAll()
	if err := l.setUp(ctx); err != nil {
		return err
	}
	res, err := l.measure(ctx)
	if err != nil {
		return err
	}
	rep := l.summarize(res)
	rep.print(os.Stdout)
	if o.json != "" {
		if err := rep.write(o.json); err != nil {
			return err
		}
		fmt.Println("\nwrote", o.json)
	}
	return nil
}

// findConfig makes -config absolute: as given from the current directory
// if it is there, else from the module root (so `-config site.hcl` works
// from anywhere in the module).
func findConfig(cfg, root string) (string, error) {
	cands := []string{cfg}
	if !filepath.IsAbs(cfg) {
		cands = append(cands, filepath.Join(root, cfg))
	}
	for _, c := range cands {
		if st, err := os.Stat(c); err == nil && !st.IsDir() {
			return filepath.Abs(c)
		}
	}
	return "", fmt.Errorf("-config %s: not found in the current directory nor in %s", cfg, root)
}

// lab is one benchmark session: its binaries, its processes, its targets.
type lab struct {
	o          options
	root, work string
	kiln, bare string // binaries
	base       string // kiln built from -baseline, if set
	procs      []*proc
	targets    []target
	bodyLen    map[string]int // per encoding
	nginxVer   string
	nginxConf  string
	wrkCPU     string
	serverCPU  string
	gomaxprocs int
}

// target is one server under load: its URL, its Prometheus endpoint if
// it has one, and its process group (the server's pid).
type target struct {
	name, url, metrics string
	pgid               int
}

func (l *lab) setUp(ctx context.Context) error {
	l.kiln = filepath.Join(l.work, "kiln")
	l.bare = filepath.Join(l.work, "bare")
	fmt.Println("building kiln and bare...")
	if err := goBuild(ctx, l.root, l.kiln, "./engine"); err != nil {
		return err
	}
	if err := goBuild(ctx, l.root, l.bare, "./engine/internal/bench/bare"); err != nil {
		return err
	}
	if l.o.baseline != "" {
		l.base = filepath.Join(l.work, "kiln-baseline")
		fmt.Println("building kiln at", l.o.baseline, "...")
		if err := buildAt(ctx, l.root, l.o.baseline, filepath.Join(l.work, "baseline-src"), l.base); err != nil {
			return err
		}
	}
	l.serverCPU, l.wrkCPU = cpuPlan(l.o.pin)
	l.gomaxprocs = l.o.gomaxprocs
	if l.gomaxprocs <= 0 {
		l.gomaxprocs = runtime.NumCPU()
		if l.serverCPU != "" {
			l.gomaxprocs = 1 // cpuPlan gives the servers one CPU
		}
	}
	kilnURL, err := l.startKiln(ctx)
	if err != nil {
		return err
	}
	l.targets = append(l.targets, target{"kiln", kilnURL, strings.TrimSuffix(kilnURL, l.o.path) + "/metrics", l.procs[0].cmd.Process.Pid})
	if !l.o.noNginx {
		nginxURL, err := l.startNginx(ctx, kilnURL)
		if err != nil {
			return err
		}
		l.targets = append(l.targets, target{"nginx", nginxURL, "", l.procs[len(l.procs)-1].cmd.Process.Pid})
	}
	if l.base != "" {
		baseURL, err := l.startKilnAs(ctx, "baseline", l.base)
		if err != nil {
			return err
		}
		l.targets = append(l.targets, target{"baseline", baseURL, "", l.procs[len(l.procs)-1].cmd.Process.Pid})
	}
	bareURL, err := l.startBare(ctx, kilnURL)
	if err != nil {
		return err
	}
	l.targets = append(l.targets, target{"bare", bareURL, "", l.procs[len(l.procs)-1].cmd.Process.Pid})
	for _, enc := range l.o.encodings {
		for _, t := range l.targets[1:] {
			n, err := sameResponse(kilnURL, t, acceptEncoding(enc))
			if err != nil {
				return fmt.Errorf("%s, %s: %w", t.name, enc, err)
			}
			l.bodyLen[enc] = n
		}
	}
	return nil
}

func (l *lab) stopAll() {
	for i := len(l.procs) - 1; i >= 0; i-- {
		l.procs[i].stop()
	}
}
