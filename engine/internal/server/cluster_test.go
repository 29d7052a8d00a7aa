package server_test

import (
	"bufio"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kilnhq/kiln/engine/internal/cluster/clustertest"
)

// The cluster tests run three Kiln sites (each its own Pebble store, its
// own jsonfile plugin process, the real wasm renderer) as nodes of one
// cluster on three embedded JetStream servers.

// startCluster starts three nodes a, b, c of one cluster, one after the
// other (each catches up before it serves).
func startCluster(t *testing.T, routes string, data map[string]any) []*env {
	t.Helper()
	urls := clustertest.JetStream(t, 3)
	var q []string
	for _, u := range urls {
		q = append(q, strconv.Quote(u))
	}
	var nodes []*env
	for _, name := range []string{"a", "b", "c"} {
		block := fmt.Sprintf("cluster {\n  urls = [%s]\n  node = %q\n  prefix = \"kilntest\"\n  replicas = 3\n  lease_ttl = \"5s\"\n}\n",
			strings.Join(q, ", "), name)
		nodes = append(nodes, start(t, routes+"\n"+block, data))
	}
	return nodes
}

// renderCount sums the node's kiln_render_seconds_count series: every
// render it ran, any route, any mode.
func (e *env) renderCount() int {
	e.t.Helper()
	r := e.get("/metrics", "Authorization", "Bearer "+e.secret)
	if r.status != 200 {
		e.t.Fatalf("GET /metrics: %d %s", r.status, r.body)
	}
	n := 0
	sc := bufio.NewScanner(strings.NewReader(r.body))
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, "kiln_render_seconds_count") {
			continue
		}
		f := strings.Fields(line)
		v, err := strconv.ParseFloat(f[len(f)-1], 64)
		if err != nil {
			e.t.Fatalf("metrics line %q: %v", line, err)
		}
		n += int(v)
	}
	return n
}

func clusterRenders(nodes []*env) int {
	n := 0
	for _, e := range nodes {
		n += e.renderCount()
	}
	return n
}

// eventually polls cond until it holds or the deadline passes.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("never: %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestClusterThreeNodes(t *testing.T) {
	if testing.Short() {
		t.Skip("starts 3 NATS servers and 3 Kiln nodes")
	}
	nodes := startCluster(t, `route "/posts/:slug" {
  renderer = "page"
  revalidate = "1h"
  fallback = "blocking"
}
route "/pages/:slug" {
  renderer = "page"
  fallback = "blocking"
}`, map[string]any{
		"page:/posts/a": page("A", "build", true, "sleep_ms", 300),
		"page:/pages/b": page("B"),
	})
	a, b, c := nodes[0], nodes[1], nodes[2]
	if got := b.renderCount() + c.renderCount(); got != 0 {
		t.Errorf("b and c rendered %d page(s) at start; the build on a is in the bucket", got)
	}

	t.Run("rendered on a, HIT on b and c", func(t *testing.T) {
		before := clusterRenders(nodes)
		first := a.get("/pages/b")
		if first.status != 200 {
			t.Fatalf("first render on a: %d %s", first.status, first.body)
		}
		for _, e := range []*env{b, c} {
			eventually(t, "b and c serve a's page as a HIT", func() bool {
				r := e.get("/pages/b")
				return r.cache() == "HIT" && r.body == first.body
			})
		}
		if got := clusterRenders(nodes) - before; got != 1 {
			t.Errorf("renders cluster-wide = %d, want 1 (a's)", got)
		}
	})

	t.Run("stale burst over three nodes renders once", func(t *testing.T) {
		old := a.get("/posts/a").body
		for _, e := range nodes {
			eventually(t, "every node holds /posts/a", func() bool { return e.get("/posts/a").body == old })
		}
		before := clusterRenders(nodes)
		for _, e := range nodes {
			e.advance(2 * time.Hour) // stale on every node, and the new page stays fresh
		}
		var wg sync.WaitGroup
		for _, e := range nodes {
			for range 20 {
				wg.Go(func() { e.get("/posts/a") })
			}
		}
		wg.Wait()
		var fresh string
		eventually(t, "a regenerated /posts/a", func() bool {
			fresh = a.get("/posts/a").body
			return fresh != old
		})
		for _, e := range nodes {
			eventually(t, "every node serves the new /posts/a", func() bool {
				r := e.get("/posts/a")
				return r.body == fresh && r.cache() == "HIT"
			})
			e.settle()
		}
		switch got := clusterRenders(nodes) - before; {
		case got == 0:
			t.Errorf("renders for 3 nodes x 20 stale requests = 0, want 1")
		case got > 1:
			t.Errorf("renders for 3 nodes x 20 stale requests = %d, want 1", got)
		}
	})

	t.Run("revalidate on a reaches b and c", func(t *testing.T) {
		old := b.get("/pages/b").body
		if res := a.revalidate([]string{"/pages/b"}, nil); len(res) != 1 || res[0].Status != "regenerated" {
			t.Fatalf("revalidate: %+v", res)
		}
		fresh := a.get("/pages/b").body
		if fresh == old {
			t.Fatal("revalidate did not change the body on a")
		}
		for _, e := range []*env{b, c} {
			eventually(t, "b and c serve the revalidated page", func() bool { return e.get("/pages/b").body == fresh })
		}
	})

	t.Run("wait all: b and c serve the new page at once", func(t *testing.T) {
		old := a.get("/pages/b").body
		r := a.do("POST", "/_kiln/revalidate", `{"paths": ["/pages/b"], "wait": "all"}`, "Authorization", "Bearer "+a.secret)
		if r.status != 200 {
			t.Fatalf("revalidate wait all: %d %s", r.status, r.body)
		}
		fresh := a.get("/pages/b").body
		if fresh == old {
			t.Fatal("revalidate did not change the body on a")
		}
		for i, e := range []*env{b, c} {
			if got := e.get("/pages/b").body; got != fresh {
				t.Errorf("node %c right after wait all: %q, want %q", 'b'+i, got, fresh)
			}
		}
	})

	t.Run("back-to-back revalidations on one node never meet its own lease", func(t *testing.T) {
		// A flight gives its lease back before its callers are answered,
		// and the next revalidation takes it at once: the lease is read
		// from the stream leader (a follower may still show the released
		// lease) and this node's own released lease is taken over (its
		// delete may still be in flight). Issue 12.
		before := clusterMetric([]*env{a}, "kiln_cluster_lease_conflicts_total")
		renders := a.renderCount()
		const n = 40
		for i := range n {
			if res := a.revalidate([]string{"/pages/b"}, nil); len(res) != 1 || res[0].Status != "regenerated" {
				t.Fatalf("revalidation %d: %+v", i, res)
			}
		}
		if got := clusterMetric([]*env{a}, "kiln_cluster_lease_conflicts_total") - before; got != 0 {
			t.Errorf("lease conflicts on a over %d back-to-back revalidations = %d, want 0", n, got)
		}
		if got := a.renderCount() - renders; got != n {
			t.Errorf("renders on a over %d back-to-back revalidations = %d, want %d", n, got, n)
		}
	})

	t.Run("a data edit seen by three nodes regenerates once", func(t *testing.T) {
		old := a.get("/pages/b").body
		before := clusterRenders(nodes)
		for _, e := range nodes { // every node watches its own copy, edited alike
			e.setData(map[string]any{"page:/posts/a": page("A", "build", true, "sleep_ms", 300), "page:/pages/b": page("B edited")})
		}
		var fresh string
		eventually(t, "a serves the edited /pages/b", func() bool {
			fresh = a.get("/pages/b").body
			return fresh != old
		})
		if !strings.Contains(fresh, "B edited") {
			t.Fatalf("/pages/b after the edit = %q", fresh)
		}
		for _, e := range nodes {
			eventually(t, "every node serves the edited /pages/b", func() bool { return e.get("/pages/b").body == fresh })
		}
		eventually(t, "the job is acked", func() bool { return clusterMetric(nodes, "kiln_cluster_jobs_pulled_total") >= 1 })
		for _, e := range nodes {
			e.settle()
		}
		if got := clusterRenders(nodes) - before; got != 1 {
			t.Errorf("renders cluster-wide for one data edit seen by 3 nodes = %d, want 1", got)
		}
		if got := clusterMetric(nodes, "kiln_cluster_jobs_pulled_total"); got != 1 {
			t.Errorf("jobs pulled cluster-wide = %d, want 1", got)
		}
	})
}

// clusterMetric sums one counter over the nodes' /metrics.
func clusterMetric(nodes []*env, name string) int {
	n := 0
	for _, e := range nodes {
		r := e.get("/metrics", "Authorization", "Bearer "+e.secret)
		for line := range strings.Lines(r.body) {
			if f := strings.Fields(line); len(f) == 2 && f[0] == name {
				v, _ := strconv.ParseFloat(f[1], 64)
				n += int(v)
			}
		}
	}
	return n
}

func TestRevalidateWaitAllSingleNode(t *testing.T) {
	e := start(t, `route "/posts/:slug" {
  renderer = "page"
}`, map[string]any{"page:/posts/a": page("A", "build", true)})
	old := e.get("/posts/a").body
	r := e.do("POST", "/_kiln/revalidate", `{"paths": ["/posts/a"], "wait": "all"}`, "Authorization", "Bearer "+e.secret)
	if r.status != 200 || !strings.Contains(r.body, `"regenerated"`) {
		t.Fatalf("wait all on one node: %d %s", r.status, r.body)
	}
	if e.get("/posts/a").body == old {
		t.Error("the page was not regenerated")
	}
	r = e.do("POST", "/_kiln/revalidate", `{"paths": ["/posts/a"], "wait": "some"}`, "Authorization", "Bearer "+e.secret)
	if r.status != 400 {
		t.Errorf("wait some: %d %s, want 400", r.status, r.body)
	}
}
