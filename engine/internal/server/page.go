package server

import (
	"bytes"
	"crypto/subtle"
	"fmt"
	"html"
	"time"
	"unsafe"

	"github.com/valyala/fasthttp"

	"github.com/kilnhq/kiln/engine/internal/assets"
	"github.com/kilnhq/kiln/engine/internal/isr"
	"github.com/kilnhq/kiln/engine/internal/metrics"
	"github.com/kilnhq/kiln/engine/internal/store"
)

// year is the s-maxage of a page that never goes stale, and the
// stale-while-revalidate window of one without `expire`, as Next.js does.
const year = 365 * 24 * 60 * 60

var (
	hdrCache   = []byte("X-Kiln-Cache")
	hdrCC      = []byte("Cache-Control")
	hdrAge     = []byte("Age")
	hdrETag    = []byte("ETag")
	hdrVary    = []byte("Vary")
	hdrCE      = []byte("Content-Encoding")
	hdrINM     = []byte("If-None-Match")
	valVary    = []byte("Accept-Encoding")
	valBr      = []byte("br")
	valGzip    = []byte("gzip")
	valNoStore = []byte("private, no-store")
	valState   = map[string][]byte{}
)

func init() {
	for _, s := range []string{metrics.Hit, metrics.Stale, metrics.Miss, metrics.Fallback, metrics.Bypass, metrics.Preview, metrics.Static, metrics.Error} {
		valState[s] = []byte(s)
	}
}

// writePage writes a page with its cache headers. On a hit it does not
// allocate.
func (s *Server) writePage(ctx *fasthttp.RequestCtx, p *store.Page, state string) {
	s.count(state)
	now := time.Now()
	h := &ctx.Response.Header
	h.SetBytesKV(hdrCache, valState[state])
	for i := range p.Headers {
		h.Set(p.Headers[i].Name, p.Headers[i].Value)
	}
	bp := bufPool.Get().(*[]byte)
	defer bufPool.Put(bp)
	if p.Private {
		h.SetBytesKV(hdrCC, valNoStore)
	} else {
		*bp = cacheControl((*bp)[:0], p, now)
		h.SetBytesKV(hdrCC, *bp)
		*bp = appendInt((*bp)[:0], isr.Age(p, now))
		h.SetBytesKV(hdrAge, *bp)
	}
	h.SetBytesKV(hdrETag, s2b(p.ETag))
	ctx.SetStatusCode(p.Status)
	if p.Status != fasthttp.StatusNotFound && etagMatch(ctx.Request.Header.PeekBytes(hdrINM), p.ETag) {
		ctx.SetStatusCode(fasthttp.StatusNotModified)
		ctx.Response.SkipBody = true
		return
	}
	body := p.Body
	if p.Brotli != nil || p.Gzip != nil {
		h.SetBytesKV(hdrVary, valVary)
		switch {
		case p.Brotli != nil && ctx.Request.Header.HasAcceptEncodingBytes(valBr):
			h.SetBytesKV(hdrCE, valBr)
			body = p.Brotli
		case p.Gzip != nil && ctx.Request.Header.HasAcceptEncodingBytes(valGzip):
			h.SetBytesKV(hdrCE, valGzip)
			body = p.Gzip
		}
	}
	ctx.Response.SetBodyRaw(body)
}

// cacheControl is RFC 9111/5861 Cache-Control for a stored page: shared
// caches may keep it for the rest of its freshness, then serve it stale
// for a finite window while they revalidate.
func cacheControl(b []byte, p *store.Page, now time.Time) []byte {
	b = append(b, "public, s-maxage="...)
	if p.Revalidate <= 0 && p.Expire <= 0 && !p.StaleMarked {
		return appendInt(b, year)
	}
	age := isr.Age(p, now)
	remaining := int64(p.Revalidate/time.Second) - age
	if remaining < 0 || p.StaleMarked || p.Revalidate <= 0 {
		remaining = 0
	}
	b = appendInt(b, remaining)
	b = append(b, ", stale-while-revalidate="...)
	swr := int64(year)
	if p.Expire > 0 {
		swr = int64(p.Expire/time.Second) - age - remaining
	}
	if swr < 0 {
		swr = 0
	}
	return appendInt(b, swr)
}

// etagMatch implements If-None-Match for a strong ETag.
func etagMatch(inm []byte, etag string) bool {
	if len(inm) == 0 {
		return false
	}
	if len(inm) == 1 && inm[0] == '*' {
		return true
	}
	e := s2b(etag)
	for len(inm) > 0 {
		i := bytes.IndexByte(inm, ',')
		tok := inm
		if i >= 0 {
			tok, inm = inm[:i], inm[i+1:]
		} else {
			inm = nil
		}
		tok = bytes.TrimSpace(tok)
		tok = bytes.TrimPrefix(tok, []byte("W/"))
		if bytes.Equal(tok, e) {
			return true
		}
	}
	return false
}

func (s *Server) writeAsset(ctx *fasthttp.RequestCtx, f *assets.File) {
	s.count(metrics.Static)
	h := &ctx.Response.Header
	h.Set("Content-Type", f.ContentType)
	h.SetBytesKV(hdrETag, s2b(f.ETag))
	if f.Immutable {
		h.Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		h.Set("Cache-Control", "public, max-age=60")
	}
	if etagMatch(ctx.Request.Header.PeekBytes(hdrINM), f.ETag) {
		ctx.SetStatusCode(fasthttp.StatusNotModified)
		ctx.Response.SkipBody = true
		return
	}
	body := f.Body
	if f.Gzip != nil {
		h.SetBytesKV(hdrVary, valVary)
		if ctx.Request.Header.HasAcceptEncodingBytes(valGzip) {
			h.SetBytesKV(hdrCE, valGzip)
			body = f.Gzip
		}
	}
	ctx.Response.SetBodyRaw(body)
}

// bots get the blocking behaviour instead of a fallback shell, so they
// index the real page.
var botTokens = [][]byte{
	[]byte("bot"), []byte("crawler"), []byte("spider"), []byte("slurp"),
	[]byte("facebookexternalhit"), []byte("embedly"), []byte("lighthouse"),
}

func isBot(ua []byte) bool {
	lower := bytes.ToLower(ua)
	for _, t := range botTokens {
		if bytes.Contains(lower, t) {
			return true
		}
	}
	return false
}

// completeScript turns a fallback shell into the real page without a
// reload: it asks for the page again, waiting for the render, and swaps
// the document.
const completeScript = `<script>(function(){var u=location.pathname+location.search;` +
	`function go(n){fetch(u,{headers:{"X-Kiln-Wait":"1"},credentials:"same-origin",cache:"no-store"})` +
	`.then(function(r){if(r.status>=500&&n<5){return new Promise(function(ok){setTimeout(ok,500*(n+1))}).then(function(){return go(n+1)})}` +
	`return r.text().then(function(t){document.open();document.write(t);document.close()})})` +
	`.catch(function(){if(n<5)setTimeout(function(){go(n+1)},1000)})}go(0)})();</script>`

// injectBeforeBodyEnd inserts script before </body>, or appends it.
func injectBeforeBodyEnd(body []byte, script string) []byte {
	i := bytes.LastIndex(bytes.ToLower(body), []byte("</body>"))
	out := make([]byte, 0, len(body)+len(script))
	if i < 0 {
		return append(append(out, body...), script...)
	}
	out = append(out, body[:i]...)
	out = append(out, script...)
	return append(out, body[i:]...)
}

func errorPage(status int, err error, detail bool) string {
	msg := "Something went wrong while rendering this page."
	if status == fasthttp.StatusServiceUnavailable {
		msg = "A data source is unavailable. Try again in a moment."
	}
	if status == fasthttp.StatusGatewayTimeout {
		msg = "Rendering this page took too long."
	}
	pre := ""
	if detail {
		pre = "<pre style=\"white-space:pre-wrap;background:#fee;padding:1rem;border-radius:.5rem\">" + html.EscapeString(err.Error()) + "</pre>"
	}
	return fmt.Sprintf(`<!doctype html><html lang="en"><head><meta charset="utf-8"><title>%d</title>`+
		`<meta name="viewport" content="width=device-width, initial-scale=1"></head>`+
		`<body style="font-family:system-ui,sans-serif;max-width:48rem;margin:4rem auto;padding:0 1rem">`+
		`<h1>%d</h1><p>%s</p>%s</body></html>`, status, status, msg, pre)
}

func constantTimeEqual(got []byte, want string) bool {
	return subtle.ConstantTimeCompare(got, []byte(want)) == 1
}

func s2b(s string) []byte {
	if s == "" {
		return nil
	}
	return unsafeBytes(s)
}

func unsafeBytes(s string) []byte { return unsafe.Slice(unsafe.StringData(s), len(s)) }
