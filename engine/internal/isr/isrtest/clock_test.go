package isrtest

import (
	"testing"
	"time"
)

// TestAdvanceFiresTimers checks that a timer the clock jumps past fires
// at once, and one it does not reach does not.
func TestAdvanceFiresTimers(t *testing.T) {
	c := NewClock()
	start := c.Now()
	near, far := c.NewTimer(time.Hour), c.NewTimer(3*time.Hour)
	c.Advance(2 * time.Hour)
	select {
	case <-near.C():
	case <-time.After(10 * time.Second):
		t.Fatal("a timer the clock jumped past did not fire")
	}
	select {
	case <-far.C():
		t.Fatal("a timer the clock did not reach fired")
	default:
	}
	if d := c.Now().Sub(start); d < 2*time.Hour {
		t.Errorf("clock moved %s, want at least 2h", d)
	}
	if !far.Stop() {
		t.Error("Stop of a pending timer = false")
	}
}
