package server

import (
	"bufio"
	"fmt"
	"html"
	"sync"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/kilnhq/kiln/engine/internal/metrics"
)

// Dev is the state of `kiln dev`: every page is rendered fresh, open tabs
// reload on change through server-sent events, and a failed build or
// render shows its message instead of a blank 500.
type Dev struct {
	mu       sync.Mutex
	version  int
	buildErr string
	changed  chan struct{} // closed and replaced on every change
}

// NewDev creates dev-mode state.
func NewDev() *Dev { return &Dev{changed: make(chan struct{})} }

// Reload tells every open tab to reload. buildErr, when not empty, is
// shown instead of pages until the next successful Reload.
func (d *Dev) Reload(buildErr string) {
	d.mu.Lock()
	d.version++
	d.buildErr = buildErr
	close(d.changed)
	d.changed = make(chan struct{})
	d.mu.Unlock()
}

func (d *Dev) state() (int, string, chan struct{}) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.version, d.buildErr, d.changed
}

// reloadScript listens for changes and reloads the tab.
// It also reloads when the server comes back after a restart (kiln dev
// restarts itself when site.hcl changes).
const reloadScript = `<script>(function(){var es=new EventSource("/_kiln/dev/events"),down=false;` +
	`es.addEventListener("reload",function(){location.reload()});` +
	`es.onerror=function(){down=true};es.onopen=function(){if(down)location.reload()};})();</script>`

// events streams "reload" events until the client goes away or done is
// closed (the server shuts down: fasthttp waits for open streams).
func (d *Dev) events(ctx *fasthttp.RequestCtx, done <-chan struct{}) {
	ctx.SetContentType("text/event-stream")
	ctx.Response.Header.Set("Cache-Control", "no-store")
	_, _, changed := d.state()
	ctx.SetBodyStreamWriter(func(w *bufio.Writer) {
		fmt.Fprintf(w, "retry: 500\n\n")
		if w.Flush() != nil {
			return
		}
		tick := time.NewTicker(15 * time.Second)
		defer tick.Stop()
		for {
			select {
			case <-changed:
				_, _, changed = d.state()
				fmt.Fprintf(w, "event: reload\ndata: {}\n\n")
			case <-tick.C:
				fmt.Fprintf(w, ": ping\n\n")
			case <-done:
				return
			}
			if w.Flush() != nil {
				return
			}
		}
	})
}

func (s *Server) devError(ctx *fasthttp.RequestCtx, status int, title, msg string) {
	s.count(metrics.Error)
	ctx.Response.Header.Set("Cache-Control", "private, no-store")
	ctx.Response.Header.Set("X-Kiln-Cache", metrics.Bypass)
	ctx.SetContentType("text/html; charset=utf-8")
	ctx.SetStatusCode(status)
	ctx.SetBodyString(`<!doctype html><html lang="en"><head><meta charset="utf-8"><title>` + title + ` · kiln dev</title></head>` +
		`<body style="font-family:system-ui,sans-serif;max-width:60rem;margin:3rem auto;padding:0 1rem">` +
		`<h1 style="color:#b00020">` + title + `</h1>` +
		`<pre style="white-space:pre-wrap;background:#fff4f4;border:1px solid #f3c2c2;padding:1rem;border-radius:.5rem;font-size:14px">` +
		html.EscapeString(msg) + `</pre><p>Fix it and save: this tab reloads by itself.</p>` + reloadScript + `</body></html>`)
}
