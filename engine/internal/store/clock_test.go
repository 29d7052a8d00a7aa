package store

import (
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"
)

// fakeClock moves only when the test advances it; the timers it passes
// fire inside Advance.
type fakeClock struct {
	mu     sync.Mutex
	now    time.Time
	timers map[*fakeTimer]struct{}
}

func newFakeClock() *fakeClock {
	return &fakeClock{now: t0, timers: map[*fakeTimer]struct{}{}}
}

type fakeTimer struct {
	c  *fakeClock
	ch chan time.Time
	at time.Time // while armed
}

func (c *fakeClock) NewTimer(d time.Duration) Timer {
	t := &fakeTimer{c: c, ch: make(chan time.Time, 1)}
	t.Reset(d)
	return t
}

// Advance moves the clock by d, firing the timers due.
func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	for t := range c.timers {
		if !t.at.After(c.now) {
			delete(c.timers, t)
			select {
			case t.ch <- c.now:
			default:
			}
		}
	}
}

// armed reports whether a timer is set to fire d from now.
func (c *fakeClock) armed(d time.Duration) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	for t := range c.timers {
		if t.at.Equal(c.now.Add(d)) {
			return true
		}
	}
	return false
}

func (t *fakeTimer) C() <-chan time.Time { return t.ch }

func (t *fakeTimer) Stop() bool {
	t.c.mu.Lock()
	defer t.c.mu.Unlock()
	_, ok := t.c.timers[t]
	delete(t.c.timers, t)
	return ok
}

func (t *fakeTimer) Reset(d time.Duration) bool {
	t.c.mu.Lock()
	defer t.c.mu.Unlock()
	_, ok := t.c.timers[t]
	t.at = t.c.now.Add(d)
	t.c.timers[t] = struct{}{}
	return ok
}

// waitFor waits until cond holds, failing after a deadline. The clock
// decides when things happen; this only waits for the goroutine that
// acts on it.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// TestProbeRunsOnTheClock: the read-only probe is timed by the store's
// clock: nothing before ProbeEvery has passed on it, a failed probe waits
// another ProbeEvery, and a probe once the disk has room turns writes on.
func TestProbeRunsOnTheClock(t *testing.T) {
	disk := newFullDisk()
	clock := newFakeClock()
	st, err := Open("db", Options{FS: disk, Clock: clock, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	s := st.(*pebbleStore)
	defer s.Close()
	const every = 10 * time.Second // the default
	waitFor(t, "the probe timer is set on the store's clock", func() bool { return clock.armed(every) })
	mustPut(t, s, page("/a", 1))

	disk.full.Store(true)
	// The Put that meets the full disk lands on the freed reserve; the
	// store is read-only after it.
	if err := s.Put(page("/b0", 1), PutOptions{}); err != nil {
		t.Fatalf("the Put that meets the full disk: %v", err)
	}
	if !s.ReadOnly() {
		t.Fatal("the store takes writes after one met a full disk")
	}
	// A probe on a still-full disk (the reserve used up) leaves the
	// store read-only and waits another period.
	disk.room.Store(0)
	clock.Advance(every)
	waitFor(t, "the probe timer is set again", func() bool { return clock.armed(every) })
	if !s.ReadOnly() {
		t.Fatal("a probe on a full disk turned writes on")
	}

	disk.full.Store(false)
	disk.room.Store(0)
	clock.Advance(every - time.Second)
	if !s.ReadOnly() || !clock.armed(time.Second) {
		t.Fatal("the store probed before its period passed on its clock")
	}
	clock.Advance(time.Second)
	waitFor(t, "the probe turns writes on", func() bool { return !s.ReadOnly() })
	mustPut(t, s, page("/b", 1))
	if got, want := s.Stats().Pages, int64(3); got != want {
		t.Fatalf("pages after recovery = %d, want %d", got, want)
	}
}
