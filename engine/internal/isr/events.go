package isr

import (
	"context"
	"errors"
	"maps"
	"strconv"
	"time"

	"github.com/kilnhq/kiln/engine/internal/config"
	"github.com/kilnhq/kiln/engine/internal/datasource"
	"github.com/kilnhq/kiln/engine/internal/render"
	"github.com/kilnhq/kiln/engine/internal/router"
	"github.com/kilnhq/kiln/engine/internal/store"
)

// Committer records that every change of a source up to a revision has
// been processed (its regenerations are queued durably), so the source
// resumes after it. The data-source supervisor is one.
type Committer interface {
	Commit(source string, revision uint64) error
}

// Batching of change bursts: a batch closes after quiet without a new
// change (the stream settled), or after maxBatchWait or maxBatch changes
// while changes keep coming. A lone edit waits quiet.
//
// Batches closed while changes keep coming make a burst (an import, a bulk
// UPDATE). In a burst, a path that was regenerated for a change less than
// maxDefer ago waits until the burst settles (or until maxDefer has
// passed), so a page that reads many of the keys (the home page)
// regenerates once or twice per import, not once per batch, and at most
// about once per maxDefer while a stream goes on. A burst settles after
// burstQuiet, longer than quiet, so that a pause in the stream (a GC, an
// fsync) does not end it; a batch of burstMin changes or more starts a
// burst even when a pause closed it. A small batch outside a burst (an
// edit) and the end of a burst regenerate at once. A first change with no
// other behind it within firstQuiet is a batch of one: a lone edit does not
// wait quiet (RATIONALE.md: 2 ms took 2 ms off row 5's p50).
const (
	firstQuiet   = 2 * time.Millisecond
	quiet        = 20 * time.Millisecond
	burstQuiet   = 250 * time.Millisecond
	maxBatchWait = 2 * time.Second
	maxBatch     = 10000
	maxDefer     = 10 * time.Second
	burstMin     = 100 // a batch this large is part of a burst
)

// Consume turns data changes into regenerations until ctx is done or
// changes is closed. For each batch it logs the changes (for flights in
// progress), queues the affected stored paths durably, marks lazy ones
// stale, then commits the last revision of each source (so a crash after
// the commit loses nothing), then starts the regenerations. While paths
// are deferred in a burst, no revision is committed, so a crash mid-burst
// makes the source deliver their changes again.
func (e *Engine) Consume(ctx context.Context, changes <-chan datasource.Change, c Committer) {
	var b burst
	for {
		batch, ok, paused := e.nextBatch(ctx, changes, b.active())
		settled := settles(len(batch), ok, paused)
		if len(batch) > 0 || b.active() {
			e.apply(batch, &b, settled, c)
		}
		if !ok {
			return
		}
	}
}

// settles says whether a batch of n changes ends the stream (or is a lone
// edit): the channel closed, or a quiet period closed a small batch. A
// large batch starts or continues a burst even when a pause closed it: the
// stream behind it is choppy (a loaded machine, an fsync, a GC), not done,
// and the burst settles on the next quiet period that closes with fewer
// than burstMin changes, at most burstQuiet later.
func settles(n int, ok, paused bool) bool {
	return !ok || (paused && n < burstMin)
}

// nextBatch gathers one batch. Outside a burst it waits for a first
// change, returns it alone if no other follows within firstQuiet, else
// waits for the changes behind it; in a burst it returns an empty
// batch when burstQuiet passes without one. paused says the batch closed
// on a quiet period, not on maxBatchWait or maxBatch.
func (e *Engine) nextBatch(ctx context.Context, ch <-chan datasource.Change, inBurst bool) (batch []datasource.Change, ok, paused bool) {
	wait := quiet
	if inBurst {
		wait = burstQuiet
	} else {
		select {
		case c, ok := <-ch:
			if !ok {
				return nil, false, true
			}
			batch = append(batch, c)
		case <-ctx.Done():
			return nil, false, true
		}
		// A lone edit waits only firstQuiet: the changes of one save or
		// one transaction arrive together, well within it. A second
		// change says a stream may have started, and a stream waits quiet.
		first := e.clock.NewTimer(firstQuiet)
		select {
		case c, ok := <-ch:
			first.Stop()
			if !ok {
				return batch, false, true
			}
			batch = append(batch, c)
		case <-first.C():
			return batch, true, true
		case <-ctx.Done():
			first.Stop()
			return batch, false, true
		}
	}
	deadline := e.clock.NewTimer(maxBatchWait)
	defer deadline.Stop()
	idle := e.clock.NewTimer(wait)
	defer idle.Stop()
	for len(batch) < maxBatch {
		select {
		case c, ok := <-ch:
			if !ok {
				return batch, false, true
			}
			batch = append(batch, c)
			idle.Stop()
			idle.Reset(wait)
		case <-idle.C():
			return batch, true, true
		case <-deadline.C():
			return batch, true, false
		case <-ctx.Done():
			return batch, false, true
		}
	}
	return batch, true, false
}

// burst is what Consume remembers from batch to batch.
type burst struct {
	inBurst  bool                 // the last batch closed with changes still coming
	ran      map[string]time.Time // when paths last regenerated for a change (within maxDefer)
	deferred map[string]string    // paths waiting for the burst to settle, with reasons
	revs     map[string]uint64    // revisions not committed yet
}

func (b *burst) active() bool { return b.inBurst }

// schedule picks the paths of a batch to regenerate now, deferring the
// rest, and reports whether the revisions seen so far can be committed.
func (b *burst) schedule(eager map[string]string, revs map[string]uint64, settled bool, now time.Time) (map[string]string, bool) {
	if b.ran == nil {
		b.ran, b.deferred, b.revs = map[string]time.Time{}, map[string]string{}, map[string]uint64{}
	}
	for src, rev := range revs {
		b.revs[src] = max(b.revs[src], rev)
	}
	maps.Copy(b.deferred, eager)
	run := map[string]string{}
	for p, reason := range b.deferred {
		if at, ok := b.ran[p]; settled || !ok || now.Sub(at) >= maxDefer {
			run[p] = reason
			b.ran[p] = now
			delete(b.deferred, p)
		}
	}
	b.inBurst = !settled
	if settled {
		maps.DeleteFunc(b.ran, func(_ string, at time.Time) bool { return now.Sub(at) >= maxDefer })
	}
	return run, len(b.deferred) == 0
}

// affected is what a batch of changes does: the changes to log, and the
// stored paths to regenerate (eager) or mark stale (lazy).
type affected struct {
	log   []change
	eager map[string]string
	lazy  map[string]bool
	revs  map[string]uint64
}

// apply handles one batch of changes; settled says the stream paused.
func (e *Engine) apply(batch []datasource.Change, b *burst, settled bool, c Committer) {
	a := affected{eager: map[string]string{}, lazy: map[string]bool{}, revs: map[string]uint64{}}
	for _, ch := range batch {
		a.revs[ch.Source] = max(a.revs[ch.Source], ch.Revision)
		e.affect(ch, &a)
	}
	run, committable := b.schedule(a.eager, a.revs, settled, e.clock.Now())
	e.applyMu.Lock()
	defer e.applyMu.Unlock()
	e.mu.Lock()
	for _, ch := range a.log {
		e.changes.add(ch, len(e.flights))
	}
	clear(e.deferred)
	maps.Copy(e.deferred, b.deferred)
	e.mu.Unlock()
	e.negative.invalidate(a.log)
	jobs := make([]store.Job, 0, len(run))
	now := e.clock.Now()
	for p, reason := range run {
		jobs = append(jobs, store.Job{Path: p, Reason: reason, Queued: now})
	}
	if len(jobs) > 0 {
		if err := e.queue.Enqueue(jobs...); err != nil {
			e.log.Error("enqueue change regenerations", "err", err)
			return // not committed: the source redelivers
		}
	}
	if err := e.markStale(a.lazy); err != nil {
		e.log.Error("mark stale", "err", err)
		return
	}
	if committable {
		for src, rev := range b.revs {
			if err := c.Commit(src, rev); err != nil {
				e.log.Error("commit revision", "source", src, "revision", rev, "err", err)
			}
		}
		clear(b.revs)
	}
	e.startAll(jobs, needNew, render.ModeBackground)
	e.log.Info("data changed", "changes", len(batch), "regenerate", len(jobs), "deferred", len(b.deferred), "mark_stale", len(a.lazy))
}

// markStale marks stored pages stale, but for those a flight renders:
// the flight sees the change when it lands. The caller holds applyMu.
func (e *Engine) markStale(paths map[string]bool) error {
	for p := range paths {
		e.mu.Lock()
		rendering := e.flights[p] != nil
		e.mu.Unlock()
		if rendering {
			continue
		}
		if err := e.pages.MarkStale(p); err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
	}
	return nil
}

// startAll starts a flight for every job's path that has none.
func (e *Engine) startAll(jobs []store.Job, need need, mode render.Mode) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, j := range jobs {
		if !e.closed && e.flights[j.Path] == nil {
			e.launch(e.newFlight(j.Path, need, j.Reason, mode))
		}
	}
}

// affect adds what one change touches: every stored page that read the
// key or listed a prefix of it, and the on_change rules' paths and tags.
func (e *Engine) affect(c datasource.Change, a *affected) {
	a.log = append(a.log, change{key: c.Key})
	paths, err := e.pages.PathsForKey(c.Key)
	if err != nil {
		e.log.Error("paths for key", "key", c.Key, "err", err)
	}
	for _, p := range paths {
		a.add(e, p, "")
	}
	for _, rule := range e.site.OnChange {
		if (rule.Source != "" && rule.Source != c.Source) || !Glob(rule.Match, c.Key) {
			continue
		}
		a.log = append(a.log, e.applyRule(rule, c, a))
	}
}

// add classifies one path by policy ("" for its route's). A path no
// route matches is left out.
func (a *affected) add(e *Engine, path string, policy config.Policy) {
	r, _, ok := e.routes.Match(path)
	if !ok {
		return
	}
	if policy == "" {
		policy = r.Policy
	}
	if policy == config.PolicyLazy {
		a.lazy[path] = true
	} else {
		a.eager[path] = "event"
	}
}

// applyRule evaluates an on_change rule for a change. Rule paths are
// normalized like request paths (a bad one is logged and skipped).
func (e *Engine) applyRule(rule *config.OnChange, c datasource.Change, a *affected) change {
	item := config.EventItem{Key: c.Key, Value: c.Value, Deleted: c.Deleted}
	logged := change{policy: rule.Policy}
	for _, t := range rule.Revalidate {
		raw, err := t.Eval(item)
		if err != nil {
			e.log.Error("on_change rule", "rule", rule.Name, "expr", t.Source, "key", c.Key, "err", err)
			continue
		}
		p, err := router.Normalize([]byte(raw))
		if err != nil {
			// Dropped, never queued: a path no request can reach would
			// be retried for ever. One line, the path quoted and cut
			// (it holds the key's bytes, NUL and control characters too).
			e.log.Error("on_change rule: bad path, dropped", "rule", rule.Name, "path", logPath(raw), "err", err)
			continue
		}
		logged.paths = append(logged.paths, p)
		if !e.generatedOnRequest(p) {
			a.add(e, p, rule.Policy)
		}
	}
	for _, t := range rule.Tags {
		tag, err := t.Eval(item)
		if err != nil {
			e.log.Error("on_change rule", "rule", rule.Name, "expr", t.Source, "key", c.Key, "err", err)
			continue
		}
		logged.tags = append(logged.tags, tag)
		paths, err := e.pages.PathsForTag(tag)
		if err != nil {
			e.log.Error("paths for tag", "tag", tag, "err", err)
		}
		for _, p := range paths {
			a.add(e, p, rule.Policy)
		}
	}
	return logged
}

// logPath is a path for a log line: quoted (control characters escaped)
// and cut to 128 bytes, so a hostile key cannot write kilobytes a change.
func logPath(p string) string {
	const max = 128
	if len(p) > max {
		return strconv.Quote(p[:max]) + "…"
	}
	return strconv.Quote(p)
}

// generatedOnRequest reports whether a rule's path is not stored and its
// route generates it on the first request anyway (fallback "true" or
// "blocking"): rendering it now would be wasted work, and an import of
// 10,000 posts would render 10,000 pages nobody asked for. A stored path,
// or one under fallback "false" (where only a rule or a build makes a new
// page exist), is regenerated as the rule says.
func (e *Engine) generatedOnRequest(path string) bool {
	r, _, ok := e.routes.Match(path)
	if !ok || r.Fallback == config.FallbackFalse {
		return false
	}
	_, err := e.pages.Get(path)
	return errors.Is(err, store.ErrNotFound)
}
