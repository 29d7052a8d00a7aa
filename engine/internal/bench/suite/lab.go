package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"text/template"
	"time"
)

// lab is one run of the suite: the module root, a work directory, the
// binaries built once, and a log of what it does.
type lab struct {
	root     string // module root
	work     string // temp directory, removed at the end
	kiln     string // the kiln binary
	genposts string // the blog's post generator
	log      io.Writer
	posts    map[int]string // post count -> kv-import file
	procs    []*proc
}

func newLab(ctx context.Context, log io.Writer) (*lab, error) {
	root, err := moduleRoot()
	if err != nil {
		return nil, err
	}
	work, err := os.MkdirTemp("", "kiln-bench-suite")
	if err != nil {
		return nil, err
	}
	l := &lab{root: root, work: work, log: log, posts: map[int]string{}}
	l.kiln = filepath.Join(work, "bin", "kiln")
	l.genposts = filepath.Join(work, "bin", "genposts")
	l.logf("building kiln and genposts")
	for bin, pkg := range map[string]string{l.kiln: "./engine", l.genposts: "./sites/blog/cmd/genposts"} {
		if err := l.goBuild(ctx, bin, pkg); err != nil {
			return nil, err
		}
	}
	return l, nil
}

func (l *lab) logf(format string, args ...any) {
	fmt.Fprintf(l.log, "%s  %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, args...))
}

// stopAll stops every process still running.
func (l *lab) stopAll() {
	for i := len(l.procs) - 1; i >= 0; i-- {
		l.procs[i].stop()
	}
	l.procs = nil
}

// close stops every process still running and removes the work directory.
func (l *lab) close(keep bool) {
	l.stopAll()
	if keep {
		l.logf("work directory kept: %s", l.work)
		return
	}
	os.RemoveAll(l.work)
}

func (l *lab) goBuild(ctx context.Context, out, pkg string) error {
	cmd := exec.CommandContext(ctx, "go", "build", "-o", out, pkg)
	cmd.Dir = l.root
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build %s: %v\n%s", pkg, err, b)
	}
	return nil
}

// postsFile returns a kv-import JSON file of n generated posts (and their
// date index), generating it once.
func (l *lab) postsFile(ctx context.Context, n int) (string, error) {
	if f, ok := l.posts[n]; ok {
		return f, nil
	}
	f := filepath.Join(l.work, fmt.Sprintf("posts-%d.json", n))
	cmd := exec.CommandContext(ctx, l.genposts, "-n", strconv.Itoa(n), "-format", "kv-import",
		"-newest", "2026-11-01T00:00:00Z", "-o", f)
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("genposts: %v\n%s", err, b)
	}
	l.posts[n] = f
	return f, nil
}

// slug is the slug genposts gives post i.
func slug(i int) string { return fmt.Sprintf("generated-%06d", i) }

// siteOptions shape a bench site: the example blog's renderers on the kv
// data source, with routes for what the rows measure.
type siteOptions struct {
	Posts     int    // generated posts imported into the kv source
	Prerender string // the post renderer's PRERENDER: "" (2 newest), "all", or a number
	C         bool   // add /c/posts/:slug, rendered by the C post renderer
	CPost     bool   // render /posts/:slug with the C post renderer (its paths export reads PRERENDER too)
	HotCache  string // site hot_cache; "" is the default
}

// site is a bench site on disk: site.hcl, its kv data and its store.
type site struct {
	l      *lab
	name   string
	dir    string
	config string
	store  string
	kvDir  string
	addr   string
	opts   siteOptions
}

var siteTemplate = template.Must(template.New("site").Parse(`# Written by the bench suite.
site {
  listen    = "{{.Addr}}"
  store     = "{{.Store}}"
  not_found = "notfound"
{{- if .HotCache}}
  hot_cache = "{{.HotCache}}"
{{- end}}
}

data_source "blog" {
  plugin = "kv"
  config {
    dir = "{{.KV}}"
  }
}

renderer "home" {
  source = "{{.Blog}}/renderers/home"
}

{{- if .CPost}}
renderer "post" {
  wasm  = "{{.CWasm}}"
  build = ["clang", "--target=wasm32-wasi", "-mexec-model=reactor", "-O2", "-I{{.Root}}/sdk/c",
           "-o", "{{.CWasm}}", "{{.Blog}}/renderers/post-c/post.c", "{{.Blog}}/renderers/post-c/md.c",
           "{{.Blog}}/renderers/about-c/json.c"]
  watch = ["{{.Blog}}/renderers/post-c/*.c", "{{.Blog}}/renderers/post-c/*.h", "{{.Blog}}/renderers/about-c/json.*", "{{.Root}}/sdk/c/*.h"]
  env   = { PRERENDER = "{{.Prerender}}" }
}
{{- else}}
renderer "post" {
  source = "{{.Blog}}/renderers/post"
  env    = { PRERENDER = "{{.Prerender}}" }
}
{{- end}}

renderer "notfound" {
  source = "{{.Blog}}/renderers/notfound"
}
{{if .C}}
renderer "post-c" {
  wasm  = "{{.CWasm}}"
  build = ["clang", "--target=wasm32-wasi", "-mexec-model=reactor", "-O2", "-I{{.Root}}/sdk/c",
           "-o", "{{.CWasm}}", "{{.Blog}}/renderers/post-c/post.c", "{{.Blog}}/renderers/post-c/md.c",
           "{{.Blog}}/renderers/about-c/json.c"]
  watch = ["{{.Blog}}/renderers/post-c/*.c", "{{.Blog}}/renderers/post-c/*.h", "{{.Blog}}/renderers/about-c/json.*", "{{.Root}}/sdk/c/*.h"]
}

route "/c/posts/:slug" {
  renderer   = "post-c"
  revalidate = "1h"
  fallback   = "blocking"
}
{{end}}
route "/" {
  renderer   = "home"
  revalidate = "1h"
}

route "/posts/:slug" {
  renderer   = "post"
  revalidate = "1h"
  fallback   = "blocking"
}

# The same pages, stale one second after generation: the mixed load's
# stale requests.
route "/stale/posts/:slug" {
  renderer   = "post"
  revalidate = "1s"
  fallback   = "blocking"
  paths      = []
}

static "/assets/" {
  dir = "{{.Blog}}/public"
}
`))

// newSite writes a site and imports its posts into the kv source (with
// no engine running, straight into the plugin's store).
func (l *lab) newSite(ctx context.Context, name string, o siteOptions) (*site, error) {
	dir := filepath.Join(l.work, name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	s := &site{l: l, name: name, dir: dir, config: filepath.Join(dir, "site.hcl"),
		store: filepath.Join(dir, "store"), kvDir: filepath.Join(dir, "kv"), addr: addr, opts: o}
	var b bytes.Buffer
	err = siteTemplate.Execute(&b, map[string]any{
		"Addr": addr, "Store": s.store, "KV": s.kvDir, "Dir": dir, "Root": l.root,
		"Blog": filepath.Join(l.root, "sites", "blog"), "Prerender": o.Prerender, "C": o.C,
		"CPost": o.CPost, "CWasm": filepath.Join(l.work, "post-c.wasm"),
		"HotCache": o.HotCache,
	})
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(s.config, b.Bytes(), 0o644); err != nil {
		return nil, err
	}
	if o.Posts > 0 {
		f, err := l.postsFile(ctx, o.Posts)
		if err != nil {
			return nil, err
		}
		l.logf("%s: importing %d posts into kv", name, o.Posts)
		if _, err := l.kilnCmd(ctx, "data", "--config", s.config, "import", f); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// kilnCmd runs kiln to completion and returns its stdout.
func (l *lab) kilnCmd(ctx context.Context, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, l.kiln, args...)
	cmd.Dir = l.work
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return out, fmt.Errorf("kiln %s: %v\n%s", strings.Join(args, " "), err, lastLines(stderr.String(), 20))
	}
	return out, nil
}

// server is a running `kiln serve`.
type server struct {
	*proc
	base  string // http://addr
	start time.Time
}

// serve starts `kiln serve` on the site and waits until ready answers
// 200 (the time from exec to that answer is ready's duration).
func (s *site) serve(ctx context.Context, ready string) (*server, time.Duration, error) {
	p, err := s.l.start(ctx, s.name, []string{s.l.kiln, "serve", "--config", s.config})
	if err != nil {
		return nil, 0, err
	}
	sv := &server{proc: p, base: "http://" + s.addr, start: p.started}
	d, err := sv.waitFor(ready, 10*time.Minute)
	if err != nil {
		p.stop()
		return nil, 0, err
	}
	return sv, d, nil
}

// waitFor polls path until it answers 200 and returns the time since the
// process started.
func (sv *server) waitFor(path string, timeout time.Duration) (time.Duration, error) {
	deadline := time.Now().Add(timeout)
	c := &http.Client{Timeout: 5 * time.Second}
	for {
		resp, err := c.Get(sv.base + path)
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return time.Since(sv.start), nil
			}
		}
		if sv.exited() {
			return 0, fmt.Errorf("%s exited:\n%s", sv.name, lastLines(sv.output(), 30))
		}
		if time.Now().After(deadline) {
			return 0, fmt.Errorf("%s: %s not ready after %s:\n%s", sv.name, path, timeout, lastLines(sv.output(), 30))
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// proc is a child process in its own process group, its output kept in a
// file.
type proc struct {
	name    string
	cmd     *exec.Cmd
	out     string
	started time.Time
	done    chan struct{}
}

func (l *lab) start(ctx context.Context, name string, argv []string) (*proc, error) {
	out := filepath.Join(l.work, name+".log")
	f, err := os.OpenFile(out, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir = l.work
	cmd.Stdout, cmd.Stderr = f, f
	cmd.Env = append(os.Environ(), "KILN_ADMIN_SECRET="+benchSecret)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	p := &proc{name: name, cmd: cmd, out: out, done: make(chan struct{})}
	p.started = time.Now()
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	go func() { cmd.Wait(); close(p.done) }()
	l.procs = append(l.procs, p)
	return p, nil
}

func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

func (p *proc) output() string {
	b, _ := os.ReadFile(p.out)
	return string(b)
}

// stop sends SIGTERM to the process group, then SIGKILL after 20 s.
func (p *proc) stop() {
	if p.exited() {
		return
	}
	syscall.Kill(-p.cmd.Process.Pid, syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(20 * time.Second):
		syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
		<-p.done
	}
}

// rss is the process's resident set size now, in bytes.
func (p *proc) rss() (int64, error) { return rssOf(p.cmd.Process.Pid) }

func rssOf(pid int) (int64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kb << 10, err
		}
	}
	return 0, errors.New("no VmRSS")
}

// admin sends an admin API request and returns the body; a status other
// than 200 is an error.
func (sv *server) admin(method, path string, body string) ([]byte, error) {
	req, err := http.NewRequest(method, sv.base+path, strings.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+benchSecret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err == nil && resp.StatusCode != 200 {
		err = fmt.Errorf("%s %s: %d %s", method, path, resp.StatusCode, b)
	}
	return b, err
}

// benchSecret is the admin secret of every site the suite serves.
const benchSecret = "bench-secret"

func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

func moduleRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", err
	}
	mod := strings.TrimSpace(string(out))
	if mod == "" || mod == os.DevNull {
		return "", errors.New("run the suite inside the kiln module")
	}
	return filepath.Dir(mod), nil
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}
