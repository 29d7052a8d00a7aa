package server

import (
	"sync"
	"time"

	"github.com/valyala/fasthttp"
)

// scrapeTTL is how long a /metrics answer is reused. Gathering walks
// every collector (Go runtime, process, histograms, the store's sizes)
// and encodes a few hundred series: about a thousand page hits of CPU.
// Prometheus scrapes every 15 s or so; a second's staleness costs it
// nothing, and a flood of scrapes then gathers once a second.
const scrapeTTL = time.Second

// scrapeCache is the last /metrics answer, for the request headers that
// chose its format and encoding (a scraper sends the same ones each time).
type scrapeCache struct {
	mu          sync.Mutex // held while gathering: one gathering at a time
	at          time.Time
	accept, enc string
	body        []byte
	ctype, cenc []byte
	stored      bool
}

// metricsCached serves /metrics from the cache while it is fresh, and
// gathers anew otherwise.
func (s *Server) metricsCached(ctx *fasthttp.RequestCtx) {
	h := &ctx.Request.Header
	c := &s.scrapes
	c.mu.Lock()
	defer c.mu.Unlock()
	now := s.opts.Clock.Now()
	accept, enc := h.Peek("Accept"), h.Peek("Accept-Encoding")
	if c.stored && !now.Before(c.at) && now.Sub(c.at) < scrapeTTL &&
		string(accept) == c.accept && string(enc) == c.enc {
		ctx.Response.Header.SetContentTypeBytes(c.ctype)
		if len(c.cenc) > 0 {
			ctx.Response.Header.SetContentEncodingBytes(c.cenc)
		}
		ctx.SetBody(c.body)
		return
	}
	s.scrape(ctx)
	if ctx.Response.StatusCode() != fasthttp.StatusOK {
		c.stored = false
		return
	}
	c.at, c.accept, c.enc, c.stored = now, string(accept), string(enc), true
	c.body = append(c.body[:0], ctx.Response.Body()...)
	c.ctype = append(c.ctype[:0], ctx.Response.Header.ContentType()...)
	c.cenc = append(c.cenc[:0], ctx.Response.Header.ContentEncoding()...)
}
