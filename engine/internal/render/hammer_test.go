package render

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestPoolHammer renders from many goroutines at once, mixing healthy
// renders with ones that break their instance, and checks every answer.
// Run it with -race.
func TestPoolHammer(t *testing.T) {
	if testing.Short() {
		t.Skip("hammer test")
	}
	rt := newTestRuntime(t, nil)
	r := load(t, rt, Config{Name: "hammer", WasmPath: buildGoGuest(t, "testdata/misbehave"), Pool: 3,
		Timeout: 100 * time.Millisecond})
	paths := []struct{ path, want string }{
		{"/ok", ""}, {"/ok", ""}, {"/ok", ""}, {"/panic", "panic: boom"}, {"/exit", "exited with code 3"},
		{"/ok", ""}, {"/crlf", "bad value"}, {"/loop", "render: timeout"},
	}
	const goroutines, iterations = 8, 12
	var wg sync.WaitGroup
	errs := make(chan error, goroutines*iterations)
	for g := range goroutines {
		wg.Go(func() {
			for i := range iterations {
				p := paths[(g+i)%len(paths)]
				resp, err := r.Render(context.Background(), Request{Path: p.path})
				if err := checkHammer(p.path, p.want, resp, err); err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if _, err := r.Render(context.Background(), Request{Path: "/ok"}); err != nil {
		t.Errorf("render after hammer: %v", err)
	}
}

func checkHammer(path, want string, resp *Response, err error) error {
	switch {
	case want == "" && (err != nil || string(resp.Body) != "ok"):
		return fmt.Errorf("%s = %v, %v; want ok", path, resp, err)
	case want != "" && (err == nil || !strings.Contains(err.Error(), want)):
		return fmt.Errorf("%s err = %v, want %q", path, err, want)
	}
	return nil
}

// TestCloseWhileRendering closes a renderer under load: every render
// either succeeds or fails with ErrClosed, and nothing hangs.
func TestCloseWhileRendering(t *testing.T) {
	rt := newTestRuntime(t, nil)
	r := load(t, rt, Config{Name: "closing", WasmPath: buildGoGuest(t, "testdata/misbehave"), Pool: 2})
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 20 {
				_, err := r.Render(context.Background(), Request{Path: "/exit"})
				if errors.Is(err, ErrClosed) {
					return
				}
			}
		})
	}
	time.Sleep(10 * time.Millisecond)
	if err := r.Close(context.Background()); err != nil {
		t.Error(err)
	}
	wg.Wait()
}

// TestPoolHammerReap renders from many goroutines while another reaps
// idle instances on a clock racing ahead and others break instances, in a
// pool bounded by its budget. Run it with -race.
func TestPoolHammerReap(t *testing.T) {
	probe, _ := loadPool(t, Config{Pool: 1})
	size := probe.pool.stats().Memory
	r, clock := loadPool(t, Config{Pool: 4, MemoryBudget: 3 * size, IdleTimeout: time.Second})
	stop := make(chan struct{})
	var reaper sync.WaitGroup
	reaper.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
				r.pool.reap(clock.advance(300 * time.Millisecond))
				runtime.Gosched()
			}
		}
	})
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 40 {
				if (g+i)%7 == 0 { // a render that breaks its instance
					if inst, err := r.pool.get(context.Background()); err != nil {
						t.Error(err)
					} else {
						r.pool.discard(inst)
					}
					continue
				}
				if resp, err := r.Render(context.Background(), Request{Path: "/"}); err != nil || string(resp.Body) != "ok" {
					t.Errorf("render = %v, %v", resp, err)
				}
			}
		})
	}
	wg.Wait()
	close(stop)
	reaper.Wait()
	r.pool.put(take(t, r, 1)[0]) // waits for a replacement still on its way
	r.pool.mu.Lock()
	defer r.pool.mu.Unlock()
	p := r.pool
	if p.live != len(p.idle)+p.creating || p.live > p.max || p.live < 1 || len(p.waiters) != 0 {
		t.Errorf("live %d, idle %d, creating %d, waiting %d: want live = idle + creating, 1..%d", p.live, len(p.idle), p.creating, len(p.waiters), p.max)
	}
	if p.mem > p.budget {
		t.Errorf("memory %d over the budget %d", p.mem, p.budget)
	}
}
