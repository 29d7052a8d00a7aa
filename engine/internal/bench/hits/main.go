// Command hits measures Kiln's hit path under load against a bare
// fasthttp server serving the same bytes, run on purpose (`task bench`),
// never as a test.
//
// It builds kiln and bench/bare, serves a small site with one stored page
// (the server tests' testdata/page renderer, or -config), starts bare
// replaying that page's exact response, then runs wrk against each in
// turn, alternating, and reports the median requests/s and p50/p99
// latency of each and the ratio kiln/bare. Both servers get the same
// GOMAXPROCS and CPU; wrk gets the other CPU when there are two. Only
// 127.0.0.1 is used; every process started is stopped on exit.
//
//	go run ./engine/internal/bench/hits -runs 3 -duration 10s
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// options are the command-line flags.
type options struct {
	runs       int
	duration   time.Duration
	warmup     time.Duration
	threads    int
	conns      int
	gomaxprocs int
	pin        bool
	config     string
	path       string
	encoding   string
	size       int
	keep       bool
	bareKiln   bool
}

func main() {
	var o options
	flag.IntVar(&o.runs, "runs", 3, "wrk runs per server (the median is reported)")
	flag.DurationVar(&o.duration, "duration", 10*time.Second, "length of each wrk run")
	flag.DurationVar(&o.warmup, "warmup", 2*time.Second, "untimed wrk run against each server first")
	flag.IntVar(&o.threads, "threads", 1, "wrk threads")
	flag.IntVar(&o.conns, "conns", 32, "wrk connections")
	flag.IntVar(&o.gomaxprocs, "gomaxprocs", 1, "GOMAXPROCS of both servers")
	flag.BoolVar(&o.pin, "pin", true, "pin the servers to CPU 0 and wrk to CPU 1 with taskset (when there are 2+ CPUs)")
	flag.StringVar(&o.config, "config", "", "serve this site.hcl instead of the built-in test site (then set -path)")
	flag.StringVar(&o.path, "path", "/p/a", "the stored page to request")
	flag.StringVar(&o.encoding, "accept-encoding", "", "Accept-Encoding to send (\"\", gzip, br)")
	flag.IntVar(&o.size, "size", 200, "test site page size, in repetitions of \"lorem ipsum \"")
	flag.BoolVar(&o.keep, "keep", false, "keep the work directory")
	flag.BoolVar(&o.bareKiln, "bare-kiln-settings", false, "give bare the timeouts and buffer sizes of Kiln's server")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, o)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "hits:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, o options) error {
	root, err := moduleRoot()
	if err != nil {
		return err
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
	l := &lab{o: o, root: root, work: work}
	defer l.stopAll()
	if err := l.setUp(ctx); err != nil {
		return err
	}
	res, err := l.measure(ctx)
	if err != nil {
		return err
	}
	l.report(res)
	return nil
}

// lab is one benchmark session: its binaries, its processes, its targets.
type lab struct {
	o          options
	root, work string
	kiln, bare string // binaries
	procs      []*proc
	targets    []target
	bodyLen    int
	wrkCPU     string
	serverCPU  string
}

// target is one server under load: its URL, its Prometheus endpoint if
// it has one, and its process id.
type target struct {
	name, url, metrics string
	pid                int
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
	l.serverCPU, l.wrkCPU = cpuPlan(l.o.pin)
	kilnURL, err := l.startKiln(ctx)
	if err != nil {
		return err
	}
	bareURL, err := l.startBare(ctx, kilnURL)
	if err != nil {
		return err
	}
	l.targets = []target{
		{"kiln", kilnURL, strings.TrimSuffix(kilnURL, l.o.path) + "/metrics", l.procs[0].cmd.Process.Pid},
		{"bare", bareURL, "", l.procs[1].cmd.Process.Pid},
	}
	n, err := sameResponse(kilnURL, bareURL, l.o.encoding)
	l.bodyLen = n
	return err
}

func (l *lab) stopAll() {
	for i := len(l.procs) - 1; i >= 0; i-- {
		l.procs[i].stop()
	}
}
