package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// siteHCL is the built-in test site: one route, one stored page.
const siteHCL = `site {
  listen = %q
  store  = "store"
}
data_source "data" {
  plugin = "jsonfile"
  config { path = "data.json" }
}
renderer "page" {
  source = %q
}
route "/p/:slug" {
  renderer   = "page"
  revalidate = "1h"
}
`

// startKiln serves the site with `kiln serve` and waits for a stored hit.
func (l *lab) startKiln(ctx context.Context) (string, error) {
	return l.startKilnAs(ctx, "kiln", l.kiln)
}

// startKilnAs serves the site with the kiln binary bin, from a store of
// its own named after name.
func (l *lab) startKilnAs(ctx context.Context, name, bin string) (string, error) {
	addr, err := freeAddr()
	if err != nil {
		return "", err
	}
	cfg := l.o.config
	if cfg == "" {
		if cfg, err = l.writeSite(addr); err != nil {
			return "", err
		}
	}
	args := []string{bin, "serve", "--config", cfg, "--listen", addr, "--store", filepath.Join(l.work, name+"-store")}
	p, err := l.start(ctx, name, args)
	if err != nil {
		return "", err
	}
	url := "http://" + addr + l.o.path
	fmt.Printf("waiting for %s serve (it builds the renderer first)...\n", name)
	return url, p.waitReady(url, "HIT", 5*time.Minute)
}

// writeSite writes the built-in test site into the work directory.
func (l *lab) writeSite(addr string) (string, error) {
	dir := filepath.Join(l.work, "site")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	src := filepath.Join(l.root, "engine", "internal", "server", "testdata", "page")
	cfg := filepath.Join(dir, "site.hcl")
	if err := os.WriteFile(cfg, []byte(fmt.Sprintf(siteHCL, addr, src)), 0o644); err != nil {
		return "", err
	}
	data, _ := json.Marshal(map[string]any{
		"page:" + l.o.path: map[string]any{"title": "Bench", "build": true, "big": l.o.size},
	})
	return cfg, os.WriteFile(filepath.Join(dir, "data.json"), data, 0o644)
}

// startBare starts the bare server replaying kiln's response.
func (l *lab) startBare(ctx context.Context, from string) (string, error) {
	addr, err := freeAddr()
	if err != nil {
		return "", err
	}
	args := []string{l.bare, "-listen", addr, "-from", from, "-encodings", strings.Join(l.o.encodings, ","),
		"-kiln-settings=" + strconv.FormatBool(l.o.bareKiln)}
	p, err := l.start(ctx, "bare", args)
	if err != nil {
		return "", err
	}
	url := "http://" + addr + l.o.path
	return url, p.waitReady(url, "", time.Minute)
}

// start runs a server pinned to the server CPUs with the chosen
// GOMAXPROCS, in its own process group, logging to the work directory.
func (l *lab) start(ctx context.Context, name string, args []string) (*proc, error) {
	args = pinned(l.serverCPU, args)
	log, err := os.Create(filepath.Join(l.work, name+".log"))
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Env = append(os.Environ(), "GOMAXPROCS="+strconv.Itoa(l.gomaxprocs), "KILN_LOG=warn")
	cmd.Stdout, cmd.Stderr = log, log
	// Its own group, so stop reaches kiln's plugin children; SIGTERM
	// if this driver dies without stopping it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
	if err := cmd.Start(); err != nil {
		log.Close()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	p := &proc{name: name, cmd: cmd, log: log, done: make(chan struct{})}
	go func() { cmd.Wait(); close(p.done) }()
	l.procs = append(l.procs, p)
	return p, ctx.Err()
}

// proc is a started server.
type proc struct {
	name string
	cmd  *exec.Cmd
	log  *os.File
	done chan struct{}
}

// stop ends the process group (kiln's plugin children included): SIGTERM,
// then SIGKILL after 10 s.
func (p *proc) stop() {
	pgid := p.cmd.Process.Pid
	syscall.Kill(-pgid, syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		syscall.Kill(-pgid, syscall.SIGKILL)
		<-p.done
	}
	syscall.Kill(-pgid, syscall.SIGKILL) // children left behind, if any
	p.log.Close()
}

// waitReady polls url until it answers 200 (with X-Kiln-Cache cache,
// when set), the process exits, or timeout passes.
func (p *proc) waitReady(url, cache string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	client := &http.Client{Timeout: 5 * time.Second}
	for time.Now().Before(deadline) {
		select {
		case <-p.done:
			return fmt.Errorf("%s exited before it was ready:\n%s", p.name, tail(p.log.Name()))
		default:
		}
		if resp, err := client.Get(url); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 && (cache == "" || resp.Header.Get("X-Kiln-Cache") == cache) {
				return nil
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	return fmt.Errorf("%s not ready after %s:\n%s", p.name, timeout, tail(p.log.Name()))
}

// sameResponse checks that t sends kiln's body for Accept-Encoding enc,
// with the same Content-Type and Content-Encoding; bare must also send
// the same header names (nginx sends its own). It returns the body length.
func sameResponse(kiln string, t target, enc string) (int, error) {
	rk, bk, err := get(kiln, enc)
	if err != nil {
		return 0, err
	}
	rt, bt, err := get(t.url, enc)
	if err != nil {
		return 0, err
	}
	switch {
	case t.name == "baseline":
		// Its own render of the page: the same page, perhaps not the same
		// bytes (a page may show when it was rendered), so the same size
		// within 1%.
		if d := len(bk) - len(bt); d*100 > len(bk) || -d*100 > len(bk) {
			return 0, fmt.Errorf("bodies differ in size: %d bytes from kiln, %d from %s", len(bk), len(bt), t.name)
		}
	case !bytes.Equal(bk, bt):
		return 0, fmt.Errorf("bodies differ: %d bytes from kiln, %d from %s", len(bk), len(bt), t.name)
	}
	for _, h := range []string{"Content-Type", "Content-Encoding"} {
		if a, b := rk.Get(h), rt.Get(h); a != b {
			return 0, fmt.Errorf("%s differs: %q from kiln, %q from %s", h, a, b, t.name)
		}
	}
	if t.name == "bare" {
		if ha, hb := headerNames(rk), headerNames(rt); ha != hb {
			return 0, fmt.Errorf("headers differ: %s vs %s", ha, hb)
		}
	}
	return len(bk), nil
}

func get(url, enc string) (http.Header, []byte, error) {
	req, _ := http.NewRequest("GET", url, nil)
	if enc != "" {
		req.Header.Set("Accept-Encoding", enc)
	}
	resp, err := (&http.Transport{DisableCompression: true}).RoundTrip(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	var buf bytes.Buffer
	_, err = buf.ReadFrom(resp.Body)
	return resp.Header, buf.Bytes(), err
}

func headerNames(h http.Header) string {
	var names []string
	for k := range h {
		names = append(names, k)
	}
	return strings.Join(sorted(names), ",")
}

// cpuPlan pins the servers (all of them, nginx's workers too) to CPU 0
// and wrk to CPU 1 when taskset is there and the machine has two CPUs or
// more; otherwise nothing is pinned.
func cpuPlan(pin bool) (server, wrk string) {
	if !pin || runtime.NumCPU() < 2 {
		return "", ""
	}
	if _, err := exec.LookPath("taskset"); err != nil {
		return "", ""
	}
	return "0", "1"
}

func pinned(cpu string, args []string) []string {
	if cpu == "" {
		return args
	}
	return append([]string{"taskset", "-c", cpu}, args...)
}

// freeAddr returns a loopback address with a port free right now.
func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

func goBuild(ctx context.Context, root, out, pkg string) error {
	cmd := exec.CommandContext(ctx, "go", "build", "-o", out, pkg)
	cmd.Dir = root
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build %s: %w\n%s", pkg, err, b)
	}
	return nil
}

// buildAt builds ./engine as it was at the git revision rev of the
// repository at root: the revision's files are extracted into src (git
// archive, so the repository itself is left as it is) and built there.
func buildAt(ctx context.Context, root, rev, src, out string) error {
	if err := os.MkdirAll(src, 0o755); err != nil {
		return err
	}
	archive := exec.CommandContext(ctx, "git", "-C", root, "archive", "--format=tar", rev)
	extract := exec.CommandContext(ctx, "tar", "-x", "-C", src)
	pipe, err := archive.StdoutPipe()
	if err != nil {
		return err
	}
	extract.Stdin = pipe
	var stderr bytes.Buffer
	archive.Stderr = &stderr
	if err := archive.Start(); err != nil {
		return err
	}
	if err := extract.Run(); err != nil {
		archive.Wait()
		return fmt.Errorf("extract %s: %w", rev, err)
	}
	if err := archive.Wait(); err != nil {
		return fmt.Errorf("git archive %s: %w\n%s", rev, err, stderr.Bytes())
	}
	return goBuild(ctx, src, out, "./engine")
}

// moduleRoot is the directory holding go.mod.
func moduleRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	mod := strings.TrimSpace(string(out))
	if mod == "" || mod == os.DevNull {
		return "", errors.New("run inside the kiln module")
	}
	return filepath.Dir(mod), nil
}

// tail is the end of a log file, for error messages.
func tail(path string) string {
	b, _ := os.ReadFile(path)
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return string(b)
}

// mallocs reads go_memstats_mallocs_total from a Prometheus endpoint;
// 0 when url is empty.
func mallocs(url string) (float64, error) {
	if url == "" {
		return 0, nil
	}
	// kiln inherits this environment: /metrics needs its admin secret
	// when one is set.
	req, _ := http.NewRequest("GET", url, nil)
	if secret := os.Getenv("KILN_ADMIN_SECRET"); secret != "" {
		req.Header.Set("Authorization", "Bearer "+secret)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, fmt.Errorf("read %s: %w", url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("read %s: %d %v", url, resp.StatusCode, err)
	}
	for line := range strings.Lines(string(body)) {
		if v, ok := strings.CutPrefix(line, "go_memstats_mallocs_total "); ok {
			return strconv.ParseFloat(strings.TrimSpace(v), 64)
		}
	}
	return 0, fmt.Errorf("no go_memstats_mallocs_total at %s", url)
}

// clockTick is the unit of utime and stime in /proc/PID/stat (USER_HZ,
// 100 on Linux unless getconf says otherwise).
var clockTick = func() time.Duration {
	out, err := exec.Command("getconf", "CLK_TCK").Output()
	if n, _ := strconv.Atoi(strings.TrimSpace(string(out))); err == nil && n > 0 {
		return time.Second / time.Duration(n)
	}
	return 10 * time.Millisecond
}()

// groupCPU is the user plus system CPU time used by the live processes
// of process group pgid: the server (taskset execs it, so its pid is the
// group's) and its children, such as nginx's workers or kiln's plugins.
func groupCPU(pgid int) (time.Duration, error) {
	stats, err := filepath.Glob("/proc/[0-9]*/stat")
	if err != nil {
		return 0, err
	}
	var ticks int64
	found := false
	for _, f := range stats {
		b, err := os.ReadFile(f)
		if err != nil {
			continue // exited since the glob
		}
		s, err := parseStat(b)
		if err != nil {
			return 0, fmt.Errorf("%s: %w", f, err)
		}
		if s.pgrp == pgid {
			ticks += s.utime + s.stime
			found = true
		}
	}
	if !found {
		return 0, fmt.Errorf("no process in group %d", pgid)
	}
	return time.Duration(ticks) * clockTick, nil
}

// procStat is what groupCPU reads of /proc/PID/stat.
type procStat struct {
	pgrp         int
	utime, stime int64 // clock ticks
}

// parseStat reads a /proc/PID/stat line. The command name is in
// parentheses and may hold spaces; after it come state (field 3), ppid,
// pgrp (5), ..., utime (14) and stime (15).
func parseStat(b []byte) (procStat, error) {
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return procStat{}, errors.New("no command name")
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return procStat{}, fmt.Errorf("%d fields after the command name", len(f))
	}
	pgrp, err0 := strconv.Atoi(f[2])
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err := errors.Join(err0, err1, err2); err != nil {
		return procStat{}, err
	}
	return procStat{pgrp: pgrp, utime: utime, stime: stime}, nil
}
