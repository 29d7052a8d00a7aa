package isr

import (
	"sync"
	"time"
)

// failLog rate-limits the log lines of failed renders: a burst of
// failLogBurst lines, then one per failLogEvery, on the engine's clock.
// What it drops is counted and summarised in the next line it lets
// through. Paths are cut to failLogPath bytes. A flood of failing
// made-up URLs then costs a few lines a second, not 2 KB per request.
type failLog struct {
	mu      sync.Mutex
	tokens  float64
	last    time.Time
	dropped int
	since   time.Time // when the first of the dropped was
}

const (
	failLogBurst = 10
	failLogEvery = time.Second
	failLogPath  = 256
)

// allow reports whether a failure may be logged now, and how many were
// dropped since the last one logged.
func (l *failLog) allow(now time.Time) (bool, int) {
	ok, dropped, _ := l.allowSince(now)
	return ok, dropped
}

// allowSince is allow, and when the first of the dropped was.
func (l *failLog) allowSince(now time.Time) (bool, int, time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.last.IsZero() {
		l.tokens = failLogBurst
	} else if d := now.Sub(l.last); d > 0 {
		l.tokens = min(failLogBurst, l.tokens+float64(d)/float64(failLogEvery))
	}
	l.last = now
	if l.tokens < 1 {
		if l.dropped == 0 {
			l.since = now
		}
		l.dropped++
		return false, 0, time.Time{}
	}
	l.tokens--
	dropped := l.dropped
	l.dropped = 0
	return true, dropped, l.since
}

// logFailure logs one failed render, if the rate allows.
func (e *Engine) logFailure(path, reason string, d time.Duration, err error) {
	ok, dropped := e.failLog.allow(e.clock.Now())
	if !ok {
		return
	}
	if len(path) > failLogPath {
		path = path[:failLogPath] + "…"
	}
	attrs := []any{"path", path, "reason", reason, "duration", d, "err", err}
	if dropped > 0 {
		attrs = append(attrs, "not_logged_before", dropped)
	}
	e.log.Error("regeneration failed", attrs...)
}

// logReadOnly logs a regeneration the read-only store refused, on the
// same rate limit as failed renders.
func (e *Engine) logReadOnly(path string) {
	ok, dropped := e.failLog.allow(e.clock.Now())
	if !ok {
		return
	}
	if len(path) > failLogPath {
		path = path[:failLogPath] + "…"
	}
	attrs := []any{"path", path}
	if dropped > 0 {
		attrs = append(attrs, "not_logged_before", dropped)
	}
	e.log.Error("regeneration not stored: the store is read-only (disk full or failing); the stored page is served", attrs...)
}

// logNotFound logs a first render that found nothing (a made-up URL on a
// route that renders on request), on its own rate limit: whoever sends
// the URLs sets their rate. The next line let through after some were
// dropped follows a summary of them.
func (e *Engine) logNotFound(path, reason string, d time.Duration) {
	now := e.clock.Now()
	ok, dropped, since := e.notFoundLog.allowSince(now)
	if !ok {
		return
	}
	if dropped > 0 {
		e.log.Info("not-found first renders not logged", "count", dropped, "in_the_last", now.Sub(since))
	}
	if len(path) > failLogPath {
		path = path[:failLogPath] + "…"
	}
	e.log.Info("regenerated", "path", path, "reason", reason, "duration", d, "outcome", OutcomeNotFound)
}
