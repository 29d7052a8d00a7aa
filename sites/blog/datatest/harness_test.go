package datatest

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/kilnhq/kiln/engine/internal/config"
	"github.com/kilnhq/kiln/engine/internal/isr"
	"github.com/kilnhq/kiln/engine/internal/render"
	"github.com/kilnhq/kiln/engine/internal/server"
	"github.com/kilnhq/kiln/engine/internal/site"
)

// repo is the module root, three levels up from this package.
var repo = func() string {
	p, err := filepath.Abs("../../..")
	if err != nil {
		panic(err)
	}
	return p
}()

// renderers are the blog's Go renderers, built to wasm once per run.
var renderers = []string{"home", "post", "notfound", "shell"}

// fx holds what TestMain builds: the kiln binary (its `kiln plugin NAME`
// runs the data sources), the renderers' modules and the wasm compile
// cache shared by every test's site.
var fx struct {
	bin   string
	cache string
	wasm  map[string]string
}

const adminSecret = "datatest-secret"

func TestMain(m *testing.M) {
	flag.Parse()
	dir, err := os.MkdirTemp("", "kiln-datatest")
	if err != nil {
		panic(err)
	}
	code := func() int {
		defer os.RemoveAll(dir)
		if err := buildFixtures(dir); err != nil {
			fmt.Fprintln(os.Stderr, "build fixtures:", err)
			return 1
		}
		return m.Run()
	}()
	os.Exit(code)
}

func buildFixtures(dir string) error {
	fx.bin = filepath.Join(dir, "kiln")
	cmd := exec.Command("go", "build", "-o", fx.bin, "github.com/kilnhq/kiln/engine")
	cmd.Dir = repo
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build kiln: %v\n%s", err, out)
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		cache = dir
	}
	cache = filepath.Join(cache, "kiln-test")
	fx.cache = filepath.Join(dir, "wazero")
	fx.wasm = map[string]string{}
	for _, name := range renderers {
		out := filepath.Join(cache, "blog-"+name+".wasm")
		if err := os.MkdirAll(cache, 0o755); err != nil {
			return err
		}
		src := filepath.Join(repo, "sites", "blog", "renderers", name)
		if _, err := render.BuildGo(context.Background(), src, out); err != nil {
			return err
		}
		fx.wasm[name] = out
	}
	return nil
}

var genposts struct {
	once sync.Once
	bin  string
	err  error
}

// genpostsBinary builds cmd/genposts once per run.
func genpostsBinary(t testing.TB) string {
	t.Helper()
	genposts.once.Do(func() {
		genposts.bin = filepath.Join(filepath.Dir(fx.bin), "genposts")
		cmd := exec.Command("go", "build", "-o", genposts.bin, "./sites/blog/cmd/genposts")
		cmd.Dir = repo
		if out, err := cmd.CombinedOutput(); err != nil {
			genposts.err = fmt.Errorf("go build genposts: %v\n%s", err, out)
		}
	})
	if genposts.err != nil {
		t.Fatal(genposts.err)
	}
	return genposts.bin
}

// blog is one running copy of the example blog.
type blog struct {
	t      testing.TB
	dir    string
	cfg    string
	site   *site.Site
	srv    *server.Server
	base   string
	client *http.Client
}

// rewrite is one edit of a blog config: every match of re becomes repl.
type rewrite struct {
	re   string
	repl string
}

// commonRewrites point a blog config (the root site.hcl or a variant) at
// the prebuilt renderers, a store and static files the test owns, and keep
// pages fresh for the whole test so only data changes regenerate them.
func commonRewrites() []rewrite {
	rw := []rewrite{
		{`store\s*=\s*"[^"]*"`, `store = "store"`},
		{`revalidate\s*=\s*"10s"`, `revalidate = "1h"`},
		{`dir\s*=\s*"[^"]*public"`, fmt.Sprintf("dir = %q", filepath.Join(repo, "sites", "blog", "public"))},
	}
	for _, name := range renderers {
		rw = append(rw, rewrite{`source\s*=\s*"[^"]*renderers/` + name + `"`, fmt.Sprintf("wasm = %q", fx.wasm[name])})
	}
	return rw
}

// writeConfig copies the blog config file (relative to the repo) into dir,
// applying the common rewrites and extra ones. Each must match, so a
// change to the real config fails here rather than testing something else.
func writeConfig(t testing.TB, dir, file string, extra ...rewrite) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repo, file))
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	for _, rw := range append(commonRewrites(), extra...) {
		re := regexp.MustCompile(rw.re)
		if !re.MatchString(s) {
			t.Fatalf("%s: no match for %s", file, rw.re)
		}
		s = re.ReplaceAllLiteralString(s, rw.repl)
	}
	cfg := filepath.Join(dir, "site.hcl")
	if err := os.WriteFile(cfg, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
	return cfg
}

// openBlog starts the site in cfg: plugins, renderers, the ISR engine and
// an HTTP server on loopback; build-time paths are prerendered.
func openBlog(t testing.TB, cfg string) *blog {
	t.Helper()
	b := &blog{t: t, dir: filepath.Dir(cfg), cfg: cfg, client: &http.Client{
		Transport:     &http.Transport{DisableCompression: true},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Timeout:       2 * time.Minute,
	}}
	b.open()
	t.Cleanup(b.stop)
	return b
}

func (b *blog) open() {
	t := b.t
	t.Helper()
	c, err := config.Load(b.cfg)
	if err != nil {
		t.Fatalf("load config: %v", err)
	}
	var w io.Writer = io.Discard
	if testing.Verbose() && os.Getenv("KILN_DATATEST_LOG") != "" {
		w = os.Stderr
	}
	log := slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelInfo}))
	s, err := site.Open(context.Background(), c, site.Options{Logger: log, Out: w, Executable: fx.bin, CacheDir: fx.cache})
	if err != nil {
		t.Fatalf("open site: %v", err)
	}
	b.site = s
	if _, err := s.Engine.Build(context.Background(), isr.BuildOptions{OnlyMissing: true}); err != nil {
		t.Fatalf("build: %v", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	b.srv = server.New(server.Options{
		Site: c, Engine: s.Engine, Metrics: s.Metrics, Assets: s.Assets, Logger: log,
		AdminSecret: adminSecret, Data: site.DataAdmin{Plugins: s.Plugins},
	})
	go b.srv.Serve(ln)
	b.base = "http://" + ln.Addr().String()
}

func (b *blog) stop() {
	if b.srv != nil {
		b.srv.Shutdown()
		b.site.Close()
		b.srv, b.site = nil, nil
	}
}

type response struct {
	status int
	cache  string
	body   string
}

func (b *blog) do(method, path string, body io.Reader) (*response, error) {
	req, err := http.NewRequest(method, b.base+path, body)
	if err != nil {
		return nil, err
	}
	req.Header.Set("User-Agent", "Mozilla/5.0 kiln-datatest")
	if strings.HasPrefix(path, "/_kiln/") {
		req.Header.Set("Authorization", "Bearer "+adminSecret)
	}
	resp, err := b.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	return &response{status: resp.StatusCode, cache: resp.Header.Get("X-Kiln-Cache"), body: string(out)}, nil
}

// get fetches a page.
func (b *blog) get(path string) *response {
	b.t.Helper()
	r, err := b.do("GET", path, nil)
	if err != nil {
		b.t.Fatalf("GET %s: %v", path, err)
	}
	return r
}

// admin calls the admin API and fails the test unless it answers 200.
func (b *blog) admin(method, path string, body io.Reader) string {
	b.t.Helper()
	r, err := b.do(method, path, body)
	if err != nil {
		b.t.Fatalf("%s %s: %v", method, path, err)
	}
	if r.status != http.StatusOK {
		b.t.Fatalf("%s %s: %d %s", method, path, r.status, r.body)
	}
	return r.body
}

// eventually polls cond until it holds, failing the test after a minute.
func (b *blog) eventually(what string, cond func() bool) {
	b.t.Helper()
	eventually(b.t, what, cond)
}

func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// served waits until GET path answers status with a body containing want.
func (b *blog) served(path string, status int, want string) {
	b.t.Helper()
	b.eventually(fmt.Sprintf("%s to answer %d with %q", path, status, want), func() bool {
		r := b.get(path)
		return r.status == status && strings.Contains(r.body, want)
	})
}

// stored waits until path is stored (not the fallback shell) with want.
func (b *blog) stored(path, want string) {
	b.t.Helper()
	b.eventually(fmt.Sprintf("%s to be stored with %q", path, want), func() bool {
		r := b.get(path)
		return r.cache != "FALLBACK" && strings.Contains(r.body, want)
	})
}

// idle waits until no regeneration is queued or running.
func (b *blog) idle() {
	b.t.Helper()
	b.eventually("the engine to be idle", func() bool {
		jobs, err := b.site.Store.Pending()
		if err != nil {
			b.t.Fatal(err)
		}
		return len(jobs) == 0 && testutil.ToFloat64(b.site.Metrics.QueueDepth) == 0
	})
}

// renders counts the renders of path recorded at or after since.
func (b *blog) renders(path string, since time.Time) int {
	b.t.Helper()
	h, err := b.site.Store.History(path)
	if err != nil {
		b.t.Fatal(err)
	}
	n := 0
	for _, ev := range h {
		if !ev.At.Before(since) {
			n++
		}
	}
	return n
}

// counts returns the renders of each path since since.
func (b *blog) counts(paths []string, since time.Time) map[string]int {
	got := map[string]int{}
	for _, p := range paths {
		got[p] = b.renders(p, since)
	}
	return got
}

// requireCI fails instead of skipping when the CI env var is set.
func skipOrFail(t testing.TB, format string, args ...any) {
	t.Helper()
	if os.Getenv("CI") != "" {
		t.Fatalf(format, args...)
	}
	t.Skipf(format, args...)
}
