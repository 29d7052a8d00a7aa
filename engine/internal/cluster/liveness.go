package cluster

import (
	"sync"
	"time"
)

// A heartbeat and a lease are keys their holder rewrites while it lives:
// a heartbeat every NodeTTL/3, a lease every LeaseTTL/3. The buckets'
// TTLs remove a key its holder stopped rewriting, on the NATS servers'
// clocks. What this node decides from them (a node is live, a lease is
// expired) it decides on its own clock, from what it saw: a key's
// revision, and when that revision was first seen here. A write is never
// dated by its timestamp, which another machine's clock made, so a node
// or server whose clock is skewed changes nothing; and as a write is seen
// after it was made, a holder is never taken for dead before the bucket's
// TTL would have removed its key.

// sighting is a key's last write as this node saw it.
type sighting struct {
	rev   uint64    // the key's revision
	since time.Time // when this node first saw that revision
}

// see returns s after the key was read at now with revision rev: a new
// revision restarts the count.
func (s sighting) see(rev uint64, now time.Time) sighting {
	if rev != s.rev || s.since.IsZero() {
		return sighting{rev: rev, since: now}
	}
	return s
}

// expired reports whether the write seen has gone unrenewed for ttl at
// now: its holder is then taken for dead. It is expired exactly at ttl.
func (s sighting) expired(ttl time.Duration, now time.Time) bool {
	return !s.since.IsZero() && !now.Before(s.since.Add(ttl))
}

// sightings are the last writes seen of the keys of one bucket whose
// holders rewrite them every ttl/3.
type sightings struct {
	ttl   time.Duration
	mu    sync.Mutex
	keys  map[string]sighting
	swept time.Time // the last sweep
}

// maxSightings is how many keys sightings holds before it sweeps. A lease
// seen held by another node is remembered until it is taken, found free
// or waited on; a stale request that only saw it held and served the old
// page leaves it behind, so over many paths the map would only grow.
const maxSightings = 4096

func newSightings(ttl time.Duration) *sightings {
	return &sightings{ttl: ttl, keys: map[string]sighting{}}
}

// see records that key was read at now with revision rev, and reports
// whether that write has gone unrenewed for the TTL: its holder is dead.
func (s *sightings) see(key string, rev uint64, now time.Time) (expired bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := s.keys[key].see(rev, now)
	s.keys[key] = k
	if len(s.keys) > maxSightings && !now.Before(s.swept.Add(s.ttl)) {
		s.sweep(now)
	}
	return k.expired(s.ttl, now)
}

// sweep drops the sightings first made two TTLs or more before now, at
// most once a TTL. Their holders are dead or renewed since; seen again,
// the count restarts, which can only delay a takeover (by one TTL), never
// hasten one, and the bucket's own TTL removes a dead holder's key anyway.
func (s *sightings) sweep(now time.Time) {
	s.swept = now
	for k, v := range s.keys {
		if !now.Before(v.since.Add(2 * s.ttl)) {
			delete(s.keys, k)
		}
	}
}

// forget drops key: it was found absent, deleted, or taken.
func (s *sightings) forget(key string) {
	s.mu.Lock()
	delete(s.keys, key)
	s.mu.Unlock()
}

// keep drops every key but those live holds (the keys read just now).
func (s *sightings) keep(live map[string]bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for k := range s.keys {
		if !live[k] {
			delete(s.keys, k)
		}
	}
}
