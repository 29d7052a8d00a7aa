package e2e

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// raceEngine builds the kiln binary with -race (KILN_E2E_RACE_ENGINE=1):
// a data race the engine reports in its log then fails the test. It is
// opt-in because wazero compiles the renderers about ten times slower in
// a race build (the package takes over 3 minutes instead of under 1).
var raceEngine = os.Getenv("KILN_E2E_RACE_ENGINE") != ""

// adminSecret is KILN_ADMIN_SECRET of every engine the tests start.
const adminSecret = "e2e-secret"

// repo is the module root, three levels up from this package.
var repo = func() string {
	p, err := filepath.Abs("../../..")
	if err != nil {
		panic(err)
	}
	return p
}()

// shared is built once per test run: the kiln binary, and a store whose
// build/ (the renderers compiled to wasm) and wazero/ (their compiled
// machine code) seed every test's store.
var shared struct {
	once      sync.Once
	dir       string
	bin       string
	warmStore string
	took      string
	err       error
}

func TestMain(m *testing.M) {
	flag.Parse()
	code := m.Run()
	if shared.dir != "" {
		os.RemoveAll(shared.dir)
	}
	os.Exit(code)
}

// kilnBinary builds the engine and warms the renderer caches on first use.
func kilnBinary(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("browser tests start the real engine and Chromium")
	}
	requireChromium(t)
	shared.once.Do(func() {
		shared.err = setup()
		if shared.err == nil {
			t.Logf("set up once for the package: %s", shared.took)
		}
	})
	if shared.err != nil {
		t.Fatal(shared.err)
	}
	return shared.bin
}

func setup() error {
	dir, err := os.MkdirTemp("", "kiln-e2e-")
	if err != nil {
		return err
	}
	shared.dir = dir
	shared.bin = filepath.Join(dir, "kiln")
	start := time.Now()
	args := []string{"build", "-o", shared.bin}
	if raceEngine {
		args = append(args, "-race")
	}
	cmd := exec.Command("go", append(args, "github.com/kilnhq/kiln/engine")...)
	cmd.Dir = repo
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("build kiln: %v\n%s", err, out)
	}
	built := time.Since(start)
	warm := filepath.Join(dir, "warm")
	if err := writeBlog(warm, filepath.Join(warm, "store"), "1h", "eager"); err != nil {
		return err
	}
	start = time.Now()
	cmd = exec.Command(shared.bin, "build", "--config", filepath.Join(warm, "site.hcl"))
	cmd.Dir = warm
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("kiln build (warm-up): %v\n%s", err, out)
	}
	shared.warmStore = filepath.Join(warm, "store")
	shared.took = fmt.Sprintf("go build kiln (race %v) %s, kiln build (renderers to wasm, compile cache) %s",
		raceEngine, built.Round(time.Millisecond), time.Since(start).Round(time.Millisecond))
	return nil
}

// blogHCL is the root site.hcl with absolute paths into the repo, a store
// of its own, and the revalidate and change policy a test needs.
const blogHCL = `# The example blog for the browser tests (see sites/blog/e2e).
site {
  store     = %[1]q
  not_found = "notfound"
}

data_source "blog" {
  plugin = "jsonfile"
  config {
    path = "data.json"
  }
}

renderer "home" {
  source = %[2]q
}

renderer "post" {
  source = %[3]q
}

renderer "notfound" {
  source = %[4]q
}

renderer "shell" {
  source = %[5]q
}

route "/" {
  renderer   = "home"
  revalidate = %[7]q
  policy     = %[8]q
}

route "/posts/:slug" {
  renderer          = "post"
  revalidate        = %[7]q
  fallback          = "true"
  fallback_renderer = "shell"
  policy            = %[8]q
}

on_change "posts" {
  source     = "blog"
  match      = "post:*"
  revalidate = ["/posts/${trimprefix(item.key, "post:")}", "/"]
  policy     = %[8]q
}

static "/assets/" {
  dir = %[6]q
}
`

// writeBlog writes site.hcl and a copy of data.json into dir.
func writeBlog(dir, store, revalidate, policy string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	blog := filepath.Join(repo, "sites", "blog")
	r := func(name string) string { return filepath.Join(blog, "renderers", name) }
	hcl := fmt.Sprintf(blogHCL, store, r("home"), r("post"), r("notfound"), r("shell"),
		filepath.Join(blog, "public"), revalidate, policy)
	if err := os.WriteFile(filepath.Join(dir, "site.hcl"), []byte(hcl), 0o644); err != nil {
		return err
	}
	data, err := os.ReadFile(filepath.Join(blog, "data.json"))
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "data.json"), data, 0o644)
}

// blogSite is a copy of the blog in a temporary directory.
type blogSite struct {
	dir   string
	store string
}

// newBlog copies the blog and seeds its store with the shared renderer
// builds, so the engine neither compiles Go nor wasm again.
func newBlog(t *testing.T, revalidate, policy string) *blogSite {
	t.Helper()
	kilnBinary(t)
	s := &blogSite{dir: t.TempDir()}
	s.store = filepath.Join(s.dir, "store")
	if err := writeBlog(s.dir, s.store, revalidate, policy); err != nil {
		t.Fatal(err)
	}
	for _, sub := range []string{"build", "wazero"} {
		if err := copyTree(filepath.Join(shared.warmStore, sub), filepath.Join(s.store, sub)); err != nil {
			t.Fatalf("seed store: %v", err)
		}
	}
	return s
}

// setTitle changes a post's title in data.json with an atomic rename, as an
// editor saving the file would.
func (s *blogSite) setTitle(t *testing.T, slug, title string) {
	t.Helper()
	path := filepath.Join(s.dir, "data.json")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var all map[string]json.RawMessage
	if err := json.Unmarshal(b, &all); err != nil {
		t.Fatal(err)
	}
	var post map[string]any
	if err := json.Unmarshal(all["post:"+slug], &post); err != nil {
		t.Fatalf("post %s: %v", slug, err)
	}
	post["title"] = title
	all["post:"+slug], _ = json.Marshal(post)
	out, _ := json.MarshalIndent(all, "", "  ")
	writeAtomic(t, path, out)
}

// writeAtomic replaces path through a temporary file in the same directory.
func writeAtomic(t *testing.T, path string, b []byte) {
	t.Helper()
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

// kiln is one running engine process.
type kiln struct {
	t    *testing.T
	cmd  *exec.Cmd
	base string
	log  string
	done chan struct{}
	once sync.Once
}

// startKiln runs `kiln <command> --config <siteDir>/site.hcl --listen
// 127.0.0.1:<free port> [args]` and waits until it answers. Its log goes
// to a file outside siteDir (kiln dev watches that directory).
func startKiln(t *testing.T, command, siteDir string, args ...string) *kiln {
	t.Helper()
	bin := kilnBinary(t)
	addr := freeAddr(t)
	logPath := filepath.Join(t.TempDir(), "kiln.log")
	logf, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	argv := append([]string{command, "--config", filepath.Join(siteDir, "site.hcl"), "--listen", addr}, args...)
	cmd := exec.Command(bin, argv...)
	cmd.Dir = siteDir
	cmd.Env = append(os.Environ(), "KILN_ADMIN_SECRET="+adminSecret)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	k := &kiln{t: t, cmd: cmd, base: "http://" + addr, log: logPath, done: make(chan struct{})}
	go func() { cmd.Wait(); logf.Close(); close(k.done) }()
	t.Cleanup(k.stop)
	k.waitReady()
	t.Logf("kiln %s ready in %s (log %s)", command, time.Since(start).Round(time.Millisecond), logPath)
	return k
}

func freeAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func (k *kiln) waitReady() {
	k.t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		resp, err := http.Get(k.base + "/_kiln/healthz")
		if err == nil {
			resp.Body.Close()
			return
		}
		select {
		case <-k.done:
			k.t.Fatalf("kiln exited before it was ready:\n%s", k.logText())
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			k.t.Fatalf("kiln did not answer at %s: %v\n%s", k.base, err, k.logText())
		}
	}
}

// stop ends the engine with SIGTERM (it closes its plugins), and kills its
// process group if it does not exit in time. On failure it logs the log.
func (k *kiln) stop() { k.once.Do(k.terminate) }

func (k *kiln) terminate() {
	start := time.Now()
	k.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-k.done:
		k.t.Logf("kiln stopped in %s", time.Since(start).Round(time.Millisecond))
	case <-time.After(15 * time.Second):
		syscall.Kill(-k.cmd.Process.Pid, syscall.SIGKILL)
		<-k.done
		k.t.Errorf("kiln did not stop within 15s of SIGTERM; killed it")
	}
	if strings.Contains(k.logText(), "WARNING: DATA RACE") {
		k.t.Errorf("the kiln binary (built with -race) reported a data race")
	}
	if k.t.Failed() {
		k.t.Logf("kiln log:\n%s", k.logText())
	}
}

func (k *kiln) logText() string {
	b, _ := os.ReadFile(k.log)
	return string(b)
}

// get is a plain HTTP GET, as a cache or a crawler would send it.
func (k *kiln) get(path string) (*http.Response, string) {
	k.t.Helper()
	resp, err := http.Get(k.base + path)
	if err != nil {
		k.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		k.t.Fatal(err)
	}
	return resp, string(b)
}

// admin calls the admin API with the bearer secret and decodes the JSON.
func (k *kiln) admin(method, path string, body []byte, out any) (int, error) {
	req, err := http.NewRequest(method, k.base+path, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Authorization", "Bearer "+adminSecret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return resp.StatusCode, err
	}
	if resp.StatusCode != http.StatusOK {
		return resp.StatusCode, fmt.Errorf("%s %s: %s: %s", method, path, resp.Status, b)
	}
	return resp.StatusCode, json.Unmarshal(b, out)
}

// stored is the part of /_kiln/inspect the tests read.
type stored struct {
	State       string    `json:"state"`
	Generated   time.Time `json:"generated"`
	StaleMarked bool      `json:"stale_marked"`
	ETag        string    `json:"etag"`
	FreshUntil  time.Time `json:"fresh_until"`
}

// inspect reads a stored page's record without requesting the page.
func (k *kiln) inspect(path string) stored {
	k.t.Helper()
	var s stored
	if _, err := k.admin("GET", "/_kiln/inspect?path="+path, nil, &s); err != nil {
		k.t.Fatal(err)
	}
	return s
}

// waitStored polls the stored record of path until ok holds. It never
// requests the page itself, so it starts no regeneration.
func (k *kiln) waitStored(path, what string, ok func(stored) bool) stored {
	k.t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		s := k.inspect(path)
		if ok(s) {
			return s
		}
		if time.Now().After(deadline) {
			k.t.Fatalf("%s: waited a minute for %s; last record %+v", path, what, s)
		}
		time.Sleep(25 * time.Millisecond)
	}
}

// copyTree copies the regular files under src to dst, keeping their
// modification times (a renderer module must stay newer than its sources).
func copyTree(src, dst string) error {
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		if !d.Type().IsRegular() {
			return nil
		}
		return copyFile(p, target)
	})
}

func copyFile(src, dst string) error {
	b, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	info, err := os.Stat(src)
	if err != nil {
		return err
	}
	if err := os.WriteFile(dst, b, info.Mode().Perm()); err != nil {
		return err
	}
	return os.Chtimes(dst, info.ModTime(), info.ModTime())
}

// headerValue looks a header up case-insensitively in a CDP header map.
func headerValue(h map[string]any, name string) string {
	for k, v := range h {
		if strings.EqualFold(k, name) {
			s, _ := v.(string)
			return s
		}
	}
	return ""
}

// execKiln is a one-shot kiln command with the admin secret set.
func execKiln(t *testing.T, args ...string) *exec.Cmd {
	cmd := exec.Command(kilnBinary(t), args...)
	cmd.Env = append(os.Environ(), "KILN_ADMIN_SECRET="+adminSecret)
	return cmd
}
