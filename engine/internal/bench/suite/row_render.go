package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptrace"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"time"
)

// renderPosts is the size of the blog the render rows use: enough
// never-generated posts for every run of row 3.
const renderPosts = 2000

// firstRenders is how many distinct never-generated posts row 3 asks for
// per run and renderer.
const firstRenders = 200

var renderSites sync.Map // *lab -> *site

// renderSite is the blog of renderPosts posts on kv, with the C post
// renderer, shared by rows 3, 4 and 5 (each serves it afresh).
func (l *lab) renderSite(ctx context.Context) (*site, error) {
	if s, ok := renderSites.Load(l); ok {
		return s.(*site), nil
	}
	s, err := l.newSite(ctx, "render", siteOptions{Posts: renderPosts, C: true})
	if err != nil {
		return nil, err
	}
	renderSites.Store(l, s)
	return s, nil
}

// client is one keep-alive connection's worth of HTTP client.
func client() *http.Client {
	return &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 1, DisableCompression: true}}
}

// timed sends one request and returns the time to the first byte of the
// response, its status, its X-Kiln-Cache header and its body.
func timed(c *http.Client, method, url, body string, hdr map[string]string) (time.Duration, int, string, []byte, error) {
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		return 0, 0, "", nil, err
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	var start time.Time
	var ttfb time.Duration
	req = req.WithContext(httptrace.WithClientTrace(req.Context(), &httptrace.ClientTrace{
		GotFirstResponseByte: func() { ttfb = time.Since(start) },
	}))
	start = time.Now()
	resp, err := c.Do(req)
	if err != nil {
		return 0, 0, "", nil, err
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	return ttfb, resp.StatusCode, resp.Header.Get("X-Kiln-Cache"), b, err
}

var adminHeader = map[string]string{"Authorization": "Bearer " + benchSecret, "Content-Type": "application/json"}

// rowFirstRender is row 3: blocking first renders of never-generated
// posts, Go and C, time to first byte.
func rowFirstRender(ctx context.Context, l *lab, c config) *row {
	r := &row{Title: "Blocking first render", How: fmt.Sprintf("The blog with %d generated posts in the kv data source, "+
		"its post route set to `fallback = \"blocking\"`. Each run serves the site afresh, warms each renderer with 10 "+
		"renders, then requests %d distinct posts never generated before, one at a time over one keep-alive "+
		"connection, and takes the time to first byte of each (route match, the data fetch through the kv plugin "+
		"over gRPC, the wasm render, gzip and brotli compression, the synced Pebble write, the response). The Go post "+
		"renderer (sites/blog/renderers/post: goldmark Markdown, html/template) at /posts/:slug and its C twin "+
		"(sites/blog/renderers/post-c) at /c/posts/:slug render the same posts. Reference: Next.js's blocking first "+
		"render of a blog post, about 18 ms.", renderPosts, firstRenders)}
	s, err := l.renderSite(ctx)
	if err != nil {
		r.Err = err
		return r
	}
	var goLat, cLat latencies
	for run := range c.runs {
		sv, _, err := s.serve(ctx, "/posts/"+slug(0))
		if err != nil {
			r.Err = err
			return r
		}
		cl := client()
		for _, prefix := range []string{"/posts/", "/c/posts/"} {
			for i := range 10 { // warm-up: posts at the end, never measured
				if _, _, _, _, err := timed(cl, "GET", sv.base+prefix+slug(renderPosts-1-run*10-i), "", nil); err != nil {
					r.Err = err
					return r
				}
			}
		}
		for _, rr := range []struct {
			prefix string
			lat    *latencies
		}{{"/posts/", &goLat}, {"/c/posts/", &cLat}} {
			var ds []time.Duration
			for i := range firstRenders {
				n := 10 + run*firstRenders + i // 0 and 1 are prerendered
				d, status, cache, _, err := timed(cl, "GET", sv.base+rr.prefix+slug(n), "", nil)
				if err == nil && (status != 200 || cache != "MISS") {
					err = fmt.Errorf("GET %s%s: %d %s, want 200 MISS", rr.prefix, slug(n), status, cache)
				}
				if err != nil {
					r.Err = err
					return r
				}
				ds = append(ds, d)
			}
			rr.lat.add(ds)
		}
		sv.stop()
	}
	p50 := r.measure("Go post renderer, TTFB p50", "ms", goLat.p50)
	r.measure("Go post renderer, TTFB p99", "ms", goLat.p99)
	cp50 := r.measure("C post renderer, TTFB p50", "ms", cLat.p50)
	r.measure("C post renderer, TTFB p99", "ms", cLat.p99)
	// The renders alone, in wasm and natively, for the reason below.
	wasm, err := l.goBench(ctx, c, "^BenchmarkPostRender$", "./sites/blog/renderers")
	if err != nil {
		r.Err = err
		return r
	}
	native, err := l.goBench(ctx, c, "^BenchmarkRender$", "./sites/blog/renderers/post")
	if err != nil {
		r.Err = err
		return r
	}
	goWasm := r.measure("Go post render alone, in wasm (BenchmarkPostRender/Go)", "ms", scale(wasm["PostRender/Go"]["ns/op"], 1e-6))
	cWasm := r.measure("C post render alone, in wasm (BenchmarkPostRender/C)", "ms", scale(wasm["PostRender/C"]["ns/op"], 1e-6))
	goNative := r.measure("Go post render alone, native (BenchmarkRender in renderers/post)", "ms", scale(native["Render"]["ns/op"], 1e-6))
	r.target("Go blog post p50 ≤ 2 ms, data fetch included", num(p50.Median, "ms"), p50.Median <= 2,
		fmt.Sprintf("The engine's part is what the C page pays: %s at p50, its render %s. The Go page's render alone "+
			"costs %s in wasm (goldmark and html/template, compiled by Go to wasm, %s slower than the same code "+
			"natively, %s): that is the difference.", num(cp50.Median, "ms"), num(cWasm.Median, "ms"),
			num(goWasm.Median, "ms"), num(goWasm.Median/goNative.Median, "×"), num(goNative.Median, "ms")))
	r.target("C blog post p50 ≤ 2 ms, data fetch included (the same page, the same engine path)", num(cp50.Median, "ms"),
		cp50.Median <= 2, "See the Go target.")
	ratio := goWasm.Median / goNative.Median
	r.target("Go post render in wasm ≤ 3× the same code native (issue 13)", num(ratio, "×"), ratio <= 3,
		fmt.Sprintf("The render alone: %s in wasm, %s natively. Go's wasm port keeps its own stack in linear "+
			"memory and enters every function through a resumable dispatch loop (goroutines on a one-thread "+
			"target), with no SIMD; wazero compiles that code to native, but its shape stays. The C twin's "+
			"render is %s.", num(goWasm.Median, "ms"),
			num(goNative.Median, "ms"), num(cWasm.Median, "ms")))
	r.note("Against Next.js's 18 ms: %s faster (Go), %s faster (C).", num(18/p50.Median, "×"), num(18/cp50.Median, "×"))
	return r
}

// goBench runs Go benchmarks c.runs times and parses them (see parseBench).
func (l *lab) goBench(ctx context.Context, c config, pattern, pkg string) (map[string]map[string][]float64, error) {
	cmd := exec.CommandContext(ctx, "go", "test", "-run", "^$", "-bench", pattern, "-count", strconv.Itoa(c.runs), pkg)
	cmd.Dir = l.root
	b, err := cmd.CombinedOutput()
	if err != nil {
		return nil, fmt.Errorf("go test -bench %s %s: %v\n%s", pattern, pkg, err, lastLines(string(b), 30))
	}
	res := parseBench(b)
	if len(res) == 0 {
		return nil, fmt.Errorf("go test -bench %s %s: no results:\n%s", pattern, pkg, lastLines(string(b), 30))
	}
	return res, nil
}

func scale(vs []float64, f float64) []float64 {
	out := make([]float64, len(vs))
	for i, v := range vs {
		out[i] = v * f
	}
	return out
}

// rowRevalidate is row 4: the admin API's on-demand revalidation of one
// stored post, which answers once the page is rendered and stored.
func rowRevalidate(ctx context.Context, l *lab, c config) *row {
	const calls = 200
	r := &row{Title: "On-demand revalidation", How: fmt.Sprintf("`POST /_kiln/revalidate` with `{\"paths\": [...]}` for one "+
		"stored post of the %d-post kv blog, rendered by Go (/posts/...) and by C (/c/posts/...), %d calls each per "+
		"run, one at a time over one keep-alive connection. The call "+
		"returns when the page has been rendered again (data fetched through the plugin) and stored, like Next.js's "+
		"`res.revalidate`, whose reference latency is about 19 ms.", renderPosts, calls)}
	s, err := l.renderSite(ctx)
	if err != nil {
		r.Err = err
		return r
	}
	var goLat, cLat latencies
	engineSide := map[string][]float64{} // path -> per run, ms
	for range c.runs {
		sv, _, err := s.serve(ctx, "/posts/"+slug(0))
		if err != nil {
			r.Err = err
			return r
		}
		cl := client()
		for _, rr := range []struct {
			path string
			lat  *latencies
		}{{"/posts/" + slug(0), &goLat}, {"/c/posts/" + slug(0), &cLat}} {
			body := `{"paths":["` + rr.path + `"]}`
			var ds []time.Duration
			for i := range calls + 10 {
				d, status, _, b, err := timed(cl, "POST", sv.base+"/_kiln/revalidate", body, adminHeader)
				if err == nil && (status != 200 || !strings.Contains(string(b), `"regenerated"`)) {
					err = fmt.Errorf("revalidate %s: %d %s", rr.path, status, b)
				}
				if err != nil {
					r.Err = err
					return r
				}
				if i >= 10 { // the first ten warm the renderer
					ds = append(ds, d)
				}
			}
			rr.lat.add(ds)
			d, err := regenerationMedian(sv, rr.path)
			if err != nil {
				r.Err = err
				return r
			}
			engineSide[rr.path] = append(engineSide[rr.path], d)
		}
		sv.stop()
	}
	p50 := r.measure("Revalidation of a Go-rendered post, p50", "ms", goLat.p50)
	r.measure("Revalidation of a Go-rendered post, p99", "ms", goLat.p99)
	cp50 := r.measure("Revalidation of a C-rendered post, p50", "ms", cLat.p50)
	r.measure("Revalidation of a C-rendered post, p99", "ms", cLat.p99)
	goEngine := r.measure("Go post: the engine's regeneration (render, data, compression, synced write), median of its history", "ms", engineSide["/posts/"+slug(0)])
	cEngine := r.measure("C post: the engine's regeneration (render, data, compression, synced write), median of its history", "ms", engineSide["/c/posts/"+slug(0)])
	r.target("p50 ≤ 2 ms (the blog's Go post)", num(p50.Median, "ms"), p50.Median <= 2,
		fmt.Sprintf("The engine's regeneration of the page takes %s of it (the C twin's %s): the difference is the "+
			"Go render in wasm (row 3); the rest is the HTTP call.", num(goEngine.Median, "ms"), num(cEngine.Median, "ms")))
	r.target("p50 ≤ 1.5 ms (the C post; issue 13)", num(cp50.Median, "ms"), cp50.Median <= 1.5,
		fmt.Sprintf("The engine's regeneration takes %s of it: the render (row 3 times it alone), the data read "+
			"over gRPC, compression and the synced write of the new page, which a revalidation waits for so that no "+
			"change is rolled back by a crash; the rest is the HTTP call.", num(cEngine.Median, "ms")))
	r.note("Against Next.js's 19 ms: %s faster (Go), %s faster (C).", num(19/p50.Median, "×"), num(19/cp50.Median, "×"))
	return r
}

// rowEventToFresh is row 5: a kv write until the new page is served.
func rowEventToFresh(ctx context.Context, l *lab, c config) *row {
	edits := 1000
	if c.quick {
		edits = 200
	}
	r := &row{Title: "Event to fresh page", How: fmt.Sprintf("On the kv blog, %d edits per run of one stored post's title, "+
		"one at a time: each is a `PUT /_kiln/data/blog?key=post:...` through the admin API (the kv plugin writes it "+
		"and streams the change event back), then `GET` of the post's page every millisecond until it serves the new "+
		"title. The latency runs from the PUT to that GET's answer: the plugin write, the watch event, batching, "+
		"the render and the store.", edits)}
	s, err := l.renderSite(ctx)
	if err != nil {
		r.Err = err
		return r
	}
	var lat latencies
	for run := range c.runs {
		sv, _, err := s.serve(ctx, "/posts/"+slug(1))
		if err != nil {
			r.Err = err
			return r
		}
		ds, err := editLoop(sv, slug(1), edits, run)
		if err != nil {
			r.Err = err
			return r
		}
		lat.add(ds)
		sv.stop()
	}
	r.measure("Event to fresh page, p50", "ms", lat.p50)
	p99 := r.measure("Event to fresh page, p99", "ms", lat.p99)
	r.target("p99 ≤ 50 ms", num(p99.Median, "ms"), p99.Median <= 50, "See the notes below.")
	r.target("p99 ≤ 20 ms (issue 13)", num(p99.Median, "ms"), p99.Median <= 20,
		"A change waits up to 2 ms for the changes behind it before its batch closes (RATIONALE.md, \"Why are "+
			"bursts batched\"), the GET polls every millisecond, and the plugin, the engine and the load "+
			"generator share the machine's cores.")
	return r
}

// editLoop edits post slug n times and returns each edit's time until
// the page served it.
func editLoop(sv *server, slug string, n, run int) ([]time.Duration, error) {
	raw, err := sv.admin("GET", "/_kiln/data/blog?key=post:"+slug, "")
	if err != nil {
		return nil, err
	}
	var post map[string]any
	if err := json.Unmarshal(raw, &post); err != nil {
		return nil, fmt.Errorf("post %s: %v", slug, err)
	}
	cl, poll := client(), client()
	page := sv.base + "/posts/" + slug
	var ds []time.Duration
	for i := range n {
		title := fmt.Sprintf("Edit %d of run %d", i, run)
		post["title"] = title
		v, _ := json.Marshal(post)
		start := time.Now()
		_, status, _, b, err := timed(cl, "PUT", sv.base+"/_kiln/data/blog?key=post:"+slug, string(v), adminHeader)
		if err == nil && status != 200 {
			err = fmt.Errorf("put: %d %s", status, b)
		}
		if err != nil {
			return nil, err
		}
		for {
			_, status, _, body, err := timed(poll, "GET", page, "", nil)
			if err != nil {
				return nil, err
			}
			if status == 200 && strings.Contains(string(body), title) {
				break
			}
			if time.Since(start) > time.Minute {
				return nil, fmt.Errorf("%s never served %q", page, title)
			}
			time.Sleep(time.Millisecond)
		}
		ds = append(ds, time.Since(start))
	}
	return ds, nil
}

// rowHome is row 9: the home page's render over c.scale posts, through
// on-demand revalidation of "/", against the same on the small blog.
func rowHome(ctx context.Context, l *lab, c config) *row {
	const calls = 100
	r := &row{Title: "Home page over many posts", How: fmt.Sprintf("`POST /_kiln/revalidate` of `/`, %d calls per run, on the "+
		"kv blog with %s posts and on the one with %s. The home page lists the date index in reverse with a limit "+
		"(the data source's ordered listing) and reads only the 11 posts it shows, so its cost must not depend on "+
		"the number of posts.", calls, commas(int64(c.scale)), commas(renderPosts))}
	small, err := l.renderSite(ctx)
	if err != nil {
		r.Err = err
		return r
	}
	big, err := l.bigSite(ctx, c)
	if err != nil {
		r.Err = err
		return r
	}
	var lats [2]latencies
	var reads [2]struct { // what the last render of / read (kiln inspect)
		Keys     []string `json:"keys"`
		Prefixes []string `json:"prefixes"`
	}
	for range c.runs {
		for i, s := range []*site{big, small} {
			sv, _, err := s.serve(ctx, "/")
			if err != nil {
				r.Err = err
				return r
			}
			cl := client()
			var ds []time.Duration
			for j := range calls + 10 {
				d, status, _, b, err := timed(cl, "POST", sv.base+"/_kiln/revalidate", `{"paths":["/"]}`, adminHeader)
				if err == nil && status != 200 {
					err = fmt.Errorf("revalidate /: %d %s", status, b)
				}
				if err != nil {
					r.Err = err
					return r
				}
				if j >= 10 {
					ds = append(ds, d)
				}
			}
			lats[i].add(ds)
			raw, err := sv.admin("GET", "/_kiln/inspect?path=/", "")
			if err == nil {
				err = json.Unmarshal(raw, &reads[i])
			}
			if err != nil {
				r.Err = fmt.Errorf("inspect /: %v", err)
				return r
			}
			sv.stop()
		}
	}
	bp50 := r.measure(fmt.Sprintf("Home, %s posts, p50", commas(int64(c.scale))), "ms", lats[0].p50)
	r.measure(fmt.Sprintf("Home, %s posts, p99", commas(int64(c.scale))), "ms", lats[0].p99)
	sp50 := r.measure(fmt.Sprintf("Home, %s posts, p50", commas(renderPosts)), "ms", lats[1].p50)
	r.measure(fmt.Sprintf("Home, %s posts, p99", commas(renderPosts)), "ms", lats[1].p99)
	posts := func(keys []string) int {
		n := 0
		for _, k := range keys {
			if strings.HasPrefix(k, "post:") {
				n++
			}
		}
		return n
	}
	bigPosts, smallPosts := posts(reads[0].Keys), posts(reads[1].Keys)
	r.target(fmt.Sprintf("home page regeneration p50 ≤ 3 ms at %s posts (issue 13)", commas(int64(c.scale))),
		num(bp50.Median, "ms"), bp50.Median <= 3,
		fmt.Sprintf("At %s posts it takes %s. A regeneration of `/` "+
			"is two plugin round trips in sequence (the ordered listing, then one batched read of the posts "+
			"it shows), the Go render in wasm, and the synced write a revalidation waits for; a post, with one "+
			"round trip, takes row 4's time.", commas(renderPosts), num(sp50.Median, "ms")))
	r.target(fmt.Sprintf("reads only the posts it shows, through one ordered listing, at %s posts", commas(int64(c.scale))),
		fmt.Sprintf("%d posts read, %d listing(s): %s", bigPosts, len(reads[0].Prefixes), strings.Join(reads[0].Prefixes, ", ")),
		bigPosts <= 11 && bigPosts == smallPosts && len(reads[0].Prefixes) == 1,
		"The page's recorded reads (kiln inspect) grow with the blog.")
	r.note("Read from the page's recorded dependencies (`kiln inspect /`): at %s posts it read %d posts and listed %q; at %s "+
		"posts, %d posts and %q. The p50 ratio between the two is %s; reading every post would mean as many reads "+
		"through the plugin as there are posts.", commas(int64(c.scale)), bigPosts, reads[0].Prefixes,
		commas(renderPosts), smallPosts, reads[1].Prefixes, num(bp50.Median/sp50.Median, "×"))
	return r
}

// regenerationMedian is the median duration, in ms, of the regenerations
// in a page's history (render and store, as the engine times them).
func regenerationMedian(sv *server, path string) (float64, error) {
	raw, err := sv.admin("GET", "/_kiln/inspect?path="+path, "")
	if err != nil {
		return 0, err
	}
	var v struct {
		History []struct {
			Duration time.Duration
			Outcome  string
		} `json:"history"`
	}
	if err := json.Unmarshal(raw, &v); err != nil {
		return 0, fmt.Errorf("inspect %s: %v", path, err)
	}
	var ds []float64
	for _, e := range v.History {
		if e.Outcome == "regenerated" {
			ds = append(ds, ms(e.Duration))
		}
	}
	if len(ds) == 0 {
		return 0, fmt.Errorf("inspect %s: no regenerations in its history", path)
	}
	return statOf(ds).Median, nil
}
