package server

import (
	"bytes"
	"net"
	"time"

	"github.com/valyala/fasthttp"
)

// ServeLocal serves the admin API, /_kiln/* only, on ln without the
// bearer check, until ln is closed or the server shuts down. ln is the
// admin socket in the store folder: a unix socket of mode 0600, so whoever
// can connect to it could open the store anyway (the docker CLI's model).
// Pages, /metrics and the dev events are not served on it.
func (s *Server) ServeLocal(ln net.Listener) error {
	local := &fasthttp.Server{
		Handler:               s.handleLocal,
		Name:                  "kiln",
		NoDefaultContentType:  true,
		ReadTimeout:           30 * time.Second,
		IdleTimeout:           120 * time.Second,
		MaxRequestBodySize:    max(localBody, s.maxAdminBody), // an import
		ErrorHandler:          requestError,
		Logger:                serverLog{s.log},
		SecureErrorLogMessage: true,
		CloseOnShutdown:       true,
		NoDefaultServerHeader: false,
		// No WriteTimeout: a revalidation answers once its pages are
		// stored, and the client decides how long it waits.
	}
	done := make(chan struct{})
	defer close(done)
	go func() {
		select {
		case <-s.ctx.Done():
			local.Shutdown()
		case <-done:
		}
	}()
	return local.Serve(ln)
}

// handleLocal serves one request on the admin socket.
func (s *Server) handleLocal(ctx *fasthttp.RequestCtx) {
	raw := rawPath(ctx.RequestURI())
	switch {
	case !bytes.HasPrefix(raw, strKiln):
		s.jsonError(ctx, fasthttp.StatusNotFound, "the admin socket serves /_kiln/* only")
	case string(raw) == "/_kiln/healthz":
		s.healthz(ctx)
	default:
		s.adminAPI(ctx, string(raw))
	}
}
