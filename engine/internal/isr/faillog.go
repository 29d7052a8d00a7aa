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
}

const (
	failLogBurst = 10
	failLogEvery = time.Second
	failLogPath  = 256
)

// allow reports whether a failure may be logged now, and how many were
// dropped since the last one logged.
func (l *failLog) allow(now time.Time) (bool, int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.last.IsZero() {
		l.tokens = failLogBurst
	} else if d := now.Sub(l.last); d > 0 {
		l.tokens = min(failLogBurst, l.tokens+float64(d)/float64(failLogEvery))
	}
	l.last = now
	if l.tokens < 1 {
		l.dropped++
		return false, 0
	}
	l.tokens--
	dropped := l.dropped
	l.dropped = 0
	return true, dropped
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
