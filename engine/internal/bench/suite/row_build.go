package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// rowBuild is row 6: `kiln build` of each c.builds post count, every
// post prerendered, on a fresh store each run, its wall time and peak
// memory from /usr/bin/time -v.
func rowBuild(ctx context.Context, l *lab, c config) *row {
	r := &row{Title: "Builds", How: fmt.Sprintf("`kiln build` of the kv blog with PRERENDER=all (every post, the home page and "+
		"the not-found page), %d run(s) per size, each on a fresh store, under `/usr/bin/time -v`: its wall clock and "+
		"its maximum resident set size (kiln's own; the kv plugin is a separate process, sampled from /proc every 100 ms, "+
		"and so is the sum of both). Pages/s is the pages the engine reports over the wall time, which includes opening "+
		"the store, starting the plugin and loading the renderers; the CPU time per page (from the same report: kiln and the "+
		"plugin it waits for) depends less on what else the machine runs. The renderers are compiled to wasm (`go build`) and "+
		"by wazero once, in an untimed warm-up build; each fresh store gets a copy of that build directory and compile "+
		"cache, so the runs time the prerender, not the compilers. The posts are imported into the kv plugin beforehand.",
		c.runs)}
	warm, err := l.warmRenderers(ctx)
	if err != nil {
		r.Err = err
		return r
	}
	wallAt, engineAt := map[int]float64{}, map[int]float64{}
	rssAt := map[int]float64{}
	for _, n := range c.builds {
		s, err := l.newSite(ctx, fmt.Sprintf("build-%d", n), siteOptions{Posts: n, Prerender: "all"})
		if err != nil {
			r.Err = err
			return r
		}
		var wall, rate, cpu, rss, plugin, total, engine, outside []float64
		var last buildRun
		for i := range c.runs {
			b, err := l.timedBuild(ctx, s, warm)
			if err != nil {
				r.Err = err
				return r
			}
			if b.pages < n {
				r.Err = fmt.Errorf("build of %d posts built only %d pages: %s", n, b.pages, b.line)
				return r
			}
			l.logf("build %d posts, run %d: %s wall, %.0f MB peak RSS (plugin %.0f MB): %s", n, i+1,
				b.wall.Round(time.Millisecond), mb(b.maxRSS), mb(b.pluginPeak), b.line)
			wall = append(wall, b.wall.Seconds())
			rate = append(rate, float64(b.pages)/b.wall.Seconds())
			cpu = append(cpu, ms(b.cpu)/float64(b.pages))
			rss = append(rss, mb(b.maxRSS))
			plugin = append(plugin, mb(b.pluginPeak))
			total = append(total, mb(b.treePeak))
			engine = append(engine, b.engine.Seconds())
			outside = append(outside, (b.wall - b.engine).Seconds())
			last = b
		}
		name := commas(int64(n)) + " posts"
		wallAt[n] = r.measure(name+": wall time", "s", wall).Median
		engineAt[n] = r.measure(name+": engine's own prerender time", "s", engine).Median
		r.measure(name+": outside the prerender (wall − engine time: start-up, shutdown)", "s", outside)
		r.measure(name+": pages/s (over wall time)", "pages/s", rate)
		r.measure(name+": CPU time per page (kiln and plugin, user + system, start-up included)", "ms", cpu)
		rssAt[n] = r.measure(name+": kiln peak RSS", "MB", rss).Median
		r.measure(name+": kv plugin peak RSS (sampled)", "MB", plugin)
		r.measure(name+": kiln + plugin peak RSS (sampled)", "MB", total)
		r.note("%s posts, last run, the engine's line: `%s`", commas(int64(n)), last.line)
		if n == c.scale {
			setBigSite(l, s, last.line) // rows 7 and 9 serve this store
		}
	}
	if n := cBuildSize(c.builds); n > 0 {
		if err := buildC(ctx, l, r, c, n); err != nil {
			r.Err = err
			return r
		}
	}
	judged := false
	for _, t := range []struct {
		n    int
		secs float64
	}{{10000, 5}, {100000, 60}} {
		w, ok := wallAt[t.n]
		if !ok {
			continue
		}
		judged = true
		r.target(fmt.Sprintf("%s posts built in ≤ %.0f s", commas(int64(t.n)), t.secs), num(w, "s"), w <= t.secs,
			fmt.Sprintf("%s pages/s over the wall time; the prerender itself took %s, %s pages/s, the rest is start-up "+
				"(opening the store, starting the plugin, loading the renderers).",
				num(float64(t.n)/w, ""), num(engineAt[t.n], "s"), num(float64(t.n)/engineAt[t.n], "")))
	}
	if m, ok := rssAt[100000]; ok {
		r.target("100,000 posts: peak RSS < 1 GB", num(m, "MB"), m < 1000, fmt.Sprintf("kiln's maximum resident set "+
			"size during the build; at %s posts it was %s.", commas(int64(c.builds[0])), num(rssAt[c.builds[0]], "MB")))
	}
	if !judged {
		r.note("The targets (10,000 posts in ≤ 5 s, 100,000 in ≤ 60 s, 100,000 under 1 GB) cannot be judged at these sizes (%s).",
			sizes(c.builds))
	}
	return r
}

// cBuildSize is the post count of the C build: 10,000, or the largest
// build size under it.
func cBuildSize(builds []int) int {
	n := 0
	for _, b := range builds {
		if b <= 10000 {
			n = max(n, b)
		}
	}
	return n
}

// buildC times `kiln build` of n posts with the C post renderer (its own
// warm-up build compiles it with clang and wazero first): the same site as
// the Go builds but for the post pages' renderer.
func buildC(ctx context.Context, l *lab, r *row, c config, n int) error {
	warm, err := l.newSite(ctx, "warm-c", siteOptions{Posts: 200, Prerender: "all", CPost: true})
	if err != nil {
		return err
	}
	l.logf("warm-up build: compiling the C post renderer")
	if _, err := l.kilnCmd(ctx, "build", "--config", warm.config); err != nil {
		return err
	}
	s, err := l.newSite(ctx, fmt.Sprintf("build-c-%d", n), siteOptions{Posts: n, Prerender: "all", CPost: true})
	if err != nil {
		return err
	}
	var wall, cpu, rss []float64
	var last buildRun
	for i := range c.runs {
		b, err := l.timedBuild(ctx, s, warm.store)
		if err != nil {
			return err
		}
		if b.pages < n {
			return fmt.Errorf("the C build of %d posts built only %d pages: %s", n, b.pages, b.line)
		}
		l.logf("C build %d posts, run %d: %s wall, %.0f MB peak RSS: %s", n, i+1, b.wall.Round(time.Millisecond), mb(b.maxRSS), b.line)
		wall = append(wall, b.wall.Seconds())
		cpu = append(cpu, ms(b.cpu)/float64(b.pages))
		rss = append(rss, mb(b.maxRSS))
		last = b
	}
	name := commas(int64(n)) + " posts, C post renderer"
	r.measure(name+": wall time", "s", wall)
	r.measure(name+": CPU time per page (kiln and plugin, user + system, start-up included)", "ms", cpu)
	r.measure(name+": kiln peak RSS", "MB", rss)
	r.note("%s, last run, the engine's line: `%s`. The same site and posts as the Go build of that size; only the "+
		"post pages' renderer differs (renderers/post-c, whose paths export reads PRERENDER as the Go one does).", name, last.line)
	return nil
}

func sizes(ns []int) string {
	s := make([]string, len(ns))
	for i, n := range ns {
		s[i] = commas(int64(n))
	}
	return strings.Join(s, " and ")
}

// mb is bytes in decimal megabytes.
func mb(b int64) float64 { return float64(b) / 1e6 }

// buildCache is what the build and scale rows share within one lab.
type buildCache struct {
	mu       sync.Mutex
	warm     string // a store holding compiled renderers and wazero's cache
	warmErr  error
	big      *site // the c.scale-post site, built with every post
	bigSize  int
	bigLine  string // the engine's line of the build that made it
	bigErr   error
	bigTried bool
}

var buildCaches sync.Map // *lab -> *buildCache

func buildCacheOf(l *lab) *buildCache {
	v, _ := buildCaches.LoadOrStore(l, &buildCache{})
	return v.(*buildCache)
}

// warmRenderers builds a small site once, so its store holds the
// renderers' wasm (store/build) and wazero's compile cache
// (store/wazero), and returns that store; seedStore copies them.
func (l *lab) warmRenderers(ctx context.Context) (string, error) {
	bc := buildCacheOf(l)
	bc.mu.Lock()
	defer bc.mu.Unlock()
	if bc.warm != "" || bc.warmErr != nil {
		return bc.warm, bc.warmErr
	}
	bc.warmErr = func() error {
		s, err := l.newSite(ctx, "warm", siteOptions{Posts: 200})
		if err != nil {
			return err
		}
		l.logf("warm-up build: compiling the renderers")
		if _, err := l.kilnCmd(ctx, "build", "--config", s.config); err != nil {
			return err
		}
		for _, d := range []string{"build", "wazero"} {
			if _, err := os.Stat(filepath.Join(s.store, d)); err != nil {
				return fmt.Errorf("warm-up build left no %s: %w", d, err)
			}
		}
		bc.warm = s.store
		return nil
	}()
	return bc.warm, bc.warmErr
}

// seedStore makes store an empty store holding only the compiled
// renderers and compile cache of the warm store.
func seedStore(warm, store string) error {
	if err := os.RemoveAll(store); err != nil {
		return err
	}
	if err := os.MkdirAll(store, 0o755); err != nil {
		return err
	}
	for _, d := range []string{"build", "wazero"} {
		if b, err := exec.Command("cp", "-a", filepath.Join(warm, d), filepath.Join(store, d)).CombinedOutput(); err != nil {
			return fmt.Errorf("cp %s: %v: %s", d, err, b)
		}
	}
	return nil
}

// buildRun is one timed `kiln build`.
type buildRun struct {
	wall       time.Duration
	cpu        time.Duration // kiln's and the plugin's, from /usr/bin/time
	maxRSS     int64         // kiln's, from /usr/bin/time
	pluginPeak int64         // the kv plugin's, sampled
	treePeak   int64         // kiln and the plugin, sampled
	pages      int
	engine     time.Duration // the engine's own "built N pages in S"
	line       string
}

// timedBuild runs `kiln build` of s under /usr/bin/time -v on a store
// seeded from warm.
func (l *lab) timedBuild(ctx context.Context, s *site, warm string) (buildRun, error) {
	if err := seedStore(warm, s.store); err != nil {
		return buildRun{}, err
	}
	tf := filepath.Join(s.dir, "time.txt")
	cmd := exec.CommandContext(ctx, "/usr/bin/time", "-v", "-o", tf, l.kiln, "build", "--config", s.config)
	cmd.Dir = l.work
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		return buildRun{}, fmt.Errorf("/usr/bin/time: %w", err)
	}
	smp := sampleRSS(cmd.Process.Pid, 100*time.Millisecond)
	err := cmd.Wait()
	samples := smp.stop()
	if err != nil {
		return buildRun{}, fmt.Errorf("kiln build: %v\n%s", err, lastLines(stderr.String(), 20))
	}
	tb, err := os.ReadFile(tf)
	if err != nil {
		return buildRun{}, err
	}
	tv, err := parseTimeV(tb)
	if err != nil {
		return buildRun{}, err
	}
	b := buildRun{wall: tv.wall, cpu: tv.cpu, maxRSS: tv.maxRSS}
	for _, x := range samples {
		b.pluginPeak = max(b.pluginPeak, x.plugin)
		b.treePeak = max(b.treePeak, x.kiln+x.plugin)
	}
	b.line, b.pages, b.engine, err = parseBuilt(stdout.Bytes())
	return b, err
}

// timeV is what the suite reads of GNU time's -v report.
type timeV struct {
	wall   time.Duration
	cpu    time.Duration // user + system, the process and the children it waited for
	maxRSS int64         // bytes
}

// parseTimeV reads "Elapsed (wall clock) time", "Maximum resident set
// size" and the user and system times from GNU time -v.
func parseTimeV(b []byte) (timeV, error) {
	var t timeV
	var haveWall, haveRSS bool
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		k, v, ok := strings.Cut(strings.TrimSpace(sc.Text()), ": ")
		if !ok {
			continue
		}
		v = strings.TrimSpace(v)
		switch {
		case strings.HasPrefix(k, "Elapsed (wall clock) time"):
			d, err := parseClock(v)
			if err != nil {
				return t, err
			}
			t.wall, haveWall = d, true
		case k == "User time (seconds)" || k == "System time (seconds)":
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				return t, fmt.Errorf("time -v: %s %q", k, v)
			}
			t.cpu += time.Duration(math.Round(f * float64(time.Second)))
		case k == "Maximum resident set size (kbytes)":
			kb, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				return t, fmt.Errorf("time -v: maximum resident set size %q", v)
			}
			t.maxRSS, haveRSS = kb<<10, true
		}
	}
	if !haveWall || !haveRSS {
		return t, fmt.Errorf("time -v: no wall clock or maximum resident set size in:\n%s", b)
	}
	return t, nil
}

// parseClock reads GNU time's elapsed time: m:ss.cc or h:mm:ss.
func parseClock(s string) (time.Duration, error) {
	parts := strings.Split(s, ":")
	if len(parts) < 2 || len(parts) > 3 {
		return 0, fmt.Errorf("time -v: elapsed time %q", s)
	}
	var d time.Duration
	for i, p := range parts {
		unit := time.Minute
		if len(parts) == 3 && i == 0 {
			unit = time.Hour
		}
		if i == len(parts)-1 {
			f, err := strconv.ParseFloat(p, 64)
			if err != nil {
				return 0, fmt.Errorf("time -v: elapsed time %q", s)
			}
			d += time.Duration(math.Round(f * float64(time.Second)))
			continue
		}
		n, err := strconv.Atoi(p)
		if err != nil {
			return 0, fmt.Errorf("time -v: elapsed time %q", s)
		}
		d += time.Duration(n) * unit
	}
	return d, nil
}

var builtLine = regexp.MustCompile(`(?m)^built (\d+) pages in ([0-9.]+)s .*$`)

// parseBuilt finds the engine's "built N pages in S" line.
func parseBuilt(stdout []byte) (line string, pages int, engine time.Duration, err error) {
	m := builtLine.FindSubmatch(stdout)
	if m == nil {
		return "", 0, 0, fmt.Errorf("kiln build printed no \"built N pages\" line:\n%s", lastLines(string(stdout), 10))
	}
	pages, _ = strconv.Atoi(string(m[1]))
	secs, _ := strconv.ParseFloat(string(m[2]), 64)
	return string(m[0]), pages, time.Duration(math.Round(secs * float64(time.Second))), nil
}

// rssSample is the resident memory of kiln and of its plugin processes
// at one moment.
type rssSample struct {
	at           time.Duration // since sampling started
	kiln, plugin int64
}

// rssSampler samples a process tree's kiln processes until stopped.
type rssSampler struct {
	root    int
	samples []rssSample
	quit    chan struct{}
	done    chan struct{}
}

// sampleRSS samples the kiln processes at or under root every period
// (and once at once): `kiln plugin NAME` processes count as the plugin,
// other kiln processes as kiln; anything else (/usr/bin/time) is not
// counted.
func sampleRSS(root int, every time.Duration) *rssSampler {
	s := &rssSampler{root: root, quit: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(s.done)
		start := time.Now()
		var pids []int
		var listed time.Time
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			if time.Since(listed) >= time.Second || len(pids) < 2 {
				pids, listed = treeOf(root), time.Now()
			}
			x := rssSample{at: time.Since(start)}
			for _, pid := range pids {
				plugin, isKiln := kilnRole(pid)
				if !isKiln {
					continue
				}
				rss, err := rssOf(pid)
				if err != nil {
					continue
				}
				if plugin {
					x.plugin += rss
				} else {
					x.kiln += rss
				}
			}
			s.samples = append(s.samples, x)
			select {
			case <-s.quit:
				return
			case <-t.C:
			}
		}
	}()
	return s
}

func (s *rssSampler) stop() []rssSample {
	close(s.quit)
	<-s.done
	return s.samples
}

// kilnRole tells whether pid runs the kiln binary and whether it is a
// plugin (`kiln plugin NAME`).
func kilnRole(pid int) (plugin, isKiln bool) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil {
		return false, false
	}
	args := strings.Split(strings.TrimRight(string(b), "\x00"), "\x00")
	if filepath.Base(args[0]) != "kiln" {
		return false, false
	}
	return len(args) > 1 && args[1] == "plugin", true
}

// treeOf is root and its descendants, from /proc/*/stat.
func treeOf(root int) []int {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return []int{root}
	}
	children := map[int][]int{}
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		ppid, err := ppidOf(pid)
		if err != nil {
			continue
		}
		children[ppid] = append(children[ppid], pid)
	}
	out := []int{root}
	for i := 0; i < len(out); i++ {
		out = append(out, children[out[i]]...)
	}
	return out
}

func ppidOf(pid int) (int, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// pid (comm) state ppid ...; comm may hold spaces and parentheses.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, errors.New("bad stat")
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 2 {
		return 0, errors.New("bad stat")
	}
	return strconv.Atoi(f[1])
}
