package server

import (
	"context"
	"encoding/json"
	"errors"
	"net/url"
	"strings"
	"time"

	"github.com/valyala/fasthttp"
	"github.com/valyala/fasthttp/pprofhandler"

	"github.com/kilnhq/kiln/engine/internal/isr"
	"github.com/kilnhq/kiln/engine/internal/router"
)

// DataAdmin is the part of the data-source host the admin API exposes,
// for `kiln data` while the engine runs.
type DataAdmin interface {
	Get(ctx context.Context, source, key string) (value []byte, found bool, err error)
	Put(ctx context.Context, source, key string, value []byte) (revision uint64, err error)
	Delete(ctx context.Context, source, key string) (revision uint64, err error)
	Import(ctx context.Context, source string, items map[string]json.RawMessage) (count int, err error)
	Export(ctx context.Context, source string) (map[string]json.RawMessage, error)
}

// Errors a DataAdmin wraps, for their statuses.
var (
	ErrNotWritable = errors.New("server: data source is not writable") // 409
	ErrNoSource    = errors.New("server: no such data source")         // 404
)

// Admin calls' deadlines: a single item, and a whole import or export.
const (
	dataTimeout = 30 * time.Second
	bulkTimeout = 10 * time.Minute
)

// admin serves /metrics (behind the admin secret when one is set, or 404
// when it has its own listener) and /_kiln/* (with /_kiln/debug/pprof/, Go's
// profiles, like Caddy's admin endpoint).
func (s *Server) admin(ctx *fasthttp.RequestCtx, raw []byte) {
	p := string(raw)
	switch {
	case p == "/metrics":
		switch {
		case s.opts.MetricsApart:
			s.jsonError(ctx, fasthttp.StatusNotFound, "no such endpoint")
		case s.opts.AdminSecret == "" || s.authorized(ctx):
			s.metrics(ctx)
		}
		return
	case p == "/_kiln/healthz":
		s.healthz(ctx)
		return
	case p == "/_kiln/readyz":
		ctx.SetContentType("text/plain; charset=utf-8")
		if s.opts.Ready != nil && !s.opts.Ready() {
			ctx.SetStatusCode(fasthttp.StatusServiceUnavailable)
			ctx.SetBodyString("catching up\n")
			return
		}
		ctx.SetBodyString("ok\n")
		return
	case p == "/_kiln/dev/events" && s.opts.Dev != nil:
		s.opts.Dev.events(ctx, s.ctx.Done())
		return
	}
	if !s.authorized(ctx) {
		return
	}
	s.adminAPI(ctx, p)
}

// adminAPI serves the endpoints behind the admin secret, or behind the
// admin socket's file mode (ServeLocal).
func (s *Server) adminAPI(ctx *fasthttp.RequestCtx, p string) {
	switch {
	case p == "/_kiln/revalidate" && ctx.IsPost():
		s.revalidate(ctx)
	case p == "/_kiln/inspect" && ctx.IsGet():
		s.inspect(ctx)
	case p == "/_kiln/routes" && ctx.IsGet() && s.opts.Routes != nil:
		s.writeJSON(ctx, fasthttp.StatusOK, s.opts.Routes())
	case strings.HasPrefix(p, "/_kiln/data/"):
		s.data(ctx, strings.TrimPrefix(p, "/_kiln/data/"))
	case strings.HasPrefix(p, "/_kiln/debug/pprof/"):
		// net/http/pprof's handlers, behind the admin secret.
		ctx.URI().SetPath(strings.TrimPrefix(p, "/_kiln"))
		pprofhandler.PprofHandler(ctx)
	default:
		s.jsonError(ctx, fasthttp.StatusNotFound, "no such admin endpoint")
	}
}

// authorized checks the bearer token. With no admin secret configured,
// the admin API is off.
func (s *Server) authorized(ctx *fasthttp.RequestCtx) bool {
	env := s.opts.AdminSecretEnv
	if env == "" {
		env = "KILN_ADMIN_SECRET"
	}
	if s.opts.AdminSecret == "" {
		s.jsonError(ctx, fasthttp.StatusNotFound, "admin API is off: start kiln with "+env+" set to enable it")
		return false
	}
	ip, now := ctx.RemoteIP().String(), time.Now()
	if wait := s.authFails.retryAfter(ip, now); wait > 0 {
		ctx.Response.Header.Set("Retry-After", retrySeconds(wait))
		s.jsonError(ctx, fasthttp.StatusTooManyRequests, "too many wrong admin secrets from this address: wait and retry")
		return false
	}
	if !s.bearerOK(&ctx.Request.Header) {
		s.authFails.fail(ip, now)
		ctx.Response.Header.Set("WWW-Authenticate", `Bearer realm="kiln"`)
		s.jsonError(ctx, fasthttp.StatusUnauthorized, "missing or wrong admin secret: send Authorization: Bearer $"+env)
		return false
	}
	return true
}

type revalidateRequest struct {
	Paths []string `json:"paths"`
	Tags  []string `json:"tags"`
	Mode  isr.Mode `json:"mode"` // "now" (default) or "stale"
	// Wait is "" (answer once the records are stored, in cluster mode
	// committed in JetStream) or "all" (once every live node applied them).
	Wait string `json:"wait"`
}

func (s *Server) revalidate(ctx *fasthttp.RequestCtx) {
	var req revalidateRequest
	if err := json.Unmarshal(ctx.PostBody(), &req); err != nil {
		s.jsonError(ctx, fasthttp.StatusBadRequest, `body must be JSON {"paths": [...], "tags": [...], "mode": "now"|"stale", "wait": "all"}: `+err.Error())
		return
	}
	if req.Wait != "" && req.Wait != "all" {
		s.jsonError(ctx, fasthttp.StatusBadRequest, `wait must be "all" or left out`)
		return
	}
	paths := make([]string, 0, len(req.Paths))
	for _, p := range req.Paths {
		n, err := router.Normalize([]byte(p))
		if err != nil {
			s.jsonError(ctx, fasthttp.StatusBadRequest, "path "+p+": "+err.Error())
			return
		}
		paths = append(paths, n)
	}
	results, err := s.eng.Revalidate(s.ctx, isr.Revalidation{Paths: paths, Tags: req.Tags, Mode: req.Mode})
	if err != nil {
		s.jsonError(ctx, fasthttp.StatusBadRequest, err.Error())
		return
	}
	if req.Wait == "all" && s.opts.WaitAll != nil {
		var done []string
		for _, r := range results {
			if r.Error == "" {
				done = append(done, r.Path)
			}
		}
		if err := s.opts.WaitAll(s.ctx, done); err != nil {
			// The records are committed; some live node did not confirm.
			s.writeJSON(ctx, fasthttp.StatusGatewayTimeout, map[string]any{"results": results, "error": err.Error()})
			return
		}
	}
	s.writeJSON(ctx, revalidateStatus(results), map[string]any{"results": results})
}

// revalidateStatus is the status of an on-demand revalidation: 200 when
// every path was revalidated (or there was nothing to do), 207 when some
// failed, and when all failed, 404 if every path was refused (no route, or
// not a page a request could get) and 500 otherwise. The body has each
// path's result either way.
func revalidateStatus(results []isr.Result) int {
	failed, refused := 0, 0
	for _, r := range results {
		switch {
		case r.Error == "":
		case r.Status == isr.OutcomeNotFound:
			failed++
			refused++
		default:
			failed++
		}
	}
	switch {
	case failed == 0:
		return fasthttp.StatusOK
	case failed < len(results):
		return fasthttp.StatusMultiStatus
	case refused == failed:
		return fasthttp.StatusNotFound
	}
	return fasthttp.StatusInternalServerError
}

func (s *Server) inspect(ctx *fasthttp.RequestCtx) {
	p, err := router.Normalize(ctx.QueryArgs().Peek("path"))
	if err != nil {
		s.jsonError(ctx, fasthttp.StatusBadRequest, err.Error())
		return
	}
	info, err := s.eng.Inspect(s.ctx, p)
	if errors.Is(err, isr.ErrNotStored) {
		s.jsonError(ctx, fasthttp.StatusNotFound, err.Error())
		return
	}
	if err != nil {
		s.jsonError(ctx, fasthttp.StatusInternalServerError, err.Error())
		return
	}
	s.writeJSON(ctx, fasthttp.StatusOK, info)
}

// data serves /_kiln/data/<source>[/import|/export]?key=K.
func (s *Server) data(ctx *fasthttp.RequestCtx, rest string) {
	d := s.opts.Data
	if d == nil {
		s.jsonError(ctx, fasthttp.StatusNotFound, "no data sources")
		return
	}
	source, op, _ := strings.Cut(rest, "/")
	source, _ = url.PathUnescape(source)
	key := string(ctx.QueryArgs().Peek("key"))
	timeout := dataTimeout
	if op != "" {
		timeout = bulkTimeout
	}
	rctx, cancel := context.WithTimeout(s.ctx, timeout)
	defer cancel()
	var (
		v   any
		err error
	)
	switch {
	case op == "import" && ctx.IsPost():
		var items map[string]json.RawMessage
		if err = json.Unmarshal(ctx.PostBody(), &items); err == nil {
			var n int
			n, err = d.Import(rctx, source, items)
			v = map[string]int{"imported": n}
		}
	case op == "export" && ctx.IsGet():
		v, err = d.Export(rctx, source)
	case op == "" && ctx.IsGet():
		var val []byte
		var found bool
		val, found, err = d.Get(rctx, source, key)
		if err == nil && !found {
			s.jsonError(ctx, fasthttp.StatusNotFound, "no such key")
			return
		}
		v = json.RawMessage(val)
		if !json.Valid(val) {
			v = string(val)
		}
	case op == "" && (ctx.IsPut() || ctx.IsPost()):
		var rev uint64
		rev, err = d.Put(rctx, source, key, append([]byte(nil), ctx.PostBody()...))
		v = map[string]uint64{"revision": rev}
	case op == "" && ctx.IsDelete():
		var rev uint64
		rev, err = d.Delete(rctx, source, key)
		v = map[string]uint64{"revision": rev}
	default:
		s.jsonError(ctx, fasthttp.StatusMethodNotAllowed, "method not allowed")
		return
	}
	if err != nil {
		status := fasthttp.StatusInternalServerError
		switch {
		case errors.Is(err, ErrNotWritable):
			status = fasthttp.StatusConflict
		case errors.Is(err, ErrNoSource):
			status = fasthttp.StatusNotFound
		}
		s.jsonError(ctx, status, err.Error())
		return
	}
	s.writeJSON(ctx, fasthttp.StatusOK, v)
}

func (s *Server) metrics(ctx *fasthttp.RequestCtx) {
	if s.m == nil {
		s.jsonError(ctx, fasthttp.StatusNotFound, "metrics are off")
		return
	}
	s.metricsShared(ctx)
}

// healthz answers 200 while the engine serves: "ok", or "degraded" with
// a line for each part that is down (stored pages are still served, and
// renders that need a down data source get 503), so a load balancer keeps
// the instance in rotation and a person sees what is wrong.
func (s *Server) healthz(ctx *fasthttp.RequestCtx) {
	ctx.Response.Header.Set("Cache-Control", "private, no-store")
	ctx.SetContentType("text/plain; charset=utf-8")
	var degraded []string
	if s.opts.Degraded != nil {
		degraded = s.opts.Degraded()
	}
	if len(degraded) == 0 {
		ctx.SetBodyString("ok\n")
		return
	}
	ctx.SetBodyString("degraded\n" + strings.Join(degraded, "\n") + "\n")
}

func (s *Server) writeJSON(ctx *fasthttp.RequestCtx, status int, v any) {
	b, _ := json.MarshalIndent(v, "", "  ")
	ctx.Response.Header.Set("Cache-Control", "private, no-store")
	ctx.SetContentType("application/json")
	ctx.SetStatusCode(status)
	ctx.SetBody(append(b, '\n'))
}

func (s *Server) jsonError(ctx *fasthttp.RequestCtx, status int, msg string) {
	s.writeJSON(ctx, status, map[string]string{"error": msg})
}
