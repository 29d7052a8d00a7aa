package isr

import (
	"bytes"
	"context"
	"errors"
	"strconv"
	"time"

	"github.com/kilnhq/kiln/engine/internal/config"
	"github.com/kilnhq/kiln/engine/internal/crawler"
	"github.com/kilnhq/kiln/engine/internal/metrics"
	"github.com/kilnhq/kiln/engine/internal/render"
	"github.com/kilnhq/kiln/engine/internal/store"
)

// Accept is the set of content codings a client takes.
type Accept uint8

const (
	AcceptGzip Accept = 1 << iota
	AcceptBrotli
)

// Request is one visitor's request for a page.
type Request struct {
	// Path is the normalized path. It may alias a reused buffer: Serve
	// copies it only when something outlives the call.
	Path string
	// UserAgent decides, on a fallback = "true" route, whether the client
	// is a crawler (or another client that cannot run the shell's script)
	// and gets the blocking behaviour instead of a shell. May alias.
	UserAgent []byte
	// Wait is the fallback shell's own request for the page (X-Kiln-Wait):
	// it waits for the render.
	Wait        bool
	Accept      Accept
	IfNoneMatch []byte // may alias
	// Preview renders the page fresh and stores nothing (a preview
	// secret); Dev does the same for `kiln dev`.
	Preview, Dev bool
}

// Answer is everything the HTTP layer writes for a request.
type Answer struct {
	Status int
	Cache  string      // X-Kiln-Cache: one of the metrics cache states
	Page   *store.Page // the page whose headers are sent; nil for an error
	// Body is the body in Encoding ("", "gzip" or "br"); nil on a 304.
	Body     []byte
	Encoding string
	ETag     string
	Vary     bool // Vary: Accept-Encoding
	// Private answers are "Cache-Control: private, no-store"; the others
	// carry MaxAge (s-maxage), SWR (stale-while-revalidate, omitted when
	// negative) and Age, all in seconds.
	Private          bool
	MaxAge, SWR, Age int64
	// RetryAfter, when positive, is sent as Retry-After (seconds).
	RetryAfter int64
	// Err is what failed, for an error answer (Status 5xx, Page nil).
	Err error
}

// AppendCacheControl appends the Cache-Control value of a.
func (a *Answer) AppendCacheControl(b []byte) []byte {
	if a.Private {
		return append(b, "private, no-store"...)
	}
	b = append(b, "public, s-maxage="...)
	b = strconv.AppendInt(b, a.MaxAge, 10)
	if a.SWR >= 0 {
		b = append(b, ", stale-while-revalidate="...)
		b = strconv.AppendInt(b, a.SWR, 10)
	}
	return b
}

// Serve decides what a request gets. A stored fresh page is answered
// without allocating; a stale one too, starting one regeneration in the
// background; an expired or missing one waits for a render, or gets a
// fallback shell, a 404 or an error, as the route says.
func (e *Engine) Serve(ctx context.Context, req Request) Answer {
	if req.Preview || req.Dev {
		return e.serveFresh(ctx, req)
	}
	p, err := e.pages.GetFor(req.Path, req.Accept&AcceptBrotli != 0, req.Accept&AcceptGzip != 0)
	if e.afterLookup != nil {
		e.afterLookup(req.Path)
	}
	if err != nil {
		return e.serveMiss(ctx, req)
	}
	now := e.clock.Now()
	switch Classify(p, now) {
	case Fresh:
		return e.answer(req, p, metrics.Hit, now)
	case Stale:
		e.trigger(req.Path)
		return e.answer(req, p, metrics.Stale, now)
	}
	return e.serveExpired(ctx, req, p)
}

// serveExpired waits for a new render of an expired page. A failed (or
// backing-off) render never trades the stored page for an error: it is
// served stale.
func (e *Engine) serveExpired(ctx context.Context, req Request, p *store.Page) Answer {
	f, err := e.join(req.Path, needPage, "expired", render.ModeBlocking, false)
	if err != nil {
		return e.answer(req, p, metrics.Stale, e.clock.Now())
	}
	res := wait(ctx, f, false)
	if res.err != nil || res.page == nil {
		return e.answer(req, p, metrics.Stale, e.clock.Now())
	}
	return e.answer(req, res.page, res.cache(), e.clock.Now())
}

// serveMiss answers a path with no stored page, as its route's fallback
// says.
func (e *Engine) serveMiss(ctx context.Context, req Request) Answer {
	route, _, ok := e.routes.Match(req.Path)
	if !ok {
		return e.notFoundAnswer(ctx, req)
	}
	now := e.clock.Now()
	if p := e.negative.get(req.Path, now); p != nil {
		return e.answer(req, p, metrics.Hit, now)
	}
	switch fallbackFor(route, req) {
	case config.FallbackFalse:
		return e.notFoundAnswer(ctx, req)
	case config.FallbackTrue:
		if _, err := e.join(req.Path, needPage, "first-request", render.ModeBackground, true); err != nil {
			return e.errorAnswer(err)
		}
		return e.answer(req, e.shell(ctx, route, req.Path), metrics.Fallback, now)
	}
	f, err := e.join(req.Path, needPage, "first-request", render.ModeBlocking, true)
	if err != nil {
		return e.errorAnswer(err)
	}
	res := wait(ctx, f, false)
	switch {
	case res.err != nil && res.page != nil:
		return e.answer(req, res.page, metrics.Miss, e.clock.Now()) // the renderer's own error page
	case res.err != nil:
		return e.errorAnswer(res.err)
	}
	return e.answer(req, res.page, res.cache(), e.clock.Now())
}

// fallbackFor is the route's fallback for this request: crawlers and the
// shell's own request get the blocking behaviour on a "true" route.
func fallbackFor(route *config.Route, req Request) config.Fallback {
	if route.Fallback == config.FallbackTrue && (req.Wait || crawler.Is(req.UserAgent)) {
		return config.FallbackBlocking
	}
	return route.Fallback
}

// serveFresh renders a page for a preview or `kiln dev`: fresh, private,
// stored nowhere, not compressed.
func (e *Engine) serveFresh(ctx context.Context, req Request) Answer {
	req.Accept = 0 // identity: the dev server edits the body
	cache := metrics.Preview
	if req.Dev {
		cache = metrics.Bypass
	}
	route, params, ok := e.routes.Match(req.Path)
	if !ok {
		a := e.notFoundAnswer(ctx, req)
		a.Cache, a.Private = cache, true
		return a
	}
	prev, _ := e.pages.Get(req.Path)
	p, err := e.render(ctx, route, req.Path, params, prev, render.ModePreview)
	if err != nil {
		return e.errorAnswer(err)
	}
	p.Private = true
	return e.answer(req, p, cache, e.clock.Now())
}

// answer is a page's answer for a request: the encoding the client takes,
// its ETag, 304 on a matching If-None-Match, and the cache headers. It
// does not allocate.
func (e *Engine) answer(req Request, p *store.Page, cache string, now time.Time) Answer {
	enc := p.Negotiate(req.Accept&AcceptBrotli != 0, req.Accept&AcceptGzip != 0)
	body, etag, _ := p.Variant(enc)
	a := Answer{
		Status: p.Status, Cache: cache, Page: p, Body: body, Encoding: encodingNames[enc],
		ETag: etag, Vary: p.Has(store.Gzip) || p.Has(store.Brotli), Private: p.Private,
	}
	if !p.Private {
		a.MaxAge, a.SWR = lifetime(p)
		a.Age = Age(p, now)
	}
	if p.Status < 300 && ETagMatch(req.IfNoneMatch, etag) {
		a.Status, a.Body = 304, nil
	}
	return a
}

var encodingNames = [...]string{store.Identity: "", store.Gzip: "gzip", store.Brotli: "br"}

// ETagMatch implements If-None-Match's weak comparison (RFC 9110 13.1.2)
// against the answer's strong ETag.
func ETagMatch(inm []byte, etag string) bool {
	if len(inm) == 0 || etag == "" {
		return false
	}
	if len(inm) == 1 && inm[0] == '*' {
		return true
	}
	for len(inm) > 0 {
		tok := inm
		if i := bytes.IndexByte(inm, ','); i >= 0 {
			tok, inm = inm[:i], inm[i+1:]
		} else {
			inm = nil
		}
		tok = bytes.TrimPrefix(bytes.TrimSpace(tok), []byte("W/"))
		if string(tok) == etag {
			return true
		}
	}
	return false
}

// errorAnswer is the answer to a request whose render failed, or that a
// backoff or a limit turns away: 503 with Retry-After when a data source
// is down or the engine is busy, 504 on a timeout, 404 for no route, else
// 500. It is never stored or shared.
func (e *Engine) errorAnswer(err error) Answer {
	a := Answer{Status: 500, Cache: metrics.Error, Private: true, Err: err, SWR: -1}
	var b *backoffError
	if errors.As(err, &b) {
		a.RetryAfter = max(1, int64((b.until.Sub(e.clock.Now())+time.Second-1)/time.Second))
		err = b.err
	}
	var st *statusError
	switch {
	case errors.As(err, &st):
		a.Status = st.status
	case errors.Is(err, errBusy):
		a.Status, a.RetryAfter = 503, 1
	case errors.Is(err, render.ErrUnavailable), errors.Is(err, ErrClosed):
		a.Status = 503
		a.RetryAfter = max(a.RetryAfter, 5)
	case errors.Is(err, render.ErrTimeout), errors.Is(err, context.DeadlineExceeded):
		a.Status = 504
	}
	return a
}
