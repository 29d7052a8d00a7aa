package isr

import (
	"context"
	"errors"
	"maps"
	"time"

	"github.com/kilnhq/kiln/engine/internal/config"
	"github.com/kilnhq/kiln/engine/internal/store"
)

// Change is one data change reported by a data source.
type Change struct {
	Source   string
	Revision uint64
	Key      string
	Value    []byte
	Deleted  bool
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
// wait quiet.
const (
	firstQuiet   = 5 * time.Millisecond
	quiet        = 20 * time.Millisecond
	burstQuiet   = 250 * time.Millisecond
	maxBatchWait = 2 * time.Second
	maxBatch     = 10000
	maxDefer     = 10 * time.Second
	burstMin     = 100 // a batch this large is part of a burst
)

// Consume turns data changes into regenerations until ctx is done or ch
// is closed. For each batch it queues the affected paths durably, then
// calls commit with the last revision of each source (so a crash after
// commit loses nothing), then regenerates. A page with a render already
// running gets exactly one more render, however many changes arrive.
// While paths are deferred in a burst, no revision is committed, so a
// crash mid-burst makes the source deliver their changes again.
func (e *Engine) Consume(ctx context.Context, ch <-chan Change, commit func(source string, revision uint64) error) {
	var b burst
	for {
		batch, ok, paused := nextBatch(ctx, ch, b.active())
		// A large batch starts (or continues) a burst even when a short
		// pause closed it: the stream behind it is choppy, not done.
		settled := !ok || (paused && (b.active() || len(batch) < burstMin))
		if len(batch) > 0 || b.active() {
			e.apply(batch, &b, settled, commit)
		}
		if !ok {
			return
		}
	}
}

// nextBatch gathers one batch. Outside a burst it waits for a first
// change, returns it alone if no other follows within firstQuiet, else
// waits for the changes behind it; in a burst it returns an empty
// batch when burstQuiet passes without one. paused says the batch closed
// on a quiet period, not on maxBatchWait or maxBatch.
func nextBatch(ctx context.Context, ch <-chan Change, inBurst bool) (batch []Change, ok, paused bool) {
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
		first := time.NewTimer(firstQuiet)
		select {
		case c, ok := <-ch:
			first.Stop()
			if !ok {
				return batch, false, true
			}
			batch = append(batch, c)
		case <-first.C:
			return batch, true, true
		case <-ctx.Done():
			first.Stop()
			return batch, false, true
		}
	}
	deadline := time.NewTimer(maxBatchWait)
	defer deadline.Stop()
	idle := time.NewTimer(wait)
	defer idle.Stop()
	for len(batch) < maxBatch {
		select {
		case c, ok := <-ch:
			if !ok {
				return batch, false, true
			}
			batch = append(batch, c)
			idle.Reset(wait)
		case <-idle.C:
			return batch, true, true
		case <-deadline.C:
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

// apply handles one batch of changes; settled says the stream paused.
func (e *Engine) apply(batch []Change, b *burst, settled bool, commit func(string, uint64) error) {
	eager, lazy := map[string]string{}, map[string]bool{}
	revs := map[string]uint64{}
	for _, c := range batch {
		revs[c.Source] = max(revs[c.Source], c.Revision)
		e.affected(c, eager, lazy)
	}
	run, committable := b.schedule(eager, revs, settled, e.now())
	jobs := make([]store.Job, 0, len(run))
	now := e.now()
	for p, reason := range run {
		jobs = append(jobs, store.Job{Path: p, Reason: reason, Queued: now})
	}
	if err := e.store.Enqueue(jobs...); err != nil {
		e.log.Error("enqueue change regenerations", "err", err)
		return // not committed: the source redelivers
	}
	for p := range lazy {
		if err := e.store.MarkStale(p); err != nil && err != store.ErrNotFound {
			e.log.Error("mark stale", "path", p, "err", err)
			return
		}
	}
	if committable {
		e.commit(b.revs, commit)
	}
	for _, j := range jobs {
		e.spawn(j.Path, j.Reason)
	}
	e.log.Info("data changed", "changes", len(batch), "regenerate", len(jobs), "deferred", len(b.deferred), "mark_stale", len(lazy))
}

// commit commits and forgets the revisions in revs.
func (e *Engine) commit(revs map[string]uint64, commit func(string, uint64) error) {
	for src, rev := range revs {
		if err := commit(src, rev); err != nil {
			e.log.Error("commit revision", "source", src, "revision", rev, "err", err)
		}
	}
	clear(revs)
}

// affected adds the paths a change touches: every stored page that read
// the key or listed a prefix of it, and the on_change rules' paths and tags.
func (e *Engine) affected(c Change, eager map[string]string, lazy map[string]bool) {
	add := func(path string, policy config.Policy) {
		if policy == "" {
			if r, _, ok := e.routes.Match(path); ok {
				policy = r.Policy
			}
		}
		if policy == config.PolicyLazy {
			lazy[path] = true
		} else {
			eager[path] = "event"
		}
	}
	paths, err := e.store.PathsForKey(c.Key)
	if err != nil {
		e.log.Error("paths for key", "key", c.Key, "err", err)
	}
	for _, p := range paths {
		add(p, "")
	}
	for _, rule := range e.site.OnChange {
		if (rule.Source != "" && rule.Source != c.Source) || !Glob(rule.Match, c.Key) {
			continue
		}
		e.applyRule(rule, c, add)
	}
}

func (e *Engine) applyRule(rule *config.OnChange, c Change, add func(string, config.Policy)) {
	item := config.EventItem{Key: c.Key, Value: c.Value, Deleted: c.Deleted}
	for _, t := range rule.Revalidate {
		p, err := t.Eval(item)
		if err != nil {
			e.log.Error("on_change rule", "rule", rule.Name, "expr", t.Source, "key", c.Key, "err", err)
			continue
		}
		if e.generatedOnRequest(p) {
			continue
		}
		add(p, rule.Policy)
	}
	for _, t := range rule.Tags {
		tag, err := t.Eval(item)
		if err != nil {
			e.log.Error("on_change rule", "rule", rule.Name, "expr", t.Source, "key", c.Key, "err", err)
			continue
		}
		paths, err := e.store.PathsForTag(tag)
		if err != nil {
			e.log.Error("paths for tag", "tag", tag, "err", err)
		}
		for _, p := range paths {
			add(p, rule.Policy)
		}
	}
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
	_, err := e.store.Get(path)
	return errors.Is(err, store.ErrNotFound)
}

// Glob reports whether key matches pattern, where `*` matches any run of
// characters (including none) and everything else matches itself.
func Glob(pattern, key string) bool {
	for len(pattern) > 0 {
		if pattern[0] == '*' {
			for len(pattern) > 0 && pattern[0] == '*' {
				pattern = pattern[1:]
			}
			if pattern == "" {
				return true
			}
			for i := 0; i <= len(key); i++ {
				if Glob(pattern, key[i:]) {
					return true
				}
			}
			return false
		}
		if key == "" || key[0] != pattern[0] {
			return false
		}
		pattern, key = pattern[1:], key[1:]
	}
	return key == ""
}
