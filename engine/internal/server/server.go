// Package server is Kiln's HTTP front: it serves stored pages over
// fasthttp, asks the ISR engine for renders, and exposes the admin API
// and /metrics. Every HTTP status is decided here.
package server

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"
	"unsafe"

	"github.com/valyala/fasthttp"

	"github.com/kilnhq/kiln/engine/internal/assets"
	"github.com/kilnhq/kiln/engine/internal/config"
	"github.com/kilnhq/kiln/engine/internal/isr"
	"github.com/kilnhq/kiln/engine/internal/metrics"
	"github.com/kilnhq/kiln/engine/internal/render"
	"github.com/kilnhq/kiln/engine/internal/router"
)

// Options configure a Server.
type Options struct {
	Engine        *isr.Engine
	Metrics       *metrics.Metrics
	Assets        *assets.Set
	Data          DataAdmin // optional: the /_kiln/data API
	Inspect       func(path string) (any, error)
	AdminSecret   string // empty: admin API off
	PreviewSecret string // empty: preview off
	Dev           *Dev   // non-nil in `kiln dev`
	Logger        *slog.Logger

	Routes         func() any // optional: GET /_kiln/routes, the running route table
	AdminSecretEnv string     // the admin secret's variable, named in errors; default KILN_ADMIN_SECRET
}

// Server serves one site.
type Server struct {
	opts   Options
	eng    *isr.Engine
	m      *metrics.Metrics
	log    *slog.Logger
	srv    *fasthttp.Server
	ctx    context.Context
	cancel context.CancelFunc
}

// New creates a server.
func New(opts Options) *Server {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &Server{opts: opts, eng: opts.Engine, m: opts.Metrics, log: opts.Logger, ctx: ctx, cancel: cancel}
	s.srv = &fasthttp.Server{
		Handler:                       s.Handle,
		Name:                          "kiln",
		NoDefaultServerHeader:         false,
		NoDefaultContentType:          true,
		DisablePreParseMultipartForm:  true,
		ReadTimeout:                   30 * time.Second,
		WriteTimeout:                  60 * time.Second,
		IdleTimeout:                   120 * time.Second,
		MaxRequestBodySize:            64 << 20,
		ReadBufferSize:                16 << 10, // long URLs reach the handler and get a 400, not a 431
		DisableHeaderNamesNormalizing: false,
		StreamRequestBody:             false,
	}
	return s
}

// Serve accepts connections on ln until Shutdown.
func (s *Server) Serve(ln net.Listener) error { return s.srv.Serve(ln) }

// Shutdown stops accepting connections and waits for open requests.
func (s *Server) Shutdown() error {
	s.cancel()
	return s.srv.Shutdown()
}

var (
	strGET      = []byte("GET")
	strHEAD     = []byte("HEAD")
	strKiln     = []byte("/_kiln/")
	strMetrics  = []byte("/metrics")
	strWait     = []byte("X-Kiln-Wait")
	strPreview  = []byte("X-Kiln-Preview")
	strPrevCook = []byte("kiln_preview")
)

// Handle serves one request.
func (s *Server) Handle(ctx *fasthttp.RequestCtx) {
	raw := rawPath(ctx.RequestURI())
	if bytes.HasPrefix(raw, strKiln) || bytes.Equal(raw, strMetrics) {
		s.admin(ctx, raw)
		return
	}
	method := ctx.Method()
	if !bytes.Equal(method, strGET) && !bytes.Equal(method, strHEAD) {
		ctx.Response.Header.Set("Allow", "GET, HEAD")
		s.plainError(ctx, fasthttp.StatusMethodNotAllowed, "method not allowed")
		return
	}
	path, ok := cleanPath(raw)
	if !ok {
		p, err := router.Normalize(raw)
		if err != nil {
			s.plainError(ctx, fasthttp.StatusBadRequest, "bad request: "+err.Error())
			return
		}
		path = p
	}
	if f := s.opts.Assets.Get(path); f != nil {
		s.writeAsset(ctx, f)
		return
	}
	if s.opts.Dev != nil {
		s.serveDev(ctx, path)
		return
	}
	if s.isPreview(ctx) {
		s.servePreview(ctx, path)
		return
	}
	s.servePage(ctx, path)
}

// servePage is the ISR decision for one path.
func (s *Server) servePage(ctx *fasthttp.RequestCtx, path string) {
	page, state, ok := s.eng.Lookup(path)
	if ok {
		switch state {
		case isr.Fresh:
			s.writePage(ctx, page, metrics.Hit)
			return
		case isr.Stale:
			s.eng.Trigger(path, "stale") // copies path only if it starts a render
			s.writePage(ctx, page, metrics.Stale)
			return
		}
		// Expired: block on a fresh render, but never trade a stored
		// page for an error.
		fresh, err := s.eng.Render(s.ctx, clone(path), "expired")
		if err != nil {
			s.writePage(ctx, page, metrics.Stale)
			return
		}
		s.writePage(ctx, fresh, metrics.Miss)
		return
	}
	s.serveMiss(ctx, clone(path))
}

// serveMiss handles a path that was never generated.
func (s *Server) serveMiss(ctx *fasthttp.RequestCtx, path string) {
	route, _, ok := s.eng.Match(path)
	if !ok {
		s.writeNotFound(ctx)
		return
	}
	fallback := route.Fallback
	if fallback == config.FallbackTrue && (isBot(ctx.UserAgent()) || len(ctx.Request.Header.PeekBytes(strWait)) > 0) {
		fallback = config.FallbackBlocking
	}
	switch fallback {
	case config.FallbackFalse:
		s.writeNotFound(ctx)
	case config.FallbackTrue:
		s.eng.Trigger(path, "first-request")
		shell := s.eng.Shell(s.ctx, path, func(body []byte) []byte { return injectBeforeBodyEnd(body, completeScript) })
		s.writePage(ctx, shell, metrics.Fallback)
	default:
		page, err := s.eng.Render(s.ctx, path, "first-request")
		if err != nil {
			s.renderError(ctx, path, err)
			return
		}
		s.writePage(ctx, page, metrics.Miss)
	}
}

func (s *Server) servePreview(ctx *fasthttp.RequestCtx, path string) {
	page, err := s.eng.Preview(s.ctx, clone(path))
	if errors.Is(err, isr.ErrNoRoute) {
		s.writeNotFound(ctx)
		return
	}
	if err != nil {
		s.renderError(ctx, path, err)
		return
	}
	page.Private = true
	s.writePage(ctx, page, metrics.Preview)
}

func (s *Server) isPreview(ctx *fasthttp.RequestCtx) bool {
	secret := s.opts.PreviewSecret
	if secret == "" {
		return false
	}
	if v := ctx.Request.Header.PeekBytes(strPreview); len(v) > 0 {
		return constantTimeEqual(v, secret)
	}
	if v := ctx.Request.Header.CookieBytes(strPrevCook); len(v) > 0 {
		return constantTimeEqual(v, secret)
	}
	return false
}

// renderError answers a failed blocking render: 503 with Retry-After
// when a data source is down, 504 on a timeout, else 500.
func (s *Server) renderError(ctx *fasthttp.RequestCtx, path string, err error) {
	s.count(metrics.Error)
	status := fasthttp.StatusInternalServerError
	switch {
	case errors.Is(err, render.ErrUnavailable):
		status = fasthttp.StatusServiceUnavailable
		ctx.Response.Header.Set("Retry-After", "5")
	case errors.Is(err, render.ErrTimeout), errors.Is(err, context.DeadlineExceeded):
		status = fasthttp.StatusGatewayTimeout
	case errors.Is(err, isr.ErrNoRoute):
		s.writeNotFound(ctx)
		return
	}
	s.log.Error("render failed", "path", path, "status", status, "err", err)
	ctx.Response.Header.Set("Cache-Control", "private, no-store")
	ctx.Response.Header.Set("Content-Type", "text/html; charset=utf-8")
	ctx.SetStatusCode(status)
	ctx.SetBodyString(errorPage(status, err, false))
}

func (s *Server) writeNotFound(ctx *fasthttp.RequestCtx) {
	s.writePage(ctx, s.eng.NotFoundPage(s.ctx), metrics.Hit)
}

func (s *Server) plainError(ctx *fasthttp.RequestCtx, status int, msg string) {
	ctx.Response.Header.Set("Cache-Control", "private, no-store")
	ctx.Response.Header.Set("Content-Type", "text/plain; charset=utf-8")
	ctx.SetStatusCode(status)
	ctx.SetBodyString(msg + "\n")
}

func (s *Server) count(state string) {
	if s.m != nil {
		s.m.Requests[state].Inc()
	}
}

// rawPath is the request target without its query string.
func rawPath(uri []byte) []byte {
	if i := bytes.IndexByte(uri, '?'); i >= 0 {
		return uri[:i]
	}
	return uri
}

// cleanPath recognises a path already in normal form without copying it:
// the hit path's fast lane. Anything unusual goes to router.Normalize.
func cleanPath(b []byte) (string, bool) {
	n := len(b)
	if n == 0 || b[0] != '/' || n > 1024 || (n > 1 && b[n-1] == '/') {
		return "", false
	}
	for i := 0; i < n; i++ {
		c := b[i]
		if c <= ' ' || c >= 0x7f || c == '%' || c == '\\' {
			return "", false
		}
		if c == '.' && b[i-1] == '/' {
			return "", false // "/.", "/..", dot files: let Normalize decide
		}
		if c == '/' && i > 0 && b[i-1] == '/' {
			return "", false
		}
	}
	if bytes.Equal(b, []byte("/index")) {
		return "", false
	}
	return unsafe.String(&b[0], n), true
}

// clone copies a path that may alias the request buffer, before it
// outlives the request: one allocation (a stale hit pays it).
func clone(s string) string { return strings.Clone(s) }

var bufPool = sync.Pool{New: func() any { b := make([]byte, 0, 128); return &b }}

func appendInt(b []byte, n int64) []byte { return strconv.AppendInt(b, n, 10) }
