package server_test

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/kilnhq/kiln/engine/internal/freeport"
)

// TestVarnish puts a real RFC 9111 cache (Varnish, from Debian's
// packages) in front of Kiln and checks that it reads Kiln's headers as
// Kiln means them: fresh for the rest of the page's lifetime counted from
// generation (s-maxage is the whole lifetime and Age the time since
// generation: a cache that adds the two agrees with Kiln), then served
// stale within stale-while-revalidate while it refetches in the
// background, and refetched at the right times. Varnish runs on real
// time, so this test waits on the wall clock: about 12 s, in steps of a
// few seconds of the page's 10 s lifetime (wide enough for a loaded
// machine).
func TestVarnish(t *testing.T) {
	if testing.Short() {
		t.Skip("runs varnishd and waits on the wall clock")
	}
	varnishd := findVarnishd(t)
	e := start(t, `route "/p/:slug" {
  renderer   = "page"
  revalidate = "10s"
  expire     = "60s"
}`, map[string]any{"page:/p/a": page("A", "build", true)})
	v := startVarnish(t, varnishd, strings.TrimPrefix(e.base, "http://"))
	backend := func() int { return kilnRequests(t, e) }

	// Kiln renders the page again at t0, now that Varnish is up (starting
	// it can take seconds on a loaded machine). Six seconds later Varnish
	// asks for it for the first time: Age 6 of a 10 s lifetime. It must
	// keep it for the four seconds left, not count the age twice
	// (s-maxage=4 with Age 6 would be stale at once).
	e.revalidate([]string{"/p/a"}, nil)
	time.Sleep(6 * time.Second)
	first := v.get(t, "/p/a")
	if age, _ := strconv.Atoi(first.header.Get("Age")); first.status != 200 || age < 6 || age > 8 {
		t.Fatalf("first fetch through Varnish: %d, Age %q; want 200 and Age 6", first.status, first.header.Get("Age"))
	}
	n := backend()
	if again := v.get(t, "/p/a"); again.body != first.body || !v.hit(again) {
		t.Errorf("within the seconds left: Varnish did not serve its copy (X-Varnish %q)", again.header.Get("X-Varnish"))
	}
	if got := backend() - n; got != 0 {
		t.Errorf("Varnish asked Kiln %d times within the page's lifetime, want 0", got)
	}

	// Past the lifetime, within stale-while-revalidate: Varnish serves its
	// stale copy at once and refetches in the background; Kiln serves its
	// stale page too and regenerates it.
	time.Sleep(5 * time.Second)
	n = backend()
	stale := v.get(t, "/p/a")
	if stale.body != first.body || !v.hit(stale) {
		t.Errorf("stale within the window: Varnish did not serve its stale copy")
	}
	waitFor(t, "Varnish's background refetch", func() bool { return backend() > n })
	e.settle()

	// Kiln's answer to that refetch was its own stale page, already past
	// its lifetime, so Varnish asks again on the next request, and gets
	// the regenerated page, fresh for 10 s.
	waitFor(t, "the regenerated page through Varnish", func() bool {
		r := v.get(t, "/p/a")
		return generated(r.body) != generated(first.body)
	})
	fresh := v.get(t, "/p/a")
	n = backend()
	if again := v.get(t, "/p/a"); !v.hit(again) || again.body != fresh.body {
		t.Errorf("the regenerated page was not cached")
	}
	if got := backend() - n; got != 0 {
		t.Errorf("Varnish asked Kiln %d times for a fresh page, want 0", got)
	}
}

// waitFor polls a condition on real processes for up to 10 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// kilnRequests is how many page requests Kiln has answered (its request
// counters; the test site has one page).
func kilnRequests(t *testing.T, e *env) int {
	t.Helper()
	body := e.get("/metrics", "Authorization", "Bearer "+e.secret).body
	n := 0
	for _, m := range regexp.MustCompile(`(?m)^kiln_requests_total\{cache="(HIT|STALE|MISS)"\} (\d+)$`).FindAllStringSubmatch(body, -1) {
		v, _ := strconv.Atoi(m[2])
		n += v
	}
	return n
}

func findVarnishd(t *testing.T) string {
	t.Helper()
	for _, p := range []string{"varnishd", "/usr/sbin/varnishd"} {
		if path, err := exec.LookPath(p); err == nil {
			return path
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatal("varnishd is not installed (apt-get install varnish)")
	}
	t.Skip("varnishd is not installed (apt-get install varnish)")
	return ""
}

type varnish struct {
	base   string
	client *http.Client
}

// startVarnish runs varnishd in the foreground on a free port, with a VCL
// that only names Kiln as its backend: everything else is Varnish's
// built-in behaviour.
func startVarnish(t *testing.T, varnishd, backend string) *varnish {
	t.Helper()
	dir := t.TempDir()
	host, port, _ := net.SplitHostPort(backend)
	vcl := filepath.Join(dir, "kiln.vcl")
	if err := os.WriteFile(vcl, []byte(fmt.Sprintf("vcl 4.1;\nbackend kiln { .host = %q; .port = %q; }\n", host, port)), 0o644); err != nil {
		t.Fatal(err)
	}
	addr := freeport.Addr(t)
	cmd := exec.Command(varnishd, "-F", "-j", "none", "-a", addr, "-f", vcl, "-n", filepath.Join(dir, "work"),
		"-s", "malloc,32m", "-p", "default_grace=0", "-p", "default_keep=0")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	out, err := os.Create(filepath.Join(dir, "varnishd.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatalf("start varnishd: %v", err)
	}
	t.Cleanup(func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		cmd.Wait()
	})
	v := &varnish{base: "http://" + addr, client: &http.Client{
		Transport: &http.Transport{DisableCompression: true},
		Timeout:   10 * time.Second,
	}}
	deadline := time.Now().Add(20 * time.Second)
	for {
		if resp, err := v.client.Get(v.base + "/"); err == nil {
			resp.Body.Close()
			return v
		}
		if time.Now().After(deadline) {
			b, _ := os.ReadFile(out.Name())
			t.Fatalf("varnishd did not start:\n%s", b)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (v *varnish) get(t *testing.T, path string) *response {
	t.Helper()
	resp, err := v.client.Get(v.base + path)
	if err != nil {
		t.Fatalf("GET %s through Varnish: %v", path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return &response{status: resp.StatusCode, header: resp.Header, body: string(b)}
}

// hit reports whether Varnish answered from its cache: its X-Varnish
// header then carries two transaction ids.
func (v *varnish) hit(r *response) bool {
	return len(strings.Fields(r.header.Get("X-Varnish"))) == 2
}
