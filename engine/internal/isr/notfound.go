package isr

import (
	"container/list"
	"context"
	"sync"
	"time"

	"github.com/kilnhq/kiln/engine/internal/metrics"
	"github.com/kilnhq/kiln/engine/internal/render"
	"github.com/kilnhq/kiln/engine/internal/store"
)

const builtinNotFound = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>404: page not found</title>` +
	`<meta name="viewport" content="width=device-width, initial-scale=1"></head>` +
	`<body style="font-family:system-ui,sans-serif;max-width:40rem;margin:4rem auto;padding:0 1rem">` +
	`<h1>404</h1><p>This page could not be found.</p></body></html>`

// notFoundPage keeps the site's 404 page (for paths no route matches) in
// memory, rendered by the site's not_found renderer at most once per
// negative TTL, so unknown paths cost no render.
type notFoundPage struct {
	mu   sync.Mutex
	page *store.Page
}

// notFoundAnswer is the site's 404 page.
func (e *Engine) notFoundAnswer(ctx context.Context, req Request) Answer {
	e.notFound.mu.Lock()
	now := e.clock.Now()
	p := e.notFound.page
	if p == nil || !now.Before(p.FreshUntil()) {
		p = &store.Page{
			Path: "/404", Kind: store.KindNotFound, Status: 404, Body: e.notFoundBody(ctx, "/404"),
			Headers:   []store.Header{{Name: "Content-Type", Value: "text/html; charset=utf-8"}},
			Generated: now, Revalidate: e.negativeTTL(),
		}
		p.ETag = etagOf(p.Body)
		compress(p)
		e.notFound.page = p
	}
	e.notFound.mu.Unlock()
	return e.answer(req, p, metrics.Hit, now)
}

// notFoundBody renders the 404 body for path with the site's not_found
// renderer, or returns the built-in page.
func (e *Engine) notFoundBody(ctx context.Context, path string) []byte {
	r := e.renderers[e.site.NotFound]
	if r == nil {
		return []byte(builtinNotFound)
	}
	resp, err := r.Render(ctx, render.Request{Path: path, Mode: render.ModeBackground})
	if err != nil || len(resp.Body) == 0 {
		if err != nil {
			e.log.Error("render 404 page", "renderer", e.site.NotFound, "err", err)
		}
		return []byte(builtinNotFound)
	}
	return resp.Body
}

// negativeCache keeps the 404 answers of paths that were never stored,
// in memory only and bounded, so a flood of made-up URLs on a route that
// renders on request costs a render each, not a record on disk. A change
// drops exactly the entries it touches (a made-up URL may become a real
// post): those that read its key, listed a prefix of it, carry one of its
// tags or are one of its paths.
type negativeCache struct {
	mu      sync.Mutex
	max     int
	entries map[string]*list.Element
	lru     list.List                      // of *store.Page, most recent first
	byKey   map[string]map[string]struct{} // data key -> paths of entries that read it
	listers map[string]struct{}            // paths of entries that listed a prefix or carry tags
}

// negativeEntries bounds the negative cache.
const negativeEntries = 4096

func (c *negativeCache) init(max int) {
	c.max, c.entries = max, map[string]*list.Element{}
	c.byKey, c.listers = map[string]map[string]struct{}{}, map[string]struct{}{}
}

// get returns the cached 404 page for path while it is fresh.
func (c *negativeCache) get(path string, now time.Time) *store.Page {
	c.mu.Lock()
	defer c.mu.Unlock()
	el := c.entries[path]
	if el == nil {
		return nil
	}
	p := el.Value.(*store.Page)
	if Classify(p, now) != Fresh {
		c.remove(el)
		return nil
	}
	c.lru.MoveToFront(el)
	return p
}

func (c *negativeCache) put(p *store.Page, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el := c.entries[p.Path]; el != nil {
		c.remove(el)
	}
	c.entries[p.Path] = c.lru.PushFront(p)
	for _, k := range p.Keys {
		if c.byKey[k] == nil {
			c.byKey[k] = map[string]struct{}{}
		}
		c.byKey[k][p.Path] = struct{}{}
	}
	if len(p.Prefixes) > 0 || len(p.Tags) > 0 {
		c.listers[p.Path] = struct{}{}
	}
	for c.lru.Len() > c.max {
		c.remove(c.lru.Back())
	}
}

// remove drops an entry and its index entries. The caller holds mu.
func (c *negativeCache) remove(el *list.Element) {
	p := c.lru.Remove(el).(*store.Page)
	delete(c.entries, p.Path)
	delete(c.listers, p.Path)
	for _, k := range p.Keys {
		if paths := c.byKey[k]; paths != nil {
			if delete(paths, p.Path); len(paths) == 0 {
				delete(c.byKey, k)
			}
		}
	}
}

func (c *negativeCache) drop(path string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el := c.entries[path]; el != nil {
		c.remove(el)
	}
}

// invalidate drops the entries the changes touch.
func (c *negativeCache) invalidate(changes []change) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.entries) == 0 {
		return
	}
	for _, ch := range changes {
		for path := range c.byKey[ch.key] {
			c.remove(c.entries[path])
		}
		for _, path := range ch.paths {
			if el := c.entries[path]; el != nil {
				c.remove(el)
			}
		}
		for path := range c.listers {
			if hit, _ := touches(ch, path, c.entries[path].Value.(*store.Page)); hit {
				c.remove(c.entries[path])
			}
		}
	}
}
