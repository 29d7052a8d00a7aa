package isr

import (
	"context"
	"html"
	"sync"
	"time"

	"github.com/kilnhq/kiln/engine/internal/render"
	"github.com/kilnhq/kiln/engine/internal/store"
)

// notFoundCache keeps the site's rendered 404 page in memory, so unknown
// paths cost no render.
type notFoundCache struct {
	mu   sync.Mutex
	page *store.Page
}

const builtinNotFound = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>404: page not found</title>` +
	`<meta name="viewport" content="width=device-width, initial-scale=1"></head>` +
	`<body style="font-family:system-ui,sans-serif;max-width:40rem;margin:4rem auto;padding:0 1rem">` +
	`<h1>404</h1><p>This page could not be found.</p></body></html>`

// NotFoundPage returns the site's 404 page, rendered by the site's
// not_found renderer at most once per negative TTL.
func (e *Engine) NotFoundPage(ctx context.Context) *store.Page {
	e.notFound.mu.Lock()
	defer e.notFound.mu.Unlock()
	now := e.now()
	if p := e.notFound.page; p != nil && now.Before(p.FreshUntil()) {
		return p
	}
	body := e.notFoundBody(ctx, "/404")
	p := pageFrom("/404", "", &render.Response{NotFound: true, Body: body, Revalidate: render.RevalidateDefault}, now, e.negativeTTL(), 0)
	e.notFound.page = p
	return p
}

// notFoundBody renders the 404 body for path with the site's not_found
// renderer, or returns the built-in page.
func (e *Engine) notFoundBody(ctx context.Context, path string) []byte {
	r := e.renderers[e.site.NotFound]
	if r == nil {
		return []byte(builtinNotFound)
	}
	resp, err := r.Render(ctx, render.Request{Route: "", Path: path, Mode: render.ModeBackground})
	if err != nil || len(resp.Body) == 0 {
		if err != nil {
			e.log.Error("render 404 page", "renderer", e.site.NotFound, "err", err)
		}
		return []byte(builtinNotFound)
	}
	return resp.Body
}

// Preview renders path fresh for a preview request. Nothing is stored.
func (e *Engine) Preview(ctx context.Context, path string) (*store.Page, error) {
	route, params, ok := e.routes.Match(path)
	if !ok {
		return nil, ErrNoRoute
	}
	prev, _ := e.store.Get(path)
	return e.renderPage(ctx, route, path, params, prev, render.ModePreview)
}

// Shell renders the fallback shell for a never-generated path of a
// fallback = "true" route: the route's fallback_renderer, else its
// renderer's fallback export, else a built-in shell. decorate, when not
// nil, edits the body before it is compressed (the server adds the
// script that completes the shell).
func (e *Engine) Shell(ctx context.Context, path string, decorate func([]byte) []byte) *store.Page {
	route, params, ok := e.routes.Match(path)
	if !ok {
		return nil
	}
	req := render.Request{Route: route.Pattern, Path: path, Params: params, Mode: render.ModeBlocking}
	var resp *render.Response
	if r := e.renderers[route.FallbackRenderer]; r != nil {
		resp, _ = r.Render(ctx, req)
	} else if r := e.renderers[route.Renderer]; r != nil {
		if fb, ok, err := r.Fallback(ctx, req); ok && err == nil {
			resp = fb
		}
	}
	if resp == nil || resp.NotFound || resp.Redirect != "" {
		resp = &render.Response{Body: []byte(builtinShell(path))}
	}
	resp.Revalidate = render.RevalidateDefault
	if decorate != nil {
		resp.Body = decorate(resp.Body)
	}
	p := pageFrom(path, route.Pattern, resp, e.now(), 0, 0)
	p.Private = true
	return p
}

func builtinShell(path string) string {
	return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Loading…</title>` +
		`<meta name="viewport" content="width=device-width, initial-scale=1"></head>` +
		`<body style="font-family:system-ui,sans-serif;max-width:40rem;margin:4rem auto;padding:0 1rem">` +
		`<p aria-busy="true">Loading ` + html.EscapeString(path) + `…</p></body></html>`
}

// Age is how long ago a page was generated, in whole seconds.
func Age(p *store.Page, now time.Time) int64 {
	d := now.Sub(p.Generated)
	if d < 0 {
		return 0
	}
	return int64(d / time.Second)
}
