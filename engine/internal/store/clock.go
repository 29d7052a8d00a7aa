package store

import "time"

// Clock times the store's own decisions: when a read-only store probes
// the disk again. The engine passes its clock (isr.Clock satisfies this
// one), so tests move the probe by advancing that clock, not by sleeping.
type Clock interface {
	NewTimer(d time.Duration) Timer
}

// Timer is a Clock's one-shot timer.
type Timer interface {
	C() <-chan time.Time
	Stop() bool
	Reset(d time.Duration) bool
}

// systemClock is the real clock (the time package).
type systemClock struct{}

func (systemClock) NewTimer(d time.Duration) Timer { return systemTimer{time.NewTimer(d)} }

type systemTimer struct{ t *time.Timer }

func (t systemTimer) C() <-chan time.Time        { return t.t.C }
func (t systemTimer) Stop() bool                 { return t.t.Stop() }
func (t systemTimer) Reset(d time.Duration) bool { return t.t.Reset(d) }
