package datasource

import "time"

// Restart policy defaults.
const (
	backoffMin  = 100 * time.Millisecond
	backoffMax  = 5 * time.Second
	crashWindow = time.Minute
	crashLimit  = 5 // failures within crashWindow that make a source degraded
	// summaryEvery is how often a degraded source's repeated failures are
	// summarised in the log.
	summaryEvery = time.Minute
)

// policy decides when a source that went down is started again. Crashes and
// failed starts count alike. The wait doubles from Min up to Max; after
// Limit failures within Window the source is degraded, and is tried every
// Max from then on, forever, until it comes up.
type policy struct {
	Min, Max, Window time.Duration
	Limit            int
}

var defaultPolicy = policy{Min: backoffMin, Max: backoffMax, Window: crashWindow, Limit: crashLimit}

// fail records a failure at now in recent (the failures so far, oldest
// first) and returns the failures still within the window, how long to
// wait before the next start, and whether the source is degraded.
// degraded is sticky: a degraded source stays degraded until it is up.
func (p policy) fail(recent []time.Time, now time.Time, degraded bool) ([]time.Time, time.Duration, bool) {
	kept := recent[:0]
	for _, t := range recent {
		if now.Sub(t) < p.Window {
			kept = append(kept, t)
		}
	}
	kept = append(kept, now)
	if degraded || len(kept) >= p.Limit {
		return kept, p.Max, true
	}
	return kept, min(p.Min<<(len(kept)-1), p.Max), false
}

// clock is the time the supervisor decides on; tests inject a fake one.
type clock interface {
	Now() time.Time
	After(d time.Duration) <-chan time.Time
}

type realClock struct{}

func (realClock) Now() time.Time                         { return time.Now() }
func (realClock) After(d time.Duration) <-chan time.Time { return time.After(d) }
