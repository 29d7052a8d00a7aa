package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

// devHCL is a one-page site for `kiln dev`. Its store lives outside the
// site directory, which kiln dev watches.
const devHCL = `site {
  store = %q
}

renderer "devpage" {
  source = %q
}

route "/" {
  renderer = "devpage"
}
`

// copyDevPage copies testdata/devpage to a new directory next to it: a
// renderer must build inside the kiln module (it imports the Go SDK), and
// the test must not edit committed files.
func copyDevPage(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("testdata", "devpage-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := copyFile(filepath.Join("testdata", "devpage", "main.go"), filepath.Join(dir, "main.go")); err != nil {
		t.Fatal(err)
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		t.Fatal(err)
	}
	return abs
}

// TestDevReloadsOnRendererEdit: in `kiln dev`, saving a renderer's source
// rebuilds it and the open tab reloads itself (server-sent "reload" on
// /_kiln/dev/events) and shows the change.
func TestDevReloadsOnRendererEdit(t *testing.T) {
	kilnBinary(t)
	src := copyDevPage(t)
	siteDir := t.TempDir()
	hcl := fmt.Sprintf(devHCL, filepath.Join(t.TempDir(), "store"), src)
	if err := os.WriteFile(filepath.Join(siteDir, "site.hcl"), []byte(hcl), 0o644); err != nil {
		t.Fatal(err)
	}
	k := startKiln(t, "dev", siteDir)
	b := newBrowser(t)
	url := k.base + "/"

	// Subscribe before navigating: the edit must come after the tab's
	// EventSource is connected, or its reload event has nobody to reach.
	ectx, cancel := context.WithTimeout(b.ctx, timeout)
	defer cancel()
	responses := chromedp.Events(ectx, network.ResponseReceived)
	resp := b.visit(url)
	if got := cacheState(resp); got != "BYPASS" {
		t.Errorf("dev page X-Kiln-Cache = %q, want BYPASS", got)
	}
	if got := b.text("#version"); got != "first version" {
		t.Fatalf("dev page shows %q", got)
	}
	for ev, err := range responses {
		if err != nil {
			t.Fatalf("waiting for the tab's /_kiln/dev/events stream: %v", err)
		}
		if ev.Type == network.ResourceTypeEventSource && strings.HasSuffix(ev.Response.URL, "/_kiln/dev/events") {
			break
		}
	}
	b.screenshot("dev-before-edit")

	start := time.Now()
	editDevPage(t, src, `"first"`, `"second"`)
	got := waitText(b, "#version", "second version", 2*time.Minute)
	t.Logf("edit to reloaded tab: %s", time.Since(start).Round(time.Millisecond))
	if got != "second version" {
		t.Fatalf("after the edit the tab shows %q, want %q\n(kiln log at %s)", got, "second version", k.log)
	}
	b.screenshot("dev-after-edit")
	if n := len(b.requests(network.ResourceTypeDocument, url)); n < 2 {
		t.Errorf("the tab loaded the page %d times, want a reload", n)
	}
	if typ := run(b, chromedp.Evaluate[string](`performance.getEntriesByType("navigation")[0].type`)); typ != "reload" {
		t.Errorf("navigation type %q, want reload (location.reload from the dev script)", typ)
	}
	// Ctrl-C with a tab open: the open event stream must not hold the
	// shutdown (stop fails the test after 15s).
	k.stop()
}

// editDevPage rewrites main.go in dir, replacing old with new, through a
// rename from outside the watched directory, as an editor's save would.
func editDevPage(t *testing.T, dir, old, new string) {
	t.Helper()
	path := filepath.Join(dir, "main.go")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), old) {
		t.Fatalf("%s has no %s", path, old)
	}
	tmp := dir + ".main.go.tmp"
	if err := os.WriteFile(tmp, []byte(strings.Replace(string(b), old, new, 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

// waitText reads an element's text until it is want or d passes, through
// the reloads in between (a read during a reload fails and is retried).
func waitText(b *browser, css, want string, d time.Duration) string {
	deadline := time.Now().Add(d)
	last := ""
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(b.ctx, 5*time.Second)
		got, err := chromedp.Run(ctx, chromedp.Evaluate[string](
			`(document.querySelector(`+fmt.Sprintf("%q", css)+`) || {}).textContent || ""`))
		cancel()
		if err == nil {
			if last = got; got == want {
				return got
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	return last
}
