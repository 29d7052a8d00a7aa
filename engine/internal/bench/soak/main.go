// Command soak is the hostile-traffic soak of issue 11, run on purpose
// (`go tool task soak`), never as a test: a real `kiln serve` of the
// example blog takes normal load on its stored pages while every flood
// of the issue runs at the same time, and the report says whether the
// stored pages kept answering, the memory stayed flat and the disk stayed
// bounded.
//
// It builds kiln, writes the example blog's site (its renderers and a copy
// of its data.json) with one more route, /b/posts/:slug (fallback
// "blocking"), starts `kiln serve` with an admin secret, and waits until
// the home page and every post are stored. Then, for -duration:
//
//   - normal load (from 127.0.0.1): -workers keep-alive clients GET the
//     stored pages in turn; every answer that is not a 200 with a body,
//     and every transport error, is an error on a stored page;
//   - a revalidation of the home page and one post every 5 s, with the
//     secret (from 127.0.0.1: the failed-auth limit is per address);
//
// and, each from an address of its own on loopback (127.0.0.2 and up):
//
//   - GETs announcing a 64 MiB Content-Length (40 connections);
//   - a unique-URL flood on both fallback routes (true and blocking);
//   - -idle idle sockets, reopened when kiln closes them;
//   - admin requests with a wrong secret;
//   - malformed requests: smuggling (CL.TE, TE.CL, double TE), CRLF and
//     bare CR in the target and headers, path traversal, bad versions,
//     garbage, huge chunk sizes and Content-Lengths;
//   - oversized headers (one 32 KiB header, 2,000 small ones);
//   - /metrics scrapes without the secret.
//
// Every second it samples kiln's RSS (/proc/PID/status, the main process)
// and the store's disk usage (allocated blocks under the store folder);
// every 10 s it scrapes /metrics with the secret for goroutines and open
// files. The report (markdown, on stdout and in -out) lists the floods'
// answers and three verdicts: 0 errors on stored pages, RSS at the end
// within 10% of its level at 1 minute (half the run when shorter than 2
// minutes), and disk growth under -disk-bound.
//
//	go run ./engine/internal/bench/soak -duration 10m -out soak.md
//	go run ./engine/internal/bench/soak -duration 45s
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// options are the command-line flags.
type options struct {
	duration  time.Duration
	workers   int
	idle      int
	diskBound int64 // bytes
	out       string
	keep      bool
}

func main() {
	var o options
	var bound int
	flag.DurationVar(&o.duration, "duration", 10*time.Minute, "length of the soak")
	flag.IntVar(&o.workers, "workers", 4, "normal-load clients (keep-alive, back to back)")
	flag.IntVar(&o.idle, "idle", 3000, "idle sockets held open")
	flag.IntVar(&bound, "disk-bound", 32, "disk growth bound of the store over the soak, MiB")
	flag.StringVar(&o.out, "out", "", "also write the report to this file")
	flag.BoolVar(&o.keep, "keep", false, "keep the work directory (site, store, kiln's log)")
	flag.Parse()
	o.diskBound = int64(bound) << 20
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, o); err != nil {
		fmt.Fprintln(os.Stderr, "soak:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, o options) error {
	if o.duration < 10*time.Second {
		return errors.New("-duration must be at least 10s")
	}
	raiseNofile()
	root, err := moduleRoot()
	if err != nil {
		return err
	}
	work, err := os.MkdirTemp("", "kiln-soak")
	if err != nil {
		return err
	}
	if o.keep {
		defer logf("work directory kept: %s", work)
	} else {
		defer os.RemoveAll(work)
	}
	bin := filepath.Join(work, "kiln")
	logf("building kiln")
	build := exec.CommandContext(ctx, "go", "build", "-o", bin, "./engine")
	build.Dir = root
	if b, err := build.CombinedOutput(); err != nil {
		return fmt.Errorf("go build ./engine: %v\n%s", err, b)
	}
	k, err := startKiln(ctx, root, work, bin)
	if err != nil {
		return err
	}
	defer k.stop()
	logf("kiln serves %s (pid %d); storing the pages", k.base, k.pid())
	if err := k.warm(ctx, 5*time.Minute); err != nil {
		return err
	}
	logf("soaking for %s", o.duration)
	res, err := soak(ctx, k, o)
	if err != nil {
		return err
	}
	rep := res.report(o)
	fmt.Print(rep)
	if o.out != "" {
		if err := os.WriteFile(o.out, []byte(rep), 0o644); err != nil {
			return err
		}
	}
	if !res.verdict(o).pass() {
		return errors.New("a verdict failed (see the report)")
	}
	return nil
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "%s  %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, args...))
}

// raiseNofile lifts the soft fd limit to the hard one: the idle sockets
// and kiln (which inherits it) need thousands.
func raiseNofile() {
	var r syscall.Rlimit
	if syscall.Getrlimit(syscall.RLIMIT_NOFILE, &r) == nil && r.Cur < r.Max {
		r.Cur = r.Max
		syscall.Setrlimit(syscall.RLIMIT_NOFILE, &r)
	}
}

func moduleRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", err
	}
	mod := strings.TrimSpace(string(out))
	if mod == "" || mod == os.DevNull {
		return "", errors.New("run the soak inside the kiln module")
	}
	return filepath.Dir(mod), nil
}
