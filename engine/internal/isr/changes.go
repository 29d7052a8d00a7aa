package isr

import (
	"slices"
	"strings"

	"github.com/kilnhq/kiln/engine/internal/config"
	"github.com/kilnhq/kiln/engine/internal/store"
)

// change is one entry of the change log: something that makes pages out
// of date, from a data-change event or an on-demand call.
type change struct {
	seq   uint64
	key   string   // a data key: pages that read it, or listed a prefix of it
	paths []string // named paths (on_change rules, on-demand calls)
	tags  []string // named tags
	// policy applies to paths and tags ("" means each route's); a page
	// that read key follows its route's policy.
	policy config.Policy
}

// changeLog keeps the changes that flights in progress have not checked.
// A flight notes the log's position when it starts and, when it lands,
// checks the changes after it (dirty). Nothing is kept while no flight
// runs, and the log is pruned as flights land; past maxLog entries the
// oldest are dropped and every flight older than them counts as dirty,
// which costs a render, never a lost change.
type changeLog struct {
	entries []change
	next    uint64 // sequence number of the next change
	floor   uint64 // changes below it were dropped
}

const maxLog = 100_000

// add logs c, if a flight may need it.
func (l *changeLog) add(c change, flights int) {
	c.seq = l.next
	l.next++
	if flights == 0 {
		l.floor = l.next
		l.entries = l.entries[:0]
		return
	}
	l.entries = append(l.entries, c)
	if len(l.entries) > maxLog {
		drop := len(l.entries) / 2
		l.floor = l.entries[drop].seq
		l.entries = slices.Delete(l.entries, 0, drop)
	}
}

// since returns the changes from seq on.
func (l *changeLog) since(seq uint64) []change {
	i, _ := slices.BinarySearchFunc(l.entries, seq, func(c change, s uint64) int {
		switch {
		case c.seq < s:
			return -1
		case c.seq > s:
			return 1
		}
		return 0
	})
	return l.entries[i:]
}

// prune drops the changes every remaining flight started after.
func (l *changeLog) prune(flights map[string]*flight) {
	oldest := l.next
	for _, f := range flights {
		oldest = min(oldest, f.since)
	}
	if oldest > l.floor {
		l.entries = slices.Delete(l.entries, 0, len(l.entries)-len(l.since(oldest)))
		l.floor = oldest
	}
}

// dirty reports whether a change that arrived while f rendered touches
// its page (nil when the render failed: only named paths count), and
// whether every such change is under the lazy policy. The caller holds
// e.mu.
func (e *Engine) dirty(f *flight, p *store.Page) (dirty, lazy bool) {
	routePolicy := config.PolicyEager
	if f.route != nil && f.route.Policy != "" {
		routePolicy = f.route.Policy
	}
	if f.since < e.changes.floor {
		return true, routePolicy == config.PolicyLazy
	}
	lazy = true
	for _, c := range e.changes.since(f.since) {
		hit, policy := touches(c, f.path, p)
		if !hit {
			continue
		}
		if policy == "" {
			policy = routePolicy
		}
		dirty, lazy = true, lazy && policy == config.PolicyLazy
	}
	return dirty, dirty && lazy
}

// touches reports whether c makes the page at path (p, if rendered) out
// of date, and under which policy ("" for the route's).
func touches(c change, path string, p *store.Page) (bool, config.Policy) {
	if slices.Contains(c.paths, path) {
		return true, c.policy
	}
	if p == nil {
		return false, ""
	}
	if c.key != "" && readsKey(p, c.key) {
		return true, ""
	}
	for _, t := range c.tags {
		if slices.Contains(p.Tags, t) {
			return true, c.policy
		}
	}
	return false, ""
}

// readsKey reports whether p read key or listed a prefix of it.
func readsKey(p *store.Page, key string) bool {
	if slices.Contains(p.Keys, key) {
		return true
	}
	for _, prefix := range p.Prefixes {
		if strings.HasPrefix(key, prefix) {
			return true
		}
	}
	return false
}
