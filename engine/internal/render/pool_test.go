package render

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"
)

// fakeClock is the pool's clock in tests: time moves only when a test
// says so.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock { return &fakeClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)} }

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) advance(d time.Duration) time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
	return c.t
}

// loadPool loads the C guest that answers "ok" (instances are cheap to
// create) with a fake clock.
func loadPool(t *testing.T, cfg Config) (*wasmRenderer, *fakeClock) {
	t.Helper()
	clock := newFakeClock()
	cfg.Name, cfg.WasmPath, cfg.now = "pool", buildCGuest(t, "OK"), clock.now
	return load(t, newTestRuntime(t, nil), cfg), clock
}

// take gets n instances from the pool, creating them as needed.
func take(t *testing.T, r *wasmRenderer, n int) []*instance {
	t.Helper()
	insts := make([]*instance, n)
	for i := range insts {
		inst, err := r.pool.get(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		insts[i] = inst
	}
	return insts
}

func checkStats(t *testing.T, r *wasmRenderer, what string, live, idle int) {
	t.Helper()
	if s := r.pool.stats(); s.Live != live || s.Idle != idle {
		t.Errorf("%s: live %d idle %d, want live %d idle %d", what, s.Live, s.Idle, live, idle)
	}
}

// TestPoolOnDemand checks Load starts one instance and the pool creates
// more only when renders need them, up to Pool.
func TestPoolOnDemand(t *testing.T) {
	r, _ := loadPool(t, Config{Pool: 3})
	checkStats(t, r, "after load", 1, 1)
	if got := r.created.Load(); got != 1 {
		t.Errorf("created at load = %d, want 1", got)
	}
	for range 5 { // one at a time: the warm instance serves them all
		if _, err := r.Render(context.Background(), Request{Path: "/"}); err != nil {
			t.Fatal(err)
		}
	}
	checkStats(t, r, "after serial renders", 1, 1)
	insts := take(t, r, 3)
	checkStats(t, r, "three in use", 3, 0)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := r.pool.get(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("get past Pool = %v, want context.Canceled", err)
	}
	if s := r.pool.stats(); s.Live != 3 || s.Creating != 0 || s.Waiting != 0 {
		t.Errorf("past Pool: %+v, want 3 live, none created or waiting", s)
	}
	for _, inst := range insts {
		r.pool.put(inst)
	}
	checkStats(t, r, "given back", 3, 3)
	if got := r.created.Load(); got != 3 {
		t.Errorf("created = %d, want 3", got)
	}
}

// TestPoolIdleRelease gives back three instances at different times and
// checks which ones each reap closes: the oldest first, never the last.
func TestPoolIdleRelease(t *testing.T) {
	r, clock := loadPool(t, Config{Pool: 3, IdleTimeout: 30 * time.Second})
	insts := take(t, r, 3)
	start := clock.now()
	for _, inst := range insts { // idle since start, start+10s, start+20s
		r.pool.put(inst)
		clock.advance(10 * time.Second)
	}
	for _, tt := range []struct {
		at         time.Duration // after start
		closed     int
		live, idle int
	}{
		{29 * time.Second, 0, 3, 3},
		{30 * time.Second, 1, 2, 2},
		{35 * time.Second, 0, 2, 2},
		{time.Hour, 1, 1, 1}, // the warm one stays
		{2 * time.Hour, 0, 1, 1},
	} {
		if got := r.pool.reap(start.Add(tt.at)); got != tt.closed {
			t.Errorf("reap at +%s closed %d, want %d", tt.at, got, tt.closed)
		}
		checkStats(t, r, "at +"+tt.at.String(), tt.live, tt.idle)
	}
	if got := r.pool.idle[0]; got != insts[2] {
		t.Errorf("kept %p, want the most recently used %p", got, insts[2])
	}
}

// TestPoolReuseNewest checks a render takes the most recently used
// instance, so the others age out under light load.
func TestPoolReuseNewest(t *testing.T) {
	r, clock := loadPool(t, Config{Pool: 2, IdleTimeout: time.Minute})
	insts := take(t, r, 2)
	r.pool.put(insts[0])
	r.pool.put(insts[1])
	for range 10 {
		clock.advance(10 * time.Second)
		inst := take(t, r, 1)[0]
		if inst != insts[1] {
			t.Fatal("get did not take the most recently used instance")
		}
		r.pool.put(inst)
	}
	if got := r.pool.reap(clock.now()); got != 1 {
		t.Errorf("reap closed %d, want the one left unused", got)
	}
}

// TestPoolBudget checks no instance is created past the memory budget,
// though the first always is.
func TestPoolBudget(t *testing.T) {
	probe, _ := loadPool(t, Config{Pool: 1})
	size := probe.pool.stats().Memory
	for _, tt := range []struct {
		name   string
		budget uint64
		live   int // instances after asking for four at once
	}{
		{"none", 0, 4},
		{"two and a half", size*5/2 + 1, 2},
		{"three", size * 3, 3},
		{"below one", 1, 1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r, _ := loadPool(t, Config{Pool: 4, MemoryBudget: tt.budget})
			insts := take(t, r, tt.live)
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			_, err := r.pool.get(ctx)
			s := r.pool.stats()
			if tt.live < 4 && (!errors.Is(err, context.Canceled) || s.Live != tt.live || s.Creating != 0) {
				t.Errorf("one more: %v, %+v; want context.Canceled and %d live, none creating", err, s, tt.live)
			}
			if tt.live == 4 && s.Live != 4 {
				t.Errorf("without a budget: %+v, want a fourth instance on its way", s)
			}
			for _, inst := range insts {
				r.pool.put(inst)
			}
			if _, err := r.Render(context.Background(), Request{Path: "/"}); err != nil {
				t.Error(err)
			}
		})
	}
}

// TestPoolBudgetGrowth renders a Go page that keeps 40 MB alive: the
// instance that grew past the budget is closed when it comes back, and
// the render still succeeds.
func TestPoolBudgetGrowth(t *testing.T) {
	rt := newTestRuntime(t, nil)
	wasm := buildGoGuest(t, "testdata/misbehave")
	probe := load(t, rt, Config{Name: "probe", WasmPath: wasm, Pool: 1})
	size := probe.pool.stats().Memory
	r := load(t, rt, Config{Name: "grow", WasmPath: wasm, Pool: 2, MemoryBudget: 2*size + 20<<20, MaxMemory: 256 << 20})
	held := take(t, r, 1)[0] // the render below gets a second instance
	resp, err := r.Render(context.Background(), Request{Path: "/hoard"})
	if err != nil || string(resp.Body) != "hoarded" {
		t.Fatalf("render = %v, %v", resp, err)
	}
	if s := r.pool.stats(); s.Live != 1 || s.Memory != size {
		t.Errorf("after growing past the budget: %+v, want the grown instance closed (1 live, %d bytes)", s, size)
	}
	r.pool.put(held)
	checkStats(t, r, "given back", 1, 1)
}

// TestPoolWaiterGivesUp checks a render that gives up waiting leaves the
// queue, and that an instance handed to it meanwhile is kept, not lost.
func TestPoolWaiterGivesUp(t *testing.T) {
	r, _ := loadPool(t, Config{Pool: 1})
	inst := take(t, r, 1)[0]
	wait := func() chan *instance { // what get does when nothing is idle
		w := make(chan *instance, 1)
		r.pool.mu.Lock()
		r.pool.waiters = append(r.pool.waiters, w)
		r.pool.mu.Unlock()
		return w
	}
	w := wait()
	r.pool.abandon(w) // gave up before anything came back
	if s := r.pool.stats(); s.Waiting != 0 {
		t.Errorf("after giving up: %+v, want no waiter", s)
	}
	w = wait()
	r.pool.put(inst) // handed to the waiter...
	checkStats(t, r, "handed over", 1, 0)
	r.pool.abandon(w) // ...which gave up at the same moment
	checkStats(t, r, "after the waiter left", 1, 1)
}

// TestPoolDiscard checks a broken instance is replaced only when none is
// left or renders wait.
func TestPoolDiscard(t *testing.T) {
	r, _ := loadPool(t, Config{Pool: 2})
	insts := take(t, r, 2)
	// Creations wait for the gate, so the replacement is still on its way
	// when the stats are read.
	gate, create := make(chan struct{}), r.pool.create
	r.pool.create = func(ctx context.Context) (*instance, error) {
		<-gate
		return create(ctx)
	}
	r.pool.discard(insts[0])
	if s := r.pool.stats(); s.Live != 1 || s.Creating != 0 {
		t.Errorf("one discarded, one in use: %+v, want no replacement", s)
	}
	r.pool.discard(insts[1])
	if s := r.pool.stats(); s.Live != 1 || s.Creating != 1 {
		t.Errorf("both discarded: %+v, want one replacement on its way", s)
	}
	close(gate)
	r.pool.put(take(t, r, 1)[0])
	checkStats(t, r, "replaced", 1, 1)
}
