package server_test

import (
	"bufio"
	"compress/gzip"
	"fmt"
	"io"
	"net"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/andybalholm/brotli"
)

var generatedRE = regexp.MustCompile(`generated=(\d+)`)

func generated(body string) string {
	m := generatedRE.FindStringSubmatch(body)
	if m == nil {
		return ""
	}
	return m[1]
}

func TestStaleWhileRevalidate(t *testing.T) {
	e := start(t, `route "/posts/:slug" {
  renderer = "page"
  revalidate = "1s"
  fallback = "blocking"
}`, map[string]any{"page:/posts/a": page("A", "build", true)})

	first := e.get("/posts/a")
	if got, want := first.cache(), "HIT"; got != want {
		t.Fatalf("prerendered page: X-Kiln-Cache = %q, want %q", got, want)
	}
	e.advance(2 * time.Second)
	stale := e.get("/posts/a")
	if got, want := stale.cache(), "STALE"; got != want {
		t.Fatalf("after revalidate: X-Kiln-Cache = %q, want %q", got, want)
	}
	if got, want := generated(stale.body), generated(first.body); got != want {
		t.Errorf("stale body generated=%s, want the stored one %s", got, want)
	}
	// The full lifetime and the age: a shared cache adds them up and
	// agrees the page is stale.
	if got, want := stale.header.Get("Cache-Control"), "public, s-maxage=1, stale-while-revalidate=31536000"; got != want {
		t.Errorf("stale Cache-Control = %q, want %q", got, want)
	}
	if got, want := stale.header.Get("Age"), "2"; got != want {
		t.Errorf("stale Age = %q, want %q", got, want)
	}
	e.settle()
	r := e.get("/posts/a")
	if r.cache() != "HIT" || generated(r.body) == generated(first.body) {
		t.Errorf("after the regeneration: %s, new body %v; want HIT with a new page", r.cache(), generated(r.body) != generated(first.body))
	}
}

func TestStaleBurstRegeneratesOnce(t *testing.T) {
	e := start(t, `route "/posts/:slug" {
  renderer = "page"
  revalidate = "1s"
}`, map[string]any{"page:/posts/a": page("A", "build", true, "sleep_ms", 300)})
	before := e.renders("/posts/a")
	e.advance(2 * time.Second)
	var wg sync.WaitGroup
	for range 30 {
		wg.Go(func() { e.get("/posts/a") })
	}
	wg.Wait()
	e.settle()
	if got, want := e.get("/posts/a").cache(), "HIT"; got != want {
		t.Errorf("after the regeneration: %s, want %s", got, want)
	}
	if got, want := e.renders("/posts/a")-before, 1; got != want {
		t.Errorf("background regenerations for 30 stale requests = %d, want %d", got, want)
	}
}

func TestExpireBlocks(t *testing.T) {
	e := start(t, `route "/posts/:slug" {
  renderer = "page"
  revalidate = "1s"
  expire = "2s"
}`, map[string]any{"page:/posts/a": page("A", "build", true)})
	first := e.get("/posts/a")
	e.advance(3 * time.Second)
	r := e.get("/posts/a")
	if got, want := r.cache(), "MISS"; got != want {
		t.Fatalf("past expire: X-Kiln-Cache = %q, want %q", got, want)
	}
	if generated(r.body) == generated(first.body) {
		t.Errorf("past expire the old page was served")
	}
}

func TestBlockingFirstRenderFiftyConcurrent(t *testing.T) {
	e := start(t, `route "/posts/:slug" {
  renderer = "page"
  fallback = "blocking"
}`, map[string]any{"page:/posts/new": page("New", "sleep_ms", 300)})
	var (
		wg     sync.WaitGroup
		mu     sync.Mutex
		bodies = map[string]int{}
		states = map[string]int{}
	)
	for range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := e.get("/posts/new")
			mu.Lock()
			bodies[r.body]++
			states[r.cache()]++
			mu.Unlock()
		}()
	}
	wg.Wait()
	if got, want := len(bodies), 1; got != want {
		t.Errorf("distinct bodies for 50 concurrent first requests = %d, want %d", got, want)
	}
	if got, want := e.renders("/posts/new"), 1; got != want {
		t.Errorf("renders = %d, want %d", got, want)
	}
	if states["MISS"] == 0 {
		t.Errorf("states = %v, want MISS among them", states)
	}
}

func TestFallbackModes(t *testing.T) {
	e := start(t, `route "/never/:slug" {
  renderer = "page"
  fallback = "false"
}
route "/shell/:slug" {
  renderer = "page"
  fallback = "true"
}`, map[string]any{
		"page:/never/built": page("Built", "build", true),
		"page:/never/x":     page("X"),
		"page:/shell/a":     page("Shell A", "sleep_ms", 200),
		"page:/shell/bot":   page("Shell Bot"),
		"page:/shell/wait":  page("Shell Wait"),
		"page:/shell/br":    page("Shell Br", "sleep_ms", 200),
	})
	t.Run("false", func(t *testing.T) {
		if got, want := e.get("/never/built").status, 200; got != want {
			t.Errorf("prerendered: status %d, want %d", got, want)
		}
		r := e.get("/never/x")
		if got, want := r.status, 404; got != want {
			t.Errorf("never generated: status %d, want %d", got, want)
		}
		if got := e.renders("/never/x"); got != 0 {
			t.Errorf("fallback=false rendered %d times, want 0", got)
		}
	})
	t.Run("true", func(t *testing.T) {
		r := e.get("/shell/a")
		if got, want := r.cache(), "FALLBACK"; got != want {
			t.Fatalf("X-Kiln-Cache = %q, want %q", got, want)
		}
		if got, want := r.header.Get("Cache-Control"), "private, no-store"; got != want {
			t.Errorf("Cache-Control = %q, want %q", got, want)
		}
		if !strings.Contains(r.body, "loading /shell/a") || !strings.Contains(r.body, "X-Kiln-Wait") {
			t.Errorf("shell body = %q, want the fallback export plus the completion script", r.body)
		}
		e.settle()
		if r := e.get("/shell/a"); r.cache() != "HIT" || !strings.Contains(r.body, "Shell A") {
			t.Errorf("after the render: %s %.100q, want HIT with the page", r.cache(), r.body)
		}
	})
	t.Run("shells are not compressed", func(t *testing.T) {
		r := e.get("/shell/br", "Accept-Encoding", "br")
		if r.cache() != "FALLBACK" || r.header.Get("Content-Encoding") != "" || !strings.Contains(r.body, "X-Kiln-Wait") {
			t.Errorf("shell asked for br: %s, Content-Encoding %q; want an identity FALLBACK with the completion script",
				r.cache(), r.header.Get("Content-Encoding"))
		}
	})
	t.Run("bot", func(t *testing.T) {
		r := e.get("/shell/bot", "User-Agent", "Mozilla/5.0 (compatible; Googlebot/2.1)")
		if got, want := r.cache(), "MISS"; got != want || !strings.Contains(r.body, "Shell Bot") {
			t.Errorf("bot: X-Kiln-Cache = %q (want %q), body %q", got, want, r.body)
		}
	})
	t.Run("wait header", func(t *testing.T) {
		r := e.get("/shell/wait", "X-Kiln-Wait", "1")
		if got, want := r.cache(), "MISS"; got != want || !strings.Contains(r.body, "Shell Wait") {
			t.Errorf("X-Kiln-Wait: X-Kiln-Cache = %q (want %q), body %q", got, want, r.body)
		}
	})
}

func TestNotFoundAndRedirectTransitions(t *testing.T) {
	data := map[string]any{"page:/p/a": page("A", "build", true)}
	e := start(t, `route "/p/:slug" {
  renderer = "page"
}`, data)
	steps := []struct {
		name     string
		item     map[string]any
		status   int
		location string
		body     string
	}{
		{"page", page("A"), 200, "", "<h1>A</h1>"},
		{"becomes not found", page("A", "notfound", true), 404, "", "404"},
		{"back to a page", page("Again"), 200, "", "<h1>Again</h1>"},
		{"temporary redirect", page("", "redirect", "/p/b"), 307, "/p/b", ""},
		{"permanent redirect", page("", "redirect", "/p/c", "permanent", true), 308, "/p/c", ""},
		{"deleted", nil, 404, "", ""},
	}
	for _, s := range steps {
		if s.item == nil {
			delete(data, "page:/p/a")
		} else {
			data["page:/p/a"] = s.item
		}
		e.edit(data)
		r := e.get("/p/a")
		if r.status != s.status || r.header.Get("Location") != s.location || !strings.Contains(r.body, s.body) {
			t.Errorf("%s: %d, Location %q, body %.80q; want %d, %q, %q", s.name, r.status, r.header.Get("Location"), r.body, s.status, s.location, s.body)
		}
	}
}

func TestAdminAPI(t *testing.T) {
	e := start(t, `route "/p/:slug" {
  renderer = "page"
  fallback = "blocking"
}`, map[string]any{
		"page:/p/a": page("A", "build", true, "tags", []string{"t1"}),
		"page:/p/b": page("B", "build", true, "tags", []string{"t1", "t2"}),
		"page:/p/c": page("C"),
	})
	for _, tc := range []struct {
		name, auth string
		want       int
	}{
		{"missing", "", 401},
		{"wrong", "Bearer nope", 401},
		{"right", "Bearer " + adminSecret, 200},
	} {
		r := e.do("POST", "/_kiln/revalidate", `{"paths":["/p/a"]}`, "Authorization", tc.auth)
		if r.status != tc.want {
			t.Errorf("%s secret: status %d, want %d", tc.name, r.status, tc.want)
		}
		r = e.do("GET", "/_kiln/debug/pprof/goroutine?debug=1", "", "Authorization", tc.auth)
		if r.status != tc.want || (tc.want == 200 && !strings.Contains(r.body, "goroutine profile:")) {
			t.Errorf("%s secret: pprof status %d, want %d: %.100s", tc.name, r.status, tc.want, r.body)
		}
	}
	before := e.renders("/p/a")
	res := e.revalidate(nil, []string{"t1"})
	if got, want := fmt.Sprint(res), "[{/p/a regenerated } {/p/b regenerated }]"; got != want {
		t.Errorf("revalidate tag t1 = %s, want %s", got, want)
	}
	if got := e.renders("/p/a") - before; got != 1 {
		t.Errorf("renders of /p/a after tag revalidation = %d, want 1", got)
	}
	res = e.revalidate([]string{"/p/c", "/p/missing", "/nowhere"}, nil)
	if got, want := fmt.Sprint(res), "[{/nowhere not_found no route matches this path} {/p/c regenerated } {/p/missing not_found }]"; got != want {
		t.Errorf("revalidate paths = %s, want %s", got, want)
	}
	for _, tc := range []struct {
		name, body string
		want       int
	}{
		{"all revalidated", `{"paths":["/p/a"]}`, 200},
		{"some failed", `{"paths":["/p/a","/nowhere"]}`, 207},
		{"all refused", `{"paths":["/nowhere"]}`, 404},
		{"lazy tag invalidation", `{"tags":["t2"],"mode":"stale"}`, 200},
		{"unknown mode", `{"paths":["/p/a"],"mode":"later"}`, 400},
	} {
		r := e.do("POST", "/_kiln/revalidate", tc.body, "Authorization", "Bearer "+adminSecret)
		if r.status != tc.want {
			t.Errorf("%s: status %d, want %d: %s", tc.name, r.status, tc.want, r.body)
		}
	}
	if got, want := e.get("/p/b").cache(), "STALE"; got != want {
		t.Errorf("after a lazy tag invalidation: %s, want %s", got, want)
	}
	if got, want := e.get("/p/c").cache(), "HIT"; got != want {
		t.Errorf("never-generated path after revalidate: %s, want %s", got, want)
	}
}

func TestAdminOffWithoutSecret(t *testing.T) {
	e := start(t, `route "/" {
  renderer = "page"
}`, map[string]any{"page:/": page("Home")})
	e.stop()
	e.secret = ""
	e.open()
	r := e.do("POST", "/_kiln/revalidate", `{"paths":["/"]}`, "Authorization", "Bearer ")
	if got, want := r.status, 404; got != want {
		t.Errorf("admin API with no secret: status %d, want %d", got, want)
	}
}

func TestBadPaths(t *testing.T) {
	e := start(t, `route "/docs/*path" {
  renderer = "page"
  fallback = "blocking"
}`, map[string]any{"page:/docs/ok": page("OK")})
	for _, target := range []string{
		"/docs/../etc/passwd",
		"/docs/%2e%2e/etc/passwd",
		"/docs/a%2Fb",
		"/docs/a%5Cb",
		"/docs/%ff%fe",
		"/docs/a%00b",
		"/docs/" + strings.Repeat("a", 5000),
		"/docs/%zz",
	} {
		status := rawGet(t, e.base, target)
		if status != 400 {
			t.Errorf("GET %.60s: status %d, want 400", target, status)
		}
	}
	if got := e.renders("/docs/ok"); got != 0 {
		t.Errorf("bad paths reached the renderer")
	}
	if got, want := rawGet(t, e.base, "/docs/ok?x=1"), 200; got != want {
		t.Errorf("good path: status %d, want %d", got, want)
	}
}

// rawGet sends a request line as is: Go's client would clean the path.
func rawGet(t *testing.T, base, target string) int {
	t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "GET %s HTTP/1.1\r\nHost: x\r\nUser-Agent: test\r\nConnection: close\r\n\r\n", target)
	line, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil {
		t.Fatalf("GET %.40s: %v", target, err)
	}
	f := strings.Fields(line)
	if len(f) < 2 {
		t.Fatalf("bad status line %q", line)
	}
	n, _ := strconv.Atoi(f[1])
	return n
}

func TestHeaders(t *testing.T) {
	e := start(t, `route "/p/:slug" {
  renderer = "page"
  revalidate = "1h"
  expire = "2h"
}`, map[string]any{"page:/p/a": page("A", "build", true, "big", 200)})
	r := e.get("/p/a")
	etag := r.header.Get("ETag")
	checks := []struct{ name, got, want string }{
		{"Cache-Control", r.header.Get("Cache-Control"), "public, s-maxage=3600, stale-while-revalidate=3600"},
		{"Age", r.header.Get("Age"), "0"},
		{"Content-Length", r.header.Get("Content-Length"), strconv.Itoa(len(r.body))},
		{"Vary", r.header.Get("Vary"), "Accept-Encoding"},
		{"Content-Type", r.header.Get("Content-Type"), "text/html; charset=utf-8"},
		{"strong ETag", fmt.Sprint(strings.HasPrefix(etag, `"`)), "true"},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %q, want %q", c.name, c.got, c.want)
		}
	}
	if got, want := e.get("/p/a", "If-None-Match", etag).status, 304; got != want {
		t.Errorf("If-None-Match: status %d, want %d", got, want)
	}
	head := e.do("HEAD", "/p/a", "")
	if head.body != "" || head.header.Get("ETag") != etag || head.header.Get("Content-Length") != strconv.Itoa(len(r.body)) {
		t.Errorf("HEAD: body %d bytes, ETag %q, Content-Length %q; want no body, same headers", len(head.body), head.header.Get("ETag"), head.header.Get("Content-Length"))
	}
	for _, enc := range []string{"gzip", "br"} {
		z := e.get("/p/a", "Accept-Encoding", enc)
		if got := z.header.Get("Content-Encoding"); got != enc {
			t.Fatalf("Accept-Encoding %s: Content-Encoding %q", enc, got)
		}
		if got := decode(t, enc, z.body); got != r.body {
			t.Errorf("%s variant does not decode to the identity body", enc)
		}
	}
}

func decode(t *testing.T, enc, body string) string {
	t.Helper()
	var rd io.Reader
	switch enc {
	case "gzip":
		zr, err := gzip.NewReader(strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		rd = zr
	case "br":
		rd = brotli.NewReader(strings.NewReader(body))
	}
	b, err := io.ReadAll(rd)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestRestartKeepsPagesAndAge(t *testing.T) {
	e := start(t, `route "/p/:slug" {
  renderer = "page"
  revalidate = "1h"
}`, map[string]any{"page:/p/a": page("A", "build", true)})
	first := e.get("/p/a")
	e.advance(90 * time.Second)
	e.restart()
	r := e.get("/p/a")
	if r.cache() != "HIT" || r.body != first.body {
		t.Fatalf("after restart: %s, same body %v; want HIT with the stored body", r.cache(), r.body == first.body)
	}
	if age, _ := strconv.Atoi(r.header.Get("Age")); age < 90 {
		t.Errorf("Age after restart = %d, want it kept (>= 90)", age)
	}
}

func TestFailedRegenerationKeepsStalePage(t *testing.T) {
	data := map[string]any{"page:/p/a": page("A", "build", true)}
	e := start(t, `route "/p/:slug" {
  renderer = "page"
  revalidate = "1s"
  policy = "lazy"
}`, data)
	first := e.get("/p/a")
	data["page:/p/a"] = page("A", "fail", true)
	e.edit(data) // lazy: marks the page stale
	r := e.get("/p/a")
	if r.status != 200 || r.body != first.body || r.cache() != "STALE" {
		t.Fatalf("stale with a failing renderer: %d %s; want 200 STALE and the stored page", r.status, r.cache())
	}
	e.settle()
	if h, _ := e.site.Store.History("/p/a"); len(h) == 0 || h[len(h)-1].Outcome != "error" {
		t.Fatalf("history %+v, want the failed regeneration last", h)
	}
	n := e.renders("/p/a")
	for range 5 {
		if r := e.get("/p/a"); r.status != 200 || r.cache() != "STALE" {
			t.Fatalf("during backoff: %d %s, want 200 STALE", r.status, r.cache())
		}
	}
	e.settle()
	if got := e.renders("/p/a"); got != n {
		t.Errorf("regenerations during the backoff = %d, want 0", got-n)
	}
	e.advance(3 * time.Second) // retry_backoff is 2s
	e.get("/p/a")
	e.settle()
	if got := e.renders("/p/a"); got != n+1 {
		t.Errorf("regenerations after the backoff = %d, want 1", got-n)
	}
}

func TestFirstRenderFailureIs500AndRetried(t *testing.T) {
	data := map[string]any{"page:/p/x": page("X", "fail", true)}
	e := start(t, `route "/p/:slug" {
  renderer = "page"
  fallback = "blocking"
}`, data)
	if got, want := e.get("/p/x").status, 500; got != want {
		t.Fatalf("failing first render: %d, want %d", got, want)
	}
	data["page:/p/x"] = page("X")
	e.edit(data)
	// Backing off: refused at once, with Retry-After.
	if r := e.get("/p/x"); r.status != 500 || r.header.Get("Retry-After") == "" {
		t.Errorf("during the backoff: %d, Retry-After %q; want 500 with Retry-After", r.status, r.header.Get("Retry-After"))
	}
	e.advance(3 * time.Second)
	if got, want := e.get("/p/x").status, 200; got != want {
		t.Errorf("after the backoff: %d, want %d", got, want)
	}
}

func TestPreview(t *testing.T) {
	e := start(t, `route "/p/:slug" {
  renderer = "page"
  revalidate = "1h"
}`, map[string]any{"page:/p/a": page("A", "build", true)})
	stored := e.get("/p/a")
	r := e.get("/p/a", "X-Kiln-Preview", "preview-token")
	if r.cache() != "PREVIEW" || r.header.Get("Cache-Control") != "private, no-store" || generated(r.body) == generated(stored.body) {
		t.Errorf("preview: %s %q; want a fresh private render", r.cache(), r.header.Get("Cache-Control"))
	}
	if again := e.get("/p/a"); again.body != stored.body {
		t.Errorf("preview changed the stored page")
	}
}

func TestNoStore(t *testing.T) {
	e := start(t, `route "/p/:slug" {
  renderer = "page"
  fallback = "blocking"
}`, map[string]any{"page:/p/n": page("N", "nostore", true)})
	for range 2 {
		r := e.get("/p/n")
		if r.status != 200 || r.header.Get("Cache-Control") != "private, no-store" || r.cache() != "MISS" {
			t.Errorf("no-store page: %d %q %s", r.status, r.header.Get("Cache-Control"), r.cache())
		}
	}
	if _, err := e.site.Store.Get("/p/n"); err == nil {
		t.Errorf("a no-store page was stored")
	}
}

func TestDataChangeRegeneratesDependents(t *testing.T) {
	data := map[string]any{
		"page:/p/a": page("A", "build", true),
		"page:/p/b": page("B", "build", true),
	}
	e := start(t, `route "/p/:slug" {
  renderer = "page"
}`, data)
	ra, rb := e.renders("/p/a"), e.renders("/p/b")
	data["page:/p/a"] = page("A2")
	e.edit(data)
	if body := e.get("/p/a").body; !strings.Contains(body, "<h1>A2</h1>") {
		t.Errorf("the edited page: %.80q", body)
	}
	if got := e.renders("/p/b") - rb; got != 0 {
		t.Errorf("an unrelated page was regenerated %d times", got)
	}
	if got := e.renders("/p/a") - ra; got != 1 {
		t.Errorf("the edited page was regenerated %d times, want 1", got)
	}
}

func TestMetrics(t *testing.T) {
	e := start(t, `route "/p/:slug" {
  renderer = "page"
  fallback = "blocking"
}`, map[string]any{"page:/p/a": page("A", "build", true), "page:/p/b": page("B")})
	e.get("/p/a")
	e.get("/p/b")
	r := e.get("/metrics", "Authorization", "Bearer "+e.secret)
	for _, want := range []string{
		`kiln_requests_total{cache="HIT"} 1`,
		`kiln_requests_total{cache="MISS"} 1`,
		`kiln_render_seconds_count{mode="blocking",renderer="page"} 1`,
		`kiln_regeneration_seconds_count{outcome="regenerated",reason="first-request"} 1`,
		"kiln_regeneration_queue_depth 0",
		"kiln_renders_in_flight 0",
		"kiln_store_pages 2",
		"kiln_hot_cache_bytes ",
		"kiln_hot_cache_hit_ratio ",
	} {
		if !strings.Contains(r.body, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
}

// TestRepresentationETags: each encoding has its own strong ETag, so a
// validator for the gzip bytes never gets a 304 for the identity ones.
func TestRepresentationETags(t *testing.T) {
	e := start(t, `route "/p/:slug" {
  renderer = "page"
}`, map[string]any{"page:/p/a": page("A", "build", true, "big", 200)})
	identity := e.get("/p/a").header.Get("ETag")
	gz := e.get("/p/a", "Accept-Encoding", "gzip").header.Get("ETag")
	br := e.get("/p/a", "Accept-Encoding", "br").header.Get("ETag")
	if identity == gz || identity == br || gz == br {
		t.Fatalf("ETags identity %s, gzip %s, br %s: want three", identity, gz, br)
	}
	tests := []struct {
		name, accept, inm string
		want              int
	}{
		{"identity with the gzip tag", "", gz, 200},
		{"identity with its own tag", "", identity, 304},
		{"gzip with its own tag", "gzip", gz, 304},
		{"gzip with the identity tag", "gzip", identity, 200},
		{"weak comparison", "br", "W/" + br, 304},
		{"one of a list", "gzip", `"x", ` + gz, 304},
	}
	for _, tt := range tests {
		if got := e.get("/p/a", "Accept-Encoding", tt.accept, "If-None-Match", tt.inm).status; got != tt.want {
			t.Errorf("%s: status %d, want %d", tt.name, got, tt.want)
		}
	}
}

// TestRequestTargets: the fast path and Normalize agree, a raw '#' starts
// a fragment (never part of the stored path), and crawlers get the
// blocking behaviour on a fallback = "true" route.
func TestRequestTargets(t *testing.T) {
	e := start(t, `route "/" {
  renderer = "page"
}
route "/t/:slug" {
  renderer = "page"
  fallback = "true"
}`, map[string]any{"page:/": page("Home", "build", true), "page:/t/wa": page("WA"), "page:/t/gi": page("GI"), "page:/t/br": page("BR")})
	for _, target := range []string{"/#frag", "/index.html", "/index", "/?x#y", "/index.html#z"} {
		if got, want := rawGet(t, e.base, target), 200; got != want {
			t.Errorf("GET %s: %d, want %d", target, got, want)
		}
	}
	for _, p := range []string{"/#frag", "/index.html"} {
		if _, err := e.site.Store.Get(p); err == nil {
			t.Errorf("%q was stored as a path of its own", p)
		}
	}
	for _, tc := range []struct{ path, ua, want string }{
		{"/t/wa", "WhatsApp/2.23.20.0", "MISS"},
		{"/t/gi", "Mozilla/5.0 (compatible; Google-InspectionTool/1.0)", "MISS"},
		{"/t/br", "Mozilla/5.0 (Linux; Android 13; Cubot-bot) Chrome/120.0", "FALLBACK"},
	} {
		if got := e.get(tc.path, "User-Agent", tc.ua).cache(); got != tc.want {
			t.Errorf("%s for %q: %s, want %s", tc.path, tc.ua, got, tc.want)
		}
	}
}
