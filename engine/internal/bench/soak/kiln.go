package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// secret is the admin secret kiln runs with.
const secret = "soak-admin-secret"

// siteHCL is the example blog (sites/blog/site.hcl) with absolute paths,
// plus /b/posts/:slug, the same posts with fallback "blocking", so the
// unique-URL flood reaches both kinds of fallback.
const siteHCL = `# Written by the soak (engine/internal/bench/soak).
site {
  listen    = %[1]q
  store     = %[2]q
  not_found = "notfound"
}

data_source "blog" {
  plugin = "jsonfile"
  config {
    path = %[3]q
  }
}

renderer "home" {
  source = "%[4]s/renderers/home"
}

renderer "post" {
  source = "%[4]s/renderers/post"
}

renderer "notfound" {
  source = "%[4]s/renderers/notfound"
}

renderer "shell" {
  source = "%[4]s/renderers/shell"
}

route "/" {
  renderer   = "home"
  revalidate = "10s"
}

route "/posts/:slug" {
  renderer          = "post"
  revalidate        = "10s"
  fallback          = "true"
  fallback_renderer = "shell"
}

route "/b/posts/:slug" {
  renderer   = "post"
  revalidate = "10s"
  fallback   = "blocking"
  paths      = []
}

static "/assets/" {
  dir = "%[4]s/public"
}
`

// kiln is the running `kiln serve`.
type kiln struct {
	base   string // http://127.0.0.1:port
	addr   string
	store  string
	log    string
	pages  []string // the stored pages the normal load asks for
	cmd    *exec.Cmd
	done   chan struct{}
	logOut *os.File
}

func startKiln(ctx context.Context, root, work, bin string) (*kiln, error) {
	blog := filepath.Join(root, "sites", "blog")
	data, err := os.ReadFile(filepath.Join(blog, "data.json"))
	if err != nil {
		return nil, err
	}
	var posts map[string]json.RawMessage
	if err := json.Unmarshal(data, &posts); err != nil {
		return nil, fmt.Errorf("blog data.json: %w", err)
	}
	pages := []string{"/"}
	for key := range posts {
		if slug, ok := strings.CutPrefix(key, "post:"); ok {
			pages = append(pages, "/posts/"+slug)
		}
	}
	site := filepath.Join(work, "site")
	if err := os.MkdirAll(site, 0o755); err != nil {
		return nil, err
	}
	dataFile := filepath.Join(site, "data.json")
	if err := os.WriteFile(dataFile, data, 0o644); err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	addr := ln.Addr().String()
	ln.Close()
	k := &kiln{base: "http://" + addr, addr: addr, store: filepath.Join(work, "store"),
		log: filepath.Join(work, "kiln.log"), pages: pages, done: make(chan struct{})}
	cfg := filepath.Join(site, "site.hcl")
	if err := os.WriteFile(cfg, fmt.Appendf(nil, siteHCL, addr, k.store, dataFile, blog), 0o644); err != nil {
		return nil, err
	}
	if k.logOut, err = os.Create(k.log); err != nil {
		return nil, err
	}
	k.cmd = exec.Command(bin, "serve", "--config", cfg)
	k.cmd.Dir = site
	k.cmd.Env = append(os.Environ(), "KILN_ADMIN_SECRET="+secret)
	k.cmd.Stdout, k.cmd.Stderr = k.logOut, k.logOut
	// Its own group, so stop reaches the plugin; SIGTERM if the soak dies.
	k.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
	if err := k.cmd.Start(); err != nil {
		k.logOut.Close()
		return nil, fmt.Errorf("start kiln: %w", err)
	}
	go func() { k.cmd.Wait(); close(k.done) }()
	return k, ctx.Err()
}

func (k *kiln) pid() int { return k.cmd.Process.Pid }

// exited reports whether kiln's process has ended.
func (k *kiln) exited() bool {
	select {
	case <-k.done:
		return true
	default:
		return false
	}
}

// stop ends kiln (SIGTERM, then SIGKILL after 10 s), then what is left
// of its process group.
func (k *kiln) stop() {
	pgid := k.pid()
	syscall.Kill(pgid, syscall.SIGTERM)
	select {
	case <-k.done:
	case <-time.After(10 * time.Second):
		syscall.Kill(-pgid, syscall.SIGKILL)
		<-k.done
	}
	syscall.Kill(-pgid, syscall.SIGKILL)
	k.logOut.Close()
}

// warm waits until every page of k.pages is stored: answered 200 from
// the store (X-Kiln-Cache HIT or STALE). A post beyond the two
// prerendered gets the shell first and is generated in the background.
func (k *kiln) warm(ctx context.Context, timeout time.Duration) error {
	client := &http.Client{Timeout: 10 * time.Second}
	deadline := time.Now().Add(timeout)
	for _, p := range k.pages {
		for {
			if k.exited() {
				return fmt.Errorf("kiln exited:\n%s", tail(k.log))
			}
			if time.Now().After(deadline) || ctx.Err() != nil {
				return fmt.Errorf("%s not stored after %s:\n%s", p, timeout, tail(k.log))
			}
			if resp, err := client.Get(k.base + p); err == nil {
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if c := resp.Header.Get("X-Kiln-Cache"); resp.StatusCode == 200 && (c == "HIT" || c == "STALE") {
					break
				}
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	return nil
}

// metrics scrapes /metrics with the secret: every sample by its series
// name with labels.
func (k *kiln) metrics() (map[string]float64, error) {
	req, _ := http.NewRequest("GET", k.base+"/metrics", nil)
	req.Header.Set("Authorization", "Bearer "+secret)
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		return nil, fmt.Errorf("GET /metrics: %s", resp.Status)
	}
	m := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if i < 0 {
			continue
		}
		if v, err := strconv.ParseFloat(line[i+1:], 64); err == nil {
			m[line[:i]] = v
		}
	}
	return m, sc.Err()
}

// rssOf is a process's resident set, from /proc/PID/status.
func rssOf(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kb << 10, err
		}
	}
	return 0, errors.New("no VmRSS")
}

// memOf splits kiln's memory: the kernel's counts from
// /proc/PID/status and the Go runtime's from a /metrics scrape.
func memOf(pid int, m map[string]float64) (memSample, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return memSample{}, err
	}
	var ms memSample
	for _, line := range strings.Split(string(b), "\n") {
		name, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		if err != nil {
			continue
		}
		switch name {
		case "VmRSS":
			ms.rss = kb << 10
		case "RssAnon":
			ms.anon = kb << 10
		case "RssFile", "RssShmem":
			ms.file += kb << 10
		}
	}
	g := func(name string) int64 { return int64(m[name]) }
	ms.heapInuse = g("go_memstats_heap_inuse_bytes")
	ms.heapIdle = g("go_memstats_heap_idle_bytes") - g("go_memstats_heap_released_bytes")
	ms.stacks = g("go_memstats_stack_inuse_bytes")
	ms.goSys, ms.goReleased = g("go_memstats_sys_bytes"), g("go_memstats_heap_released_bytes")
	ms.goroutines = g("go_goroutines")
	return ms, nil
}

// diskUsage is what the files under dir take on disk (allocated blocks,
// as du counts them).
func diskUsage(dir string) int64 {
	var n int64
	filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		if fi, err := d.Info(); err == nil {
			if st, ok := fi.Sys().(*syscall.Stat_t); ok {
				n += st.Blocks * 512
			}
		}
		return nil
	})
	return n
}

func fileSize(name string) int64 {
	fi, err := os.Stat(name)
	if err != nil {
		return 0
	}
	return fi.Size()
}

func tail(name string) string {
	b, _ := os.ReadFile(name)
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-20):], "\n")
}
