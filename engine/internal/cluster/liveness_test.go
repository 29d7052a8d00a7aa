package cluster

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/kilnhq/kiln/engine/internal/cluster/clustertest"
	"github.com/kilnhq/kiln/engine/internal/config"
	"github.com/kilnhq/kiln/engine/internal/isr"
	"github.com/kilnhq/kiln/engine/internal/store"
)

// stepClock is a clock that moves only when the test sets it. Its timers
// are real ones: the decisions these tests drive read Now alone.
type stepClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *stepClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *stepClock) set(t time.Time) {
	c.mu.Lock()
	c.now = t
	c.mu.Unlock()
}

func (c *stepClock) NewTimer(d time.Duration) isr.Timer { return isr.SystemClock().NewTimer(d) }

var _ isr.Clock = (*stepClock)(nil)

func TestSightingExpiry(t *testing.T) {
	const ttl = 10 * time.Second
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	type look struct {
		rev uint64
		at  time.Duration // after t0
	}
	for _, tt := range []struct {
		name  string
		looks []look // the key read at these times, the last one decides
		want  bool   // expired at the last look
	}{
		{"first seen", []look{{5, 0}}, false},
		{"unchanged, just before the ttl", []look{{5, 0}, {5, ttl - time.Nanosecond}}, false},
		{"unchanged, at the ttl", []look{{5, 0}, {5, ttl}}, true},
		{"unchanged, past the ttl", []look{{5, 0}, {5, ttl + time.Hour}}, true},
		{"seen again unchanged does not renew", []look{{5, 0}, {5, 9 * time.Second}, {5, ttl}}, true},
		{"renewed", []look{{5, 0}, {6, 3 * time.Second}, {6, ttl}}, false},
		{"renewed, then unchanged for the ttl", []look{{5, 0}, {6, 3 * time.Second}, {6, 3*time.Second + ttl}}, true},
		{"first seen late is dated by the sight", []look{{5, 2 * time.Hour}, {5, 2*time.Hour + ttl - 1}}, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := newSightings(ttl)
			var got bool
			for _, l := range tt.looks {
				got = s.see("k", l.rev, t0.Add(l.at))
			}
			if got != tt.want {
				t.Errorf("expired = %v, want %v", got, tt.want)
			}
		})
	}
}

// TestSightingsBounded: leases seen held and then never looked at again
// (a stale request serves the old page and moves on) do not pile up:
// past maxSightings keys, those first seen two TTLs ago are dropped, and
// the recent ones kept, with their count.
func TestSightingsBounded(t *testing.T) {
	const ttl = 10 * time.Second
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	s := newSightings(ttl)
	for i := range 3 * maxSightings {
		s.see(fmt.Sprintf("old/%d", i), 1, t0)
	}
	s.see("recent", 7, t0.Add(ttl+time.Second))
	if got, want := len(s.keys), 3*maxSightings+1; got != want {
		t.Fatalf("before two TTLs: %d keys, want %d (nothing is old enough to drop)", got, want)
	}
	// A sweep runs at most once a TTL; the last one was at "recent".
	if s.see("new", 1, t0.Add(2*ttl+2*time.Second)) {
		t.Fatal("a key first seen now is expired")
	}
	if got, want := len(s.keys), 2; got != want {
		t.Errorf("after the sweep: %d keys, want %d (recent and new)", got, want)
	}
	if got := s.see("recent", 7, t0.Add(2*ttl+2*time.Second)); !got {
		t.Error("the recent key lost its count in the sweep: not expired one TTL after it was first seen")
	}
}

// openClocked opens a node on its own store with the given clock and
// TTLs long enough that the bucket's own expiry (real time) never runs
// during the test: what is decided is decided on the clock.
func openClocked(t *testing.T, urls []string, name, prefix string, clock isr.Clock) *testNode {
	t.Helper()
	st, err := store.Open(t.TempDir(), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	cfg := config.DefaultCluster(urls)
	cfg.Node, cfg.Prefix, cfg.Replicas, cfg.LeaseTTL, cfg.NodeTTL = name, prefix, 3, time.Minute, time.Minute
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	n, err := Open(ctx, Options{Config: cfg, Store: st, Logger: slog.New(slog.DiscardHandler), Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close(); st.Close() })
	<-n.Ready()
	return &testNode{n, st}
}

// TestLivenessOnTheClock: a node whose heartbeat is not rewritten is
// live until NodeTTL after this node first saw it, and a lease whose
// holder stopped renewing it is taken over at LeaseTTL, both on this
// node's clock, whatever the bucket's TTL (a minute here) has not yet
// removed.
func TestLivenessOnTheClock(t *testing.T) {
	urls := clustertest.JetStream(t, 3)
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	clock := &stepClock{now: t0}
	x := openClocked(t, urls, "x", "clocked", clock)
	ctx := context.Background()
	ghost, _ := json.Marshal(NodeStatus{Name: "ghost", Connected: true, Instance: "0123456789abcdef"})
	if _, err := x.nodes.Put(ctx, "ghost", ghost); err != nil {
		t.Fatal(err)
	}
	if _, err := x.leases.Put(ctx, key("/held"), []byte("ghost")); err != nil {
		t.Fatal(err)
	}
	const ttl = time.Minute
	for _, tt := range []struct {
		at        time.Duration // after t0; in order
		wantLive  bool          // ghost among x's live nodes
		wantTaken bool          // x takes the lease of /held
	}{
		{0, true, false},
		{ttl / 2, true, false},
		{ttl - time.Nanosecond, true, false},
		{ttl, false, true},
	} {
		clock.set(t0.Add(tt.at))
		live, err := x.Nodes(ctx)
		if err != nil {
			t.Fatal(err)
		}
		gotLive := false
		for _, s := range live {
			gotLive = gotLive || s.Name == "ghost"
		}
		if gotLive != tt.wantLive {
			t.Errorf("at t0+%s: ghost live = %v, want %v", tt.at, gotLive, tt.wantLive)
		}
		release, held, err := x.Lease(ctx, "/held")
		if err != nil {
			t.Fatal(err)
		}
		if gotTaken := !held; gotTaken != tt.wantTaken {
			t.Errorf("at t0+%s: lease of /held taken = %v, want %v", tt.at, gotTaken, tt.wantTaken)
		}
		if release != nil {
			release()
		}
	}
	// Rewritten, the ghost is live again.
	if _, err := x.nodes.Put(ctx, "ghost", ghost); err != nil {
		t.Fatal(err)
	}
	live, err := x.Nodes(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(live) == 0 || !containsNode(live, "ghost") {
		t.Errorf("a rewritten heartbeat is not live: %+v", live)
	}
}

func containsNode(l []NodeStatus, name string) bool {
	for _, s := range l {
		if s.Name == name {
			return true
		}
	}
	return false
}
