package isr

import (
	"time"

	"github.com/kilnhq/kiln/engine/internal/store"
)

// Clock is the engine's one source of time: freshness, ages, backoffs,
// batching windows and retries are all decided on it.
type Clock interface {
	Now() time.Time
	// NewTimer starts a timer that fires once, after d.
	NewTimer(d time.Duration) Timer
}

// Timer is a Clock's one-shot timer. It is the store's Timer, so that a
// Clock is also the store's clock (its read-only probe runs on it).
type Timer = store.Timer

// SystemClock is the real clock (the time package).
func SystemClock() Clock { return systemClock{} }

type systemClock struct{}

func (systemClock) Now() time.Time { return time.Now() }

func (systemClock) NewTimer(d time.Duration) Timer { return systemTimer{time.NewTimer(d)} }

type systemTimer struct{ t *time.Timer }

func (t systemTimer) C() <-chan time.Time        { return t.t.C }
func (t systemTimer) Stop() bool                 { return t.t.Stop() }
func (t systemTimer) Reset(d time.Duration) bool { return t.t.Reset(d) }

// Defaults for values site.hcl leaves out.
const (
	defaultRetryBackoff = 10 * time.Second
	defaultNegativeTTL  = time.Minute
	maxRetryBackoff     = 10 * time.Minute
)

var _ store.Clock = Clock(nil)
