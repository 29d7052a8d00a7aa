package isr

import (
	"container/list"
	"sync"
	"time"
)

// failures remembers the paths whose last render failed, and until when
// they back off: the wait doubles from retry_backoff with each failure in
// a row, up to maxRetryBackoff. While a path backs off, a stale page is
// served without starting a render, an expired page is served stale, and
// a first render is refused at once (with Retry-After) instead of making
// every visitor wait for the renderer to fail again. The set is bounded:
// past maxFailures paths the oldest is forgotten (it may render again
// sooner, no more).
type failures struct {
	mu      sync.Mutex
	base    time.Duration
	entries map[string]*list.Element
	order   list.List // of *failure, most recent first
}

type failure struct {
	path  string
	n     int // failures in a row
	until time.Time
	err   error
}

const maxFailures = 10_000

func (f *failures) init(base time.Duration) {
	f.base, f.entries = base, map[string]*list.Element{}
}

// add records a failure and returns how many in a row, and the backoff.
func (f *failures) add(path string, err error, now time.Time) (int, time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fl := &failure{path: path}
	if el := f.entries[path]; el != nil {
		fl = f.order.Remove(el).(*failure)
	}
	fl.n++
	fl.err = err
	backoff := f.base
	for i := 1; i < fl.n && backoff < maxRetryBackoff; i++ {
		backoff *= 2
	}
	backoff = min(backoff, maxRetryBackoff)
	fl.until = now.Add(backoff)
	f.entries[path] = f.order.PushFront(fl)
	for f.order.Len() > maxFailures {
		old := f.order.Remove(f.order.Back()).(*failure)
		delete(f.entries, old.path)
	}
	return fl.n, backoff
}

// backingOff reports whether path backs off at now. It does not allocate.
func (f *failures) backingOff(path string, now time.Time) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	el := f.entries[path]
	return el != nil && now.Before(el.Value.(*failure).until)
}

// refusal is the error for a render refused during a backoff, or nil.
func (f *failures) refusal(path string, now time.Time) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	el := f.entries[path]
	if el == nil {
		return nil
	}
	fl := el.Value.(*failure)
	if !now.Before(fl.until) {
		return nil
	}
	return &backoffError{until: fl.until, err: fl.err}
}

// retryAt returns when path may render again, if it backs off.
func (f *failures) retryAt(path string, now time.Time) (time.Time, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if el := f.entries[path]; el != nil && now.Before(el.Value.(*failure).until) {
		return el.Value.(*failure).until, true
	}
	return time.Time{}, false
}

// clear forgets path's failures after a success.
func (f *failures) clear(path string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if el := f.entries[path]; el != nil {
		f.order.Remove(el)
		delete(f.entries, path)
	}
}
