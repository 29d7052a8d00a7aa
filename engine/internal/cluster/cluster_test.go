package cluster

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kilnhq/kiln/engine/internal/cluster/clustertest"
	"github.com/kilnhq/kiln/engine/internal/config"
	"github.com/kilnhq/kiln/engine/internal/store"
)

type testNode struct {
	*Node
	st store.Store
}

func openNode(t *testing.T, urls []string, name, prefix string) *testNode {
	t.Helper()
	st, err := store.Open(t.TempDir(), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	cfg := config.DefaultCluster(urls)
	cfg.Node, cfg.Prefix, cfg.Replicas, cfg.LeaseTTL, cfg.NodeTTL = name, prefix, 3, 2*time.Second, 3*time.Second
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var n *Node
	for {
		n, err = Open(ctx, Options{Config: cfg, Store: st, Logger: slog.New(slog.DiscardHandler)})
		if err == nil || ctx.Err() != nil {
			break
		}
		time.Sleep(100 * time.Millisecond) // the meta leader may still be electing
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close(); st.Close() })
	select {
	case <-n.Ready():
	case <-time.After(10 * time.Second):
		t.Fatal("node not ready")
	}
	return &testNode{n, st}
}

func testPage(path, body string) *store.Page {
	p := &store.Page{Path: path, Route: "/r", Kind: store.KindPage, Status: 200,
		Headers: []store.Header{{Name: "Content-Type", Value: "text/html"}}, Body: []byte(body),
		ETag: `"` + body + `"`, Generated: time.Now(), Revalidate: time.Minute, Tags: []string{"t"}}
	p.Seal()
	return p
}

// eventually polls cond (the watch is asynchronous across processes).
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	within(t, 30*time.Second, what, cond) // real servers, a loaded machine
}

// within polls cond until it holds, and fails the test once bound has
// passed without it.
func within(t *testing.T, bound time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(bound)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s: %s", bound, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func body(s store.Store, path string) string {
	p, err := s.Get(path)
	if err != nil {
		return ""
	}
	return string(p.Body)
}

func TestCluster(t *testing.T) {
	urls := clustertest.JetStream(t, 3)
	a := openNode(t, urls, "a", "site1")
	b := openNode(t, urls, "b", "site1")
	c := openNode(t, urls, "c", "site1")
	other := openNode(t, urls, "a", "site2")

	t.Run("a page stored on A reaches B and C", func(t *testing.T) {
		if err := a.Store().Put(testPage("/p", "v1"), store.PutOptions{}); err != nil {
			t.Fatal(err)
		}
		for _, n := range []*testNode{b, c} {
			eventually(t, "replica on "+n.name, func() bool { return body(n.st, "/p") == "v1" })
		}
		p, _ := c.st.Get("/p")
		if p.Node != "a" || p.Version != 1 || len(p.Tags) != 1 {
			t.Errorf("replica = node %q version %d tags %v", p.Node, p.Version, p.Tags)
		}
		if body(other.st, "/p") != "" {
			t.Error("another prefix sees site1's page")
		}
	})
	t.Run("a newer page on B replaces it everywhere; WaitAll", func(t *testing.T) {
		cur, _ := b.st.Get("/p")
		if err := b.Store().Put(testPage("/p", "v2"), store.PutOptions{Replaces: cur.Version}); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := b.WaitAll(ctx, []string{"/p"}); err != nil {
			t.Fatal(err)
		}
		for _, n := range []*testNode{a, b, c} {
			if got := body(n.st, "/p"); got != "v2" {
				t.Errorf("%s serves %q after WaitAll, want v2", n.name, got)
			}
		}
	})
	t.Run("large records go through the object store", func(t *testing.T) {
		big := make([]byte, 2<<20)
		for i := range big {
			big[i] = byte('a' + i%26)
		}
		if err := a.Store().Put(testPage("/big", string(big)), store.PutOptions{}); err != nil {
			t.Fatal(err)
		}
		eventually(t, "big replica", func() bool { return body(c.st, "/big") == string(big) })
	})
	t.Run("a build never overwrites a newer record", func(t *testing.T) {
		old := testPage("/p", "build")
		old.Generated = time.Now().Add(-time.Hour)
		if err := c.Store().Put(old, store.PutOptions{Build: true}); err == nil {
			t.Error("build over a newer local page stored")
		}
		// A build node with an empty store: the bucket's record wins.
		fresh := openNode(t, urls, "builder", "site1")
		_ = fresh.st.Delete("/p", false)
		_ = fresh.Store().Put(old, store.PutOptions{Build: true})
		eventually(t, "builder adopts the newer record", func() bool { return body(fresh.st, "/p") == "v2" })
		time.Sleep(50 * time.Millisecond)
		if got := body(a.st, "/p"); got != "v2" {
			t.Errorf("A serves %q after an older build, want v2", got)
		}
	})
	t.Run("one lease per path", func(t *testing.T) {
		var won atomic.Int32
		var wg sync.WaitGroup
		var releases []func()
		var mu sync.Mutex
		for _, n := range []*testNode{a, b, c} {
			for range 10 {
				wg.Go(func() {
					rel, held, err := n.Lease(context.Background(), "/lease")
					if err != nil {
						t.Error(err)
						return
					}
					if !held {
						won.Add(1)
						mu.Lock()
						releases = append(releases, rel)
						mu.Unlock()
					}
				})
			}
		}
		wg.Wait()
		if won.Load() != 1 {
			t.Fatalf("%d leases taken for one path, want 1", won.Load())
		}
		releases[0]()
		// A replica server may answer the create from a view a moment
		// behind the release (direct gets): the lease frees within it.
		eventually(t, "lease free after release", func() bool {
			rel, held, err := b.Lease(context.Background(), "/lease")
			if err != nil || held {
				return false
			}
			rel()
			return true
		})
	})
	t.Run("a new node catches up before it is ready", func(t *testing.T) {
		for i := range 200 {
			if err := a.Store().Put(testPage(fmt.Sprintf("/n/%d", i), "x"), store.PutOptions{}); err != nil {
				t.Fatal(err)
			}
		}
		d := openNode(t, urls, "d", "site1") // returns when ready
		for i := range 200 {
			if body(d.st, fmt.Sprintf("/n/%d", i)) != "x" {
				t.Fatalf("/n/%d missing on a ready new node", i)
			}
		}
		// d's first heartbeat may reach the server a status reads from a
		// moment after d is ready.
		eventually(t, "4 live nodes in d's status", func() bool {
			st, err := d.Status(context.Background())
			return err == nil && len(st.Nodes) >= 4
		})
		cfg := config.DefaultCluster(urls)
		cfg.Prefix, cfg.Replicas = "site1", 3
		st, err := Inspect(context.Background(), cfg) // kiln cluster status
		if err != nil || len(st.Nodes) < 4 || st.Last == 0 {
			t.Errorf("Inspect = %+v, %v; want ≥ 4 live nodes and the bucket's last revision", st, err)
		}
	})
}
