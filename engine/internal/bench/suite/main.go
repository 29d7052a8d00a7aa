// Command suite is Kiln's benchmark suite: it measures the rows of the
// performance issue (hits against nginx and a bare fasthttp server, hit
// path allocations, blocking first renders, on-demand revalidation,
// event to fresh page, builds of 2,000 to 100,000 posts, 100,000 stored
// pages, a mixed load, the home page over 100,000 posts, cluster mode on
// three NATS servers) and writes one
// Markdown report with the machine's facts, the medians with min and max,
// and which targets were met. It is run on purpose, never as a test:
//
//	go tool task bench                       # all rows, writes BENCHMARKS.md
//	go run ./engine/internal/bench/suite -rows 3,4 -runs 3 -out /tmp/b.md
//	go run ./engine/internal/bench/suite -quick   # smaller sizes, shorter loads
//
// It needs wrk, nginx and clang (Debian packages wrk, nginx-light, clang,
// lld, wasi-libc, libclang-rt-14-dev-wasm32) and /usr/bin/time.
// Everything runs on 127.0.0.1 in a temporary directory; every process it
// starts is stopped when it ends.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// config is what the flags set for every row.
type config struct {
	runs   int           // runs per measure; the median is reported
	quick  bool          // smaller sizes and shorter loads, for trying the suite
	mixed  time.Duration // length of the mixed load
	builds []int         // post counts of the build row
	scale  int           // stored pages for the scale row and the home page row
	zipf   [2]int        // stored pages of row 7's Zipf comparison, smaller first
	// baseline is a git revision whose kiln row 1 serves too, for the
	// hit path's throughput against an earlier commit.
	baseline string
}

// rowFuncs measure the rows, by number.
var rowFuncs = map[int]func(ctx context.Context, l *lab, c config) *row{
	1:  rowHits,
	2:  rowAllocs,
	3:  rowFirstRender,
	4:  rowRevalidate,
	5:  rowEventToFresh,
	6:  rowBuild,
	7:  rowScale,
	8:  rowMixed,
	9:  rowHome,
	10: rowCluster,
}

func main() {
	var (
		out   = flag.String("out", "", "write the report here (default: BENCHMARKS.md at the module root)")
		runs  = flag.Int("runs", 3, "runs per measure (the median is reported)")
		rows  = flag.String("rows", "1,2,3,4,5,6,7,8,9,10", "rows to measure, comma separated")
		quick = flag.Bool("quick", false, "smaller sizes (builds of 200 and 2,000 posts, 10,000 stored pages) and a 10 s mixed load")
		keep  = flag.Bool("keep", false, "keep the work directory")
		base  = flag.String("baseline", "", "row 1 also measures kiln built from this git `revision`")
		bsize = flag.String("builds", "", "row 6's post counts, comma separated (default 2000,10000,100000; 200,2000 with -quick)")
		zsize = flag.String("zipf", "", "row 7's Zipf comparison: two stored page counts, comma separated (default 1000,50000; 200,5000 with -quick)")
	)
	flag.Parse()
	c := config{runs: *runs, quick: *quick, mixed: 60 * time.Second, builds: []int{2000, 10000, 100000}, scale: 100000, zipf: [2]int{1000, 50000}, baseline: *base}
	if c.quick {
		c.mixed, c.builds, c.scale, c.zipf = 10*time.Second, []int{200, 2000}, 10000, [2]int{200, 5000}
	}
	nums, err := parseRows(*rows)
	if err == nil && *bsize != "" {
		c.builds, err = parseBuilds(*bsize)
	}
	if err == nil && *zsize != "" {
		c.zipf, err = parseZipf(*zsize)
	}
	if err == nil && c.runs < 1 {
		err = errors.New("-runs must be at least 1")
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "suite:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err = run(ctx, c, nums, *out, *keep)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "suite:", err)
		os.Exit(1)
	}
}

// parseBuilds reads -builds: post counts from 1 to 1,000,000.
func parseBuilds(s string) ([]int, error) {
	var ns []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 || n > 1000000 {
			return nil, fmt.Errorf("-builds: %q is not a post count (1 to 1,000,000)", f)
		}
		ns = append(ns, n)
	}
	return ns, nil
}

// parseZipf reads -zipf: two post counts, the smaller first.
func parseZipf(s string) ([2]int, error) {
	ns, err := parseBuilds(s)
	if err != nil || len(ns) != 2 || ns[0] >= ns[1] {
		return [2]int{}, fmt.Errorf("-zipf: %q is not two post counts, the smaller first", s)
	}
	return [2]int{ns[0], ns[1]}, nil
}

func parseRows(s string) ([]int, error) {
	var nums []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || rowFuncs[n] == nil {
			return nil, fmt.Errorf("-rows: %q is not a row (1 to %d)", f, len(rowFuncs))
		}
		if !slices.Contains(nums, n) {
			nums = append(nums, n)
		}
	}
	slices.Sort(nums)
	return nums, nil
}

func run(ctx context.Context, c config, nums []int, out string, keep bool) error {
	rep := &report{Started: time.Now(), Machine: machine(), Command: "go tool task bench"}
	if c.quick || len(nums) < len(rowFuncs) || c.runs != 3 {
		rep.Command = "go run ./engine/internal/bench/suite " + strings.Join(os.Args[1:], " ")
	}
	l, err := newLab(ctx, os.Stderr)
	if err != nil {
		return err
	}
	defer l.close(keep)
	if out == "" {
		out = filepath.Join(l.root, "BENCHMARKS.md")
	}
	for _, n := range nums {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		l.logf("row %d", n)
		start := time.Now()
		r := rowFuncs[n](ctx, l, c)
		r.Num = n
		if r.Err != nil {
			l.logf("row %d failed: %v", n, r.Err)
		}
		l.logf("row %d done in %s", n, time.Since(start).Round(time.Second))
		rep.Rows = append(rep.Rows, r)
		l.stopAll() // no server outlives its row
	}
	rep.Elapsed = time.Since(rep.Started)
	f, err := os.Create(out)
	if err != nil {
		return err
	}
	rep.write(f)
	if err := f.Close(); err != nil {
		return err
	}
	l.logf("wrote %s", out)
	return nil
}
