package server

import (
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
)

// TestConcurrentScrapesShareAGathering: scrapes that arrive while one
// gathers share the next gathering (11 scrapes, 2 gatherings), and a
// scrape after them gathers again: no answer is older than its request.
func TestConcurrentScrapesShareAGathering(t *testing.T) {
	gate := make(chan struct{})
	var gathered atomic.Int64
	s := &Server{}
	s.scrape = func(ctx *fasthttp.RequestCtx) {
		n := gathered.Add(1)
		if n == 1 {
			<-gate
		}
		ctx.SetContentType("text/plain; version=0.0.4")
		ctx.SetBodyString("kiln_gatherings " + strconv.FormatInt(n, 10) + "\n")
	}
	scrape := func() string {
		var ctx fasthttp.RequestCtx
		ctx.Request.SetRequestURI("/metrics")
		s.metricsShared(&ctx)
		if ct := string(ctx.Response.Header.ContentType()); ct != "text/plain; version=0.0.4" {
			t.Errorf("Content-Type %q", ct)
		}
		return string(ctx.Response.Body())
	}
	const waiting = 10
	got := make([]string, waiting+1)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); got[0] = scrape() }()
	for gathered.Load() == 0 {
		time.Sleep(time.Millisecond) // the first scrape to be gathering
	}
	for i := 1; i <= waiting; i++ {
		wg.Add(1)
		go func() { defer wg.Done(); got[i] = scrape() }()
	}
	deadline := time.Now().Add(10 * time.Second) // a bound on failure, not a wait
	for s.scrapes.arrivals.Load() < waiting+1 {
		if time.Now().After(deadline) {
			t.Fatal("the scrapes never arrived")
		}
		time.Sleep(time.Millisecond)
	}
	close(gate)
	wg.Wait()
	if n := gathered.Load(); n != 2 {
		t.Errorf("%d concurrent scrapes gathered %d times, want 2", waiting+1, n)
	}
	if got[0] != "kiln_gatherings 1\n" {
		t.Errorf("first scrape: %q", got[0])
	}
	for i := 1; i <= waiting; i++ {
		if got[i] != "kiln_gatherings 2\n" {
			t.Errorf("scrape %d, arrived during the first gathering: %q, want the second's", i, got[i])
		}
	}
	if later := scrape(); later != "kiln_gatherings 3\n" {
		t.Errorf("a scrape after them: %q, want a gathering of its own", later)
	}
}
