package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kilnhq/kiln/engine/internal/config"
	"github.com/kilnhq/kiln/engine/internal/isr"
	"github.com/kilnhq/kiln/engine/internal/isr/isrtest"
	"github.com/kilnhq/kiln/engine/internal/render"
	"github.com/kilnhq/kiln/engine/internal/server"
	"github.com/kilnhq/kiln/engine/internal/site"
)

// The tests run the real thing: the kiln binary (for the jsonfile plugin
// process), a real wasm renderer built from testdata/page, a Pebble store
// in a temp dir, and HTTP over loopback.
var (
	kilnBin  string // the kiln binary, run as `kiln plugin jsonfile`
	pageWasm string // testdata/page built for wasip1
	// compileCache is shared by every test's site, so the renderer is
	// compiled once per run, as a warm start would.
	compileCache string
)

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "kiln-server-test")
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
	kilnBin = filepath.Join(dir, "kiln")
	compileCache = filepath.Join(dir, "wazero")
	cmd := exec.Command("go", "build", "-o", kilnBin, "github.com/kilnhq/kiln/engine")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build kiln: %v\n%s", err, out)
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		cache = dir
	}
	pageWasm = filepath.Join(cache, "kiln-test", "server-page.wasm")
	if err := os.MkdirAll(filepath.Dir(pageWasm), 0o755); err != nil {
		return err
	}
	src, _ := filepath.Abs("testdata/page")
	_, err = render.BuildGo(context.Background(), src, pageWasm)
	return err
}

// env is one running site under test.
type env struct {
	t            *testing.T
	clock        *isrtest.Clock
	changed      chan struct{} // a batch of data changes was committed
	executable   string        // the kiln binary the plugins run from
	buildMayFail bool          // open's prerender may fail (a source is down)
	dir          string
	cfgPath      string
	dataPath     string
	site         *site.Site
	srv          *server.Server
	base         string
	secret       string
	client       *http.Client
}

const adminSecret = "test-secret"

// siteHCL is the test site; routes is spliced in.
const siteHCL = `
site {
  listen       = "127.0.0.1:0"
  store        = "store"
  retry_backoff = "2s"
  negative_ttl = "1h"
}
data_source "data" {
  plugin = "jsonfile"
  config { path = "data.json" }
}
renderer "page" {
  wasm    = %q
  timeout = "5s"
  pool    = 2
}
%s
`

// start writes the config and data into a temp dir and serves the site.
func start(t *testing.T, routes string, data map[string]any) *env {
	t.Helper()
	return startWith(t, kilnBin, routes, data)
}

// startWith is start with another kiln binary for the plugin processes.
func startWith(t *testing.T, executable, routes string, data map[string]any) *env {
	t.Helper()
	dir := t.TempDir()
	e := &env{t: t, dir: dir, cfgPath: filepath.Join(dir, "site.hcl"), dataPath: filepath.Join(dir, "data.json"), secret: adminSecret,
		clock: isrtest.NewClock(), changed: make(chan struct{}, 64), executable: executable}
	write(t, e.cfgPath, fmt.Sprintf(siteHCL, pageWasm, routes))
	e.setData(data)
	e.client = &http.Client{
		Transport:     &http.Transport{DisableCompression: true},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Timeout:       30 * time.Second,
	}
	e.open()
	t.Cleanup(e.stop)
	return e
}

func (e *env) open() {
	t := e.t
	t.Helper()
	cfg, err := config.Load(e.cfgPath)
	if err != nil {
		t.Fatalf("load config: %v", err)
	}
	var w io.Writer = io.Discard
	if testing.Verbose() {
		w = os.Stderr
	}
	log := slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelInfo}))
	onData := func() {
		select {
		case e.changed <- struct{}{}:
		default:
		}
	}
	s, err := site.Open(context.Background(), cfg, site.Options{Logger: log, Out: w, Executable: e.executable,
		CacheDir: compileCache, Clock: e.clock, OnData: onData})
	if err != nil {
		t.Fatalf("open site: %v", err)
	}
	if _, err := s.Engine.Build(context.Background(), isr.BuildOptions{OnlyMissing: true}); err != nil && !e.buildMayFail {
		t.Fatalf("build: %v", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	e.site = s
	opts := server.Options{
		Engine: s.Engine, Metrics: s.Metrics, Assets: s.Assets, Logger: log,
		AdminSecret: e.secret, PreviewSecret: "preview-token", Data: site.DataAdmin{Plugins: s.Plugins},
		Degraded: s.Degraded,
	}
	if s.Cluster != nil {
		opts.WaitAll = s.Cluster.WaitAll
	}
	e.srv = server.New(opts)
	go e.srv.Serve(ln)
	e.base = "http://" + ln.Addr().String()
}

func (e *env) stop() {
	if e.srv != nil {
		e.srv.Shutdown()
		e.site.Close()
		e.srv, e.site = nil, nil
	}
}

// restart stops the site and opens it again on the same store.
func (e *env) restart() {
	e.stop()
	e.open()
}

// advance moves the engine's clock forward: pages go stale and expire
// without the test sleeping.
func (e *env) advance(d time.Duration) { e.clock.Advance(d) }

// settle waits until the engine applies no change and renders nothing.
func (e *env) settle() {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := e.site.Engine.WaitIdle(ctx); err != nil {
		e.t.Fatalf("engine never settled: %v", err)
	}
}

// edit replaces data.json as an editor would and waits until the plugin's
// change events are committed and their regenerations done.
func (e *env) edit(data map[string]any) {
	e.t.Helper()
	for len(e.changed) > 0 {
		<-e.changed
	}
	e.setData(data)
	select {
	case <-e.changed:
	case <-time.After(30 * time.Second):
		e.t.Fatal("the data change never reached the engine")
	}
	e.settle()
}

// setData replaces data.json atomically, as an editor would.
func (e *env) setData(data map[string]any) {
	b, err := json.MarshalIndent(data, "", "  ")
	if err != nil {
		e.t.Fatal(err)
	}
	tmp := e.dataPath + ".tmp"
	write(e.t, tmp, string(b))
	if err := os.Rename(tmp, e.dataPath); err != nil {
		e.t.Fatal(err)
	}
}

type response struct {
	status int
	header http.Header
	body   string
}

func (r *response) cache() string { return r.header.Get("X-Kiln-Cache") }

func (e *env) do(method, path string, body string, headers ...string) *response {
	e.t.Helper()
	req, err := http.NewRequest(method, e.base+path, strings.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("User-Agent", "Mozilla/5.0 kiln-test")
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := e.client.Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return &response{status: resp.StatusCode, header: resp.Header, body: string(b)}
}

func (e *env) get(path string, headers ...string) *response {
	e.t.Helper()
	return e.do("GET", path, "", headers...)
}

// revalidate calls the admin API and returns its results.
func (e *env) revalidate(paths, tags []string) []isr.Result {
	e.t.Helper()
	b, _ := json.Marshal(map[string][]string{"paths": paths, "tags": tags})
	r := e.do("POST", "/_kiln/revalidate", string(b), "Authorization", "Bearer "+e.secret)
	if r.status != 200 && r.status != 207 && r.status != 404 && r.status != 500 {
		e.t.Fatalf("revalidate: %d %s", r.status, r.body)
	}
	var out struct{ Results []isr.Result }
	if err := json.Unmarshal([]byte(r.body), &out); err != nil {
		e.t.Fatal(err)
	}
	return out.Results
}

// renders counts the renders recorded in a path's history.
func (e *env) renders(path string) int {
	h, err := e.site.Store.History(path)
	if err != nil {
		e.t.Fatal(err)
	}
	return len(h)
}

func write(t *testing.T, path, s string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}

// page builds a data item for testdata/page.
func page(title string, extra ...any) map[string]any {
	m := map[string]any{"title": title}
	for i := 0; i+1 < len(extra); i += 2 {
		m[extra[i].(string)] = extra[i+1]
	}
	return m
}
