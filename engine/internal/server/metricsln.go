package server

import (
	"net"
	"time"

	"github.com/valyala/fasthttp"
)

// ServeMetrics serves /metrics alone on ln, without the bearer check,
// until ln is closed or the server shuts down: site.hcl's metrics_listen,
// an address the operator keeps private (a loopback or an internal
// network), like Caddy's, Envoy's and nginx's admin and status ports.
// Every other path is 404. Set Options.MetricsApart with it.
func (s *Server) ServeMetrics(ln net.Listener) error {
	srv := &fasthttp.Server{
		Handler:               s.handleMetrics,
		Name:                  "kiln",
		NoDefaultContentType:  true,
		ReadTimeout:           10 * time.Second,
		WriteTimeout:          30 * time.Second,
		IdleTimeout:           120 * time.Second,
		MaxRequestBodySize:    1 << 10,
		Concurrency:           64,
		ErrorHandler:          requestError,
		Logger:                serverLog{s.log},
		SecureErrorLogMessage: true,
		CloseOnShutdown:       true,
	}
	done := make(chan struct{})
	defer close(done)
	go func() {
		select {
		case <-s.ctx.Done():
			srv.Shutdown()
		case <-done:
		}
	}()
	return srv.Serve(retryListener{Listener: ln, log: s.log})
}

// handleMetrics serves one request on the metrics listener.
func (s *Server) handleMetrics(ctx *fasthttp.RequestCtx) {
	switch {
	case string(rawPath(ctx.RequestURI())) != "/metrics":
		s.jsonError(ctx, fasthttp.StatusNotFound, "the metrics listener serves /metrics only")
	case !ctx.IsGet() && !ctx.IsHead():
		ctx.Response.Header.Set("Allow", "GET, HEAD")
		s.jsonError(ctx, fasthttp.StatusMethodNotAllowed, "method not allowed")
	default:
		s.metrics(ctx)
	}
}
