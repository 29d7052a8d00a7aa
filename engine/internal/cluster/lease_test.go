package cluster

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kilnhq/kiln/engine/internal/cluster/clustertest"
	"github.com/kilnhq/kiln/engine/internal/isr"
	"github.com/kilnhq/kiln/engine/internal/store"
)

// TestLeaseAfterReleaseSeesTheWinner forces the interleaving behind a
// second render of one stale burst: node x takes the lease right after
// node h released it, while x's watch has counted h's record as seen but
// not stored it yet. The lease must hand x h's record, so that x does not
// render again.
func TestLeaseAfterReleaseSeesTheWinner(t *testing.T) {
	urls := clustertest.JetStream(t, 3)
	h := openNode(t, urls, "h", "lease")
	x := openNode(t, urls, "x", "lease")
	if err := h.Store().Put(testPage("/r", "v1"), store.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "x holds v1", func() bool { return body(x.st, "/r") == "v1" })

	entered, unblock := make(chan struct{}), make(chan struct{})
	var once sync.Once
	hook := func(n *Node, path string) {
		if n != x.Node || path != "/r" {
			return
		}
		once.Do(func() { close(entered) })
		<-unblock
	}
	applyHook.Store(&hook)
	t.Cleanup(func() { applyHook.Store(nil); close(unblock) })

	ctx := context.Background()
	rel, held, err := h.Lease(ctx, "/r")
	if err != nil || held {
		t.Fatalf("h.Lease = held %v, %v; want the lease", held, err)
	}
	cur, _ := h.st.Get("/r")
	if err := h.Store().Put(testPage("/r", "v2"), store.PutOptions{Replaces: cur.Version}); err != nil {
		t.Fatal(err)
	}
	rel()
	select {
	case <-entered: // x's watch has seen v2's revision and is held before storing it
	case <-time.After(10 * time.Second):
		t.Fatal("x's watch never reached v2")
	}
	eventually(t, "x takes the released lease", func() bool {
		rel, held, err := x.Lease(ctx, "/r")
		if err != nil || held {
			return false
		}
		rel()
		return true
	})
	p, err := x.st.Get("/r")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(p.Body), "v2"; got != want {
		t.Errorf("x's page under the lease = %q, want %q (x would render it again)", got, want)
	}
}

// TestDeleteKeepsANewerRecord: node x deletes a path whose bucket record
// another node replaced after x last saw it (x's watch is held back): the
// newer record stays in the bucket, and x applies it.
func TestDeleteKeepsANewerRecord(t *testing.T) {
	urls := clustertest.JetStream(t, 3)
	h := openNode(t, urls, "h", "del")
	x := openNode(t, urls, "x", "del")
	if err := h.Store().Put(testPage("/d", "v1"), store.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "x holds v1", func() bool { return body(x.st, "/d") == "v1" })
	entered, unblock := make(chan struct{}), make(chan struct{})
	var once sync.Once
	hook := func(n *Node, path string) {
		if n == x.Node && path == "/d" {
			once.Do(func() { close(entered) })
			<-unblock
		}
	}
	applyHook.Store(&hook)
	t.Cleanup(func() { applyHook.Store(nil); close(unblock) })
	cur, _ := h.st.Get("/d")
	if err := h.Store().Put(testPage("/d", "v2"), store.PutOptions{Replaces: cur.Version}); err != nil {
		t.Fatal(err)
	}
	select {
	case <-entered: // x's watch has seen v2's revision, and not stored v2
	case <-time.After(10 * time.Second):
		t.Fatal("x's watch never reached v2")
	}
	if err := x.Store().Delete("/d", false); err != nil {
		t.Fatal(err)
	}
	p, _, err := h.fetchLeader(key("/d"))
	if err != nil {
		t.Fatal(err)
	}
	if p == nil || string(p.Body) != "v2" {
		t.Fatalf("bucket record after an older delete = %v, want v2", p)
	}
	if got := body(x.st, "/d"); got != "v2" {
		t.Errorf("x after its delete lost to a newer record serves %q, want v2", got)
	}
}

// TestTiedRendersConverge forces two renders of one version: h's record
// reaches x's watch, which is held between seeing it and storing it,
// while x stores and publishes its own render of the same version over
// it. x must end up serving the record the bucket holds, as h does; it
// used to store h's record late and serve it for good while the bucket
// and every other node held x's.
func TestTiedRendersConverge(t *testing.T) {
	urls := clustertest.JetStream(t, 3)
	h := openNode(t, urls, "h", "tie")
	x := openNode(t, urls, "x", "tie")
	if err := h.Store().Put(testPage("/c", "v1"), store.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "x holds v1", func() bool { return body(x.st, "/c") == "v1" })
	entered, unblock := make(chan struct{}), make(chan struct{})
	var once, done sync.Once
	hook := func(n *Node, path string) {
		if n == x.Node && path == "/c" {
			once.Do(func() { close(entered) })
			<-unblock
		}
	}
	applyHook.Store(&hook)
	release := func() { done.Do(func() { applyHook.Store(nil); close(unblock) }) }
	t.Cleanup(release)

	cur, _ := h.st.Get("/c")
	if err := h.Store().Put(testPage("/c", "h2"), store.PutOptions{Replaces: cur.Version}); err != nil {
		t.Fatal(err)
	}
	select {
	case <-entered: // x's watch has seen h2's revision and not stored it
	case <-time.After(10 * time.Second):
		t.Fatal("x's watch never reached h2")
	}
	cur, _ = x.st.Get("/c")
	if err := x.Store().Put(testPage("/c", "x2"), store.PutOptions{Replaces: cur.Version}); err != nil {
		t.Fatal(err)
	}
	release()
	bucket := func() (string, uint64) {
		p, rev, err := h.fetchLeader(key("/c"))
		if err != nil || p == nil {
			return "", 0
		}
		return string(p.Body), rev
	}
	// Both watches have passed the bucket's last revision of /c (x's held
	// apply included), and both nodes hold what the bucket holds.
	eventually(t, "h, x and the bucket hold one render of /c", func() bool {
		b, rev := bucket()
		return b != "" && x.applied.Load() >= rev && h.applied.Load() >= rev &&
			body(h.st, "/c") == b && body(x.st, "/c") == b
	})
	if b, _ := bucket(); body(x.st, "/c") != b {
		t.Errorf("x serves %q, the bucket holds %q", body(x.st, "/c"), b)
	}
}

// TestLeaseRaceOverAReleasedLease: two nodes ask for a lease that a third
// released, at once, many times. Exactly one gets it and the other is told
// it is held; neither gets an error (a node that got one rendered alone:
// the second render of a stale burst).
func TestLeaseRaceOverAReleasedLease(t *testing.T) {
	urls := clustertest.JetStream(t, 3)
	h := openNode(t, urls, "h", "race")
	x := openNode(t, urls, "x", "race")
	y := openNode(t, urls, "y", "race")
	ctx := context.Background()
	for i := range 40 {
		rel, held, err := h.Lease(ctx, "/l")
		if err != nil || held {
			t.Fatalf("round %d: h.Lease = held %v, %v", i, held, err)
		}
		rel()
		type got struct {
			rel  func()
			held bool
			err  error
		}
		var wg sync.WaitGroup
		start := make(chan struct{})
		res := make([]got, 2)
		for j, n := range []*testNode{x, y} {
			wg.Go(func() {
				<-start
				r, held, err := n.Lease(ctx, "/l")
				res[j] = got{r, held, err}
			})
		}
		close(start)
		wg.Wait()
		taken := 0
		for j, r := range res {
			if r.err != nil {
				t.Fatalf("round %d: node %d: Lease error %v, want taken or held", i, j, r.err)
			}
			if !r.held {
				taken++
				r.rel()
			}
		}
		if taken != 1 {
			t.Fatalf("round %d: %d nodes took the lease, want 1", i, taken)
		}
	}
}

// TestLeaseBackToBack: one node takes and releases one lease many times
// in a row, as back-to-back revalidations of one path do. Every round must
// get the lease: the release's delete may not have applied on the server
// that answers next (or still be in flight on the leader), and this
// node's own released lease is not another node's.
func TestLeaseBackToBack(t *testing.T) {
	urls := clustertest.JetStream(t, 3)
	h := openNode(t, urls, "h", "b2b")
	ctx := context.Background()
	rounds := 2000
	if testing.Short() {
		rounds = 200
	}
	for i := range rounds {
		rel, held, err := h.Lease(ctx, "/b")
		if err != nil || held {
			t.Fatalf("round %d: Lease = held %v, %v; want the lease", i, held, err)
		}
		rel()
	}
	t.Logf("%d rounds, %d taken over from this node's own released lease", rounds, h.stats.LeaseTakeovers.Load())
}

// TestLeaseNotReleased: a lease another node holds is not taken, however
// often it is asked for, and neither is one another flight of this node
// holds; once released, it is.
func TestLeaseNotReleased(t *testing.T) {
	urls := clustertest.JetStream(t, 3)
	h := openNode(t, urls, "h", "held")
	x := openNode(t, urls, "x", "held")
	ctx := context.Background()
	rel, held, err := h.Lease(ctx, "/n")
	if err != nil || held {
		t.Fatalf("h.Lease = held %v, %v; want the lease", held, err)
	}
	for i := range 50 {
		if _, held, err := x.Lease(ctx, "/n"); err != nil || !held {
			t.Fatalf("ask %d: x.Lease of h's lease = held %v, %v; want held", i, held, err)
		}
	}
	if _, held, err := h.Lease(ctx, "/n"); err != nil || !held {
		t.Fatalf("h.Lease while a flight of h holds it = held %v, %v; want held", held, err)
	}
	if got := h.stats.LeaseTakeovers.Load() + x.stats.LeaseTakeovers.Load(); got != 0 {
		t.Errorf("takeovers = %d, want 0", got)
	}
	rel()
	rel, held, err = x.Lease(ctx, "/n")
	if err != nil || held {
		t.Fatalf("x.Lease once h released = held %v, %v; want the lease", held, err)
	}
	rel()
}

// TestLeaseLeftOver: a lease whose holder died is taken once its TTL has
// run out, and one this node's previous run left is taken over at once.
func TestLeaseLeftOver(t *testing.T) {
	urls := clustertest.JetStream(t, 3)
	x := openNode(t, urls, "x", "left")
	ctx := context.Background()
	if _, err := x.leases.Put(ctx, key("/dead"), []byte("gone")); err != nil {
		t.Fatal(err)
	}
	if _, held, err := x.Lease(ctx, "/dead"); err != nil || !held {
		t.Fatalf("x.Lease of a dead node's live lease = held %v, %v; want held", held, err)
	}
	// The server expires it after LeaseTTL: poll the real server.
	eventually(t, "x takes the expired lease", func() bool {
		rel, held, err := x.Lease(ctx, "/dead")
		if err != nil || held {
			return false
		}
		rel()
		return true
	})
	if _, err := x.leases.Put(ctx, key("/mine"), []byte("x")); err != nil {
		t.Fatal(err)
	}
	rel, held, err := x.Lease(ctx, "/mine")
	if err != nil || held {
		t.Fatalf("x.Lease of its previous run's lease = held %v, %v; want it taken over", held, err)
	}
	rel()
	if got := x.stats.LeaseTakeovers.Load(); got != 1 {
		t.Errorf("takeovers = %d, want 1", got)
	}
}

// TestAwaitSeesTheRelease: a node waiting for the holder's page learns as
// soon as the holder releases the lease without one (Await would
// otherwise wait out the lease TTL and end with context.DeadlineExceeded),
// and gets the page when there is one.
func TestAwaitSeesTheRelease(t *testing.T) {
	urls := clustertest.JetStream(t, 3)
	h := openNode(t, urls, "h", "await")
	x := openNode(t, urls, "x", "await")
	ctx := context.Background()
	// await has h take the lease and x, finding it held, wait for h's page.
	await := func() (release func(), done <-chan error) {
		rel, held, err := h.Lease(ctx, "/w")
		if err != nil || held {
			t.Fatalf("h.Lease = held %v, %v; want the lease", held, err)
		}
		if _, held, err := x.Lease(ctx, "/w"); err != nil || !held {
			t.Fatalf("x.Lease = held %v, %v; want held", held, err)
		}
		var after uint64
		if cur, err := x.st.Get("/w"); err == nil {
			after = cur.Version
		}
		ch := make(chan error, 1)
		go func() {
			p, err := x.Await(ctx, "/w", after)
			if err == nil && p.Version <= after {
				err = fmt.Errorf("version %d, want above %d", p.Version, after)
			}
			ch <- err
		}()
		return rel, ch
	}

	rel, done := await()
	rel() // h rendered nothing
	if err := <-done; !errors.Is(err, isr.ErrLeaseReleased) {
		t.Fatalf("Await after a release without a page = %v, want ErrLeaseReleased", err)
	}

	rel, done = await()
	if err := h.Store().Put(testPage("/w", "v1"), store.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	rel()
	if err := <-done; err != nil {
		t.Fatalf("Await after the holder stored a page = %v, want the page", err)
	}
	if got := body(x.st, "/w"); got != "v1" {
		t.Errorf("x holds %q, want v1", got)
	}
}

// TestLeaseHammer: goroutines on three nodes take and release the leases
// of a few paths as fast as they can. A path never has two holders at
// once (a counter per path, raised while held), and nobody gets an error.
func TestLeaseHammer(t *testing.T) {
	urls := clustertest.JetStream(t, 3)
	var nodes []*testNode
	for _, name := range []string{"h", "x", "y"} {
		nodes = append(nodes, openNode(t, urls, name, "hammer"))
	}
	paths := []string{"/a", "/b", "/c"}
	holders := make([]atomic.Int32, len(paths))
	var taken atomic.Int64
	rounds := 60
	if testing.Short() {
		rounds = 15
	}
	ctx := context.Background()
	var wg sync.WaitGroup
	for _, n := range nodes {
		for g := range 4 {
			wg.Go(func() {
				for i := range rounds {
					j := (g + i) % len(paths)
					rel, held, err := n.Lease(ctx, paths[j])
					if err != nil {
						t.Errorf("%s: Lease %s: %v", n.name, paths[j], err)
						return
					}
					if held {
						continue
					}
					if c := holders[j].Add(1); c != 1 {
						t.Errorf("%s took %s while %d others held it", n.name, paths[j], c-1)
					}
					taken.Add(1)
					runtime.Gosched()
					holders[j].Add(-1)
					rel()
				}
			})
		}
	}
	wg.Wait()
	if taken.Load() == 0 {
		t.Error("no lease was ever taken")
	}
	var takeovers uint64
	for _, n := range nodes {
		takeovers += n.stats.LeaseTakeovers.Load()
	}
	t.Logf("%d leases taken, %d of them taken over", taken.Load(), takeovers)
}
