package isr

import (
	"bytes"
	"context"
	"html"

	"github.com/kilnhq/kiln/engine/internal/config"
	"github.com/kilnhq/kiln/engine/internal/render"
	"github.com/kilnhq/kiln/engine/internal/store"
)

// shell renders the fallback shell for a never-generated path of a
// fallback = "true" route: the route's fallback_renderer, else its
// renderer's fallback export, else a built-in shell; with the script that
// completes it. It is private and never stored or compressed.
func (e *Engine) shell(ctx context.Context, route *config.Route, path string) *store.Page {
	_, params, _ := e.routes.Match(path)
	req := render.Request{Route: route.Pattern, Path: path, Params: params, Mode: render.ModeBlocking, Timeout: route.Timeout}
	var resp *render.Response
	if r := e.renderers[route.FallbackRenderer]; r != nil {
		resp, _ = r.Render(ctx, req)
	} else if r := e.renderers[route.Renderer]; r != nil {
		if fb, ok, err := r.Fallback(ctx, req); ok && err == nil {
			resp = fb
		}
	}
	if resp == nil || resp.NotFound || resp.Redirect != "" || resp.Status >= 300 {
		resp = &render.Response{Body: []byte(builtinShell(path))}
	}
	resp.Revalidate = render.RevalidateDefault
	resp.Body = injectBeforeBodyEnd(resp.Body, completeScript)
	p, err := e.pageFrom(path, route, resp, e.clock.Now())
	if err != nil {
		p, _ = e.pageFrom(path, route, &render.Response{Body: []byte(builtinShell(path)), Revalidate: render.RevalidateDefault}, e.clock.Now())
	}
	p.Private = true
	return p
}

func builtinShell(path string) string {
	return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Loading…</title>` +
		`<meta name="viewport" content="width=device-width, initial-scale=1"></head>` +
		`<body style="font-family:system-ui,sans-serif;max-width:40rem;margin:4rem auto;padding:0 1rem">` +
		`<p aria-busy="true">Loading ` + html.EscapeString(path) + `…</p></body></html>`
}

// completeScript turns a fallback shell into the real page without a
// reload: it asks for the page again with X-Kiln-Wait, which joins the
// render the shell's request started, and swaps the document.
const completeScript = `<script>(function(){var u=location.pathname+location.search;` +
	`function go(n){fetch(u,{headers:{"X-Kiln-Wait":"1"},credentials:"same-origin",cache:"no-store"})` +
	`.then(function(r){if(r.status>=500&&n<5){return new Promise(function(ok){setTimeout(ok,500*(n+1))}).then(function(){return go(n+1)})}` +
	`return r.text().then(function(t){document.open();document.write(t);document.close()})})` +
	`.catch(function(){if(n<5)setTimeout(function(){go(n+1)},1000)})}go(0)})();</script>`

// injectBeforeBodyEnd inserts script before </body>, or appends it.
func injectBeforeBodyEnd(body []byte, script string) []byte {
	i := bytes.LastIndex(bytes.ToLower(body), []byte("</body>"))
	out := make([]byte, 0, len(body)+len(script))
	if i < 0 {
		return append(append(out, body...), script...)
	}
	out = append(out, body[:i]...)
	out = append(out, script...)
	return append(out, body[i:]...)
}

// InjectBeforeBodyEnd inserts script before a page body's </body>, or
// appends it (`kiln dev` adds its reload script this way).
func InjectBeforeBodyEnd(body []byte, script string) []byte {
	return injectBeforeBodyEnd(body, script)
}
