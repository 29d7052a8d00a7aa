package isr

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/cockroachdb/datadriven"
	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/kilnhq/kiln/engine/internal/config"
	"github.com/kilnhq/kiln/engine/internal/datasource"
	"github.com/kilnhq/kiln/engine/internal/metrics"
	"github.com/kilnhq/kiln/engine/internal/render"
	"github.com/kilnhq/kiln/engine/internal/router"
	"github.com/kilnhq/kiln/engine/internal/store"
)

// The ISR cases in testdata/script run the engine on a fake clock: each
// file runs in a synctest bubble, where time only moves when every
// goroutine is blocked (`advance` sleeps, `settle` waits for the engine to
// go quiet), so background regenerations, retries and batching windows
// happen at exact times and nothing sleeps on the wall clock. The store is
// real Pebble on an in-memory file system (kept across `restart`); the
// renderer is scripted (fakeRenderer) and counts its renders.
//
// Commands (datadriven syntax, `go test -run TestScripts -rewrite`
// rewrites the expected output):
//
//	site                      the input is site.hcl (renderer "page" is added)
//	data KEY=VALUE...         set data values, without change events
//	change KEY=VALUE... [del=KEY]  set or delete values and send change events
//	render PATH OUTCOME...    how PATH's renders answer from now on: ok,
//	                          notfound, redirect=LOC, fail, hang, nostore,
//	                          status=N, revalidate=D, slow=D, gate (the next
//	                          render blocks after reading its data, until
//	                          `release PATH`)
//	reads PATH KEY...         the keys PATH's renders read
//	tags PATH TAG...          the tags PATH's renders carry
//	request PATH [bot] [ua=UA] [enc=gzip|br] [inm=ETAG] [wait] [preview] [as=NAME]
//	                          serve one request and print the answer; with
//	                          as=NAME it runs in the background (see await)
//	await NAME                print a background request's answer
//	burst PATH n=N [bot|wait] N concurrent requests; a summary of answers
//	advance D                 move the clock by D and let the engine settle
//	settle                    let the engine settle
//	step D                    step the engine's clock by D (may be negative)
//	renders                   render counts per path so far
//	revalidate [paths=(..)] [tags=(..)] [mode=stale] [as=NAME]
//	inspect PATH              the stored page's state
//	build                     prerender the build-time paths
//	restart                   close engine and store, open them again
//	crash                     the power goes: reopen on what was synced
//	commits                   the revisions committed to the sources
//	gauges                    the queue-depth and in-flight gauges now
func TestScripts(t *testing.T) {
	datadriven.Walk(t, "testdata/script", func(t *testing.T, path string) {
		synctest.Test(t, func(t *testing.T) {
			h := &harness{t: t, dir: t.TempDir(), fs: vfs.NewCrashableMem(), r: newFakeRenderer(),
				async: map[string]chan func() string{}, etags: map[string]string{}}
			defer h.close()
			datadriven.RunTest(t, path, h.run)
		})
	})
}

type harness struct {
	t     *testing.T
	dir   string
	fs    *vfs.MemFS
	r     *fakeRenderer
	clock *skewClock

	cfg *config.Site
	st  store.Store
	m   *metrics.Metrics
	// pages, when set, wraps the store the engine writes pages to.
	pages   func(store.Store) store.Pages
	leaser  Leaser    // cluster mode's; nil renders alone
	logw    io.Writer // where the engine logs; discarded when nil
	eng     *Engine
	changes chan datasource.Change
	stop    context.CancelFunc
	done    chan struct{}

	mu      sync.Mutex
	commits []string
	rev     uint64
	async   map[string]chan func() string // background commands' output
	etags   map[string]string             // ETag -> short name
}

func (h *harness) run(t *testing.T, d *datadriven.TestData) string {
	switch d.Cmd {
	case "site":
		h.site(d.Input)
		return ""
	case "data":
		h.r.set(d, false)
		return ""
	case "change":
		for _, c := range h.r.set(d, true) {
			h.mu.Lock()
			h.rev++
			c.Revision = h.rev
			h.mu.Unlock()
			h.changes <- c
		}
		return ""
	case "render":
		h.r.script(d)
		return ""
	case "reads", "tags":
		h.r.deps(d)
		return ""
	case "request":
		return h.request(d)
	case "await":
		return (<-h.async[d.CmdArgs[0].Key])()
	case "burst":
		return h.burst(d)
	case "advance":
		time.Sleep(duration(t, d.CmdArgs[0].Key))
		synctest.Wait()
		return ""
	case "settle":
		synctest.Wait()
		return ""
	case "step":
		h.clock.step(duration(t, d.CmdArgs[0].Key))
		return ""
	case "release":
		h.r.release(d.CmdArgs[0].Key)
		synctest.Wait()
		return ""
	case "renders":
		return h.r.counts()
	case "revalidate":
		return h.revalidate(d)
	case "inspect":
		return h.inspect(d.CmdArgs[0].Key)
	case "build":
		sum, err := h.eng.Build(context.Background(), BuildOptions{})
		if err != nil {
			return "error: " + err.Error()
		}
		return fmt.Sprintf("built %d, skipped %d, failed %d", sum.Pages, sum.Skipped, sum.Failed)
	case "restart":
		h.closeEngine()
		h.open()
		synctest.Wait()
		return ""
	case "crash":
		lost := h.fs.CrashClone(vfs.CrashCloneCfg{}) // what was synced, no more
		h.closeEngine()
		h.fs = lost
		h.open()
		synctest.Wait()
		return ""
	case "gauges":
		return fmt.Sprintf("queue %g, rendering %g", testutil.ToFloat64(h.m.QueueDepth), testutil.ToFloat64(h.m.InFlight))
	case "commits":
		h.mu.Lock()
		defer h.mu.Unlock()
		return strings.Join(h.commits, "\n")
	}
	t.Fatalf("unknown command %q", d.Cmd)
	return ""
}

func duration(t *testing.T, s string) time.Duration {
	d, err := time.ParseDuration(s)
	if err != nil {
		t.Fatalf("bad duration %q", s)
	}
	return d
}

// site loads a site.hcl and opens the engine on it.
func (h *harness) site(src string) {
	wasm := filepath.Join(h.dir, "page.wasm")
	if err := os.WriteFile(wasm, nil, 0o644); err != nil {
		h.t.Fatal(err)
	}
	src = "renderer \"page\" {\n  wasm = \"page.wasm\"\n}\n" + src
	cfg, err := config.Parse(filepath.Join(h.dir, "site.hcl"), []byte(src))
	if err != nil {
		h.t.Fatalf("site.hcl: %v", err)
	}
	h.cfg = cfg
	h.clock = &skewClock{}
	h.open()
}

func (h *harness) open() {
	st, err := store.Open("store", store.Options{FS: h.fs})
	if err != nil {
		h.t.Fatal(err)
	}
	routes, err := router.New(h.cfg.Routes)
	if err != nil {
		h.t.Fatal(err)
	}
	h.st = st
	logw := h.logw
	if logw == nil {
		logw = io.Discard
	}
	var pages store.Pages = st
	if h.pages != nil {
		pages = h.pages(st)
	}
	h.m = metrics.New(nil)
	h.eng = New(Options{
		Site: h.cfg, Pages: pages, Queue: st, History: st, Routes: routes, Metrics: h.m,
		Renderers: map[string]render.Renderer{"page": h.r},
		Logger:    slog.New(slog.NewTextHandler(logw, nil)), Workers: 2, Clock: h.clock,
		Leaser: h.leaser,
	})
	if err := h.eng.Start(); err != nil {
		h.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	h.changes, h.stop, h.done = make(chan datasource.Change, 1024), cancel, make(chan struct{})
	go func() {
		defer close(h.done)
		h.eng.Consume(ctx, h.changes, h)
	}()
}

func (h *harness) closeEngine() {
	if h.eng == nil {
		return
	}
	h.r.releaseAll()
	h.stop()
	<-h.done
	h.eng.Close()
	if err := h.st.Close(); err != nil {
		h.t.Fatal(err)
	}
	h.eng = nil
}

func (h *harness) close() { h.closeEngine() }

// Commit records a committed revision (the harness is the Committer).
func (h *harness) Commit(source string, rev uint64) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.commits = append(h.commits, fmt.Sprintf("%s@%d", source, rev))
	return nil
}

// skewClock is the bubble's clock plus an offset `step` changes, to step
// the engine's time back as an operator's clock change would.
type skewClock struct {
	mu     sync.Mutex
	offset time.Duration
}

func (c *skewClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.offset)
}

func (c *skewClock) NewTimer(d time.Duration) Timer { return SystemClock().NewTimer(d) }

func (c *skewClock) step(d time.Duration) {
	c.mu.Lock()
	c.offset += d
	c.mu.Unlock()
}

func (h *harness) request(d *datadriven.TestData) string {
	req := Request{Path: d.CmdArgs[0].Key}
	name := ""
	for _, a := range d.CmdArgs[1:] {
		switch a.Key {
		case "bot":
			req.UserAgent = []byte("Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)")
		case "ua": // underscores stand for spaces
			req.UserAgent = []byte(strings.ReplaceAll(a.Vals[0], "_", " "))
		case "enc":
			for _, v := range a.Vals {
				req.Accept |= map[string]Accept{"gzip": AcceptGzip, "br": AcceptBrotli}[v]
			}
		case "inm":
			req.IfNoneMatch = []byte(h.etagByName(a.Vals[0]))
		case "wait":
			req.Wait = true
		case "preview":
			req.Preview = true
		case "as":
			name = a.Vals[0]
		default:
			h.t.Fatalf("request: unknown argument %q", a.Key)
		}
	}
	if req.UserAgent == nil {
		req.UserAgent = []byte("Mozilla/5.0 (X11; Linux x86_64) Firefox/133.0")
	}
	return h.maybeAsync(name, func() func() string {
		a := h.eng.Serve(context.Background(), req)
		return func() string { return h.format(a) }
	})
}

// maybeAsync runs fn now, or with a name in the background for `await`.
func (h *harness) maybeAsync(name string, fn func() func() string) string {
	if name == "" {
		out := fn()
		synctest.Wait()
		return out()
	}
	ch := make(chan func() string, 1)
	h.async[name] = ch
	go func() { ch <- fn() }()
	synctest.Wait()
	return ""
}

// format prints an answer on one line.
func (h *harness) format(a Answer) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d %s", a.Status, a.Cache)
	b.WriteString(` cc="` + string(a.AppendCacheControl(nil)) + `"`)
	if !a.Private {
		fmt.Fprintf(&b, " age=%d", a.Age)
	}
	if a.RetryAfter > 0 {
		fmt.Fprintf(&b, " retry-after=%d", a.RetryAfter)
	}
	if a.Encoding != "" {
		b.WriteString(" enc=" + a.Encoding)
	}
	if a.ETag != "" {
		b.WriteString(" etag=" + h.etagName(a.ETag))
	}
	if a.Page != nil {
		for _, hd := range a.Page.Headers {
			if hd.Name == "Location" {
				b.WriteString(" location=" + hd.Value)
			}
		}
		body := string(a.Page.Body)
		if i := strings.Index(body, filler[:8]); i >= 0 {
			body = body[:i]
		}
		if len(body) > 60 {
			body = body[:60] + "…"
		}
		fmt.Fprintf(&b, " body=%q", body)
	}
	if a.Err != nil {
		fmt.Fprintf(&b, " err=%q", a.Err.Error())
	}
	return b.String()
}

// etagName gives ETags short stable names: E1, E1-gzip, E2-br, ...
func (h *harness) etagName(etag string) string {
	base, suffix := strings.TrimSuffix(etag, `"`), ""
	for _, s := range []string{"-gzip", "-br"} {
		if strings.HasSuffix(base, s) {
			base, suffix = strings.TrimSuffix(base, s), s
		}
	}
	name, ok := h.etags[base]
	if !ok {
		name = fmt.Sprintf("E%d", len(h.etags)+1)
		h.etags[base] = name
	}
	return name + suffix
}

func (h *harness) etagByName(name string) string {
	short, suffix, _ := strings.Cut(name, "-")
	if suffix != "" {
		suffix = "-" + suffix
	}
	for base, n := range h.etags {
		if n == short {
			return base + suffix + `"`
		}
	}
	return name
}

// burst serves n concurrent requests and summarizes their answers.
func (h *harness) burst(d *datadriven.TestData) string {
	var n int
	d.ScanArgs(h.t, "n", &n)
	req := Request{Path: d.CmdArgs[0].Key, UserAgent: []byte("Mozilla/5.0 Firefox/133.0")}
	if d.HasArg("bot") {
		req.UserAgent = []byte("Googlebot/2.1")
	}
	req.Wait = d.HasArg("wait")
	answers := make([]string, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			a := h.eng.Serve(context.Background(), req)
			body := ""
			if a.Page != nil {
				body = string(a.Page.Body)
			}
			if i := strings.Index(body, filler[:8]); i >= 0 {
				body = body[:i]
			}
			if len(body) > 40 {
				body = body[:40] + "…"
			}
			answers[i] = fmt.Sprintf("%d %s %q", a.Status, a.Cache, body)
		})
	}
	wg.Wait()
	synctest.Wait()
	count := map[string]int{}
	for _, a := range answers {
		count[a]++
	}
	var out []string
	for _, a := range slices.Sorted(maps.Keys(count)) {
		out = append(out, fmt.Sprintf("%d× %s", count[a], a))
	}
	return strings.Join(out, "\n")
}

func (h *harness) revalidate(d *datadriven.TestData) string {
	var rv Revalidation
	name := ""
	for _, a := range d.CmdArgs {
		switch a.Key {
		case "paths":
			rv.Paths = a.Vals
		case "tags":
			rv.Tags = a.Vals
		case "mode":
			rv.Mode = Mode(a.Vals[0])
		case "as":
			name = a.Vals[0]
		}
	}
	return h.maybeAsync(name, func() func() string {
		results, err := h.eng.Revalidate(context.Background(), rv)
		return func() string {
			if err != nil {
				return "error: " + err.Error()
			}
			var out []string
			for _, r := range results {
				line := r.Path + " " + r.Status
				if r.Error != "" {
					line += ": " + r.Error
				}
				out = append(out, line)
			}
			return strings.Join(out, "\n")
		}
	})
}

func (h *harness) inspect(path string) string {
	info, err := h.eng.Inspect(context.Background(), path)
	if err != nil {
		return "error: " + err.Error()
	}
	body := ""
	if p, err := h.st.Get(path); err == nil {
		body = string(p.Body)
		if i := strings.Index(body, filler[:8]); i >= 0 {
			body = body[:i]
		}
	}
	return fmt.Sprintf("%s v%d age=%d marked=%v rendering=%v retry=%v body=%q",
		info.State, info.Version, info.AgeSeconds, info.StaleMarked, info.Rendering, info.RetryAt != nil, body)
}
