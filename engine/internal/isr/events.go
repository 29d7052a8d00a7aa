package isr

import (
	"context"
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
// change, or after maxBatchWait in all. A lone edit waits quiet; an
// import of thousands of keys becomes one or two batches, so a page that
// reads all of them (the home page) regenerates once or twice.
const (
	quiet        = 20 * time.Millisecond
	maxBatchWait = 2 * time.Second
	maxBatch     = 10000
)

// Consume turns data changes into regenerations until ctx is done or ch
// is closed. For each batch it queues the affected paths durably, then
// calls commit with the last revision of each source (so a crash after
// commit loses nothing), then regenerates. A page with a render already
// running gets exactly one more render, however many changes arrive.
func (e *Engine) Consume(ctx context.Context, ch <-chan Change, commit func(source string, revision uint64) error) {
	for {
		batch, ok := nextBatch(ctx, ch)
		if len(batch) > 0 {
			e.apply(batch, commit)
		}
		if !ok {
			return
		}
	}
}

// nextBatch waits for one change, then gathers the burst behind it.
func nextBatch(ctx context.Context, ch <-chan Change) ([]Change, bool) {
	var batch []Change
	select {
	case c, ok := <-ch:
		if !ok {
			return nil, false
		}
		batch = append(batch, c)
	case <-ctx.Done():
		return nil, false
	}
	deadline := time.NewTimer(maxBatchWait)
	defer deadline.Stop()
	idle := time.NewTimer(quiet)
	defer idle.Stop()
	for len(batch) < maxBatch {
		select {
		case c, ok := <-ch:
			if !ok {
				return batch, false
			}
			batch = append(batch, c)
			idle.Reset(quiet)
		case <-idle.C:
			return batch, true
		case <-deadline.C:
			return batch, true
		case <-ctx.Done():
			return batch, false
		}
	}
	return batch, true
}

// apply handles one batch of changes.
func (e *Engine) apply(batch []Change, commit func(string, uint64) error) {
	eager, lazy := map[string]string{}, map[string]bool{}
	revs := map[string]uint64{}
	for _, c := range batch {
		if c.Revision > revs[c.Source] {
			revs[c.Source] = c.Revision
		}
		e.affected(c, eager, lazy)
	}
	jobs := make([]store.Job, 0, len(eager))
	now := e.now()
	for p, reason := range eager {
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
	for src, rev := range revs {
		if err := commit(src, rev); err != nil {
			e.log.Error("commit revision", "source", src, "revision", rev, "err", err)
		}
	}
	for _, j := range jobs {
		e.spawn(j.Path, j.Reason)
	}
	e.log.Info("data changed", "changes", len(batch), "regenerate", len(jobs), "mark_stale", len(lazy))
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
