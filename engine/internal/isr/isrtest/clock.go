// Package isrtest has what tests of the engine from outside need: a
// clock they can move forward.
package isrtest

import (
	"sync"
	"time"

	"github.com/kilnhq/kiln/engine/internal/isr"
)

// Clock is the real clock plus an offset that Advance moves forward, for
// tests that run real processes and sockets (where synctest's bubble
// cannot) but must not sleep to make pages go stale. Timers run on real
// time, and Advance fires the ones it skips over at once.
type Clock struct {
	mu     sync.Mutex
	offset time.Duration
	timers map[*timer]struct{}
}

var _ isr.Clock = (*Clock)(nil)

// NewClock returns a clock at the real time.
func NewClock() *Clock { return &Clock{timers: map[*timer]struct{}{}} }

// Now is the real time plus the offset.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.offset)
}

// Advance moves the clock forward by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.offset += d
	now := time.Now().Add(c.offset)
	var due []*timer
	for t := range c.timers {
		due = append(due, t)
	}
	c.mu.Unlock()
	for _, t := range due {
		t.resetAt(now)
	}
}

// NewTimer starts a timer that fires once d has passed on this clock.
func (c *Clock) NewTimer(d time.Duration) isr.Timer {
	t := &timer{c: c, ch: make(chan time.Time, 1)}
	t.Reset(d)
	return t
}

type timer struct {
	c        *Clock
	ch       chan time.Time
	mu       sync.Mutex
	deadline time.Time // on the clock
	real     *time.Timer
}

func (t *timer) C() <-chan time.Time { return t.ch }

// Reset schedules the timer d from now on the clock.
func (t *timer) Reset(d time.Duration) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	active := t.stopLocked()
	t.deadline = t.c.Now().Add(d)
	t.c.mu.Lock()
	t.c.timers[t] = struct{}{}
	t.c.mu.Unlock()
	t.real = time.AfterFunc(d, t.fire)
	return active
}

// resetAt reschedules a pending timer after the clock jumped to now.
func (t *timer) resetAt(now time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.real == nil || !t.real.Stop() {
		return
	}
	t.real = time.AfterFunc(max(t.deadline.Sub(now), 0), t.fire)
}

func (t *timer) fire() {
	t.c.mu.Lock()
	delete(t.c.timers, t)
	t.c.mu.Unlock()
	select {
	case t.ch <- t.c.Now():
	default:
	}
}

func (t *timer) Stop() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.stopLocked()
}

func (t *timer) stopLocked() bool {
	t.c.mu.Lock()
	delete(t.c.timers, t)
	t.c.mu.Unlock()
	if t.real == nil {
		return false
	}
	return t.real.Stop()
}
