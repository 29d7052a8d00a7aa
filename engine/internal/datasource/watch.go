package datasource

import (
	"context"
	"fmt"

	"github.com/kilnhq/kiln/sdk/plugin"
)

// startWatch starts streaming the plugin's changes to the engine, resuming
// after the last committed revision. Without one, it waits (within ctx)
// for the plugin's bookmark, so that "now" is fixed before the source is
// up and no change made after start-up is missed.
func (in *instance) startWatch(ctx context.Context, c *conn) error {
	if !c.caps.Watch {
		return nil
	}
	from := in.resumeFrom()
	ready := make(chan struct{})
	wctx, cancel := context.WithCancel(in.sup.ctx)
	c.stopWatch, c.watchErr = cancel, make(chan error, 1)
	go func() { c.watchErr <- in.watch(wctx, c, from, ready) }()
	if from != 0 {
		return nil
	}
	select {
	case <-ready:
		return nil
	case err := <-c.watchErr:
		return fmt.Errorf("watch: %w", err)
	case <-ctx.Done():
		return fmt.Errorf("watch: no bookmark from the plugin (Watch from 0 must send one first): %w", ctx.Err())
	}
}

// watch runs one Watch stream; ready is closed at its first event.
func (in *instance) watch(ctx context.Context, c *conn, from uint64, ready chan struct{}) error {
	first := true
	return c.src.Watch(ctx, from, func(ev plugin.Event) error {
		if first {
			first = false
			close(ready)
			if from == 0 {
				in.setBaseline(ev)
			}
		}
		if ev.Bookmark {
			return nil
		}
		return in.sup.send(ctx, Change{Source: in.cfg.Name, Revision: ev.Revision, Key: ev.Key, Value: ev.Value, Deleted: ev.Deleted})
	})
}

// resumeFrom is where Watch starts: the committed revision, or, before the
// first commit, where the first Watch began, so that changes made while a
// crashed plugin was down are not skipped as "before now".
func (in *instance) resumeFrom() uint64 {
	in.commitMu.Lock()
	committed := in.committed
	in.commitMu.Unlock()
	in.mu.Lock()
	defer in.mu.Unlock()
	return max(committed, in.baseline)
}

// setBaseline records the first from-0 Watch's starting revision: a
// bookmark's revision, or one before the first event's.
func (in *instance) setBaseline(ev plugin.Event) {
	rev := ev.Revision
	if !ev.Bookmark && rev > 0 {
		rev--
	}
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.baseline == 0 {
		in.baseline = rev
	}
}

// commit persists revision if it is newer than the committed one.
func (in *instance) commit(rev uint64) error {
	in.commitMu.Lock()
	defer in.commitMu.Unlock()
	if rev <= in.committed {
		return nil
	}
	if err := in.sup.saveRevision(in.cfg.Name, rev); err != nil {
		return err
	}
	in.committed = rev
	return nil
}

// send delivers a change on Events unless ctx is done. The watch streams
// run on goroutines of their own, which Close does not wait for: sendMu
// keeps Close from closing Events under a send (Close cancels ctx first,
// so a blocked send gives way).
func (s *Supervisor) send(ctx context.Context, c Change) error {
	s.sendMu.RLock()
	defer s.sendMu.RUnlock()
	if s.eventsClosed {
		return ErrClosed
	}
	select {
	case s.events <- c:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
