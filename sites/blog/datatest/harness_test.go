package datatest

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// repo is the module root, three levels up from this package.
var repo = func() string {
	p, err := filepath.Abs("../../..")
	if err != nil {
		panic(err)
	}
	return p
}()

// renderers are the blog's Go renderers.
var renderers = []string{"home", "post", "notfound", "shell"}

// fx holds what TestMain builds: the kiln binary (its `kiln plugin NAME`
// runs the data sources), and the renderers' modules (build/) and their
// wasm compile cache (wazero/), which every test's store links to, so the
// renderers are built and compiled once (and kept in the user cache dir).
var fx struct {
	bin   string
	build string
	cache string
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

// raceEngine builds the kiln binary with -race (KILN_DATATEST_RACE_ENGINE=1),
// so the engine's own goroutines (change batching, regenerations) are
// checked too; a race makes the engine exit with an error in its log.
var raceEngine = os.Getenv("KILN_DATATEST_RACE_ENGINE") != ""

func buildFixtures(dir string) error {
	if bin := os.Getenv("KILN_DATATEST_BIN"); bin != "" { // a given build, e.g. to compare
		fx.bin = bin
	} else if err := buildKiln(dir); err != nil {
		return err
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		cache = dir
	}
	fx.build = filepath.Join(cache, "kiln-test", "datatest-build")
	fx.cache = filepath.Join(cache, "kiln-test", "datatest-wazero")
	return warmUp(filepath.Join(dir, "warm"))
}

func buildKiln(dir string) error {
	fx.bin = filepath.Join(dir, "kiln")
	args := []string{"build", "-o", fx.bin}
	if raceEngine {
		args = append(args, "-race")
	}
	cmd := exec.Command("go", append(args, "github.com/kilnhq/kiln/engine")...)
	cmd.Dir = repo
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build kiln: %v\n%s", err, out)
	}
	return nil
}

// warmUp runs `kiln build` on a copy of the blog whose store links to the
// shared build/ and wazero/ dirs: the renderers are built and compiled.
func warmUp(dir string) error {
	if err := os.MkdirAll(filepath.Join(dir, "store"), 0o755); err != nil {
		return err
	}
	if err := linkCaches(filepath.Join(dir, "store")); err != nil {
		return err
	}
	data, err := os.ReadFile(filepath.Join(repo, "sites", "blog", "data.json"))
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "data.json"), data, 0o644); err != nil {
		return err
	}
	cfg, err := rewriteConfig(dir, "site.hcl", jsonfileData)
	if err != nil {
		return err
	}
	cmd := exec.Command(fx.bin, "build", "--config", cfg)
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("kiln build (warm-up): %v\n%s", err, out)
	}
	return nil
}

// linkCaches links store/build and store/wazero to the shared dirs.
func linkCaches(store string) error {
	for link, target := range map[string]string{"build": fx.build, "wazero": fx.cache} {
		if err := os.MkdirAll(target, 0o755); err != nil {
			return err
		}
		if err := os.Symlink(target, filepath.Join(store, link)); err != nil {
			return err
		}
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

// blog is one running copy of the example blog: `kiln serve` as a
// process of its own, with its plugins as its child processes.
type blog struct {
	t      testing.TB
	dir    string
	cfg    string
	cmd    *exec.Cmd
	log    *os.File
	base   string
	client *http.Client
}

// rewrite is one edit of a blog config: every match of re becomes repl.
type rewrite struct {
	re   string
	repl string
}

// commonRewrites point a blog config (the root site.hcl or a variant) at
// the renderer sources and static files in the repo and at a store the
// test owns, and keep pages fresh for the whole test, so that only data
// changes regenerate them.
func commonRewrites() []rewrite {
	blogDir := filepath.Join(repo, "sites", "blog")
	rw := []rewrite{
		{`store\s*=\s*"[^"]*"`, `store = "store"`},
		{`revalidate\s*=\s*"10s"`, `revalidate = "1h"`},
		{`dir\s*=\s*"[^"]*public"`, fmt.Sprintf("dir = %q", filepath.Join(blogDir, "public"))},
	}
	for _, name := range renderers {
		rw = append(rw, rewrite{`source\s*=\s*"[^"]*renderers/` + name + `"`,
			fmt.Sprintf("source = %q", filepath.Join(blogDir, "renderers", name))})
	}
	return rw
}

// jsonfileData points the root site.hcl's data source at dir/data.json.
var jsonfileData = rewrite{`path\s*=\s*"sites/blog/data.json"`, `path = "data.json"`}

// rewriteConfig copies a blog config file (relative to the repo) into
// dir as site.hcl, applying the common rewrites and extra ones. Each must
// match, so a change to the real config fails here rather than silently
// testing something else.
func rewriteConfig(dir, file string, extra ...rewrite) (string, error) {
	b, err := os.ReadFile(filepath.Join(repo, file))
	if err != nil {
		return "", err
	}
	s := string(b)
	for _, rw := range append(commonRewrites(), extra...) {
		re := regexp.MustCompile(rw.re)
		if !re.MatchString(s) {
			return "", fmt.Errorf("%s: no match for %s", file, rw.re)
		}
		s = re.ReplaceAllLiteralString(s, rw.repl)
	}
	cfg := filepath.Join(dir, "site.hcl")
	return cfg, os.WriteFile(cfg, []byte(s), 0o644)
}

// writeConfig is rewriteConfig for a test.
func writeConfig(t testing.TB, dir, file string, extra ...rewrite) string {
	t.Helper()
	cfg, err := rewriteConfig(dir, file, extra...)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// openBlog serves the site in cfg with `kiln serve` on a loopback port;
// build-time paths are prerendered before it answers. The store's wasm
// compile cache is shared by every test of the run.
func openBlog(t testing.TB, cfg string) *blog {
	t.Helper()
	b := &blog{t: t, dir: filepath.Dir(cfg), cfg: cfg, client: &http.Client{
		Transport:     &http.Transport{DisableCompression: true},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Timeout:       2 * time.Minute,
	}}
	store := filepath.Join(b.dir, "store")
	if err := os.MkdirAll(store, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := linkCaches(store); err != nil {
		t.Fatal(err)
	}
	b.start()
	t.Cleanup(b.stop)
	return b
}

var readyLine = regexp.MustCompile(`kiln: ready in \S+ on (http://\S+)`)

func (b *blog) start() {
	t := b.t
	t.Helper()
	log, err := os.Create(filepath.Join(b.dir, "kiln.log"))
	if err != nil {
		t.Fatal(err)
	}
	b.log = log
	b.cmd = exec.Command(fx.bin, "serve", "--config", b.cfg, "--listen", "127.0.0.1:0")
	b.cmd.Dir = b.dir
	b.cmd.Env = append(os.Environ(), "KILN_ADMIN_SECRET="+adminSecret, "KILN_LOG=info")
	b.cmd.Stderr = log
	out, err := b.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := b.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	ready := make(chan string, 1)
	go scanReady(out, log, ready)
	select {
	case b.base = <-ready:
	case <-time.After(2 * time.Minute):
	}
	if b.base == "" {
		b.stop()
		t.Fatalf("kiln serve did not start:\n%s", b.logTail())
	}
}

// scanReady copies the engine's stdout to log and sends its URL once ready.
func scanReady(r io.Reader, log io.Writer, ready chan<- string) {
	defer close(ready)
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		fmt.Fprintln(log, sc.Text())
		if m := readyLine.FindStringSubmatch(sc.Text()); m != nil {
			ready <- m[1]
		}
	}
}

// stop sends SIGTERM and waits for the engine to exit.
func (b *blog) stop() {
	if b.cmd == nil {
		return
	}
	b.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { b.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		b.cmd.Process.Kill()
		<-done
	}
	if b.t.Failed() {
		b.t.Logf("engine log:\n%s", b.logTail())
	}
	b.log.Close()
	b.cmd = nil
}

func (b *blog) logTail() string {
	data, _ := os.ReadFile(filepath.Join(b.dir, "kiln.log"))
	if len(data) > 64000 {
		data = data[len(data)-64000:]
	}
	return string(data)
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
	if strings.HasPrefix(path, "/_kiln/") || path == "/metrics" { // both behind the admin secret
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

var queueDepth = regexp.MustCompile(`(?m)^kiln_regeneration_queue_depth (\S+)$`)

// idle waits until no regeneration is queued or running.
func (b *blog) idle() {
	b.t.Helper()
	b.eventually("the engine to be idle", func() bool {
		m := queueDepth.FindStringSubmatch(b.get("/metrics").body)
		return m != nil && m[1] == "0"
	})
}

// history is a stored page's regeneration history, from /_kiln/inspect.
type history []struct {
	At      time.Time
	Reason  string
	Outcome string
}

// renders counts the renders of path recorded at or after since.
func (b *blog) renders(path string, since time.Time) int {
	b.t.Helper()
	r, err := b.do("GET", "/_kiln/inspect?path="+url.QueryEscape(path), nil)
	if err != nil {
		b.t.Fatal(err)
	}
	if r.status == http.StatusNotFound {
		return 0 // not stored
	}
	var info struct{ History history }
	if err := json.Unmarshal([]byte(r.body), &info); err != nil {
		b.t.Fatalf("inspect %s: %v: %s", path, err, r.body)
	}
	n := 0
	for _, ev := range info.History {
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

// skipOrFail skips, or fails when the CI env var is set.
func skipOrFail(t testing.TB, format string, args ...any) {
	t.Helper()
	if os.Getenv("CI") != "" {
		t.Fatalf(format, args...)
	}
	t.Skipf(format, args...)
}
