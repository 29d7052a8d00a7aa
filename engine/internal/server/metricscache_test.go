package server_test

import (
	"sync"
	"testing"
	"time"

	"github.com/kilnhq/kiln/engine/internal/isr"
	"github.com/kilnhq/kiln/engine/internal/server"
)

// fakeClock is a clock that moves only when told to.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func (c *fakeClock) NewTimer(time.Duration) isr.Timer { panic("not used") }

// TestMetricsScrapeCached: scrapes within a second of the last gathering
// get its text (a flood of scrapes gathers once a second); a second on,
// a scrape gathers again and shows what changed meanwhile.
func TestMetricsScrapeCached(t *testing.T) {
	bs := openBench(t, hitRoutes, hitData)
	clock := &fakeClock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	srv := server.New(server.Options{
		Engine: bs.site.Engine, Metrics: bs.site.Metrics, AdminSecret: adminSecret, Clock: clock,
	})
	scrape := func() string {
		ctx := hitCtx(t, "/metrics", "identity")
		ctx.Request.Header.Set("Authorization", "Bearer "+adminSecret)
		srv.Handle(ctx)
		if got := ctx.Response.StatusCode(); got != 200 {
			t.Fatalf("/metrics: %d", got)
		}
		if ct := string(ctx.Response.Header.ContentType()); ct == "" {
			t.Error("/metrics without a Content-Type")
		}
		return string(ctx.Response.Body())
	}
	hit := func() {
		ctx := hitCtx(t, "/p/a", "identity")
		srv.Handle(ctx)
		if got := ctx.Response.StatusCode(); got != 200 {
			t.Fatalf("/p/a: %d", got)
		}
	}
	first := scrape()
	hit()
	clock.advance(999 * time.Millisecond)
	if got := scrape(); got != first {
		t.Error("a scrape within a second of the last gathered again")
	}
	clock.advance(time.Millisecond)
	if got := scrape(); got == first {
		t.Error("a scrape a second on, after a hit, gave the same text")
	}
}
