package render

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// pool holds one renderer's instances and creates them on demand.
//
// Load creates one instance, which proves the module starts and stays
// warm. A render takes the most recently used idle instance; when there is
// none, the pool starts creating one in the background, if it may (fewer
// than max instances, and room in the memory budget), and the render takes
// whichever comes first: the new instance or one given back. Instances idle
// for idleTimeout are closed, oldest first, down to the warm one. A broken
// instance is closed, and replaced in the background only when renders wait
// or none is left.
//
// Every decision is taken under mu from the pool's state and now, so tests
// drive it with a fake clock and without sleeping.
type pool struct {
	max         int
	budget      uint64 // linear memory of all instances together; 0: unbounded
	idleTimeout time.Duration
	now         func() time.Time
	create      func(context.Context) (*instance, error)
	logger      *slog.Logger

	done   chan struct{} // closed by close
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu       sync.Mutex
	idle     []*instance      // most recently used last
	waiters  []chan *instance // renders waiting, first come first served
	live     int              // instances in use, idle or being created
	creating int
	mem      uint64 // memory of the live instances; a creation counts its estimate
	peak     uint64 // the most memory an instance has held: a new one's estimate
	closed   bool
}

// keepWarm is how many instances idleness never closes: a render after a
// quiet period pays no instantiation (a Go module's takes tens of ms).
const keepWarm = 1

func newPool(cfg *Config, create func(context.Context) (*instance, error)) *pool {
	ctx, cancel := context.WithCancel(context.Background())
	now := cfg.now
	if now == nil {
		now = time.Now
	}
	return &pool{max: cfg.Pool, budget: cfg.MemoryBudget, idleTimeout: cfg.IdleTimeout, now: now,
		create: create, logger: cfg.Logger, done: make(chan struct{}), ctx: ctx, cancel: cancel}
}

// start creates the warm instance and starts the loop that closes idle
// ones.
func (p *pool) start(ctx context.Context) error {
	inst, err := p.create(ctx)
	if err != nil {
		return err
	}
	p.mu.Lock()
	p.live++
	p.account(inst)
	toClose := p.release(inst)
	p.mu.Unlock()
	closeAll(toClose)
	p.wg.Add(1)
	go p.reapLoop()
	return nil
}

// get returns an idle instance, or waits for one.
func (p *pool) get(ctx context.Context) (*instance, error) {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil, ErrClosed
	}
	if n := len(p.idle); n > 0 {
		inst := p.idle[n-1]
		p.idle = p.idle[:n-1]
		p.mu.Unlock()
		return inst, nil
	}
	w := make(chan *instance, 1)
	p.waiters = append(p.waiters, w)
	p.grow()
	p.mu.Unlock()
	select {
	case inst := <-w:
		return inst, nil
	case <-p.done:
		p.abandon(w)
		return nil, ErrClosed
	case <-ctx.Done():
		p.abandon(w)
		return nil, ctx.Err()
	}
}

// abandon takes a waiter that gave up out of the queue, giving back the
// instance it was handed meanwhile, if any.
func (p *pool) abandon(w chan *instance) {
	p.mu.Lock()
	for i, v := range p.waiters {
		if v == w {
			p.waiters = append(p.waiters[:i], p.waiters[i+1:]...)
			p.mu.Unlock()
			return
		}
	}
	p.mu.Unlock()
	p.put(<-w) // it was handed one: the send happened under mu
}

// put gives back a healthy instance. Past the memory budget, the oldest
// idle instances are closed, then this one.
func (p *pool) put(inst *instance) {
	p.mu.Lock()
	var toClose []*instance
	switch {
	case p.closed:
		toClose = p.drop(inst)
	default:
		p.mem -= inst.mem
		p.account(inst)
		toClose = p.release(inst)
	}
	p.mu.Unlock()
	closeAll(toClose)
}

// discard closes a broken instance; a replacement starts when renders
// wait or no instance is left.
func (p *pool) discard(inst *instance) {
	p.mu.Lock()
	toClose := p.drop(inst)
	if !p.closed {
		p.grow()
	}
	p.mu.Unlock()
	closeAll(toClose)
}

// account records inst's memory as it is now.
func (p *pool) account(inst *instance) {
	inst.mem = inst.memory()
	p.mem += inst.mem
	p.peak = max(p.peak, inst.mem)
}

// release brings the pool back within its budget, closing the oldest idle
// instances first and inst itself if that is not enough; else it hands
// inst to the first waiter or makes it idle. It returns the instances to
// close.
func (p *pool) release(inst *instance) []*instance {
	toClose := p.trim()
	if p.overBudget() && p.live > keepWarm {
		return append(toClose, p.drop(inst)...)
	}
	if len(p.waiters) > 0 {
		w := p.waiters[0]
		p.waiters = p.waiters[1:]
		w <- inst
		return toClose
	}
	inst.idleSince = p.now()
	p.idle = append(p.idle, inst)
	return toClose
}

func (p *pool) overBudget() bool { return p.budget > 0 && p.mem > p.budget }

// trim closes the oldest idle instances while the pool is over budget.
func (p *pool) trim() []*instance {
	var out []*instance
	for p.overBudget() && p.live > keepWarm && len(p.idle) > 0 {
		out = append(out, p.drop(p.idle[0])...)
		p.idle = p.idle[1:]
	}
	return out
}

// drop forgets a live instance and returns it to close.
func (p *pool) drop(inst *instance) []*instance {
	p.live--
	p.mem -= inst.mem
	return []*instance{inst}
}

// grow starts the creations the waiters need, within max and the budget,
// and one when no instance is left.
func (p *pool) grow() {
	need := len(p.waiters) - p.creating
	if p.live < keepWarm {
		need = max(need, keepWarm-p.live)
	}
	for ; need > 0 && p.live < p.max && p.fits(); need-- {
		p.live++
		p.creating++
		p.mem += p.peak
		p.wg.Add(1)
		go p.spawn(p.peak)
	}
}

// fits says whether one more instance, as large as the largest so far,
// stays within the budget. The first always fits.
func (p *pool) fits() bool {
	return p.live == 0 || p.budget == 0 || p.mem+p.peak <= p.budget
}

// spawn creates an instance counted as est bytes until it exists,
// retrying with backoff until it succeeds or the pool closes.
func (p *pool) spawn(est uint64) {
	defer p.wg.Done()
	inst := p.createRetrying()
	p.mu.Lock()
	p.creating--
	p.mem -= est
	var toClose []*instance
	switch {
	case inst == nil:
		p.live--
	case p.closed:
		p.live--
		toClose = []*instance{inst}
	default:
		p.account(inst)
		toClose = p.release(inst)
	}
	p.mu.Unlock()
	closeAll(toClose)
}

func (p *pool) createRetrying() *instance {
	for delay := 10 * time.Millisecond; ; delay = min(2*delay, 5*time.Second) {
		inst, err := p.create(p.ctx)
		if err == nil {
			return inst
		}
		p.logger.Error("create renderer instance", "err", err)
		select {
		case <-p.ctx.Done():
			return nil
		case <-time.After(delay):
		}
	}
}

// reap closes the instances idle since idleTimeout before now, oldest
// first, keeping the warm one. It returns how many it closed.
func (p *pool) reap(now time.Time) int {
	p.mu.Lock()
	var toClose []*instance
	for len(p.idle) > 0 && p.live > keepWarm && !now.Before(p.idle[0].idleSince.Add(p.idleTimeout)) {
		toClose = append(toClose, p.drop(p.idle[0])...)
		p.idle = p.idle[1:]
	}
	p.mu.Unlock()
	closeAll(toClose)
	return len(toClose)
}

// reapLoop calls reap four times per idle timeout until the pool closes.
func (p *pool) reapLoop() {
	defer p.wg.Done()
	t := time.NewTicker(max(p.idleTimeout/4, time.Millisecond))
	defer t.Stop()
	for {
		select {
		case <-p.ctx.Done():
			return
		case <-t.C:
			p.reap(p.now())
		}
	}
}

// poolStats is a snapshot of a pool, for tests and metrics.
type poolStats struct {
	Live, Idle, Creating, Waiting int
	Memory                        uint64
}

func (p *pool) stats() poolStats {
	p.mu.Lock()
	defer p.mu.Unlock()
	return poolStats{Live: p.live, Idle: len(p.idle), Creating: p.creating, Waiting: len(p.waiters), Memory: p.mem}
}

// close stops creations and closes the idle instances; instances in use
// are closed when they come back.
func (p *pool) close() {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return
	}
	p.closed = true
	close(p.done)
	var toClose []*instance
	for _, inst := range p.idle {
		toClose = append(toClose, p.drop(inst)...)
	}
	p.idle = nil
	p.mu.Unlock()
	p.cancel()
	p.wg.Wait()
	closeAll(toClose)
}

func closeAll(insts []*instance) {
	for _, inst := range insts {
		inst.close()
	}
}
