package isr

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/kilnhq/kiln/engine/internal/config"
	"github.com/kilnhq/kiln/engine/internal/encode"
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

// generate renders a flight's path. The page is stored and answered
// uncompressed: its compressed variants follow (compressLater), so no
// request waits for the encoders.
func (e *Engine) generate(f *flight, cur *store.Page) landing {
	l := landing{start: e.clock.Now()}
	if f.route == nil {
		l.err = ErrNoRoute
		return l
	}
	_, params, _ := e.routes.Match(f.path)
	l.page, l.err = e.render(e.ctx, f.route, f.path, params, cur, f.mode)
	return l
}

// stored says whether a rendered page will be written to the store: not a
// private one, and not the 404 of a path never stored (that one is kept
// in memory).
func stored(p *store.Page, cur *store.Page) bool {
	return !p.Private && (p.Kind != store.KindNotFound || cur != nil)
}

// render calls the route's renderer and turns its answer into a page.
func (e *Engine) render(ctx context.Context, route *config.Route, path string, params []render.Param, prev *store.Page, mode render.Mode) (*store.Page, error) {
	r := e.renderers[route.Renderer]
	if r == nil {
		return nil, &RenderError{Path: path, Renderer: route.Renderer, Err: fmt.Errorf("no renderer %q", route.Renderer)}
	}
	req := render.Request{Route: route.Pattern, Path: path, Params: params, Mode: mode, Timeout: route.Timeout}
	if prev != nil {
		req.PrevGenerated = prev.Generated
	}
	start := e.clock.Now()
	e.rendering(1)
	resp, err := r.Render(ctx, req)
	e.rendering(-1)
	e.observeRender(route.Renderer, mode, start)
	if err != nil {
		return nil, &RenderError{Path: path, Renderer: route.Renderer, Err: err}
	}
	if resp.NotFound && len(resp.Body) == 0 {
		resp.Body = e.notFoundBody(ctx, path)
	}
	p, err := e.pageFrom(path, route, resp, e.clock.Now())
	if err != nil {
		return nil, &RenderError{Path: path, Renderer: route.Renderer, Err: err}
	}
	if mode == render.ModePreview {
		p.Private = true
	}
	return p, nil
}

// rendering counts the renders running now (kiln_renders_in_flight).
func (e *Engine) rendering(d float64) {
	if e.m != nil {
		e.m.InFlight.Add(d)
	}
}

func (e *Engine) observeRender(renderer string, mode render.Mode, start time.Time) {
	if e.m != nil {
		e.m.RenderSeconds.WithLabelValues(renderer, mode.String()).Observe(e.clock.Now().Sub(start).Seconds())
	}
}

// pageFrom turns a render response into a page (not compressed yet).
func (e *Engine) pageFrom(path string, route *config.Route, resp *render.Response, now time.Time) (*store.Page, error) {
	p := &store.Page{
		Path: path, Route: route.Pattern, Kind: store.KindPage, Status: resp.Status, Body: resp.Body,
		Generated: now, Revalidate: route.Revalidate, Expire: route.Expire,
		Tags: resp.Tags, Keys: resp.Deps.Keys, Prefixes: resp.Deps.Prefixes,
		Private: resp.NoStore,
	}
	if p.Status == 0 {
		p.Status = 200
	}
	switch {
	case resp.Redirect != "":
		if !safeRedirect(resp.Redirect) {
			return nil, fmt.Errorf("redirect to %q: only http(s) URLs and paths", resp.Redirect)
		}
		p.Kind = store.KindRedirect
		if p.Status < 300 || p.Status > 399 {
			p.Status = 307
		}
		p.Headers = append(p.Headers, store.Header{Name: "Location", Value: resp.Redirect})
	case resp.NotFound:
		p.Kind, p.Status = store.KindNotFound, 404
		p.Revalidate = e.negativeTTL()
	}
	if resp.Revalidate != render.RevalidateDefault && resp.Revalidate >= 0 {
		p.Revalidate = resp.Revalidate
	}
	if p.Status >= 500 {
		// A renderer's own error page is shown to a request that waits,
		// never stored or shared (flight.land counts it a failure).
		p.Private = true
	}
	hasType := false
	for _, h := range resp.Headers {
		hasType = hasType || strings.EqualFold(h.Name, "Content-Type")
		p.Headers = append(p.Headers, store.Header{Name: h.Name, Value: h.Value})
	}
	if !hasType && p.Kind != store.KindRedirect {
		p.Headers = append(p.Headers, store.Header{Name: "Content-Type", Value: "text/html; charset=utf-8"})
	}
	p.ETag = etagOf(p.Body)
	p.Seal()
	return p, nil
}

// etagOf is the strong ETag of an identity body.
func etagOf(body []byte) string {
	sum := sha256.Sum256(body)
	return `"` + hex.EncodeToString(sum[:12]) + `"`
}

// safeRedirect accepts a path, or an absolute http or https URL: a
// renderer cannot make a page send visitors to javascript: or data: URLs.
func safeRedirect(loc string) bool {
	if strings.ContainsAny(loc, "\r\n\x00") {
		return false
	}
	if strings.HasPrefix(loc, "/") && !strings.HasPrefix(loc, "//") {
		return true
	}
	u, err := url.Parse(loc)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}

// compress adds the page's gzip and brotli variants (what a build does
// before it stores a page).
func compress(p *store.Page) {
	p.Gzip, p.Brotli = encode.Variants(p.Body, contentType(p))
	p.Seal()
}

// compressible returns the page a flight just stored if it is worth
// compressing, else nil.
func compressible(l landing, res result) *store.Page {
	if l.page == nil || l.kept || res.kept || res.err != nil {
		return nil
	}
	p := res.page
	if p == nil || p == l.page || p.Version == 0 || p.Gzip != nil || p.Brotli != nil {
		return nil // not stored, or already compressed
	}
	if !encode.Worth(p.Body, contentType(p)) {
		return nil
	}
	return p
}

// compressLater computes the gzip and brotli variants of a page a flight
// stored, in the background, and stores them as an update of the same
// version: a newer version stored meanwhile is left alone (its own
// compression follows it). The caller holds e.mu; WaitIdle and Close wait
// for it.
func (e *Engine) compressLater(p *store.Page) {
	e.busy()
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		e.squeeze <- struct{}{}
		gz, br := encode.Variants(p.Body, contentType(p))
		<-e.squeeze
		if gz != nil || br != nil {
			err := e.pages.SetVariants(p.Path, p.Version, gz, br)
			if err != nil && !errors.Is(err, store.ErrConflict) && !errors.Is(err, store.ErrNotFound) {
				e.log.Error("store compressed variants", "path", p.Path, "err", err)
			}
		}
		e.mu.Lock()
		e.idle()
		e.mu.Unlock()
	}()
}

// contentType returns the page's Content-Type header value.
func contentType(p *store.Page) string {
	for _, h := range p.Headers {
		if strings.EqualFold(h.Name, "Content-Type") {
			return h.Value
		}
	}
	return ""
}

// record logs a render's outcome, appends it to the page's history (with
// history) and observes its latency.
func (e *Engine) record(path, reason string, start time.Time, page *store.Page, err error, history bool) {
	ev := event(reason, start, e.clock.Now().Sub(start), page, err)
	e.logEvent(path, ev, err, !history)
	if history {
		if herr := e.history.AddHistory(path, ev); herr != nil {
			e.log.Error("record history", "path", path, "err", herr)
		}
	}
}

// event is the history event of a render that started at start and took d.
func event(reason string, start time.Time, d time.Duration, page *store.Page, err error) store.Event {
	ev := store.Event{At: start, Reason: reason, Duration: d, Outcome: outcome(page, err)}
	if err != nil {
		ev.Error = err.Error()
	}
	return ev
}

// logEvent logs a render's outcome and observes its latency. A render
// that found nothing and stored nothing (a made-up URL; unrecorded) is
// logged on its own rate limit.
func (e *Engine) logEvent(path string, ev store.Event, err error, unrecorded bool) {
	switch {
	case err != nil:
		e.logFailure(path, ev.Reason, ev.Duration, err)
	case unrecorded && ev.Outcome == OutcomeNotFound:
		e.logNotFound(path, ev.Reason, ev.Duration)
	default:
		e.log.Info("regenerated", "path", path, "reason", ev.Reason, "duration", ev.Duration, "outcome", ev.Outcome)
	}
	if e.m != nil {
		e.m.RegenSeconds.WithLabelValues(ev.Reason, ev.Outcome).Observe(ev.Duration.Seconds())
	}
}

// Outcomes, in history and on-demand results.
const (
	OutcomeRegenerated = "regenerated"
	OutcomeNotFound    = "not_found"
	OutcomeRedirect    = "redirect"
	OutcomeNotStored   = "not_stored"
	OutcomeError       = "error"
)

func outcome(p *store.Page, err error) string {
	switch {
	case err != nil:
		return OutcomeError
	case p.Private:
		return OutcomeNotStored
	case p.Kind == store.KindNotFound:
		return OutcomeNotFound
	case p.Kind == store.KindRedirect:
		return OutcomeRedirect
	}
	return OutcomeRegenerated
}
