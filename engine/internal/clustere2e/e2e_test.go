package clustere2e

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// The end-to-end cluster test runs what a person runs: three nats-server
// processes clustered on loopback (JetStream, R3), built from the module
// Kiln depends on, and `kiln serve` processes, each with its own store,
// the real wasm renderer of the server tests and the jsonfile plugin.
// Renders are counted from every node's /metrics.
//
// KILN_E2E_LONG=1 (`go tool task cluster:faults`) runs the long fault
// cases too: the stale burst 20 times, NATS down for a minute, and loops
// killing and restarting NATS servers and nodes.

// natsBinary builds nats-server from the module once per run.
func natsBinary(t *testing.T) string {
	natsOnce.Do(func() {
		dir, err := os.MkdirTemp("", "kiln-nats")
		if err != nil {
			natsErr = err
			return
		}
		natsPath = filepath.Join(dir, "nats-server")
		cmd := exec.Command("go", "build", "-o", natsPath, "github.com/nats-io/nats-server/v2")
		if out, err := cmd.CombinedOutput(); err != nil {
			natsErr = fmt.Errorf("go build nats-server: %v\n%s", err, out)
		}
	})
	if natsErr != nil {
		t.Fatal(natsErr)
	}
	return natsPath
}

var (
	natsOnce sync.Once
	natsPath string
	natsErr  error
)

// natsServer is one nats-server process; it keeps its ports and store
// across restarts.
type natsServer struct {
	t    *testing.T
	args []string
	dir  string
	url  string
	cmd  *exec.Cmd
	done chan struct{} // closed once the process has exited (Wait returned)
}

// startNATS starts n nats-server processes as one JetStream cluster and
// waits until JetStream answers.
func startNATS(t *testing.T, n int) []*natsServer {
	t.Helper()
	bin := natsBinary(t)
	cports := make([]string, n)
	for i := range cports {
		cports[i] = "nats://" + freeAddr(t)
	}
	var servers []*natsServer
	for i := range n {
		addr := freeAddr(t)
		host, port, _ := strings.Cut(addr, ":")
		dir := t.TempDir()
		s := &natsServer{t: t, dir: dir, url: "nats://" + addr, args: []string{
			"-a", host, "-p", port, "-n", fmt.Sprintf("n%d", i), "-js", "-sd", filepath.Join(dir, "js"),
			"--cluster_name", "kiln", "--cluster", cports[i], "--routes", strings.Join(cports, ","),
		}}
		s.args = append([]string{bin}, s.args...)
		s.start()
		t.Cleanup(s.kill)
		servers = append(servers, s)
	}
	waitJetStream(t, servers)
	return servers
}

func (s *natsServer) start() {
	s.t.Helper()
	logf, err := os.OpenFile(filepath.Join(s.dir, "nats.log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		s.t.Fatal(err)
	}
	s.cmd = exec.Command(s.args[0], s.args[1:]...)
	s.cmd.Stdout, s.cmd.Stderr = logf, logf
	if err := s.cmd.Start(); err != nil {
		s.t.Fatal(err)
	}
	done := make(chan struct{})
	s.done = done
	go func() { s.cmd.Wait(); logf.Close(); close(done) }()
}

func (s *natsServer) kill() {
	if s.cmd != nil && s.cmd.Process != nil {
		s.cmd.Process.Signal(syscall.SIGKILL)
		<-s.done
	}
}

func urlsOf(servers []*natsServer) string {
	var u []string
	for _, s := range servers {
		u = append(u, s.url)
	}
	return strings.Join(u, ",")
}

// waitJetStream waits until the servers have a JetStream meta leader.
func waitJetStream(t *testing.T, servers []*natsServer) {
	t.Helper()
	waitFor(t, 30*time.Second, "JetStream answers", func() bool {
		nc, err := nats.Connect(urlsOf(servers), nats.Timeout(time.Second))
		if err != nil {
			return false
		}
		defer nc.Close()
		js, _ := jetstream.New(nc)
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_, err = js.AccountInfo(ctx)
		return err == nil
	})
}

// waitFor polls cond until it holds or the timeout passes.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	if !poll(timeout, cond) {
		t.Fatalf("after %s, never: %s", timeout, what)
	}
}

// poll reports whether cond held before the timeout passed.
func poll(timeout time.Duration, cond func() bool) bool {
	for deadline := time.Now().Add(timeout); !cond(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			return false
		}
	}
	return true
}

// logs is every running node's log, without its per-page lines.
func (c *e2eCluster) logs() string {
	var b strings.Builder
	for name, n := range c.nodes {
		fmt.Fprintf(&b, "--- node %s\n%s\n", name, notable(n.log.Name()))
	}
	return b.String()
}

const e2eSite = `
site {
  store = "store"
}
data_source "data" {
  plugin = "jsonfile"
  config { path = %q }
}
renderer "page" {
  wasm = %q
  pool = 4
  timeout = "10s"
}
route "/p/:slug" {
  renderer = "page"
  fallback = "blocking"
}
cluster {
  urls     = [%s]
  node     = %q
  prefix   = %q
  replicas = 3
  lease_ttl = "2s"
  node_ttl  = "3s"
}
`

// e2eCluster is the NATS servers, the shared data file and the nodes.
type e2eCluster struct {
	t     *testing.T
	nats  []*natsServer
	data  string
	wasm  string
	bin   string
	nodes map[string]*e2eNode
}

// e2eNode is one `kiln serve` process with its own directory and store.
type e2eNode struct {
	*kilnProcess
	name, dir, prefix string
	c                 *e2eCluster
}

// siteConfig writes dir/site.hcl for a node of the cluster.
func (c *e2eCluster) siteConfig(dir, name, prefix, data string) {
	var q []string
	for _, s := range c.nats {
		q = append(q, strconv.Quote(s.url))
	}
	cfg := fmt.Sprintf(e2eSite, data, c.wasm, strings.Join(q, ", "), name, prefix)
	if err := os.WriteFile(filepath.Join(dir, "site.hcl"), []byte(cfg), 0o644); err != nil {
		c.t.Fatal(err)
	}
}

// start runs a node in a new directory and waits until it is ready
// (caught up with the bucket).
func (c *e2eCluster) start(name, prefix string) *e2eNode {
	c.t.Helper()
	dir := c.t.TempDir()
	c.siteConfig(dir, name, prefix, c.data)
	return c.startIn(dir, name, prefix)
}

func (c *e2eCluster) startIn(dir, name, prefix string) *e2eNode {
	c.t.Helper()
	n := &e2eNode{kilnProcess: startKiln(c.t, c.bin, dir), name: name, dir: dir, prefix: prefix, c: c}
	waitFor(c.t, time.Minute, name+" ready", func() bool { st, _, _ := n.try("/_kiln/readyz"); return st == 200 })
	waitLoaded(c.t, n.log.Name())
	c.nodes[name] = n
	return n
}

// waitLoaded waits until the node's log says its renderers are loaded:
// they compile after the node serves, and on a busy machine that can take
// longer than a lease, which would turn the first render of every case
// into a test of the machine's load.
func waitLoaded(t *testing.T, log string) {
	t.Helper()
	waitFor(t, 3*time.Minute, "renderers loaded ("+log+")", func() bool {
		b, _ := os.ReadFile(log)
		return strings.Count(string(b), " renderer(s) in ") >= strings.Count(string(b), "kiln: starting ")
	})
}

// restart kills the node with SIGKILL and starts it again on its store.
func (n *e2eNode) restart() {
	n.kill()
	m := n.c.startIn(n.dir, n.name, n.prefix)
	n.kilnProcess = m.kilnProcess
	n.c.nodes[n.name] = n
}

// try is one GET that reports a refused connection instead of failing.
func (n *e2eNode) try(path string) (int, http.Header, string) {
	resp, err := e2eClient.Get(n.base + path)
	if err != nil {
		return 0, nil, err.Error()
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, nil, err.Error()
	}
	return resp.StatusCode, resp.Header, string(b)
}

var e2eClient = &http.Client{Timeout: 30 * time.Second}

// page GETs a page and fails the test on anything but 200.
func (n *e2eNode) page(t *testing.T, path string) (cache, body string) {
	t.Helper()
	st, h, body := n.try(path)
	if st != 200 {
		t.Fatalf("%s GET %s: %d %.300s\n%s", n.name, path, st, body, notable(n.log.Name()))
	}
	return h.Get("X-Kiln-Cache"), body
}

// admin POSTs a JSON body to an admin endpoint with the secret.
func (n *e2eNode) admin(t *testing.T, path, body string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("POST", n.base+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer s3cret")
	resp, err := e2eClient.Do(req)
	if err != nil {
		t.Fatalf("%s POST %s: %v", n.name, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// metric sums a /metrics series over its labels.
func (n *e2eNode) metric(t *testing.T, name string) int {
	t.Helper()
	req, _ := http.NewRequest("GET", n.base+"/metrics", nil)
	req.Header.Set("Authorization", "Bearer s3cret")
	resp, err := e2eClient.Do(req)
	if err != nil {
		t.Fatalf("%s /metrics: %v", n.name, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("%s /metrics: %d", n.name, resp.StatusCode)
	}
	total := 0.0
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		if rest, ok := strings.CutPrefix(line, name); ok && (strings.HasPrefix(rest, " ") || strings.HasPrefix(rest, "{")) {
			f := strings.Fields(line)
			v, err := strconv.ParseFloat(f[len(f)-1], 64)
			if err != nil {
				t.Fatalf("metrics line %q: %v", line, err)
			}
			total += v
		}
	}
	return int(total)
}

func (n *e2eNode) renders(t *testing.T) int { return n.metric(t, "kiln_render_seconds_count") }

// renders sums the renders of the named nodes.
func (c *e2eCluster) renders(t *testing.T, names ...string) int {
	total := 0
	for _, name := range names {
		total += c.nodes[name].renders(t)
	}
	return total
}

// everyNodeServes waits until every named node serves path with body as
// a HIT.
func (c *e2eCluster) everyNodeServes(t *testing.T, path, body string, names ...string) {
	t.Helper()
	c.everyNodeServesWithin(t, 15*time.Second, path, body, names...)
}

func (c *e2eCluster) everyNodeServesWithin(t *testing.T, timeout time.Duration, path, body string, names ...string) {
	t.Helper()
	for _, name := range names {
		n := c.nodes[name]
		ok := poll(timeout, func() bool {
			st, h, got := n.try(path)
			return st == 200 && got == body && h.Get("X-Kiln-Cache") == "HIT"
		})
		if !ok {
			_, _, got := n.try(path)
			t.Fatalf("after %s, %s serves %s as %.120q, not the new %.120q\n%s", timeout, name, path, got, body, c.logs())
		}
	}
}

// writeData writes the shared data file atomically.
func writeData(t *testing.T, file string, items map[string]any) {
	b, _ := json.Marshal(items)
	tmp := file + ".tmp"
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, file); err != nil {
		t.Fatal(err)
	}
}

func e2eData(title string) map[string]any {
	items := map[string]any{
		"page:/p/burst": map[string]any{"title": "burst", "build": true, "sleep_ms": 300},
		"page:/p/slow":  map[string]any{"title": "slow", "sleep_ms": 3000},
		"page:/p/first": map[string]any{"title": "first", "sleep_ms": 300},
		"page:/p/edit":  map[string]any{"title": "edit " + title, "build": true},
	}
	for i := range 5 {
		items[fmt.Sprintf("page:/p/%d", i)] = map[string]any{"title": fmt.Sprintf("%s %d", title, i), "build": true}
	}
	return items
}

func needE2E(t *testing.T) {
	if testing.Short() {
		t.Skip("starts 3 nats-server and several kiln processes")
	}
}

func TestClusterEndToEnd(t *testing.T) {
	needE2E(t)
	repo := repoRoot()
	c := &e2eCluster{t: t, nats: startNATS(t, 3), wasm: pageWasm(t, repo), bin: kilnBinary(t), nodes: map[string]*e2eNode{}}
	c.data = filepath.Join(t.TempDir(), "data.json")
	writeData(t, c.data, e2eData("v1"))

	// An old build artifact, made before the cluster: a store built alone.
	artifact := t.TempDir()
	c.siteConfig(artifact, "artifact", "kiln", c.data)
	if out, err := exec.Command(c.bin, "build", "--config", filepath.Join(artifact, "site.hcl")).CombinedOutput(); err != nil {
		t.Fatalf("kiln build (alone): %v\n%s", err, out)
	}

	a := c.start("a", "kiln")
	b := c.start("b", "kiln")
	cc := c.start("c", "kiln")
	all := []string{"a", "b", "c"}
	t.Run("b and c start from the bucket without rendering", func(t *testing.T) {
		if got := c.renders(t, "b", "c"); got != 0 {
			t.Errorf("b and c rendered %d page(s) at start, want 0 (a's prerender is in the bucket)", got)
		}
		_, body := a.page(t, "/p/1")
		c.everyNodeServes(t, "/p/1", body, all...)
	})

	t.Run("blocking first render over three nodes renders once", func(t *testing.T) {
		before := c.renders(t, all...)
		bodies := burst(t, c, "/p/first", all, 20)
		for body := range bodies {
			if !strings.Contains(body, "<h1>first</h1>") {
				t.Fatalf("first render answered %.200q", body)
			}
		}
		if len(bodies) != 1 {
			t.Errorf("the burst got %d different bodies, want 1", len(bodies))
		}
		if got := c.renders(t, all...) - before; got != 1 {
			t.Errorf("renders for 3 nodes x 20 first requests = %d, want 1\n%s", got, c.logs())
		}
	})

	rounds := 1
	if os.Getenv("KILN_E2E_LONG") != "" {
		rounds = 20
	}
	t.Run("stale burst over three nodes renders once", func(t *testing.T) {
		extra := 0
		for round := range rounds {
			if got := staleBurst(t, c, round, all); got > 1 {
				extra++
				t.Logf("round %d: renders for 3 nodes x 30 stale requests = %d, want 1", round, got)
			}
		}
		if extra > 0 {
			t.Errorf("%d of %d stale bursts rendered more than once", extra, rounds)
		}
	})

	t.Run("revalidate on a: b and c serve the new body", func(t *testing.T) {
		_, old := b.page(t, "/p/2")
		if st, res := a.admin(t, "/_kiln/revalidate", `{"paths": ["/p/2"]}`); st != 200 {
			t.Fatalf("revalidate: %d %s", st, res)
		}
		_, fresh := a.page(t, "/p/2")
		if fresh == old {
			t.Fatal("revalidate did not change the body on a")
		}
		c.everyNodeServes(t, "/p/2", fresh, all...)

		if st, res := a.admin(t, "/_kiln/revalidate", `{"paths": ["/p/2"], "wait": "all"}`); st != 200 {
			t.Fatalf("revalidate wait all: %d %s", st, res)
		}
		_, fresh = a.page(t, "/p/2")
		for _, n := range []*e2eNode{b, cc} {
			if _, got := n.page(t, "/p/2"); got != fresh {
				t.Errorf("%s right after wait all: %.120q, want %.120q", n.name, got, fresh)
			}
		}
	})

	t.Run("a new node catches up and serves HITs with 0 renders", func(t *testing.T) {
		d := c.start("d", "kiln")
		for _, p := range []string{"/p/0", "/p/2", "/p/burst", "/p/first", "/p/edit"} {
			_, want := a.page(t, p)
			if cache, got := d.page(t, p); cache != "HIT" || got != want {
				t.Errorf("d GET %s: %s %.100q, want HIT %.100q", p, cache, got, want)
			}
		}
		if got := d.renders(t); got != 0 {
			t.Errorf("d rendered %d pages, want 0", got)
		}
		d.kill()
		delete(c.nodes, "d")
	})

	t.Run("a node started on an old build serves the newer pages", func(t *testing.T) {
		_, want := a.page(t, "/p/2") // revalidated after the artifact was built
		e := c.startIn(artifact, "artifact", "kiln")
		if cache, got := e.page(t, "/p/2"); cache != "HIT" || got != want {
			t.Errorf("node on the old build GET /p/2: %s %.100q, want HIT %.100q (the revalidated page)", cache, got, want)
		}
		if got := e.renders(t); got != 0 {
			t.Errorf("node on the old build rendered %d pages, want 0", got)
		}
		e.kill()
		delete(c.nodes, "artifact")
	})

	t.Run("kiln build --nats publishes, and a newer page stays", func(t *testing.T) {
		// The build renders /p/3 from data of its own; every node then serves it.
		dir := t.TempDir()
		data := filepath.Join(dir, "data.json")
		writeData(t, data, map[string]any{"page:/p/3": map[string]any{"title": "rebuilt 3", "build": true}})
		c.siteConfig(dir, "builder", "kiln", data)
		out, err := exec.Command(c.bin, "build", "--config", filepath.Join(dir, "site.hcl"), "--nats", urlsOf(c.nats)).CombinedOutput()
		if err != nil || !strings.Contains(string(out), "built 1 pages") {
			t.Fatalf("kiln build --nats: %v\n%s", err, out)
		}
		waitFor(t, 15*time.Second, "every node serves the build's /p/3", func() bool {
			for _, name := range all {
				if _, _, got := c.nodes[name].try("/p/3"); !strings.Contains(got, "<h1>rebuilt 3</h1>") {
					return false
				}
			}
			return true
		})
		// A store built before that render holds an older /p/3: publishing
		// it (a node started on it) must not replace the build's record.
		e := c.startIn(artifact, "artifact", "kiln")
		if _, got := e.page(t, "/p/3"); !strings.Contains(got, "<h1>rebuilt 3</h1>") {
			t.Errorf("node on the old build GET /p/3: %.100q, want the newer build's page", got)
		}
		e.kill()
		delete(c.nodes, "artifact")
		for _, name := range all {
			if _, got := c.nodes[name].page(t, "/p/3"); !strings.Contains(got, "<h1>rebuilt 3</h1>") {
				t.Errorf("%s GET /p/3 after the old node: %.100q, want the build's page", name, got)
			}
		}
	})

	t.Run("two sites on one NATS with different prefixes stay apart", func(t *testing.T) {
		dir := t.TempDir()
		data := filepath.Join(dir, "data.json")
		writeData(t, data, map[string]any{"page:/p/0": map[string]any{"title": "other site", "build": true}})
		c.siteConfig(dir, "other", "other", data)
		o := c.startIn(dir, "other", "other")
		if _, got := o.page(t, "/p/0"); !strings.Contains(got, "<h1>other site</h1>") {
			t.Errorf("other site GET /p/0: %.100q", got)
		}
		if st, res := o.admin(t, "/_kiln/revalidate", `{"paths": ["/p/0"], "wait": "all"}`); st != 200 {
			t.Fatalf("revalidate on the other site: %d %s", st, res)
		}
		for _, name := range all {
			if _, got := c.nodes[name].page(t, "/p/0"); !strings.Contains(got, "<h1>v1 0</h1>") {
				t.Errorf("%s GET /p/0: %.100q, want its own site's page", name, got)
			}
		}
		out, err := exec.Command(c.bin, "cluster", "status", "--config", filepath.Join(a.dir, "site.hcl")).CombinedOutput()
		// Nodes killed by earlier cases stay listed until node_ttl (3 s)
		// after their last heartbeat: check names, not the count.
		if err != nil || strings.Contains(string(out), "other") || !strings.Contains(string(out), "\na ") ||
			!strings.Contains(string(out), "\nb ") || !strings.Contains(string(out), "\nc ") {
			t.Errorf("kiln cluster status of prefix kiln: %v\n%s", err, out)
		}
		o.kill()
		delete(c.nodes, "other")
	})

	t.Run("data edit once renders once cluster-wide", func(t *testing.T) {
		_, old := a.page(t, "/p/edit")
		c.everyNodeServes(t, "/p/edit", old, all...)
		before := c.renders(t, all...)
		items := e2eData("v1")
		items["page:/p/edit"] = map[string]any{"title": "edit v2", "build": true}
		writeData(t, c.data, items)
		waitFor(t, 15*time.Second, "every node serves the edited /p/edit", func() bool {
			for _, name := range all {
				if _, _, got := c.nodes[name].try("/p/edit"); !strings.Contains(got, "<h1>edit v2</h1>") {
					return false
				}
			}
			return true
		})
		settle(t, c, all)
		if got := c.renders(t, all...) - before; got != 1 {
			t.Errorf("one data edit seen by 3 nodes rendered %d times, want 1\n%s", got, c.logs())
		}
	})

	t.Run("one NATS server of three killed and restarted", func(t *testing.T) {
		for round := range max(1, rounds/4) {
			// The first round loses a server that holds nodes' pages
			// watches (each an R1 consumer on one server) and does not
			// lead the pages stream: what Kiln answers for. The others
			// go round the servers, leaders included.
			i := round % len(c.nats)
			roles := natsRoles(t, c, "kiln")
			if round == 0 {
				i = roles.victim()
			}
			name := fmt.Sprintf("n%d", i)
			victim := c.nats[i]
			victim.kill()
			killed := time.Now()
			checkStored(t, c, all)
			if st, res := b.admin(t, "/_kiln/revalidate", `{"paths": ["/p/4"]}`); st != 200 {
				t.Fatalf("revalidate with one NATS server down: %d %s", st, res)
			}
			_, fresh := b.page(t, "/p/4")
			start := time.Now()
			// A lost pages-stream leader holds every publish until the two
			// servers left elect another: 4 to 9 s of NATS's own.
			bound := lostServerBound
			if roles.pagesLeader == name {
				bound += 10 * time.Second
			}
			c.everyNodeServesWithin(t, 45*time.Second, "/p/4", fresh, all...)
			took := time.Since(start)
			t.Logf("round %d: lost %s (%s): every node served the page revalidated on b %s after the revalidation answered, %s after the kill",
				round, name, roles.of(name), took.Round(time.Millisecond), time.Since(killed).Round(time.Millisecond))
			if took > bound {
				t.Errorf("round %d: lost %s (%s): every node served the revalidated page after %s, want at most %s\n%s",
					round, name, roles.of(name), took.Round(time.Millisecond), bound, c.logs())
			}
			victim.start()
			waitJetStream(t, c.nats)
			checkStored(t, c, all)
		}
	})

	t.Run("NATS fully down while requests continue", func(t *testing.T) {
		down := 10 * time.Second
		if os.Getenv("KILN_E2E_LONG") != "" {
			down = time.Minute
		}
		for _, s := range c.nats {
			s.kill()
		}
		waitFor(t, 10*time.Second, "every node says NATS is away", func() bool {
			for _, name := range all {
				if c.nodes[name].metric(t, "kiln_cluster_connected") != 0 {
					return false
				}
			}
			return true
		})
		// Pages rendered alone while NATS is away: a revalidation on a.
		if st, res := a.admin(t, "/_kiln/revalidate", `{"paths": ["/p/1"]}`); st != 200 {
			t.Fatalf("revalidate with NATS down: %d %s", st, res)
		}
		_, fresh := a.page(t, "/p/1")
		for end := time.Now().Add(down); time.Now().Before(end); {
			checkStored(t, c, all)
		}
		for _, s := range c.nats {
			s.start()
		}
		waitJetStream(t, c.nats)
		c.everyNodeServes(t, "/p/1", fresh, all...)
		waitFor(t, 15*time.Second, "every node reconnected", func() bool {
			for _, name := range all {
				if c.nodes[name].metric(t, "kiln_cluster_connected") != 1 {
					return false
				}
			}
			return true
		})
	})

	t.Run("a node killed mid-render: another renders after the lease", func(t *testing.T) {
		leaseHeld := leaseWatcher(t, c, "kiln", "/p/slow")
		go a.try("/p/slow") // a takes the lease and renders for 3 s
		waitFor(t, 10*time.Second, "a holds the lease of /p/slow", leaseHeld)
		a.kill()
		before := c.renders(t, "b", "c")
		if _, got := b.page(t, "/p/slow"); !strings.Contains(got, "<h1>slow</h1>") {
			t.Fatalf("b GET /p/slow after a died: %.200q", got)
		}
		if got := c.renders(t, "b", "c") - before; got != 1 {
			t.Errorf("renders on b and c after a died = %d, want 1", got)
		}
		_, body := b.page(t, "/p/slow")
		a.restart()
		c.everyNodeServes(t, "/p/slow", body, all...)
	})

	if os.Getenv("KILN_E2E_LONG") != "" {
		t.Run("kill and restart loops", func(t *testing.T) {
			for round := range 10 {
				n := c.nodes[all[round%3]]
				n.restart()
				victim := c.nats[round%3]
				victim.kill()
				checkStored(t, c, all)
				// The burst's "wait": "all" needs every node's pages watch,
				// which stalls for up to ~20 s when it ran through the lost
				// server (see the one-server case): the burst runs once the
				// server is back.
				victim.start()
				waitJetStream(t, c.nats)
				// Converged: a revalidation on b reaches every node.
				start := time.Now()
				if st, res := c.nodes["b"].admin(t, "/_kiln/revalidate", `{"paths": ["/p/0"]}`); st != 200 {
					t.Fatalf("round %d: revalidate: %d %s", round, st, res)
				}
				_, fresh := c.nodes["b"].page(t, "/p/0")
				c.everyNodeServesWithin(t, 45*time.Second, "/p/0", fresh, all...)
				t.Logf("round %d: every node served a revalidated page %s after the restarts", round, time.Since(start).Round(time.Millisecond))
				if got := staleBurst(t, c, 100+round, all); got != 1 {
					t.Errorf("round %d, a node and a NATS server restarted: renders for the stale burst = %d, want 1", round, got)
				}
				checkStored(t, c, all)
			}
		})
	}
}

// burst sends per concurrent GETs of path to each named node and returns
// the set of bodies they got; any answer but 200 fails the test.
func burst(t *testing.T, c *e2eCluster, path string, names []string, per int) map[string]bool {
	t.Helper()
	var (
		mu     sync.Mutex
		bodies = map[string]bool{}
		failed atomic.Value
		wg     sync.WaitGroup
	)
	for _, name := range names {
		n := c.nodes[name]
		for range per {
			wg.Go(func() {
				st, _, body := n.try(path)
				if st != 200 {
					failed.Store(fmt.Sprintf("%s GET %s: %d %.200s", name, path, st, body))
					return
				}
				mu.Lock()
				bodies[body] = true
				mu.Unlock()
			})
		}
	}
	wg.Wait()
	if f := failed.Load(); f != nil {
		t.Fatalf("%s\n%s", f, c.logs())
	}
	return bodies
}

// staleBurst marks /p/burst stale on every node, sends 3 x 30 concurrent
// requests, checks that every node then serves the new page, and returns
// how many renders there were (want 1).
func staleBurst(t *testing.T, c *e2eCluster, round int, names []string) int {
	t.Helper()
	first := c.nodes[names[0]]
	_, old := first.page(t, "/p/burst")
	c.everyNodeServes(t, "/p/burst", old, names...)
	if st, res := first.admin(t, "/_kiln/revalidate", `{"paths": ["/p/burst"], "mode": "stale", "wait": "all"}`); st != 200 {
		t.Fatalf("round %d: mark stale: %d %s", round, st, res)
	}
	before := c.renders(t, names...)
	burst(t, c, "/p/burst", names, 30)
	var fresh string
	waitFor(t, 15*time.Second, "a node regenerated /p/burst", func() bool {
		_, _, fresh = first.try("/p/burst")
		return fresh != old
	})
	c.everyNodeServes(t, "/p/burst", fresh, names...)
	settle(t, c, names)
	return c.renders(t, names...) - before
}

// settle waits until no node has a render running (the series
// kiln_renders_in_flight, if the engine has it, is 0 everywhere) and the
// render counts stop moving for a moment.
func settle(t *testing.T, c *e2eCluster, names []string) {
	t.Helper()
	last := -1
	waitFor(t, 15*time.Second, "renders settle", func() bool {
		n := c.renders(t, names...)
		if n == last {
			return true
		}
		last = n
		time.Sleep(300 * time.Millisecond) // a render started by a late watch event shows by then
		return false
	})
}

// checkStored GETs stored pages on every node: each must answer 200.
func checkStored(t *testing.T, c *e2eCluster, names []string) {
	t.Helper()
	for _, name := range names {
		for _, p := range []string{"/p/0", "/p/1", "/p/2", "/p/burst"} {
			if st, _, body := c.nodes[name].try(p); st != 200 {
				t.Fatalf("%s GET %s: %d %.200s", name, p, st, body)
			}
		}
	}
}

// leaseWatcher reports whether the render lease of path is held, read
// from the leases bucket.
func leaseWatcher(t *testing.T, c *e2eCluster, prefix, path string) func() bool {
	nc, err := nats.Connect(urlsOf(c.nats))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, _ := jetstream.New(nc)
	// Right after NATS restarted altogether, the leases stream (in
	// memory) may still be electing a leader: its info waits for one.
	var kv jetstream.KeyValue
	waitFor(t, 30*time.Second, prefix+"_leases answers", func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		kv, err = js.KeyValue(ctx, prefix+"_leases")
		return err == nil
	})
	k := base64.RawURLEncoding.EncodeToString([]byte(path))
	return func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		e, err := kv.Get(ctx, k)
		return err == nil && len(e.Value()) > 0
	}
}

// lostServerBound is how long after a revalidation answered every node
// may take to serve its page when one NATS server of three was lost just
// before (and did not lead the pages stream). Generous for a loaded
// machine: a node applies a record within two watch checks (1 s) of its
// commit; before those checks read the bucket directly it was 6.3 to 6.9 s
// (and 7.4 to 11.5 s when the lost server led the pages stream).
const lostServerBound = 5 * time.Second

// roles is what each NATS server does for a site, by server name.
type roles struct {
	pagesLeader string         // leads the pages stream
	watches     map[string]int // the nodes' pages watches it holds
}

// natsRoles asks the cluster which server leads prefix's pages stream and
// which servers hold the nodes' pages watches (its consumers).
func natsRoles(t *testing.T, c *e2eCluster, prefix string) roles {
	t.Helper()
	nc, err := nats.Connect(urlsOf(c.nats))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := js.Stream(ctx, "KV_"+prefix+"_pages")
	if err != nil {
		t.Fatal(err)
	}
	r := roles{watches: map[string]int{}}
	if ci := s.CachedInfo().Cluster; ci != nil {
		r.pagesLeader = ci.Leader
	}
	l := s.ListConsumers(ctx)
	for ci := range l.Info() {
		if ci.Cluster != nil {
			r.watches[ci.Cluster.Leader]++
		}
	}
	if l.Err() != nil {
		t.Fatal(l.Err())
	}
	return r
}

// victim is the index of a server that holds the most watches without
// leading the pages stream.
func (r roles) victim() int {
	best, most := 0, -1
	for i := range 3 {
		name := fmt.Sprintf("n%d", i)
		if name != r.pagesLeader && r.watches[name] > most {
			best, most = i, r.watches[name]
		}
	}
	return best
}

func (r roles) of(name string) string {
	var out []string
	if r.pagesLeader == name {
		out = append(out, "pages leader")
	}
	out = append(out, fmt.Sprintf("%d watch(es)", r.watches[name]))
	return strings.Join(out, ", ")
}
