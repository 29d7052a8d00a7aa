package server

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"html"
	"strconv"
	"unsafe"

	"github.com/valyala/fasthttp"

	"github.com/kilnhq/kiln/engine/internal/assets"
	"github.com/kilnhq/kiln/engine/internal/isr"
	"github.com/kilnhq/kiln/engine/internal/metrics"
)

var (
	hdrCache = []byte("X-Kiln-Cache")
	hdrCC    = []byte("Cache-Control")
	hdrAge   = []byte("Age")
	hdrETag  = []byte("ETag")
	hdrVary  = []byte("Vary")
	hdrCE    = []byte("Content-Encoding")
	hdrRetry = []byte("Retry-After")
	valVary  = []byte("Accept-Encoding")
	valState = map[string][]byte{}
)

func init() {
	for _, s := range []string{metrics.Hit, metrics.Stale, metrics.Miss, metrics.Fallback, metrics.Bypass, metrics.Preview, metrics.Static, metrics.Error} {
		valState[s] = []byte(s)
	}
}

// write writes an Answer. For a stored page it does not allocate.
func (s *Server) write(ctx *fasthttp.RequestCtx, a *isr.Answer) {
	s.count(a.Cache)
	if a.Page == nil {
		s.writeError(ctx, a)
		return
	}
	h := &ctx.Response.Header
	h.SetBytesKV(hdrCache, valState[a.Cache])
	for i := range a.Page.Headers {
		h.Set(a.Page.Headers[i].Name, a.Page.Headers[i].Value)
	}
	bp := bufPool.Get().(*[]byte)
	defer bufPool.Put(bp)
	*bp = a.AppendCacheControl((*bp)[:0])
	h.SetBytesKV(hdrCC, *bp)
	if !a.Private {
		*bp = strconv.AppendInt((*bp)[:0], a.Age, 10)
		h.SetBytesKV(hdrAge, *bp)
	}
	if a.ETag != "" {
		h.SetBytesKV(hdrETag, s2b(a.ETag))
	}
	if a.Vary {
		h.SetBytesKV(hdrVary, valVary)
	}
	if a.Encoding != "" {
		h.SetBytesKV(hdrCE, s2b(a.Encoding))
	}
	ctx.SetStatusCode(a.Status)
	if a.Status == fasthttp.StatusNotModified {
		ctx.Response.SkipBody = true
		return
	}
	body := a.Body
	if s.opts.Dev != nil {
		body = isr.InjectBeforeBodyEnd(body, reloadScript)
	}
	ctx.Response.SetBodyRaw(body)
}

// writeError writes an error answer: a short page, never cached (in
// `kiln dev`, the error itself). The engine logs failed renders, at a
// bounded rate; refusals (a backoff, a busy route) are not logged.
func (s *Server) writeError(ctx *fasthttp.RequestCtx, a *isr.Answer) {
	if errors.Is(a.Err, context.Canceled) && s.ctx.Err() != nil {
		a.Status = fasthttp.StatusServiceUnavailable
	}
	if s.opts.Dev != nil {
		s.devError(ctx, a.Status, "Render failed", a.Err.Error())
		return
	}
	h := &ctx.Response.Header
	h.SetBytesKV(hdrCache, valState[metrics.Error])
	h.Set("Cache-Control", "private, no-store")
	h.Set("Content-Type", "text/html; charset=utf-8")
	if a.RetryAfter > 0 {
		h.SetBytesKV(hdrRetry, strconv.AppendInt(nil, a.RetryAfter, 10))
	}
	ctx.SetStatusCode(a.Status)
	ctx.SetBodyString(errorPage(a.Status))
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
	if isr.ETagMatch(ctx.Request.Header.PeekBytes(strINM), f.ETag) {
		ctx.SetStatusCode(fasthttp.StatusNotModified)
		ctx.Response.SkipBody = true
		return
	}
	body := f.Body
	if f.Gzip != nil {
		h.SetBytesKV(hdrVary, valVary)
		if ctx.Request.Header.HasAcceptEncodingBytes(strGzip) {
			h.SetBytesKV(hdrCE, strGzip)
			body = f.Gzip
		}
	}
	ctx.Response.SetBodyRaw(body)
}

func errorPage(status int) string {
	msg := "Something went wrong while rendering this page."
	switch status {
	case fasthttp.StatusServiceUnavailable:
		msg = "This page cannot be rendered right now. Try again in a moment."
	case fasthttp.StatusGatewayTimeout:
		msg = "Rendering this page took too long."
	}
	return fmt.Sprintf(`<!doctype html><html lang="en"><head><meta charset="utf-8"><title>%d</title>`+
		`<meta name="viewport" content="width=device-width, initial-scale=1"></head>`+
		`<body style="font-family:system-ui,sans-serif;max-width:48rem;margin:4rem auto;padding:0 1rem">`+
		`<h1>%d</h1><p>%s</p></body></html>`, status, status, html.EscapeString(msg))
}

func constantTimeEqual(got []byte, want string) bool {
	return subtle.ConstantTimeCompare(got, []byte(want)) == 1
}

func s2b(s string) []byte {
	if s == "" {
		return nil
	}
	return unsafe.Slice(unsafe.StringData(s), len(s))
}
