// Package isr decides when pages are generated, and generates them.
//
// It implements incremental static regeneration on top of a page store and
// a set of renderers: one render at a time per path (single flight),
// background regeneration of stale pages with a retry backoff, blocking
// first renders, on-demand revalidation by path and tag, event-driven
// revalidation from data changes, and build-time prerendering. The HTTP
// layer (package server) only asks it questions.
package isr

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/kilnhq/kiln/engine/internal/config"
	"github.com/kilnhq/kiln/engine/internal/metrics"
	"github.com/kilnhq/kiln/engine/internal/render"
	"github.com/kilnhq/kiln/engine/internal/router"
	"github.com/kilnhq/kiln/engine/internal/store"
)

// State is a stored page's freshness.
type State int

const (
	Fresh   State = iota // serve as is
	Stale                // serve, and regenerate in the background
	Expired              // past expire: block on a fresh render
)

// Classify tells a stored page's state at now. A page goes stale
// Revalidate after it was generated (or as soon as a lazy change event
// marks it), and expires Expire after it was generated, as Next.js's
// cacheLife expire does.
func Classify(p *store.Page, now time.Time) State {
	if p.Expire > 0 && !now.Before(p.Generated.Add(p.Expire)) {
		return Expired
	}
	if p.StaleMarked {
		return Stale
	}
	if fu := p.FreshUntil(); fu.IsZero() || now.Before(fu) {
		return Fresh
	}
	return Stale
}

// Errors the HTTP layer maps to statuses.
var (
	ErrNoRoute  = errors.New("isr: no route")        // 404
	ErrNotBuilt = errors.New("isr: not prerendered") // 404 (fallback = false)
	ErrClosed   = errors.New("isr: closed")
)

// Options configure an Engine.
type Options struct {
	Site      *config.Site
	Store     store.Store
	Routes    *router.Table
	Renderers map[string]render.Renderer
	Logger    *slog.Logger
	Metrics   *metrics.Metrics // optional
	Workers   int              // background regenerations at once; default 4
	Now       func() time.Time // default time.Now
}

// Engine is a site's ISR engine. It is safe for concurrent use.
type Engine struct {
	site      *config.Site
	store     store.Store
	routes    *router.Table
	renderers map[string]render.Renderer
	log       *slog.Logger
	m         *metrics.Metrics
	now       func() time.Time

	ctx      context.Context // cancelled by Close once in-flight renders are done
	cancel   context.CancelFunc
	stopping chan struct{} // closed when Close starts: pending retries give up
	wg       sync.WaitGroup
	sem      chan struct{} // bounds background regenerations

	mu       sync.Mutex
	flights  map[string]*flight
	failures map[string]failure
	closed   bool

	notFound notFoundCache
}

type flight struct {
	done  chan struct{}
	page  *store.Page
	err   error
	again bool // a change arrived while rendering: render once more
}

type failure struct {
	until time.Time
	n     int
}

// New creates an engine. Call Start to resume queued work.
func New(opts Options) *Engine {
	if opts.Workers <= 0 {
		opts.Workers = 4
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Engine{
		site: opts.Site, store: opts.Store, routes: opts.Routes, renderers: opts.Renderers,
		log: opts.Logger, m: opts.Metrics, now: opts.Now,
		ctx: ctx, cancel: cancel, stopping: make(chan struct{}), sem: make(chan struct{}, opts.Workers),
		flights: map[string]*flight{}, failures: map[string]failure{},
	}
}

// Start resumes the regenerations left in the durable queue by a previous
// run (including one killed mid-burst).
func (e *Engine) Start() error {
	jobs, err := e.store.Pending()
	if err != nil {
		return fmt.Errorf("resume queue: %w", err)
	}
	if len(jobs) > 0 {
		e.log.Info("resuming queued regenerations", "count", len(jobs))
	}
	for _, j := range jobs {
		e.spawn(j.Path, j.Reason)
	}
	return nil
}

// Close stops accepting background work and waits for in-flight renders.
func (e *Engine) Close() {
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return
	}
	e.closed = true
	close(e.stopping)
	e.mu.Unlock()
	e.wg.Wait()
	e.cancel()
}

// Lookup returns the stored page for a normalized path and its state.
func (e *Engine) Lookup(path string) (*store.Page, State, bool) {
	p, err := e.store.Get(path)
	if err != nil {
		return nil, 0, false
	}
	return p, Classify(p, e.now()), true
}

// Match returns the route for a path.
func (e *Engine) Match(path string) (*config.Route, []render.Param, bool) {
	return e.routes.Match(path)
}

// Render renders path now, while the caller waits, and stores the result
// (unless the renderer said not to). Concurrent calls for one path share
// one render. mode is ModeBlocking for requests.
func (e *Engine) Render(ctx context.Context, path, reason string) (*store.Page, error) {
	f, leader := e.join(path)
	if !leader {
		return e.wait(ctx, f)
	}
	page, err := e.generate(ctx, path, render.ModeBlocking, reason)
	e.land(path, f, page, err)
	return page, err
}

// Trigger schedules a background regeneration of path, unless one is
// already running or the path is backing off after a failure. It records
// the job durably first, so a crash does not lose it. path may alias a
// reused buffer: Trigger copies it only when it starts a render.
func (e *Engine) Trigger(path, reason string) {
	e.mu.Lock()
	if f := e.flights[path]; f != nil || e.closed {
		e.mu.Unlock()
		return
	}
	if fl, ok := e.failures[path]; ok && e.now().Before(fl.until) {
		e.mu.Unlock()
		return
	}
	e.mu.Unlock()
	path = strings.Clone(path) // the caller's string may alias a request buffer
	if err := e.store.Enqueue(store.Job{Path: path, Reason: reason, Queued: e.now()}); err != nil {
		e.log.Error("enqueue regeneration", "path", path, "err", err)
	}
	e.spawn(path, reason)
}

// spawn runs a background regeneration of a queued path.
func (e *Engine) spawn(path, reason string) {
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return
	}
	f, leader := e.flights[path], false
	if f == nil {
		f, leader = &flight{done: make(chan struct{})}, true
		e.flights[path] = f
	} else {
		f.again = true
	}
	e.wg.Add(1)
	e.mu.Unlock()
	if !leader {
		e.wg.Done()
		return
	}
	e.gauge(1)
	go func() {
		defer e.wg.Done()
		defer e.gauge(-1)
		e.sem <- struct{}{}
		defer func() { <-e.sem }()
		e.regenerate(path, reason, f)
	}()
}

// regenerate renders a queued path until no change arrived meanwhile,
// then removes its job. The job is removed before the flight lands, and
// put back if a change slipped in, so a crash never loses a change.
func (e *Engine) regenerate(path, reason string, f *flight) {
	for {
		page, err := e.generate(e.ctx, path, render.ModeBackground, reason)
		if err != nil && !errors.Is(err, ErrNoRoute) {
			e.landOrAgain(path, f, page, err)
			e.retryLater(path, reason)
			return // the job stays queued, so a restart retries it too
		}
		reason = "coalesced"
		if e.takeAgain(f) {
			continue
		}
		if derr := e.store.Dequeue(path); derr != nil {
			e.log.Error("dequeue regeneration", "path", path, "err", derr)
		}
		if !e.landOrAgain(path, f, page, err) {
			return
		}
		if qerr := e.store.Enqueue(store.Job{Path: path, Reason: reason, Queued: e.now()}); qerr != nil {
			e.log.Error("enqueue regeneration", "path", path, "err", qerr)
		}
	}
}

// takeAgain reports and clears a flight's again mark.
func (e *Engine) takeAgain(f *flight) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	again := f.again
	f.again = false
	return again
}

// retryLater runs a failed background regeneration again once its
// backoff has passed. The stale page is served meanwhile.
func (e *Engine) retryLater(path, reason string) {
	e.mu.Lock()
	wait := e.failures[path].until.Sub(e.now())
	e.mu.Unlock()
	t := time.NewTimer(max(wait, 0))
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		select {
		case <-t.C:
			e.spawn(path, reason)
		case <-e.stopping:
			t.Stop()
		}
	}()
}

func (e *Engine) gauge(d float64) {
	if e.m != nil {
		e.m.QueueDepth.Add(d)
	}
}

// join returns the flight for path, and whether the caller leads it.
func (e *Engine) join(path string) (*flight, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if f := e.flights[path]; f != nil {
		return f, false
	}
	f := &flight{done: make(chan struct{})}
	e.flights[path] = f
	return f, true
}

func (e *Engine) wait(ctx context.Context, f *flight) (*store.Page, error) {
	select {
	case <-f.done:
		return f.page, f.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// land publishes a flight's result to its waiters. A change that arrived
// while a blocking render ran gets a background render of its own.
func (e *Engine) land(path string, f *flight, page *store.Page, err error) {
	e.mu.Lock()
	delete(e.flights, path)
	again := f.again
	e.mu.Unlock()
	f.page, f.err = page, err
	close(f.done)
	if again {
		e.spawn(path, "coalesced")
	}
}

// landOrAgain lands the flight unless a change arrived while it rendered;
// then it reports true and the caller renders once more (coalescing any
// number of changes into one extra render). Waiters get the first result.
func (e *Engine) landOrAgain(path string, f *flight, page *store.Page, err error) bool {
	e.mu.Lock()
	if f.again && err == nil {
		f.again = false
		e.mu.Unlock()
		return true
	}
	delete(e.flights, path)
	e.mu.Unlock()
	f.page, f.err = page, err
	close(f.done)
	return false
}

// failed records a failed regeneration and when to retry.
func (e *Engine) failed(path string) time.Duration {
	e.mu.Lock()
	defer e.mu.Unlock()
	fl := e.failures[path]
	fl.n++
	backoff := e.site.RetryBackoff
	if backoff <= 0 {
		backoff = 10 * time.Second
	}
	for i := 1; i < fl.n && backoff < 10*time.Minute; i++ {
		backoff *= 2
	}
	fl.until = e.now().Add(backoff)
	e.failures[path] = fl
	return backoff
}

func (e *Engine) succeeded(path string) {
	e.mu.Lock()
	delete(e.failures, path)
	e.mu.Unlock()
}
