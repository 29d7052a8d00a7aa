// Package isr owns the lifecycle of every page: it decides what a request
// gets, when a page is generated, and every change of a path's state
// (fresh, stale, rendering, stored, failed), on one injected clock.
//
// It has four doors, all in this package: Serve for requests, Consume
// for data-change events, Revalidate for on-demand calls, and Build for
// prerendering. Behind them one mechanism does the work: a flight is the
// one render of a path in progress; whoever needs that path's page joins
// it. Every change that arrives while a flight renders is kept in a
// change log, and the flight checks it when it lands: a page rendered from
// data that changed meanwhile is stored marked stale, and rendered again
// (see flight.go). The HTTP layer (package server) only translates
// requests into Serve calls and Answers into bytes.
package isr

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"sync"
	"time"

	"github.com/kilnhq/kiln/engine/internal/config"
	"github.com/kilnhq/kiln/engine/internal/metrics"
	"github.com/kilnhq/kiln/engine/internal/render"
	"github.com/kilnhq/kiln/engine/internal/router"
	"github.com/kilnhq/kiln/engine/internal/store"
)

// Errors that answers and results carry.
var (
	ErrNoRoute  = errors.New("isr: no route")
	ErrNotBuilt = errors.New("isr: not prerendered and the route's fallback is false")
	ErrClosed   = errors.New("isr: closed")
)

// Options configure an Engine.
type Options struct {
	Site      *config.Site
	Pages     store.Pages
	Queue     store.Queue
	History   store.History
	Routes    *router.Table
	Renderers map[string]render.Renderer
	Logger    *slog.Logger
	Metrics   *metrics.Metrics // optional
	Workers   int              // background regenerations at once; default 4
	Clock     Clock            // default: the system clock
	// Leaser, in cluster mode, makes a render of a path one per cluster;
	// nil renders alone.
	Leaser Leaser
}

// Leaser coordinates renders across the nodes of a cluster.
type Leaser interface {
	// Lease takes path's render lease. held says another node holds it
	// (and renders); an error says the cluster could not tell, and the
	// render goes ahead alone. release gives the lease back.
	Lease(ctx context.Context, path string) (release func(), held bool, err error)
	// Await waits for a page of path with a Version above after, rendered
	// by the lease holder; an error when none came in time, and
	// ErrLeaseReleased when the holder gave the lease back without one.
	Await(ctx context.Context, path string, after uint64) (*store.Page, error)
}

// ErrLeaseReleased is Await's answer when the lease was released and no
// page newer than the caller's was stored (the holder rendered nothing,
// or failed): the flight asks for the lease again rather than wait or
// render alone.
var ErrLeaseReleased = errors.New("isr: lease released without a newer page")

// Engine is a site's ISR engine. It is safe for concurrent use.
type Engine struct {
	site      *config.Site
	pages     store.Pages
	queue     store.Queue
	history   store.History
	routes    *router.Table
	renderers map[string]render.Renderer
	log       *slog.Logger
	m         *metrics.Metrics
	clock     Clock
	leaser    Leaser

	ctx      context.Context // cancelled by Close once flights are done
	cancel   context.CancelFunc
	stopping chan struct{} // closed when Close starts: waiting work gives up
	wg       sync.WaitGroup
	sem      chan struct{} // bounds background regenerations
	squeeze  chan struct{} // bounds background compressions

	// applyMu orders change application against landings: a change is
	// applied (logged, queued, marked) either wholly before a flight's
	// landing or wholly after it, so a landing's check of the change log
	// and its write are one step for every change.
	applyMu sync.RWMutex

	mu       sync.Mutex // guards everything below
	flights  map[string]*flight
	firsts   map[*config.Route]int // first renders running, per route
	working  int                   // flights and compressions in progress
	quiet    chan struct{}         // closed when working drops to 0
	nextID   uint64
	changes  changeLog
	deferred map[string]string // paths a burst of changes defers, with reasons
	failures failures
	closed   bool

	negative negativeCache
	notFound notFoundPage
	failLog  failLog
	// notFoundLog rate-limits the lines of first renders that found
	// nothing.
	notFoundLog failLog

	// afterLookup, set by tests, runs between a request's store lookup
	// and what it does with the result: where a render can land unseen.
	afterLookup func(path string)
}

// New creates an engine. Call Start to resume queued work.
func New(opts Options) *Engine {
	if opts.Workers <= 0 {
		opts.Workers = 4
	}
	if opts.Clock == nil {
		opts.Clock = SystemClock()
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	ctx, cancel := context.WithCancel(context.Background())
	e := &Engine{
		site: opts.Site, pages: opts.Pages, queue: opts.Queue, history: opts.History,
		routes: opts.Routes, renderers: opts.Renderers, log: opts.Logger, m: opts.Metrics, clock: opts.Clock, leaser: opts.Leaser,
		ctx: ctx, cancel: cancel, stopping: make(chan struct{}), sem: make(chan struct{}, opts.Workers),
		squeeze: make(chan struct{}, runtime.GOMAXPROCS(0)),
		flights: map[string]*flight{}, firsts: map[*config.Route]int{}, deferred: map[string]string{},
	}
	e.failures.init(e.retryBackoff())
	e.negative.init(negativeEntries)
	return e
}

// Start resumes the regenerations left in the durable queue by a previous
// run (including one killed mid-burst).
func (e *Engine) Start() error {
	jobs, err := e.queue.Pending()
	if err != nil {
		return fmt.Errorf("resume queue: %w", err)
	}
	if len(jobs) > 0 {
		e.log.Info("resuming queued regenerations", "count", len(jobs))
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, j := range jobs {
		if e.flights[j.Path] == nil {
			e.launch(e.newFlight(j.Path, needNew, j.Reason, render.ModeBackground))
		}
	}
	return nil
}

// Close stops accepting work and waits for the flights in progress.
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

// WaitIdle waits until no change is being applied and no render or
// compression runs:
// for tests and tools that must see the engine settled.
func (e *Engine) WaitIdle(ctx context.Context) error {
	for {
		e.applyMu.Lock() // waits for an apply in progress
		e.mu.Lock()
		e.applyMu.Unlock()
		if e.working == 0 {
			e.mu.Unlock()
			return nil
		}
		quiet := e.quiet
		e.mu.Unlock()
		select {
		case <-quiet:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

func (e *Engine) retryBackoff() time.Duration {
	if e.site != nil && e.site.RetryBackoff > 0 {
		return e.site.RetryBackoff
	}
	return defaultRetryBackoff
}

func (e *Engine) negativeTTL() time.Duration {
	if e.site != nil && e.site.NegativeTTL > 0 {
		return e.site.NegativeTTL
	}
	return defaultNegativeTTL
}

func (e *Engine) gauge(d float64) {
	if e.m != nil {
		e.m.QueueDepth.Add(d)
	}
}
