package server

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"net"

	"github.com/valyala/fasthttp"
)

// Request bodies. fasthttp reads a request's body before the handler
// runs, into a buffer of the announced Content-Length, so the cap must be
// decided on the headers alone: bodyLimit runs once they are read, before
// a byte of body is, and only an authorized admin request gets more than
// a few bytes. A page request (GET or HEAD) has no use for a body.
const (
	// DefaultMaxAdminBody is the admin API's default body cap over HTTP.
	DefaultMaxAdminBody = 1 << 20
	// strayBody is what any other request may carry (and is ignored):
	// less than the read buffer fasthttp already holds per connection.
	strayBody = 1 << 10
	// localBody is the admin socket's cap: an import of a whole data set
	// goes through it, and whoever can connect could open the store.
	localBody = 64 << 20
)

var strBearer = []byte("Bearer ")

// maxHeaders is how many header fields a request may carry, the default
// of Apache's LimitRequestFields and Envoy's max_headers_count. fasthttp
// parses each field into a slot of the connection's pooled request, and
// the slots are kept for every later request on whatever connection gets
// that request from the pool: without a cap, a request of a few thousand
// tiny fields fills its 16 KiB read buffer and leaves a few hundred KiB
// behind, then every idle connection can hold such a request.
const maxHeaders = 100

var strLF = []byte("\n")

var strHTTP10 = []byte("HTTP/1.0")

// badVersion reports a request line naming a protocol other than
// HTTP/1.1 or HTTP/1.0. fasthttp parses any "HTTP/d.d" and serves it as
// 1.0; nginx answers such a request 505. The hit path (HTTP/1.1) pays
// one test of a flag fasthttp set while parsing.
func badVersion(h *fasthttp.RequestHeader) bool {
	return !h.IsHTTP11() && !bytes.Equal(h.Protocol(), strHTTP10)
}

// tooManyHeaders reports a request with more than maxHeaders header
// fields. A field takes at least 4 bytes ("a:\r\n"), so shorter headers
// are not counted: the hit path pays one comparison. The raw block ends
// with the empty line.
func tooManyHeaders(h *fasthttp.RequestHeader) bool {
	raw := h.RawHeaders()
	return len(raw) > 4*maxHeaders && bytes.Count(raw, strLF) > maxHeaders+1
}

// forgetHeaders answers 431 and drops the request's parsed fields, so
// the pooled request does not keep their slots (fasthttp's Reset keeps
// them). The connection is closed: what fasthttp reads from the header
// after the handler (HEAD, Connection: close) is gone.
func forgetHeaders(ctx *fasthttp.RequestCtx) {
	ctx.Request.Header = fasthttp.RequestHeader{}
	ctx.SetConnectionClose()
}

// bodyLimit is fasthttp's HeaderReceived hook: the body cap of a request,
// from its target and its Authorization header.
func (s *Server) bodyLimit(h *fasthttp.RequestHeader) fasthttp.RequestConfig {
	if bytes.HasPrefix(h.RequestURI(), strKiln) && s.bearerOK(h) {
		return fasthttp.RequestConfig{MaxRequestBodySize: s.maxAdminBody}
	}
	return fasthttp.RequestConfig{MaxRequestBodySize: strayBody}
}

// bearerOK reports whether h carries the admin secret.
func (s *Server) bearerOK(h *fasthttp.RequestHeader) bool {
	if s.opts.AdminSecret == "" {
		return false
	}
	tok, ok := bytes.CutPrefix(h.Peek("Authorization"), strBearer)
	return ok && constantTimeEqual(bytes.TrimSpace(tok), s.opts.AdminSecret)
}

// requestError is fasthttp's ErrorHandler: the answer to a request that
// could not be read. fasthttp's own answers every unknown error with 400,
// an oversized body included.
func requestError(ctx *fasthttp.RequestCtx, err error) {
	var small *fasthttp.ErrSmallBuffer
	var netErr net.Error
	status, msg := fasthttp.StatusBadRequest, "bad request"
	switch {
	case errors.Is(err, fasthttp.ErrBodyTooLarge):
		status, msg = fasthttp.StatusRequestEntityTooLarge, "request body too large"
	case errors.As(err, &small):
		status, msg = fasthttp.StatusRequestHeaderFieldsTooLarge, "request header too large"
	case errors.As(err, &netErr) && netErr.Timeout():
		status, msg = fasthttp.StatusRequestTimeout, "request timeout"
	}
	ctx.Response.Header.Set("Cache-Control", "private, no-store")
	ctx.Response.Header.Set("Content-Type", "text/plain; charset=utf-8")
	ctx.SetStatusCode(status)
	ctx.SetBodyString(msg + "\n")
	// A header too large for the read buffer was parsed in part, into
	// thousands of slots perhaps; the connection closes after this answer.
	forgetHeaders(ctx)
}

// expect is fasthttp's ExpectHandler: a request announcing a body over
// its cap with Expect: 100-continue is answered 413 before the client
// sends it.
func (s *Server) expect(ctx *fasthttp.RequestCtx) int {
	h := &ctx.Request.Header
	if n := h.ContentLength(); n > s.bodyLimit(h).MaxRequestBodySize {
		return fasthttp.StatusRequestEntityTooLarge
	}
	return fasthttp.StatusContinue
}

// serverLog turns fasthttp's log lines (a connection that could not be
// read, for one) into debug records: each is one client's mistake, and a
// flood of them must not flood the log.
type serverLog struct{ log *slog.Logger }

func (l serverLog) Printf(format string, args ...any) {
	l.log.Debug("http: " + fmt.Sprintf(format, args...))
}
