package isr

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/kilnhq/kiln/engine/internal/config"
	"github.com/kilnhq/kiln/engine/internal/encode"
	"github.com/kilnhq/kiln/engine/internal/render"
	"github.com/kilnhq/kiln/engine/internal/router"
	"github.com/kilnhq/kiln/engine/internal/store"
)

// BuildOptions configure a prerender.
type BuildOptions struct {
	// OnlyMissing skips paths that are already stored (what `kiln serve`
	// does at start-up); `kiln build` renders every build-time path.
	OnlyMissing bool
	Workers     int                   // default: the engine's worker count
	Progress    func(total, done int) // optional; called after each page
	Paths       func(paths []string)  // optional; called once with the full list
}

// Summary is what a build did.
type Summary struct {
	Pages   int           // pages rendered and stored
	Skipped int           // already stored (OnlyMissing) or newer in the store
	Failed  int           // renders that failed
	Bytes   int64         // identity bytes stored
	Elapsed time.Duration // wall time
	Errors  []error       // the first few failures
}

// Build prerenders every route's build-time paths into the store, in
// parallel, and syncs the store once at the end (a crash mid-build leaves
// every page old or new; the build is simply run again). It never
// overwrites a page generated after the one it rendered.
//
// It is a pipeline: twice the engine's workers render and compress (a
// render waits on data reads from a plugin process, while another one
// uses the core), and this goroutine writes what they made to the store,
// many pages to a batch, while they render the next ones. A store that
// cannot write batches (store.BuildWriter) gets one Put per page from
// the workers.
func (e *Engine) Build(ctx context.Context, opts BuildOptions) (Summary, error) {
	start := e.clock.Now()
	paths, err := e.buildPaths(ctx)
	if err != nil {
		return Summary{}, err
	}
	if opts.Paths != nil {
		opts.Paths(paths)
	}
	var sum Summary
	total := len(paths)
	if opts.OnlyMissing {
		if paths, sum.Skipped, err = e.missing(paths); err != nil {
			return Summary{}, err
		}
	}
	skipped := sum.Skipped // counted as done at once
	workers := opts.Workers
	if workers <= 0 {
		workers = cap(e.sem)
	}
	bw, batched := e.pages.(store.BuildWriter)
	batched = batched && any(e.history) == any(e.pages)
	var (
		mu   sync.Mutex
		done atomic.Int64
		wg   sync.WaitGroup
		next = make(chan string)
		out  = make(chan built, buildBatchPages)
	)
	progress := func() {
		if opts.Progress != nil {
			opts.Progress(total, skipped+int(done.Add(1)))
		}
	}
	for range 2 * workers {
		wg.Go(func() {
			for p := range next {
				if batched {
					out <- e.renderBuilt(ctx, p)
					continue
				}
				e.buildOne(ctx, p, &sum, &mu)
				progress()
			}
		})
	}
	go func() {
		for _, p := range paths {
			next <- p
		}
		close(next)
		wg.Wait()
		close(out)
	}()
	var batch []built
	var size int
	for b := range out {
		batch = append(batch, b)
		if b.page != nil {
			size += len(b.page.Body) + len(b.page.Gzip) + len(b.page.Brotli)
		}
		if len(batch) >= buildBatchPages || size >= buildBatchBytes {
			e.writeBuilt(bw, batch, &sum, progress)
			batch, size = batch[:0], 0
		}
	}
	e.writeBuilt(bw, batch, &sum, progress)
	// Pages were written without waiting for the disk, one sync here:
	// a build's fsyncs, one per page, cost more than its renders.
	if err := e.pages.Sync(); err != nil {
		return sum, err
	}
	sum.Elapsed = e.clock.Now().Sub(start)
	return sum, nil
}

// A build's batch is committed at this many pages or bytes (identity and
// variants), whichever comes first: one commit's overhead over many
// pages, and a bounded amount held in memory.
const (
	buildBatchPages = 256
	buildBatchBytes = 4 << 20
)

// built is one rendered build page on its way to the store.
type built struct {
	path  string
	page  *store.Page // compressed; nil when the render failed
	err   error
	event store.Event
}

// renderBuilt renders and compresses path for a batched build.
func (e *Engine) renderBuilt(ctx context.Context, path string) built {
	route, params, _ := e.routes.Match(path)
	start := e.clock.Now()
	page, err := e.render(ctx, route, path, params, nil, render.ModeBuild)
	if err == nil && !page.Private {
		buildCompress(page)
	}
	b := built{path: path, err: err, event: event("build", start, e.clock.Now().Sub(start), page, err)}
	if err == nil {
		b.page = page
	}
	return b
}

// writeBuilt stores a batch of built pages, counts them in sum, records
// their outcomes and reports progress.
func (e *Engine) writeBuilt(bw store.BuildWriter, batch []built, sum *Summary, progress func()) {
	items := make([]store.Built, 0, len(batch))
	for _, b := range batch {
		if b.err == nil && !b.page.Private {
			items = append(items, store.Built{Page: b.page, Event: b.event})
		}
	}
	var errs []error
	var err error
	if len(items) > 0 {
		errs, err = bw.PutBuilt(items)
	}
	i := 0
	for _, b := range batch {
		stored := b.err == nil && !b.page.Private
		perr := b.err
		if stored {
			if err != nil {
				perr = err
			} else {
				perr = errs[i]
			}
			i++
		}
		switch {
		case errors.Is(perr, store.ErrNewer):
			sum.Skipped++
		case perr != nil:
			sum.Failed++
			if len(sum.Errors) < 10 {
				sum.Errors = append(sum.Errors, perr)
			}
			// A render's failure is recorded here; a failed write is
			// recorded like one, with its own history entry.
			ev := b.event
			if b.err == nil {
				ev = event(ev.Reason, ev.At, ev.Duration, b.page, perr)
			}
			e.logEvent(b.path, ev, perr, false)
			if herr := e.history.AddHistory(b.path, ev); herr != nil {
				e.log.Error("record history", "path", b.path, "err", herr)
			}
		case stored:
			sum.Pages++
			sum.Bytes += int64(len(b.page.Body))
			e.logEvent(b.path, b.event, nil, false)
		}
		progress()
	}
}

// missing returns the paths that are not stored, and how many are: from
// the store's list of paths, without reading (decoding, caching) a page,
// so a start with 50,000 stored pages fills no hot cache.
func (e *Engine) missing(paths []string) ([]string, int, error) {
	want := make(map[string]bool, len(paths))
	for _, p := range paths {
		want[p] = true
	}
	stored := 0
	err := e.pages.Paths(func(p string) bool {
		if want[p] {
			want[p] = false
			stored++
		}
		return true
	})
	if err != nil {
		return nil, 0, fmt.Errorf("stored paths: %w", err)
	}
	out := make([]string, 0, len(paths)-stored)
	for _, p := range paths {
		if want[p] {
			out = append(out, p)
		}
	}
	return out, stored, nil
}

func (e *Engine) buildOne(ctx context.Context, path string, sum *Summary, mu *sync.Mutex) {
	route, params, _ := e.routes.Match(path)
	start := e.clock.Now()
	page, err := e.render(ctx, route, path, params, nil, render.ModeBuild)
	stored := err == nil && !page.Private
	if stored {
		buildCompress(page)
		err = e.pages.Put(page, store.PutOptions{Build: true, NoSync: true})
	}
	mu.Lock()
	defer mu.Unlock()
	switch {
	case errors.Is(err, store.ErrNewer):
		sum.Skipped++
		return
	case err != nil:
		sum.Failed++
		if len(sum.Errors) < 10 {
			sum.Errors = append(sum.Errors, err)
		}
	case stored:
		sum.Pages++
		sum.Bytes += int64(len(page.Body))
	}
	if stored || err != nil {
		e.record(path, "build", start, page, err, true)
	}
}

// buildCompress computes a build page's variants: at the build's brotli
// quality, in the worker that rendered it.
func buildCompress(p *store.Page) {
	p.Gzip, p.Brotli = encode.BuildVariants(p.Body, contentType(p))
	p.Seal()
}

// buildPaths lists every route's build-time paths: the route's `paths`
// from HCL; else the pattern itself for a route without parameters; else
// its renderer's paths export (getStaticPaths is for dynamic routes).
func (e *Engine) buildPaths(ctx context.Context) ([]string, error) {
	seen := map[string]bool{}
	var out []string
	for _, route := range e.routes.Routes() {
		paths, err := e.routePaths(ctx, route)
		if err != nil {
			return nil, err
		}
		for _, raw := range paths {
			// A renderer's paths are normalized like a request's: stored
			// under any other spelling, a page could never be served.
			p, err := router.Normalize([]byte(raw))
			if err != nil {
				return nil, fmt.Errorf("route %s: build path %s: %w", route.Pattern, logPath(raw), err)
			}
			r, _, ok := e.routes.Match(p)
			if !ok || r != route {
				return nil, fmt.Errorf("route %s: build path %q does not match the route", route.Pattern, p)
			}
			if !seen[p] {
				seen[p] = true
				out = append(out, p)
			}
		}
	}
	return out, nil
}

func (e *Engine) routePaths(ctx context.Context, route *config.Route) ([]string, error) {
	if route.HasPaths {
		return route.Paths, nil
	}
	if !strings.ContainsAny(route.Pattern, ":*") {
		return []string{route.Pattern}, nil
	}
	r := e.renderers[route.Renderer]
	paths, _, err := r.Paths(ctx, render.Request{Route: route.Pattern, Mode: render.ModeBuild})
	if err != nil {
		return nil, fmt.Errorf("route %s: paths from renderer %s: %w", route.Pattern, route.Renderer, err)
	}
	return paths, nil
}
