package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// chromium is Debian's Chromium (apt-get install chromium).
const chromium = "/usr/bin/chromium"

// browser is one headless Chromium with one tab, recording every request
// the tab sends.
type browser struct {
	t     *testing.T
	ctx   context.Context
	shots string
	shot  int

	mu   sync.Mutex
	reqs []request
}

// request is one request the tab sent.
type request struct {
	typ     network.ResourceType
	url     string
	headers network.Headers
}

// visitorUA is desktop Chrome's user agent.
const visitorUA = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"

// newBrowser starts Chromium with a fresh profile. Without Chromium the
// test is skipped, or fails when CI is set.
func newBrowser(t *testing.T) *browser {
	t.Helper()
	requireChromium(t)
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromium),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
		// A visitor's browser: headless Chromium names itself HeadlessChrome,
		// which the crawler list counts as a bot (bots get blocking renders,
		// never a fallback shell).
		chromedp.UserAgent(visitorUA),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelTab := chromedp.NewContext(actx)
	t.Cleanup(func() { cancelTab(); cancelAlloc() })
	b := &browser{t: t, ctx: ctx, shots: shotDir(t)}
	start := time.Now()
	if err := chromedp.Do(ctx); err != nil { // starts the browser, bound to ctx, not to a timeout
		t.Fatalf("start chromium: %v", err)
	}
	if err := chromedp.Listen(ctx, b.record); err != nil {
		t.Fatal(err)
	}
	// Every visit reaches the engine, so each X-Kiln-Cache is its answer.
	if _, err := chromedp.Call(ctx, network.SetCacheDisabled, network.SetCacheDisabledParams{CacheDisabled: true}); err != nil {
		t.Fatal(err)
	}
	t.Logf("chromium started in %s", time.Since(start).Round(time.Millisecond))
	return b
}

// requireChromium skips the test without Chromium, or fails it when CI
// is set.
func requireChromium(t *testing.T) {
	t.Helper()
	if _, err := os.Stat(chromium); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s is missing (apt-get install chromium): %v", chromium, err)
		}
		t.Skipf("%s is missing: apt-get install chromium", chromium)
	}
}

// shotDir is where screenshots go: $KILN_E2E_SCREENSHOTS/<test> to keep
// them, else a directory removed with the test.
func shotDir(t *testing.T) string {
	root := os.Getenv("KILN_E2E_SCREENSHOTS")
	if root == "" {
		return t.TempDir()
	}
	dir := filepath.Join(root, t.Name())
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// record runs in the tab's event loop, in the order Chrome sent events.
func (b *browser) record(ev any) {
	if ev, ok := ev.(*network.EventRequestWillBeSent); ok {
		b.mu.Lock()
		b.reqs = append(b.reqs, request{typ: ev.Type, url: ev.Request.URL, headers: ev.Request.Headers})
		b.mu.Unlock()
	}
}

// requests are the recorded requests of one type for one URL.
func (b *browser) requests(typ network.ResourceType, url string) []request {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []request
	for _, r := range b.reqs {
		if r.typ == typ && r.url == url {
			out = append(out, r)
		}
	}
	return out
}

// timeout bounds every single browser step; the browser outlives it.
const timeout = time.Minute

func (b *browser) do(actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, timeout)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		b.t.Fatal(err)
	}
}

func run[T any](b *browser, a chromedp.Action[T]) T {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, timeout)
	defer cancel()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		b.t.Fatal(err)
	}
	return v
}

// visit navigates the tab, waits for the load event and returns the
// document's response.
func (b *browser) visit(url string) *network.Response {
	b.t.Helper()
	resp := run(b, chromedp.NavigateResponse(url))
	if resp == nil {
		b.t.Fatalf("%s: no response", url)
	}
	return resp
}

// text is an element's text, once it is visible.
func (b *browser) text(css string) string {
	b.t.Helper()
	return run(b, chromedp.Text(chromedp.CSS(css)))
}

// screenshot saves the whole page as a PNG and logs where.
func (b *browser) screenshot(name string) {
	b.t.Helper()
	buf := run(b, chromedp.FullScreenshot(100))
	b.shot++
	path := filepath.Join(b.shots, fmt.Sprintf("%02d-%s.png", b.shot, name))
	if err := os.WriteFile(path, buf, 0o644); err != nil {
		b.t.Fatal(err)
	}
	b.t.Logf("screenshot %s", path)
}

// onNewDocument runs js in every document the tab creates, before its
// own scripts.
func (b *browser) onNewDocument(js string) {
	b.t.Helper()
	_, err := chromedp.Call(b.ctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: js})
	if err != nil {
		b.t.Fatal(err)
	}
}

// styled is what the home and post pages look like to the browser.
type styled struct {
	TitleWeight string `json:"titleWeight"` // .site-title: 800 in style.css, 700 for a bare h1
	BodyDisplay string `json:"bodyDisplay"` // body: flex in style.css
	SkipLeft    string `json:"skipLeft"`    // .skip-link: -999px in style.css
	Rules       int    `json:"rules"`       // rules of the stylesheet
	Hero        bool   `json:"hero"`
	More        string `json:"more"`
	Cards       int    `json:"cards"`
	Covers      int    `json:"covers"` // cover images loaded
	BrokenImgs  int    `json:"brokenImgs"`
	PostTitle   string `json:"postTitle"`
	PostWeight  string `json:"postWeight"` // .post-title: 800 in style.css
}

const styledJS = `(() => {
  const cs = (sel) => { const e = document.querySelector(sel); return e ? getComputedStyle(e) : {}; };
  const text = (sel) => { const e = document.querySelector(sel); return e ? e.textContent.trim() : ""; };
  const imgs = [...document.images];
  return {
    titleWeight: cs(".site-title").fontWeight || "",
    bodyDisplay: cs("body").display || "",
    skipLeft: cs(".skip-link").left || "",
    rules: [...document.styleSheets].reduce((n, s) => n + s.cssRules.length, 0),
    hero: !!document.querySelector("section.hero .hero-title a"),
    more: text("#more-title"),
    cards: document.querySelectorAll(".cards .card").length,
    covers: imgs.filter((i) => i.classList.contains("cover") && i.complete && i.naturalWidth > 0).length,
    brokenImgs: imgs.filter((i) => i.complete && i.naturalWidth === 0).length,
    postTitle: text("h1.post-title"),
    postWeight: cs(".post-title").fontWeight || "",
  };
})()`

func (b *browser) styled() styled {
	b.t.Helper()
	return run(b, chromedp.Evaluate[styled](styledJS))
}

func cacheState(resp *network.Response) string { return headerValue(resp.Headers, "X-Kiln-Cache") }

// TestHomeAndPostAreStyled: the home page has the hero and "More
// Stories", a prerendered post is served from the store, and both have
// style.css applied (values only style.css sets) and their images loaded.
func TestHomeAndPostAreStyled(t *testing.T) {
	site := newBlog(t, "1h", "eager")
	k := startKiln(t, "serve", site.dir)
	b := newBrowser(t)

	resp := b.visit(k.base + "/")
	b.screenshot("home")
	home := b.styled()
	checks := []struct{ name, got, want string }{
		{"home status", fmt.Sprint(resp.Status), "200"},
		{"home .site-title font-weight", home.TitleWeight, "800"},
		{"home body display", home.BodyDisplay, "flex"},
		{"home .skip-link left", home.SkipLeft, "-999px"},
		{"home hero", fmt.Sprint(home.Hero), "true"},
		{"home section title", home.More, "More Stories"},
		{"home cards", fmt.Sprint(home.Cards), "4"},
		{"home covers loaded", fmt.Sprint(home.Covers), "5"},
		{"home broken images", fmt.Sprint(home.BrokenImgs), "0"},
	}
	resp = b.visit(k.base + "/posts/hello-world")
	b.screenshot("post-hello-world")
	post := b.styled()
	checks = append(checks, []struct{ name, got, want string }{
		{"post X-Kiln-Cache (prerendered)", cacheState(resp), "HIT"},
		{"post title", post.PostTitle, "Hello World"},
		{"post .post-title font-weight", post.PostWeight, "800"},
		{"post body display", post.BodyDisplay, "flex"},
		{"post covers loaded", fmt.Sprint(post.Covers), "1"},
		{"post broken images", fmt.Sprint(post.BrokenImgs), "0"},
	}...)
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %q, want %q", c.name, c.got, c.want)
		}
	}
	if home.Rules == 0 || post.Rules == 0 {
		t.Errorf("stylesheet rules: home %d, post %d; want style.css loaded", home.Rules, post.Rules)
	}
}

// shellWatchJS runs first in every document of the tab. It notes when the
// fallback shell's skeleton is parsed into this window (window state
// survives document.open in current browsers, and a reload would start a
// new window without the note).
const shellWatchJS = `window.__kilnSawShell = false;
new MutationObserver((records) => {
  for (const r of records) for (const n of r.addedNodes) {
    if (n.nodeType === 1 && (n.matches(".post--loading") || n.querySelector(".post--loading"))) window.__kilnSawShell = true;
  }
}).observe(document, {childList: true, subtree: true});`

// swapState is the tab after the fallback shell was replaced.
type swapState struct {
	Marker      int    `json:"marker"`
	SawShell    bool   `json:"sawShell"`
	Navigations int    `json:"navigations"`
	NavType     string `json:"navType"`
	Busy        bool   `json:"busy"`
	Title       string `json:"title"`
}

// TestFallbackShellThenPostInPlace: a post never generated gets the shell
// at once (X-Kiln-Cache: FALLBACK), then the post replaces it in the same
// tab without a navigation, and the next request is a store hit.
func TestFallbackShellThenPostInPlace(t *testing.T) {
	site := newBlog(t, "1h", "eager")
	k := startKiln(t, "serve", site.dir)
	b := newBrowser(t)
	b.onNewDocument(shellWatchJS)
	url := k.base + "/posts/dynamic-routing"

	resp := b.visit(url)
	if got := cacheState(resp); got != "FALLBACK" {
		t.Fatalf("first visit X-Kiln-Cache = %q, want FALLBACK", got)
	}
	swapped := run(b, chromedp.Evaluate[bool](`window.__marker = 1, !document.querySelector(".post--loading")`))
	t.Logf("post already swapped in when the first visit's load event fired: %v", swapped)
	b.do(chromedp.WaitVisible(chromedp.CSS("h1.post-title")))
	b.screenshot("post-after-swap")

	st := run(b, chromedp.Evaluate[swapState](`({
	  marker: window.__marker, sawShell: window.__kilnSawShell === true,
	  navigations: performance.getEntriesByType("navigation").length,
	  navType: performance.getEntriesByType("navigation")[0].type,
	  busy: !!document.querySelector('[aria-busy="true"]'), title: document.title})`))
	if !st.SawShell {
		t.Error("the tab never held the fallback shell (.post--loading)")
	}
	if st.Marker != 1 || st.Navigations != 1 || st.NavType != "navigate" {
		t.Errorf("window marker %d, %d navigation entries of type %q; want 1, 1, navigate (no reload)", st.Marker, st.Navigations, st.NavType)
	}
	if st.Busy {
		t.Error("the post still shows the loading skeleton")
	}
	if got, want := b.text("h1.post-title"), "Dynamic Routing and Static Generation"; got != want {
		t.Errorf("post title = %q, want %q", got, want)
	}
	if n := len(b.requests(network.ResourceTypeDocument, url)); n != 1 {
		t.Errorf("the tab loaded the document %d times, want 1 (the swap must not reload)", n)
	}
	waits := 0
	for _, r := range b.requests(network.ResourceTypeFetch, url) {
		if headerValue(r.headers, "X-Kiln-Wait") != "" {
			waits++
		}
	}
	if waits == 0 {
		t.Error("the shell never asked for the page with X-Kiln-Wait")
	}

	again, body := k.get("/posts/dynamic-routing")
	if got := again.Header.Get("X-Kiln-Cache"); got != "HIT" {
		t.Errorf("second visit X-Kiln-Cache = %q, want HIT", got)
	}
	if !strings.Contains(body, "Dynamic Routing and Static Generation") || strings.Contains(body, "post--loading") {
		t.Errorf("second visit is not the post:\n%.400s", body)
	}
}

// TestEditShowsStaleOnceThenNew is the seed story: edit a post's title,
// wait past revalidate, the next visit still shows the old title and
// starts a regeneration, the visit after shows the new one.
//
// The route uses policy = "lazy". With the default ("eager"), the
// jsonfile plugin's change event regenerates the page at once, racing the
// first visit: it may show either title. With lazy, the event only marks
// the page stale and nothing renders until a request comes, so the first
// visit is always STALE with the old title. The on_change rule is lazy
// too (a rule's own policy defaults to eager and would win). Between the
// visits the test waits on /_kiln/inspect, which reads the store without
// requesting the page, until the background regeneration is stored.
func TestEditShowsStaleOnceThenNew(t *testing.T) {
	const path, newTitle = "/posts/hello-world", "Hello ISR!"
	site := newBlog(t, "2s", "lazy")
	k := startKiln(t, "serve", site.dir)
	b := newBrowser(t)

	before := k.inspect(path)
	resp := b.visit(k.base + path)
	if got := b.text("h1.post-title"); got != "Hello World" {
		t.Fatalf("before the edit: title %q", got)
	}
	if cacheState(resp) == "STALE" {
		// Older than 2s already (a slow start): let the regeneration this
		// visit started land, so it cannot store the old title after the edit.
		k.waitStored(path, "the regeneration of the first visit", func(s stored) bool { return s.Generated.After(before.Generated) })
	}
	b.screenshot("before-edit")
	prev := k.inspect(path)

	site.setTitle(t, "hello-world", newTitle)
	k.waitStored(path, "the change event to mark the page stale, and revalidate (2s) to pass",
		func(s stored) bool { return s.StaleMarked && time.Now().After(s.FreshUntil) })

	resp = b.visit(k.base + path)
	if got, want := cacheState(resp), "STALE"; got != want {
		t.Errorf("first visit after the edit: X-Kiln-Cache = %q, want %q", got, want)
	}
	if got := b.text("h1.post-title"); got != "Hello World" {
		t.Errorf("first visit after the edit: title %q, want the old one", got)
	}
	b.screenshot("stale-old-title")

	k.waitStored(path, "the background regeneration", func(s stored) bool { return !s.StaleMarked && s.ETag != prev.ETag })
	resp = b.visit(k.base + path)
	if got := b.text("h1.post-title"); got != newTitle {
		t.Errorf("second visit after the edit: title %q, want %q", got, newTitle)
	}
	// HIT, or STALE if this machine took over 2s since the regeneration:
	// either way the stored page is the new one.
	if got := cacheState(resp); got != "HIT" && got != "STALE" {
		t.Errorf("second visit after the edit: X-Kiln-Cache = %q, want HIT", got)
	}
	b.screenshot("new-title")
}

// TestOnDemandRevalidation: with a long revalidate and a lazy route, an
// edit alone changes nothing a visitor sees at once; `kiln revalidate`
// (POST /_kiln/revalidate with the admin secret) regenerates the page
// before it returns, so the very next visit shows the new title.
func TestOnDemandRevalidation(t *testing.T) {
	const path, newTitle = "/posts/hello-world", "Revalidated on demand"
	site := newBlog(t, "1h", "lazy")
	k := startKiln(t, "serve", site.dir)
	b := newBrowser(t)

	resp := b.visit(k.base + path)
	if got := b.text("h1.post-title"); got != "Hello World" || cacheState(resp) != "HIT" {
		t.Fatalf("before the edit: title %q, X-Kiln-Cache %q", got, cacheState(resp))
	}
	site.setTitle(t, "hello-world", newTitle)
	// The data source has the edit once its change event marked the page.
	k.waitStored(path, "the change event to mark the page stale", func(s stored) bool { return s.StaleMarked })

	cmd := execKiln(t, "revalidate", "--config", filepath.Join(site.dir, "site.hcl"), "--url", k.base, path)
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "regenerated") {
		t.Fatalf("kiln revalidate: %v\n%s", err, out)
	}
	t.Logf("kiln revalidate: %s", strings.TrimSpace(string(out)))

	resp = b.visit(k.base + path)
	if got := b.text("h1.post-title"); got != newTitle {
		t.Errorf("next visit: title %q, want %q", got, newTitle)
	}
	if got := cacheState(resp); got != "HIT" {
		t.Errorf("next visit: X-Kiln-Cache = %q, want HIT", got)
	}
	b.screenshot("revalidated")
}
