package datasource

import (
	"time"
)

// State is a data source's condition, as reported by Health.
type State string

const (
	// StateStarting: the plugin is being started, or restarted after a
	// crash, with fewer than the crash-loop limit of failures so far.
	StateStarting State = "starting"
	// StateUp: the plugin is running and answering.
	StateUp State = "up"
	// StateDegraded: the plugin failed the crash-loop limit of times within
	// the window; it is tried again at the maximum backoff, forever.
	// Renders that need it fail with render.ErrUnavailable meanwhile.
	StateDegraded State = "degraded"
)

// SourceHealth is one data source's state, for /_kiln/healthz and metrics.
type SourceHealth struct {
	Name        string
	State       State
	Since       time.Time // when State began
	LastError   string    // the last crash or failed start; "" if none
	LastErrorAt time.Time
	Restarts    int // start attempts after the first
}

// Health reports every data source's state, in site.hcl order.
func (s *Supervisor) Health() []SourceHealth {
	out := make([]SourceHealth, len(s.all))
	for i, in := range s.all {
		out[i] = in.health()
	}
	return out
}

func (in *instance) health() SourceHealth {
	in.mu.Lock()
	defer in.mu.Unlock()
	h := SourceHealth{Name: in.cfg.Name, State: in.state, Since: in.since, LastErrorAt: in.lastErrAt, Restarts: in.restarts}
	if in.lastErr != nil {
		h.LastError = in.lastErr.Error()
	}
	return h
}

// up marks the source up and logs the change.
func (in *instance) up(c *conn) {
	now := in.sup.clock.Now()
	in.mu.Lock()
	prev, since, restarts := in.state, in.since, in.restarts
	in.conn, in.down, in.caps, in.known = c, nil, c.caps, true
	in.state, in.since, in.suppressed = StateUp, now, 0 // fails stay: a flapping plugin degrades again
	in.mu.Unlock()
	switch prev {
	case StateDegraded:
		in.log.Info("data source recovered", "pid", c.pid, "down_for", now.Sub(since).Round(time.Millisecond), "restarts", restarts)
	case StateStarting:
		if restarts > 0 {
			in.log.Info("data source is up", "pid", c.pid, "restarts", restarts)
		} else {
			in.log.Debug("data source started", "pid", c.pid)
		}
	}
}

// failed records a crash or a failed start: it decides the wait before
// the next start and the new state, and logs what changed. Repeats of the
// same failure are logged at debug level, and a degraded source's are
// summarised every summaryEvery.
func (in *instance) failed(err error) {
	now := in.sup.clock.Now()
	in.mu.Lock()
	prev, prevErr := in.state, in.lastErr
	fails, wait, degraded := in.sup.policy.fail(in.fails, now, in.state == StateDegraded)
	in.fails, in.wait, in.lastErr, in.lastErrAt, in.down = fails, wait, err, now, err
	next := StateStarting
	if degraded {
		next = StateDegraded
	}
	if next != prev {
		in.state, in.since = next, now
	}
	// While degraded every failure is a repeat, whatever its text (which
	// may name a fresh socket or pid each time): one summary a minute.
	summary := in.summarise(now, prev == next && (next == StateDegraded || sameError(prevErr, err)))
	in.mu.Unlock()
	in.logFailure(prev, next, err, wait, summary)
}

// summarise counts a repeated failure and says how many to report now: 0
// while repeats are being held back. Callers hold mu.
func (in *instance) summarise(now time.Time, repeat bool) int {
	if !repeat {
		in.suppressed, in.summaryAt = 0, now
		return -1
	}
	in.suppressed++
	if in.state != StateDegraded || now.Sub(in.summaryAt) < summaryEvery {
		return 0
	}
	n := in.suppressed
	in.suppressed, in.summaryAt = 0, now
	return n
}

func (in *instance) logFailure(prev, next State, err error, wait time.Duration, summary int) {
	switch {
	case prev == StateUp:
		in.log.Warn("data source crashed; restarting", "error", err, "backoff", wait)
	case next == StateDegraded && prev != StateDegraded:
		in.log.Error("data source degraded; pages that need it answer 503 until it is back", "error", err, "retry_every", wait)
	case summary < 0:
		in.log.Warn("data source unavailable; retrying", "state", next, "error", err, "backoff", wait)
	case summary > 0:
		in.log.Warn("data source still degraded", "failed_starts", summary, "error", err, "retry_every", wait)
	default:
		in.log.Debug("data source start failed", "error", err, "backoff", wait)
	}
}

func sameError(a, b error) bool {
	return a != nil && b != nil && a.Error() == b.Error()
}
