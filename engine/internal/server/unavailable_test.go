package server_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kilnhq/kiln/engine/internal/datasource"
)

// TestPluginDown restarts the site with its data source's executable
// gone: the engine starts degraded, stored pages are still served, a
// blocking first render that needs the data answers 503 with Retry-After,
// and a stale page's failed regeneration keeps the page.
func TestPluginDown(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "kiln")
	if err := os.Link(kilnBin, bin); err != nil {
		t.Fatal(err)
	}
	e := startWith(t, bin, `route "/p/:slug" {
  renderer = "page"
  fallback = "blocking"
  revalidate = "1m"
}`, map[string]any{"page:/p/a": page("A", "build", true), "page:/p/b": page("B")})
	stored := e.get("/p/a")
	if r := e.get("/_kiln/healthz"); r.status != 200 || r.body != "ok\n" {
		t.Errorf("healthz with the source up: %d %q", r.status, r.body)
	}
	e.stop()
	if err := os.Remove(bin); err != nil {
		t.Fatal(err)
	}
	e.buildMayFail = true // like serve's prerender on a warm start: logged
	e.open()
	if h := e.site.Plugins.Health()[0]; h.State == datasource.StateUp {
		t.Fatalf("data source without its executable: %s", h.State)
	}
	if r := e.get("/_kiln/healthz"); r.status != 200 || !strings.HasPrefix(r.body, "degraded\ndata source data: ") {
		t.Errorf("healthz with the source down: %d %q; want 200 and degraded, naming the source", r.status, r.body)
	}
	if r := e.get("/p/a"); r.status != 200 || r.body != stored.body || r.cache() != "HIT" {
		t.Errorf("stored page while the source is down: %d %s; want 200 HIT and the stored page", r.status, r.cache())
	}
	if r := e.get("/p/b"); r.status != 503 || r.header.Get("Retry-After") == "" {
		t.Errorf("a render that needs the data: %d, Retry-After %q; want 503 with Retry-After", r.status, r.header.Get("Retry-After"))
	}
	e.advance(2 * time.Minute) // /p/a goes stale; its regeneration fails
	if r := e.get("/p/a"); r.status != 200 || r.body != stored.body || r.cache() != "STALE" {
		t.Errorf("stale while the source is down: %d %s; want 200 STALE and the stored page", r.status, r.cache())
	}
	e.settle()
	if r := e.get("/p/a"); r.status != 200 || r.body != stored.body {
		t.Errorf("after the failed regeneration: %d; want 200 and the stored page", r.status)
	}
}
