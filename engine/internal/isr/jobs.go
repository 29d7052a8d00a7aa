package isr

import (
	"context"

	"github.com/kilnhq/kiln/engine/internal/datasource"
	"github.com/kilnhq/kiln/engine/internal/render"
)

// RegenerateFor handles one job of data changes pulled from a cluster's
// work queue: it marks the lazy pages stale, regenerates the eager ones
// and returns once every regeneration has landed (stored, and in cluster
// mode published), so that the job is acknowledged only then. It returns
// the number of pages regenerated. Unlike Consume, it neither batches
// across calls nor commits revisions: the queue owns both.
func (e *Engine) RegenerateFor(ctx context.Context, batch []datasource.Change) (int, error) {
	a := affected{eager: map[string]string{}, lazy: map[string]bool{}, revs: map[string]uint64{}}
	for _, ch := range batch {
		e.affect(ch, &a)
	}
	e.applyMu.Lock()
	e.mu.Lock()
	for _, ch := range a.log {
		e.changes.add(ch, len(e.flights))
	}
	e.mu.Unlock()
	e.negative.invalidate(a.log)
	err := e.markStale(a.lazy)
	var fs []*flight
	e.mu.Lock()
	for p, reason := range a.eager {
		if e.closed {
			break
		}
		f := e.flights[p]
		if f == nil {
			f = e.newFlight(p, needNew, reason, render.ModeBackground)
			e.launch(f)
		}
		fs = append(fs, f)
	}
	closed := e.closed
	e.mu.Unlock()
	e.applyMu.Unlock()
	if err != nil {
		return 0, err
	}
	if closed {
		return 0, ErrClosed
	}
	for _, f := range fs {
		// A flight that began before the change follows with the render
		// after it; a failed render is recorded and backs off like any.
		if res := wait(ctx, f, true); res.err != nil && ctx.Err() != nil {
			return 0, ctx.Err()
		}
	}
	e.log.Info("data changed (cluster job)", "changes", len(batch), "regenerate", len(fs), "mark_stale", len(a.lazy))
	return len(fs), nil
}
