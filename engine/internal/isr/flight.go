package isr

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/kilnhq/kiln/engine/internal/config"
	"github.com/kilnhq/kiln/engine/internal/metrics"
	"github.com/kilnhq/kiln/engine/internal/render"
	"github.com/kilnhq/kiln/engine/internal/store"
)

// A flight is the one render of a path in progress. Everyone who needs
// the path's page joins it: requests, stale triggers, change events,
// on-demand calls. Checking for a flight and starting one is one step
// under the engine's lock, and a flight looks at the store again before
// it renders, so a page that landed between a caller's lookup and its
// flight is used instead of rendering twice.
//
// Landing (finish) stores the page and removes the flight in one step
// with respect to change application (applyMu): every change that
// arrived after the flight started is in the change log, and a change
// that touches the new page makes it land marked stale, and, under the
// eager policy, start one more render (the flight's successor). So a
// change is never lost to a render that read the old data, and any number
// of changes during a render cost one more render.
type flight struct {
	id     uint64
	path   string
	route  *config.Route
	need   need
	reason string
	mode   render.Mode
	since  uint64 // change log position when the flight started
	first  bool   // a request's render of a path with nothing stored
	done   chan struct{}
	res    result // set before done is closed
}

// need is why a flight runs; it says whether a page stored meanwhile
// satisfies it.
type need uint8

const (
	needStale need = iota // a stale page: a fresh one stored meanwhile will do
	needPage              // a request: any page not expired will do
	needNew               // a change, a job or an on-demand call: always render
)

func (n need) satisfiedBy(p *store.Page, now time.Time) bool {
	if p == nil {
		return false
	}
	switch n {
	case needStale:
		return Classify(p, now) == Fresh
	case needPage:
		return Classify(p, now) != Expired
	}
	return false
}

// result is what a flight gives the callers who joined it.
type result struct {
	page *store.Page // stored, kept, or private (not stored)
	err  error
	kept bool    // a page stored meanwhile satisfied the flight: nothing rendered
	next *flight // a change arrived while rendering: the render after this one
}

func (r result) cache() string {
	if r.kept {
		return metrics.Hit
	}
	return metrics.Miss
}

// errBusy turns a request away when its route has too many first renders
// running.
var errBusy = errors.New("isr: too many first renders running")

// statusError is a render that answered a 5xx status.
type statusError struct{ status int }

func (s *statusError) Error() string { return fmt.Sprintf("renderer answered %d", s.status) }

// backoffError is a render refused because the path's last one failed
// recently.
type backoffError struct {
	until time.Time
	err   error // the last failure
}

func (b *backoffError) Error() string { return "retrying after a failed render: " + b.err.Error() }
func (b *backoffError) Unwrap() error { return b.err }

// newFlight registers a flight for path. The caller holds e.mu and
// launches it.
func (e *Engine) newFlight(path string, need need, reason string, mode render.Mode) *flight {
	route, _, _ := e.routes.Match(path)
	e.nextID++
	f := &flight{
		id: e.nextID, path: path, route: route, need: need, reason: reason, mode: mode,
		since: e.changes.next, done: make(chan struct{}),
	}
	e.busy()
	e.flights[path] = f
	return f
}

// busy counts one more piece of work in progress (a flight or a
// compression): WaitIdle waits for it. The caller holds e.mu and calls
// idle when it is done.
func (e *Engine) busy() {
	if e.working == 0 {
		e.quiet = make(chan struct{})
	}
	e.working++
}

// idle counts a piece of work done. The caller holds e.mu.
func (e *Engine) idle() {
	if e.working--; e.working == 0 {
		close(e.quiet)
	}
}

// launch runs f in the background. The caller holds e.mu.
func (e *Engine) launch(f *flight) {
	e.wg.Add(1)
	e.gauge(1)
	go e.run(f)
}

// trigger starts a background regeneration of a stale page, unless one
// is running or the path is backing off after a failure. It allocates
// nothing when it starts nothing.
func (e *Engine) trigger(path string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed || e.flights[path] != nil || e.failures.backingOff(path, e.clock.Now()) {
		return
	}
	e.launch(e.newFlight(strings.Clone(path), needStale, "stale", render.ModeBackground))
}

// join returns the path's flight, starting one if none runs. It refuses
// with a *backoffError while the path backs off after a failed render,
// and, for a first render (nothing stored), with errBusy while its route
// has MaxFirstRenders of them running: a flood of made-up URLs costs a
// bounded number of renders and goroutines.
func (e *Engine) join(path string, need need, reason string, mode render.Mode, first bool) (*flight, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if f := e.flights[path]; f != nil {
		return f, nil
	}
	if e.closed {
		return nil, ErrClosed
	}
	if b := e.failures.refusal(path, e.clock.Now()); b != nil {
		return nil, b
	}
	route, _, _ := e.routes.Match(path)
	if first && route != nil && route.MaxFirstRenders > 0 && e.firsts[route] >= route.MaxFirstRenders {
		return nil, errBusy
	}
	f := e.newFlight(strings.Clone(path), need, reason, mode)
	if first && route != nil {
		f.first = true
		e.firsts[route]++
	}
	e.launch(f)
	return f, nil
}

// wait waits for f's result, and with follow for the result of the
// renders after it that changes caused.
func wait(ctx context.Context, f *flight, follow bool) result {
	for {
		select {
		case <-f.done:
		case <-ctx.Done():
			return result{err: ctx.Err()}
		}
		if follow && f.res.next != nil {
			f = f.res.next
			continue
		}
		return f.res
	}
}

// run is a flight's goroutine.
func (e *Engine) run(f *flight) {
	defer e.wg.Done()
	if f.mode == render.ModeBackground {
		select {
		case e.sem <- struct{}{}:
			defer func() { <-e.sem }()
		case <-e.stopping:
			e.finish(f, nil, landing{err: ErrClosed, closed: true})
			return
		}
	}
	cur, err := e.pages.Get(f.path)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		e.log.Error("read stored page", "path", f.path, "err", err)
	}
	if err != nil {
		cur = nil
	}
	if f.need.satisfiedBy(cur, e.clock.Now()) {
		e.finish(f, cur, landing{kept: true})
		return
	}
	if e.leaser != nil {
		release, kept, ok := e.lease(f, cur)
		if !ok {
			e.finish(f, kept, landing{kept: true})
			return
		}
		if release != nil {
			// The lease applied a page that landed elsewhere just before.
			if p, err := e.pages.Get(f.path); err == nil && version(p) != version(cur) {
				cur = p
				if f.need.satisfiedBy(cur, e.clock.Now()) {
					e.finish(f, cur, landing{kept: true, release: release})
					return
				}
			}
			l := e.generate(f, cur)
			l.release = release
			e.finish(f, cur, l)
			return
		}
	}
	e.finish(f, cur, e.generate(f, cur))
}

// lease takes f's cluster lease. ok is false when another node renders:
// kept is then the page to answer with, the stored stale one for a
// background regeneration, or the other node's once it arrives. A
// release of nil with ok means render alone (the cluster is away, or the
// other node did not deliver in time). A holder that releases the lease
// without a newer page (its render failed, or it found one stored) hands
// it on: the lease is asked for again, up to leaseRetries times.
func (e *Engine) lease(f *flight, cur *store.Page) (release func(), kept *store.Page, ok bool) {
	for try := 0; ; try++ {
		release, held, err := e.leaser.Lease(e.ctx, f.path)
		if err != nil {
			e.log.Warn("cluster lease unavailable; rendering alone", "path", f.path, "err", err)
			return nil, nil, true
		}
		if !held {
			return release, nil, true
		}
		if f.need == needStale && cur != nil {
			return nil, cur, false // served stale; the holder's page arrives from the watch
		}
		p, err := e.leaser.Await(e.ctx, f.path, version(cur))
		if errors.Is(err, ErrLeaseReleased) && try < leaseRetries {
			continue
		}
		if err != nil {
			e.log.Warn("no page from the cluster lease holder; rendering alone", "path", f.path, "err", err)
			return nil, nil, true
		}
		return nil, p, false
	}
}

// leaseRetries is how many times a flight asks again for a lease that
// was released without a page.
const leaseRetries = 3

// landing is a rendered flight on its way to the store.
type landing struct {
	page   *store.Page
	err    error
	kept   bool // a page stored meanwhile satisfied the flight: nothing rendered
	closed bool // the engine closed before the flight ran: nothing to record
	start  time.Time
	// release gives the flight's cluster lease back, once its page is
	// stored and before its callers are answered: a caller that asks
	// again at once (the next revalidation) must not find this node's
	// own finished flight holding the lease, and wait for it to expire.
	release func()
}

// finish lands a flight: it stores (or deletes, or caches) the result,
// removes the flight, and hands the result to the callers who joined it,
// in one step with respect to change application.
func (e *Engine) finish(f *flight, cur *store.Page, l landing) {
	e.applyMu.RLock()
	e.mu.Lock()
	page := l.page
	if l.kept {
		page = cur
	}
	dirty, lazy := e.dirty(f, page)
	// A path a burst of changes defers renders when the burst settles;
	// until then the revisions are not committed, so nothing is lost.
	dirty = dirty && e.deferred[f.path] == ""
	e.mu.Unlock()
	res := e.land(f, cur, l, dirty)
	if l.release != nil {
		l.release()
	}
	if !l.kept && !l.closed {
		// Recorded before the flight is gone, so whoever waits for it sees
		// its history. A path with nothing stored gets none: a made-up URL
		// leaves no record behind.
		e.record(f.path, f.reason, l.start, res.page, res.err, cur != nil || (res.err == nil && stored(res.page, cur)))
	}
	e.mu.Lock()
	if e.flights[f.path] == f {
		delete(e.flights, f.path)
		e.idle()
	}
	if p := compressible(l, res); p != nil {
		e.compressLater(p)
	}
	if f.first {
		if e.firsts[f.route]--; e.firsts[f.route] == 0 {
			delete(e.firsts, f.route)
		}
	}
	if dirty && !lazy && res.err == nil && !e.closed {
		res.next = e.newFlight(f.path, needNew, "coalesced", render.ModeBackground)
		e.launch(res.next)
	}
	e.changes.prune(e.flights)
	// Out of the queue before anyone waiting hears of it: a scrape that
	// follows the answer counts this flight as done.
	e.gauge(-1)
	f.res = res
	close(f.done)
	e.mu.Unlock()
	e.applyMu.RUnlock()
}

// land writes a flight's result. dirty says a change arrived while it
// rendered: the page is stored marked stale.
func (e *Engine) land(f *flight, cur *store.Page, l landing, dirty bool) result {
	switch {
	case l.closed:
		return result{err: l.err}
	case l.kept && dirty:
		// The page stored meanwhile predates a change that arrived since:
		// mark it, so the need is recorded (eager: it renders again too).
		if err := e.pages.MarkStale(f.path); err != nil && !errors.Is(err, store.ErrNotFound) {
			return result{err: err}
		}
		p, err := e.pages.Get(f.path)
		if err != nil {
			return result{err: err}
		}
		return result{page: p, kept: true}
	case l.kept:
		return result{page: cur, kept: true}
	case l.err != nil:
		e.failed(f, cur, l.err)
		return result{err: l.err}
	case l.page.Status >= 500:
		// The renderer's own error page: a failure like any other (the
		// stored page is kept), shown to a first request that waits.
		err := &statusError{l.page.Status}
		e.failed(f, cur, err)
		return result{page: l.page, err: err}
	case l.page.Private:
		// The renderer said "don't cache": the path is dynamic from now
		// on. A stored page of it would be served against its will.
		if cur != nil || f.need == needNew {
			if err := e.pages.Delete(f.path, true); err != nil {
				return result{err: err}
			}
		}
		e.failures.clear(f.path)
		return result{page: l.page}
	case l.page.Kind == store.KindNotFound && cur == nil:
		// A never-stored path that does not exist: kept in memory only.
		if !dirty {
			e.negative.put(l.page, e.clock.Now())
		}
		if f.need == needNew {
			if err := e.queue.Dequeue(f.path); err != nil {
				return result{err: err}
			}
		}
		e.failures.clear(f.path)
		return result{page: l.page}
	}
	l.page.StaleMarked = dirty
	err := e.pages.Put(l.page, store.PutOptions{Replaces: version(cur), NoSync: cur == nil, Dequeue: true})
	if errors.Is(err, store.ErrConflict) {
		// Another version landed meanwhile (a build, another node): it
		// is newer than what this flight started from.
		p, gerr := e.pages.Get(f.path)
		if gerr != nil {
			return result{err: gerr}
		}
		return result{page: p, kept: true}
	}
	if errors.Is(err, store.ErrReadOnly) {
		// The disk refuses writes: the stored page stays served (stale),
		// nothing more is written, and the render is retried after the
		// failure backoff. A first generation is shown, not stored.
		e.failures.add(f.path, err, e.clock.Now())
		e.logReadOnly(f.path)
		if cur == nil {
			return result{page: l.page}
		}
		return result{err: err}
	}
	if err != nil {
		e.failed(f, cur, err)
		return result{err: err}
	}
	e.negative.drop(f.path)
	e.failures.clear(f.path)
	stored, _ := e.pages.Get(f.path)
	if stored == nil {
		stored = l.page
	}
	return result{page: stored}
}

func version(p *store.Page) uint64 {
	if p == nil {
		return 0
	}
	return p.Version
}

// failed records a failed render. A stored page is kept and marked stale,
// so the need survives a restart and the next request after the backoff
// retries; its queued job is done. A first generation from the queue is
// retried after the backoff, a bounded number of times.
func (e *Engine) failed(f *flight, cur *store.Page, err error) {
	n, backoff := e.failures.add(f.path, err, e.clock.Now())
	if cur != nil {
		if merr := e.pages.MarkStale(f.path); merr != nil && !errors.Is(merr, store.ErrNotFound) {
			e.log.Error("mark stale", "path", f.path, "err", merr)
			return
		}
		if derr := e.queue.Dequeue(f.path); derr != nil {
			e.log.Error("dequeue", "path", f.path, "err", derr)
		}
		return
	}
	if f.need != needNew {
		return
	}
	if n >= maxJobTries {
		e.log.Error("giving up on a first generation", "path", f.path, "tries", n, "err", err)
		if derr := e.queue.Dequeue(f.path); derr != nil {
			e.log.Error("dequeue", "path", f.path, "err", derr)
		}
		return
	}
	e.retryLater(f.path, f.reason, backoff)
}

// maxJobTries bounds the renders of a queued first generation that keeps
// failing.
const maxJobTries = 5

// retryLater runs a queued first generation again after its backoff.
func (e *Engine) retryLater(path, reason string, after time.Duration) {
	t := e.clock.NewTimer(after)
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		select {
		case <-t.C():
			e.mu.Lock()
			if !e.closed && e.flights[path] == nil {
				e.launch(e.newFlight(path, needNew, reason, render.ModeBackground))
			}
			e.mu.Unlock()
		case <-e.stopping:
			t.Stop()
		}
	}()
}
