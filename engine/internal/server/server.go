// Package server is Kiln's HTTP front: a thin fasthttp adapter. It turns a
// request into an isr.Request, writes the isr.Answer the engine decides,
// and serves static files, the admin API and /metrics. Page freshness,
// statuses and cache headers are the engine's decisions, not this
// package's.
package server

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/valyala/fasthttp"
	"github.com/valyala/fasthttp/fasthttpadaptor"

	"github.com/kilnhq/kiln/engine/internal/assets"
	"github.com/kilnhq/kiln/engine/internal/isr"
	"github.com/kilnhq/kiln/engine/internal/metrics"
	"github.com/kilnhq/kiln/engine/internal/router"
)

// Options configure a Server.
type Options struct {
	Engine        *isr.Engine
	Metrics       *metrics.Metrics
	Assets        *assets.Set
	Data          DataAdmin // optional: the /_kiln/data API
	AdminSecret   string    // empty: admin API off
	PreviewSecret string    // empty: preview off
	Dev           *Dev      // non-nil in `kiln dev`
	Logger        *slog.Logger

	Routes         func() any // optional: GET /_kiln/routes, the running route table
	AdminSecretEnv string     // the admin secret's variable, named in errors; default KILN_ADMIN_SECRET

	// MaxAdminBody caps an authorized admin request's body over HTTP
	// (413 past it); 0 means DefaultMaxAdminBody. Every other request may
	// carry at most 1 KiB, ignored.
	MaxAdminBody int
	// MaxConns caps open connections (past it a new one gets 503 and is
	// closed); 0 derives it from the fd limit (DefaultMaxConns).
	// MaxConnsPerIP caps one client address's (429); 0 is no cap.
	MaxConns      int
	MaxConnsPerIP int

	// MetricsApart is set when /metrics is served on its own listener
	// (ServeMetrics, site.hcl's metrics_listen): the main listener then
	// answers 404 for it. Unset, /metrics on the main listener needs the
	// admin secret when one is set.
	MetricsApart bool

	// Degraded lists the parts running degraded (a data source the
	// supervisor keeps retrying), one line each, for /_kiln/healthz.
	Degraded func() []string

	// Ready, when set, says whether /_kiln/readyz answers 200 (a cluster
	// node that caught up); nil means always ready. /_kiln/healthz is
	// liveness and answers 200 (also when degraded).
	Ready func() bool

	// WaitAll, when set (cluster mode), is what `"wait": "all"` on
	// /_kiln/revalidate waits for: every live node applied the records of
	// paths. nil means one node, where "all" is the default.
	WaitAll func(ctx context.Context, paths []string) error
}

// Server serves one site.
type Server struct {
	opts Options
	eng  *isr.Engine
	m    *metrics.Metrics
	log  *slog.Logger
	srv  *fasthttp.Server // the first leanAbove connections
	lean *fasthttp.Server // the others, with ReduceMemoryUsage
	ctx  context.Context

	fastOpen openConns // connections s.srv serves now

	maxAdminBody int
	scrape       fasthttp.RequestHandler // /metrics, built once
	scrapes      scrapeCache
	authFails    authLimiter
	cancel       context.CancelFunc
}

// New creates a server.
func New(opts Options) *Server {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &Server{opts: opts, eng: opts.Engine, m: opts.Metrics, log: opts.Logger, ctx: ctx, cancel: cancel}
	s.maxAdminBody = cmp.Or(opts.MaxAdminBody, DefaultMaxAdminBody)
	if s.m != nil {
		s.scrape = fasthttpadaptor.NewFastHTTPHandler(promhttp.HandlerFor(s.m.Registry, promhttp.HandlerOpts{}))
	}
	maxConns := cmp.Or(opts.MaxConns, DefaultMaxConns(fdLimit()))
	s.srv = s.newHTTP(maxConns, false)
	s.lean = s.newHTTP(max(maxConns-leanAbove, 1), true)
	s.srv.ConnState = s.fastOpen.track
	if opts.MaxConnsPerIP == 0 {
		s.fastOpen.leanAt = leanAbove
	}
	return s
}

// readTimeout bounds the read of a request from its first byte, and a
// keep-alive connection's wait for its next request.
const readTimeout = 30 * time.Second

// newHTTP is one of the two fasthttp servers Serve hands connections
// to, both serving s.Handle with the same limits; lean ones give back a
// connection's request context and read buffer while it waits
// (conns.go).
func (s *Server) newHTTP(maxConns int, lean bool) *fasthttp.Server {
	return &fasthttp.Server{
		Handler:                      s.Handle,
		Name:                         "kiln",
		NoDefaultServerHeader:        false,
		NoDefaultContentType:         true,
		DisablePreParseMultipartForm: true,
		// The idle time equals the read timeout, so that the deadlines
		// of a busy keep-alive connection seldom move (deadline.go).
		ReadTimeout:                   readTimeout,
		WriteTimeout:                  60 * time.Second,
		IdleTimeout:                   readTimeout,
		ReadBufferSize:                16 << 10, // long URLs reach the handler and get a 400, not a 431
		DisableHeaderNamesNormalizing: false,
		ReduceMemoryUsage:             lean,
		// The body cap is decided per request on its headers, before any
		// of the body is read or reserved (limits.go).
		Concurrency:    maxConns,
		MaxConnsPerIP:  s.opts.MaxConnsPerIP,
		HeaderReceived: s.bodyLimit,
		ExpectHandler:  s.expect,
		ErrorHandler:   requestError,
		Logger:         serverLog{s.log},
		// A request that cannot be parsed is logged without its bytes:
		// they may hold the admin secret.
		SecureErrorLogMessage: true,
	}
}

// Serve accepts connections on ln until Shutdown. An accept that fails
// for lack of file descriptors is retried, not returned. The first
// leanAbove open connections are served by s.srv, the rest by s.lean.
func (s *Server) Serve(ln net.Listener) error {
	return s.split(retryListener{Listener: ln, log: s.log})
}

// Shutdown stops accepting connections and waits for open requests.
func (s *Server) Shutdown() error {
	s.cancel()
	return errors.Join(s.srv.Shutdown(), s.lean.Shutdown())
}

var (
	strGET      = []byte("GET")
	strHEAD     = []byte("HEAD")
	strKiln     = []byte("/_kiln/")
	strMetrics  = []byte("/metrics")
	strWait     = []byte("X-Kiln-Wait")
	strPreview  = []byte("X-Kiln-Preview")
	strPrevCook = []byte("kiln_preview")
	strBr       = []byte("br")
	strGzip     = []byte("gzip")
	strINM      = []byte("If-None-Match")
)

// Handle serves one request.
func (s *Server) Handle(ctx *fasthttp.RequestCtx) {
	if badVersion(&ctx.Request.Header) {
		ctx.SetConnectionClose()
		s.plainError(ctx, fasthttp.StatusHTTPVersionNotSupported, "http version not supported")
		return
	}
	if tooManyHeaders(&ctx.Request.Header) {
		forgetHeaders(ctx)
		s.plainError(ctx, fasthttp.StatusRequestHeaderFieldsTooLarge, "too many header fields")
		return
	}
	uri := ctx.RequestURI()
	if raw := rawPath(uri); bytes.HasPrefix(raw, strKiln) || bytes.Equal(raw, strMetrics) {
		s.admin(ctx, raw)
		return
	}
	method := ctx.Method()
	if !bytes.Equal(method, strGET) && !bytes.Equal(method, strHEAD) {
		ctx.Response.Header.Set("Allow", "GET, HEAD")
		s.plainError(ctx, fasthttp.StatusMethodNotAllowed, "method not allowed")
		return
	}
	path, ok := router.Clean(uri)
	if !ok {
		p, err := router.Normalize(uri)
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
	h := &ctx.Request.Header
	req := isr.Request{
		Path: path, UserAgent: h.UserAgent(), Wait: len(h.PeekBytes(strWait)) > 0,
		IfNoneMatch: h.PeekBytes(strINM), Dev: s.opts.Dev != nil,
	}
	if h.HasAcceptEncodingBytes(strBr) {
		req.Accept |= isr.AcceptBrotli
	}
	if h.HasAcceptEncodingBytes(strGzip) {
		req.Accept |= isr.AcceptGzip
	}
	if req.Dev {
		if _, buildErr, _ := s.opts.Dev.state(); buildErr != "" {
			s.devError(ctx, fasthttp.StatusInternalServerError, "Build failed", buildErr)
			return
		}
	} else {
		req.Preview = s.isPreview(ctx)
	}
	a := s.eng.Serve(s.ctx, req)
	s.write(ctx, &a)
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

// rawPath is the request target without its query string or fragment.
func rawPath(uri []byte) []byte {
	if i := bytes.IndexAny(uri, "?#"); i >= 0 {
		return uri[:i]
	}
	return uri
}

var bufPool = sync.Pool{New: func() any { b := make([]byte, 0, 128); return &b }}
