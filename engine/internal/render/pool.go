package render

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// pool keeps a fixed number of initialized instances. A render takes one,
// and gives it back healthy or broken; a broken one is closed and a new one
// is started in the background, so a bad render costs one instantiation,
// never a render's latency.
type pool struct {
	size   int
	create func(context.Context) (*instance, error)
	logger *slog.Logger

	idle   chan *instance
	done   chan struct{} // closed by close
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu     sync.Mutex
	closed bool
}

func newPool(size int, create func(context.Context) (*instance, error), logger *slog.Logger) *pool {
	ctx, cancel := context.WithCancel(context.Background())
	return &pool{size: size, create: create, logger: logger, idle: make(chan *instance, size),
		done: make(chan struct{}), ctx: ctx, cancel: cancel}
}

// fill creates the first instance, which proves the module starts, and
// the rest in the background, so start-up waits for one instantiation per
// renderer, not pool-size many.
func (p *pool) fill(ctx context.Context) error {
	inst, err := p.create(ctx)
	if err != nil {
		return err
	}
	p.put(inst)
	p.mu.Lock()
	defer p.mu.Unlock()
	for range p.size - 1 {
		p.wg.Add(1)
		go p.replace()
	}
	return nil
}

// get waits for an idle instance.
func (p *pool) get(ctx context.Context) (*instance, error) {
	select {
	case inst := <-p.idle:
		return inst, nil
	case <-p.done:
		return nil, ErrClosed
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// put returns a healthy instance.
func (p *pool) put(inst *instance) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		inst.close()
		return
	}
	p.idle <- inst // never blocks: at most size instances exist
}

// discard closes a broken instance and starts its replacement.
func (p *pool) discard(inst *instance) {
	inst.close()
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return
	}
	p.wg.Add(1)
	go p.replace()
}

// replace creates an instance, retrying with backoff until it succeeds or
// the pool closes.
func (p *pool) replace() {
	defer p.wg.Done()
	for delay := 10 * time.Millisecond; ; delay = min(2*delay, 5*time.Second) {
		inst, err := p.create(p.ctx)
		if err == nil {
			p.put(inst)
			return
		}
		p.logger.Error("replace renderer instance", "err", err)
		select {
		case <-p.ctx.Done():
			return
		case <-time.After(delay):
		}
	}
}

// close stops replacements and closes the idle instances; instances in
// use are closed when they come back.
func (p *pool) close() {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return
	}
	p.closed = true
	close(p.done)
	p.mu.Unlock()
	p.cancel()
	p.wg.Wait()
	for {
		select {
		case inst := <-p.idle:
			inst.close()
		default:
			return
		}
	}
}
