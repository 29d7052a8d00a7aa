package server

import (
	"sync"
	"sync/atomic"

	"github.com/valyala/fasthttp"
)

// scrapeCache lets concurrent /metrics scrapes share one gathering.
// Gathering walks every collector (Go runtime, process, histograms, the
// store's sizes) and encodes a few hundred series: about 1,200 page hits
// of CPU. One runs at a time, and a scrape that waited for it is
// answered with the next gathering's text if that gathering started
// after the scrape arrived: the answer is never older than the request
// (a test or an operator reading a counter after an action sees it), and
// a flood of scrapes costs one gathering at a time, not one each.
type scrapeCache struct {
	arrivals atomic.Uint64 // tickets, taken before mu
	mu       sync.Mutex    // held while gathering
	// after is the last ticket taken when the cached gathering started:
	// the scrapes holding a ticket up to it arrived before it.
	after       uint64
	accept, enc string
	body        []byte
	ctype, cenc []byte
	stored      bool
}

// metricsShared serves /metrics from a gathering that started after the
// request arrived, its own or one it waited for.
func (s *Server) metricsShared(ctx *fasthttp.RequestCtx) {
	c := &s.scrapes
	ticket := c.arrivals.Add(1)
	h := &ctx.Request.Header
	accept, enc := h.Peek("Accept"), h.Peek("Accept-Encoding")
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.stored && c.after >= ticket && string(accept) == c.accept && string(enc) == c.enc {
		ctx.Response.Header.SetContentTypeBytes(c.ctype)
		if len(c.cenc) > 0 {
			ctx.Response.Header.SetContentEncodingBytes(c.cenc)
		}
		ctx.SetBody(c.body)
		return
	}
	after := c.arrivals.Load()
	s.scrape(ctx)
	if ctx.Response.StatusCode() != fasthttp.StatusOK {
		c.stored = false
		return
	}
	c.after, c.accept, c.enc, c.stored = after, string(accept), string(enc), true
	c.body = append(c.body[:0], ctx.Response.Body()...)
	c.ctype = append(c.ctype[:0], ctx.Response.Header.ContentType()...)
	c.cenc = append(c.cenc[:0], ctx.Response.Header.ContentEncoding()...)
}
