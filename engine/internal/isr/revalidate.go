package isr

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/kilnhq/kiln/engine/internal/config"
	"github.com/kilnhq/kiln/engine/internal/render"
	"github.com/kilnhq/kiln/engine/internal/store"
)

// Mode is how an on-demand revalidation treats its pages.
type Mode string

const (
	// ModeNow regenerates every page now and answers when all are stored
	// (Next.js's revalidatePath with a fresh render).
	ModeNow Mode = "now"
	// ModeStale marks every page stale: the next request gets the stored
	// page and starts its regeneration (Next.js's revalidateTag).
	ModeStale Mode = "stale"
)

// Revalidation is an on-demand call: normalized paths, and tags whose
// stored pages are revalidated too.
type Revalidation struct {
	Paths []string
	Tags  []string
	Mode  Mode // "" is ModeNow
}

// Result is the outcome of revalidating one path.
type Result struct {
	Path string `json:"path"`
	// Status is "regenerated", "not_found", "redirect", "not_stored" (the
	// renderer said not to cache: the stored page is removed), "stale"
	// (ModeStale) or "error".
	Status string `json:"status"`
	Error  string `json:"error,omitempty"`
}

// OutcomeStale is a page marked stale by a ModeStale revalidation.
const OutcomeStale = "stale"

// Revalidate revalidates the given paths and every stored page carrying
// one of the tags, and returns when all of them are done: stored (ModeNow)
// or marked stale (ModeStale). A render already running for one of them
// counts only if it lands after the call: it is rendered again. A path
// that is not stored on a fallback = "false" route is refused (not_found)
// unless the route lists it in `paths`: revalidation never publishes a
// page that a request would get a 404 for.
func (e *Engine) Revalidate(ctx context.Context, rv Revalidation) ([]Result, error) {
	if rv.Mode == "" {
		rv.Mode = ModeNow
	}
	if rv.Mode != ModeNow && rv.Mode != ModeStale {
		return nil, fmt.Errorf("revalidate: unknown mode %q (now or stale)", rv.Mode)
	}
	targets, refused, err := e.targets(rv)
	if err != nil {
		return nil, err
	}
	flights, err := e.invalidate(targets, rv)
	if err != nil {
		return nil, err
	}
	results := refused
	for _, p := range targets {
		r := Result{Path: p, Status: OutcomeStale}
		if f := flights[p]; f != nil {
			res := wait(ctx, f, true)
			r.Status = outcome(res.page, res.err)
			if res.err != nil {
				r.Error = res.err.Error()
			}
		}
		results = append(results, r)
	}
	slices.SortFunc(results, func(a, b Result) int { return cmpString(a.Path, b.Path) })
	return results, nil
}

func cmpString(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// targets lists the paths a revalidation covers, and the results of the
// paths it refuses.
func (e *Engine) targets(rv Revalidation) (targets []string, refused []Result, err error) {
	seen := map[string]bool{}
	for _, t := range rv.Tags {
		paths, err := e.pages.PathsForTag(t)
		if err != nil {
			return nil, nil, err
		}
		for _, p := range paths {
			if !seen[p] {
				seen[p] = true
				targets = append(targets, p)
			}
		}
	}
	for _, p := range rv.Paths {
		if seen[p] {
			continue
		}
		seen[p] = true
		if err := e.mayRevalidate(p, rv.Mode); err != nil {
			refused = append(refused, Result{Path: p, Status: OutcomeNotFound, Error: err.Error()})
			continue
		}
		targets = append(targets, p)
	}
	return targets, refused, nil
}

// mayRevalidate says whether an on-demand call may render path: it must
// have a route, and a page that is not stored must be one a request could
// get (fallback "true" or "blocking", or listed in the route's paths).
// Marking stale needs a stored page.
func (e *Engine) mayRevalidate(path string, mode Mode) error {
	route, _, ok := e.routes.Match(path)
	if !ok {
		return errors.New("no route matches this path")
	}
	if _, err := e.pages.Get(path); err == nil {
		return nil
	}
	switch {
	case mode == ModeStale:
		return errors.New("not stored")
	case route.Fallback == config.FallbackFalse && !slices.Contains(route.Paths, path):
		return ErrNotBuilt
	}
	return nil
}

// invalidate logs the revalidation as a change, so renders in progress
// land marked stale and, for ModeNow, render again; then it starts a
// render of every other target (ModeNow) or marks it stale (ModeStale).
// It returns the flights to wait for.
func (e *Engine) invalidate(targets []string, rv Revalidation) (map[string]*flight, error) {
	policy := config.PolicyEager
	if rv.Mode == ModeStale {
		policy = config.PolicyLazy
	}
	e.applyMu.Lock()
	defer e.applyMu.Unlock()
	e.mu.Lock()
	e.changes.add(change{paths: targets, tags: rv.Tags, policy: policy}, len(e.flights))
	flights := map[string]*flight{}
	var undeferred []store.Job
	for _, p := range targets {
		e.negative.drop(p)
		if reason := e.deferred[p]; reason != "" {
			// A burst was holding this path back; this call renders it,
			// and the job keeps the burst's change safe until it lands.
			delete(e.deferred, p)
			undeferred = append(undeferred, store.Job{Path: p, Reason: reason, Queued: e.clock.Now()})
		}
		f := e.flights[p]
		if f == nil && rv.Mode == ModeNow && !e.closed {
			f = e.newFlight(p, needNew, "on-demand", render.ModeBlocking)
			e.launch(f)
		}
		if f != nil && rv.Mode == ModeNow {
			flights[p] = f
		}
	}
	e.mu.Unlock()
	if len(undeferred) > 0 {
		if err := e.queue.Enqueue(undeferred...); err != nil {
			return nil, err
		}
	}
	if rv.Mode == ModeStale {
		stale := map[string]bool{}
		for _, p := range targets {
			stale[p] = true
		}
		if err := e.markStale(stale); err != nil {
			return nil, err
		}
	}
	return flights, nil
}
