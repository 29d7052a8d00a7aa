// Package store keeps generated pages and their freshness metadata.
//
// The Store interface is the seam; the implementation is Pebble on disk
// (pebble.go) with a byte-bounded in-memory hot cache in front of it, so a
// hit never touches the disk.
package store

import (
	"errors"
	"time"
)

// Kind is what a stored record is.
type Kind uint8

const (
	KindPage     Kind = 1 // a 200 page
	KindNotFound Kind = 2 // a cached 404 (negative entry)
	KindRedirect Kind = 3 // 301/302/303/307/308 with Location
)

// Header is one stored response header.
type Header struct{ Name, Value string }

// Page is one atomic record per normalized path.
type Page struct {
	Path    string
	Route   string // route pattern that produced it
	Kind    Kind
	Status  int
	Headers []Header // renderer headers plus Content-Type
	Body    []byte   // identity body
	Gzip    []byte   // gzip variant, compressed at generation time (nil if not worth it)
	Brotli  []byte   // brotli variant
	ETag    string   // strong ETag of the identity body, quoted

	Generated time.Time // when it was rendered
	// Revalidate is the freshness lifetime after Generated; 0 means never stale.
	Revalidate time.Duration
	// Expire is the maximum staleness after Generated+Revalidate after
	// which a request blocks; 0 means no limit.
	Expire time.Duration
	// StaleMarked forces the page stale (lazy event policy) regardless of age.
	StaleMarked bool

	// Private marks a rendered page that must not be stored or shared
	// (the renderer's "don't cache", or a preview). It is never persisted:
	// Put refuses such a page.
	Private bool

	Tags     []string
	Keys     []string // data keys the render read
	Prefixes []string // data prefixes the render listed
}

// FreshUntil is when the page goes stale; zero if never.
func (p *Page) FreshUntil() time.Time {
	if p.Revalidate <= 0 {
		return time.Time{}
	}
	return p.Generated.Add(p.Revalidate)
}

// Event is one entry of a page's regeneration history.
type Event struct {
	At       time.Time
	Reason   string // "build", "stale", "on-demand", "event", "first-request", ...
	Outcome  string // "regenerated", "not_found", "redirect", "error", "unchanged"
	Duration time.Duration
	Error    string
}

// Job is a durable pending regeneration.
type Job struct {
	Path   string
	Reason string
	Queued time.Time
}

// Store is the page store. All methods are safe for concurrent use.
type Store interface {
	// Get returns the page for a normalized path, or ErrNotFound.
	// It is served from the hot cache when possible and must not allocate
	// on a hot-cache hit beyond what the caller already holds. The page
	// may be shared with other callers: treat it as read-only.
	Get(path string) (*Page, error) // path may alias a reused buffer: Get must not retain it
	// Put stores p atomically together with its key/prefix/tag index
	// entries, replacing the old record and its index entries. If the
	// stored page was generated after p.Generated, Put keeps it and
	// returns ErrNewer. The store keeps p's slices: do not modify them
	// after Put. Put returns once the page is synced to disk.
	Put(p *Page) error
	// PutUnsynced is Put without waiting for the disk: the page is
	// atomic (old or new after any crash) but a crash of the engine may
	// lose it until the next sync: Sync, any synced write after it, or
	// the store's own sync within a second. For pages that a loss only
	// sends back to their previous state: a build (which syncs once at
	// the end) and a path's first generation.
	PutUnsynced(p *Page) error
	// Sync makes every write before it durable.
	Sync() error
	// Delete removes a page and its index entries. Deleting an absent
	// path is not an error.
	Delete(path string) error
	// MarkStale sets StaleMarked on a stored page (lazy policy), or
	// returns ErrNotFound.
	MarkStale(path string) error

	// PathsForKey returns the paths of pages that read key, or listed a
	// prefix of key.
	PathsForKey(key string) ([]string, error)
	// PathsForTag returns the paths of pages carrying tag.
	PathsForTag(tag string) ([]string, error)
	// Paths calls fn for every stored path in key order until fn returns false.
	Paths(fn func(path string) bool) error

	// AddHistory appends to a path's regeneration history (bounded, newest kept).
	AddHistory(path string, e Event) error
	// History returns a path's history, oldest first.
	History(path string) ([]Event, error)

	// Enqueue durably records pending regenerations (idempotent per path).
	Enqueue(jobs ...Job) error
	// Dequeue removes a finished job.
	Dequeue(path string) error
	// Pending returns every queued job, oldest first.
	Pending() ([]Job, error)

	// GetMeta and SetMeta keep small engine state, e.g. the last revision
	// processed per data source. SetMeta is durable (synced) when it returns.
	GetMeta(key string) ([]byte, error) // ErrNotFound if absent
	SetMeta(key string, value []byte) error

	// Stats reports sizes for /metrics.
	Stats() Stats

	Close() error
}

// Stats are store gauges.
type Stats struct {
	Pages      int64
	DiskBytes  int64
	HotBytes   int64
	HotEntries int64
	HotHits    int64
	HotMisses  int64
}

var (
	ErrNotFound = errors.New("store: not found")
	ErrNewer    = errors.New("store: stored page is newer")
	ErrClosed   = errors.New("store: closed")
	// ErrCorrupt reports a stored record that does not decode.
	ErrCorrupt = errors.New("store: corrupt record")
)
