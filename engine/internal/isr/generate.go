package isr

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/kilnhq/kiln/engine/internal/config"
	"github.com/kilnhq/kiln/engine/internal/render"
	"github.com/kilnhq/kiln/engine/internal/store"
)

// RenderError is a failed render, carrying what the error page shows.
type RenderError struct {
	Path, Renderer string
	Err            error
}

func (e *RenderError) Error() string {
	return fmt.Sprintf("render %s with %s: %v", e.Path, e.Renderer, e.Err)
}

func (e *RenderError) Unwrap() error { return e.Err }

// generate renders path and stores the result. It returns the page as
// stored (or as rendered, for a no-store answer).
func (e *Engine) generate(ctx context.Context, path string, mode render.Mode, reason string) (*store.Page, error) {
	start := e.now()
	route, params, ok := e.routes.Match(path)
	if !ok {
		return nil, ErrNoRoute
	}
	prev, _ := e.store.Get(path)
	page, err := e.renderPage(ctx, route, path, params, prev, mode)
	if err == nil && page.Private {
		return page, nil
	}
	if err == nil {
		// A path's first page does not wait for the disk: lost in a
		// crash, it is rendered again on its next request. A new version
		// of a stored page does, so no change is ever rolled back.
		put := e.store.Put
		if prev == nil {
			put = e.store.PutUnsynced
		}
		err = put(page)
		if errors.Is(err, store.ErrNewer) {
			page, err = e.store.Get(path)
		}
	}
	e.record(path, reason, start, page, err)
	return page, err
}

// renderPage calls the route's renderer and turns its answer into a page.
func (e *Engine) renderPage(ctx context.Context, route *config.Route, path string, params []render.Param, prev *store.Page, mode render.Mode) (*store.Page, error) {
	r := e.renderers[route.Renderer]
	req := render.Request{Route: route.Pattern, Path: path, Params: params, Mode: mode}
	if prev != nil {
		req.PrevGenerated = prev.Generated
	}
	// The timeout is the render's: a module still loading (compiled in
	// the background after a warm start) is waited for outside it.
	if w, ok := r.(interface{ Wait(context.Context) error }); ok {
		if err := w.Wait(ctx); err != nil {
			return nil, &RenderError{Path: path, Renderer: route.Renderer, Err: err}
		}
	}
	if route.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, route.Timeout)
		defer cancel()
	}
	start := time.Now()
	resp, err := r.Render(ctx, req)
	e.observeRender(route.Renderer, mode, start)
	if err != nil {
		return nil, &RenderError{Path: path, Renderer: route.Renderer, Err: err}
	}
	now := e.now()
	if resp.NotFound && len(resp.Body) == 0 {
		resp.Body = e.notFoundBody(ctx, path)
	}
	p := pageFrom(path, route.Pattern, resp, now, route.Revalidate, route.Expire)
	if resp.NotFound {
		p.Revalidate = e.negativeTTL()
	}
	if resp.NoStore || mode == render.ModePreview {
		p.Private = true
	}
	return p, nil
}

func (e *Engine) observeRender(renderer string, mode render.Mode, start time.Time) {
	if e.m != nil {
		e.m.RenderSeconds.WithLabelValues(renderer, mode.String()).Observe(time.Since(start).Seconds())
	}
}

func (e *Engine) negativeTTL() time.Duration {
	if e.site.NegativeTTL > 0 {
		return e.site.NegativeTTL
	}
	return time.Minute
}

// record logs a regeneration, appends it to the page's history and
// updates the failure backoff.
func (e *Engine) record(path, reason string, start time.Time, page *store.Page, err error) {
	d := e.now().Sub(start)
	ev := store.Event{At: start, Reason: reason, Duration: d, Outcome: outcome(page, err)}
	if err != nil {
		ev.Error = err.Error()
		backoff := e.failed(path)
		e.log.Error("regeneration failed", "path", path, "reason", reason, "duration", d, "err", err, "retry_in", backoff)
	} else {
		e.succeeded(path)
		e.log.Info("regenerated", "path", path, "reason", reason, "duration", d, "outcome", ev.Outcome)
	}
	if herr := e.store.AddHistory(path, ev); herr != nil {
		e.log.Error("record history", "path", path, "err", herr)
	}
	if e.m != nil {
		e.m.RegenSeconds.WithLabelValues(reason, ev.Outcome).Observe(d.Seconds())
	}
}

func outcome(p *store.Page, err error) string {
	switch {
	case err != nil:
		return "error"
	case p.Kind == store.KindNotFound:
		return "not_found"
	case p.Kind == store.KindRedirect:
		return "redirect"
	}
	return "regenerated"
}
