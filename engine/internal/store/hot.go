package store

import (
	"hash/maphash"
	"runtime"
	"sync"
)

// hotShards is how many independently locked LRUs the hot cache is split
// into, so concurrent hits on different paths rarely share a mutex. On one
// or two cores a single shard is cheaper (BenchmarkGetHotParallel: 38 vs
// 50 CPU ns per hit, measured when one shard skipped the hash that
// admission now needs anyway);
// beyond that, four shards per core, at most 16 so a shard still holds a
// page of a sixteenth of the budget.
func hotShards() int {
	n := runtime.GOMAXPROCS(0)
	if n <= 2 {
		return 1
	}
	return min(16, 4*n)
}

// hotOverhead approximates the per-entry memory beyond the page's own
// bytes: the map slot, the list node, the Page struct and slice headers.
const hotOverhead = 256

// hotCache is a byte-bounded LRU of decoded pages. A hit takes one shard
// mutex, counts the request, moves the entry to the front and returns the
// shared *Page; it does not allocate.
//
// A page read from disk is admitted only when it has been asked for more
// often of late than the page it would evict (TinyLFU: each shard counts
// requests, hits and misses, in a small count-min sketch that halves
// itself as it fills). Under a skewed mix over more pages than fit, plain
// LRU lets the long tail of pages asked for once push out popular ones;
// see RATIONALE.md, "Why does the hot cache refuse some pages?". A
// page written (set) is always cached: it is the newest version.
//
// Each shard keeps a generation number bumped by every write (set,
// remove). A reader that missed remembers the generation and fills the
// cache from disk only if no write happened in between, so a slow disk
// read can never put an older page over a newer Put or resurrect a
// deleted one.
type hotCache struct {
	seed   maphash.Seed
	shards []hotShard
}

type hotShard struct {
	mu      sync.Mutex
	entries map[string]*hotEntry
	lru     hotEntry // sentinel of a circular list, most recent first
	bytes   int64
	max     int64
	gen     uint64
	hits    int64
	misses  int64
	freq    sketch
	_       [64]byte // keep neighbouring shards' hot fields apart
}

type hotEntry struct {
	prev, next *hotEntry
	path       string
	hash       uint64 // of path, for the sketch
	page       *Page
	size       int64
}

// newHotCache bounds the cache to maxBytes in total (<= 0: caches nothing).
func newHotCache(maxBytes int64, shards int) *hotCache {
	c := &hotCache{seed: maphash.MakeSeed(), shards: make([]hotShard, shards)}
	for i := range c.shards {
		s := &c.shards[i]
		s.entries = make(map[string]*hotEntry)
		s.lru.next, s.lru.prev = &s.lru, &s.lru
		s.max = max(maxBytes, 0) / int64(shards)
		s.freq = newSketch(s.max / sketchBytesPerCounter)
	}
	return c
}

// shard returns path's shard and hash.
func (c *hotCache) shard(path string) (*hotShard, uint64) {
	h := maphash.String(c.seed, path)
	return &c.shards[h%uint64(len(c.shards))], h
}

// get returns the cached page if it is whole, or nil and the shard
// generation to pass to fill after reading the disk.
func (c *hotCache) get(path string) (*Page, uint64) {
	p, gen, _ := c.lookup(path, func(p *Page) bool { return p.held == 0 })
	return p, gen
}

// getFor returns the cached page if it holds the body a client that
// takes br and/or gz gets; else nil, the shard generation to pass to
// fill after reading the disk, and the encodings a trimmed copy of
// the path in the cache holds (bits), for the new copy to hold too.
func (c *hotCache) getFor(path string, br, gz bool) (*Page, uint64, uint8) {
	return c.lookup(path, func(p *Page) bool { return p.holds(p.Negotiate(br, gz)) })
}

// lookup is get with the test a cached page must pass to be answered.
func (c *hotCache) lookup(path string, ok func(*Page) bool) (*Page, uint64, uint8) {
	s, h := c.shard(path)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.freq.add(h)
	e, found := s.entries[path]
	if !found || !ok(e.page) {
		s.misses++
		var held uint8
		if found {
			held = e.page.held
		}
		return nil, s.gen, held
	}
	s.hits++
	s.unlink(e)
	s.pushFront(e)
	return e.page, 0, 0
}

// peek returns the cached page if it is whole, without touching recency
// or counters.
func (c *hotCache) peek(path string) *Page {
	s, _ := c.shard(path)
	s.mu.Lock()
	defer s.mu.Unlock()
	if e, ok := s.entries[path]; ok && e.page.held == 0 {
		return e.page
	}
	return nil
}

// fill caches p, a page read from disk for get (whole) or getFor
// (trimmed), unless a write to the shard happened since the lookup
// returned gen (so an entry of the path is of p's version), the path's
// entry already holds what p holds (a whole page never replaces a
// trimmed copy: the copy is what the hit path asks for), or the
// admission test refuses a new entry.
func (c *hotCache) fill(p *Page, gen uint64) {
	s, h := c.shard(p.Path)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.gen != gen {
		return
	}
	e, ok := s.entries[p.Path]
	switch {
	case !ok:
		s.admit(p, h)
	case p.held != 0 && e.page.held != 0 && e.page.held&p.held != p.held:
		s.put(p, h) // a trimmed copy holding more than the one cached
	}
}

// admit puts p, new to the shard, unless it would evict a page asked for
// at least as often.
func (s *hotShard) admit(p *Page, h uint64) {
	if v := s.lru.prev; v != &s.lru && s.bytes+hotSize(p) > s.max && s.freq.estimate(h) <= s.freq.estimate(v.hash) {
		return
	}
	s.put(p, h)
}

// set caches p as the newest version of its path.
func (c *hotCache) set(p *Page) {
	s, h := c.shard(p.Path)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.gen++
	s.put(p, h)
}

// remove drops path from the cache.
func (c *hotCache) remove(path string) {
	s, _ := c.shard(path)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.gen++
	if e, ok := s.entries[path]; ok {
		s.drop(e)
	}
}

// stats sums the shards' counters.
func (c *hotCache) stats() (bytes, entries, hits, misses int64) {
	for i := range c.shards {
		s := &c.shards[i]
		s.mu.Lock()
		bytes, entries = bytes+s.bytes, entries+int64(len(s.entries))
		hits, misses = hits+s.hits, misses+s.misses
		s.mu.Unlock()
	}
	return bytes, entries, hits, misses
}

// put inserts or replaces p, then evicts from the back until the shard
// fits. A page larger than the whole shard is not cached at all.
func (s *hotShard) put(p *Page, h uint64) {
	if e, ok := s.entries[p.Path]; ok {
		s.drop(e)
	}
	size := hotSize(p)
	if size > s.max {
		return
	}
	e := &hotEntry{path: p.Path, hash: h, page: p, size: size}
	s.entries[p.Path] = e
	s.pushFront(e)
	s.bytes += size
	for s.bytes > s.max {
		s.drop(s.lru.prev)
	}
}

func (s *hotShard) drop(e *hotEntry) {
	s.unlink(e)
	delete(s.entries, e.path)
	s.bytes -= e.size
}

func (s *hotShard) unlink(e *hotEntry) {
	e.prev.next, e.next.prev = e.next, e.prev
}

func (s *hotShard) pushFront(e *hotEntry) {
	e.prev, e.next = &s.lru, s.lru.next
	s.lru.next.prev = e
	s.lru.next = e
}

// hotSize is what a cached page is charged against the byte budget.
func hotSize(p *Page) int64 {
	n := hotOverhead + len(p.Path) + len(p.Route) + len(p.ETag) +
		len(p.Body) + len(p.Gzip) + len(p.Brotli)
	for _, h := range p.Headers {
		n += len(h.Name) + len(h.Value) + 32
	}
	for _, l := range [][]string{p.Tags, p.Keys, p.Prefixes} {
		for _, s := range l {
			n += len(s) + 16
		}
	}
	return int64(n)
}
