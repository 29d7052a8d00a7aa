package isr

import (
	"context"
	"errors"
	"sort"
	"sync"

	"github.com/kilnhq/kiln/engine/internal/render"
	"github.com/kilnhq/kiln/engine/internal/store"
)

// Result is the outcome of revalidating one path.
type Result struct {
	Path   string `json:"path"`
	Status string `json:"status"` // "regenerated", "not_found", "redirect", "error"
	Error  string `json:"error,omitempty"`
}

// Revalidate regenerates the given paths and every page carrying one of
// tags, and returns when all of them are stored. Paths never generated
// before are generated.
func (e *Engine) Revalidate(ctx context.Context, paths, tags []string) ([]Result, error) {
	all := map[string]bool{}
	for _, p := range paths {
		all[p] = true
	}
	for _, t := range tags {
		ps, err := e.store.PathsForTag(t)
		if err != nil {
			return nil, err
		}
		for _, p := range ps {
			all[p] = true
		}
	}
	list := make([]string, 0, len(all))
	for p := range all {
		list = append(list, p)
	}
	sort.Strings(list)
	results := make([]Result, len(list))
	var wg sync.WaitGroup
	sem := make(chan struct{}, cap(e.sem))
	for i, p := range list {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			results[i] = e.revalidateOne(ctx, p)
		}()
	}
	wg.Wait()
	return results, nil
}

func (e *Engine) revalidateOne(ctx context.Context, path string) Result {
	page, err := e.renderFresh(ctx, path, "on-demand")
	r := Result{Path: path, Status: outcome(page, err)}
	if err != nil {
		r.Error = err.Error()
		if errors.Is(err, ErrNoRoute) {
			r.Status, r.Error = "not_found", "no route matches this path"
		}
	}
	return r
}

// renderFresh is Render that never reuses a render started before the
// call: it waits for one already running, then renders again.
func (e *Engine) renderFresh(ctx context.Context, path, reason string) (*store.Page, error) {
	f, leader := e.join(path)
	if !leader {
		if _, err := e.wait(ctx, f); errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
			return nil, err
		}
		return e.Render(ctx, path, reason)
	}
	page, err := e.generate(ctx, path, render.ModeBlocking, reason)
	e.land(path, f, page, err)
	return page, err
}
