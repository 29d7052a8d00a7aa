// Package store keeps generated pages and their freshness metadata.
//
// The store is split by concept: Pages (the records and their indexes),
// Queue (durable pending regenerations), History (each path's
// regeneration log) and Meta (small engine state). One Pebble database
// implements all four (pebble.go), with a byte-bounded in-memory hot cache
// in front of the pages, so a hit never touches the disk; another backend
// (cluster mode) may replace the concept it owns.
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

// Encoding is a content coding a page body is stored in.
type Encoding uint8

const (
	Identity Encoding = iota
	Gzip
	Brotli
	numEncodings
)

// Page is one atomic record per normalized path.
type Page struct {
	Path    string
	Route   string // route pattern that produced it
	Kind    Kind
	Status  int
	Headers []Header // renderer headers plus Content-Type
	Body    []byte   // identity body
	Gzip    []byte   // gzip variant, compressed when stored (nil if not worth it)
	Brotli  []byte   // brotli variant
	ETag    string   // strong ETag of the identity body, quoted

	// Version counts the versions of this path's page; Put sets it (one
	// more than the stored page's), and stores a new version only over
	// the one it was rendered from (PutOptions.Replaces).
	Version uint64

	Generated time.Time // when it was rendered
	// Node is the cluster node that rendered the page ("" alone).
	Node string
	// Revalidate is the freshness lifetime after Generated; 0 means never stale.
	Revalidate time.Duration
	// Expire is the maximum age after Generated after which a request
	// blocks on a new render; 0 means no limit.
	Expire time.Duration
	// StaleMarked forces the page stale (a lazy change, or a change that
	// arrived while it rendered) regardless of age.
	StaleMarked bool

	// Private marks a rendered page that must not be stored or shared
	// (the renderer's "don't cache", a preview, a fallback shell). It is
	// never persisted: Put refuses such a page.
	Private bool

	Tags     []string
	Keys     []string // data keys the render read
	Prefixes []string // data prefixes the render listed

	// etags are the strong ETags of the body in each encoding: one per
	// representation, so a validator never names another encoding's bytes.
	etags [numEncodings]string

	// held is, on a hot-cache copy trimmed for GetFor, one bit per
	// encoding whose body it still holds, and has one bit per encoding the
	// stored record has; held is 0 on a whole page. A trimmed copy also
	// drops Tags, Keys and Prefixes: only the hit path sees it.
	held, has uint8
}

// Has reports whether the page has a body in encoding e. A trimmed
// hot-cache copy answers for its stored record, whose body it may not hold.
func (p *Page) Has(e Encoding) bool {
	if p.held != 0 {
		return p.has&(1<<e) != 0
	}
	switch e {
	case Identity:
		return true
	case Gzip:
		return p.Gzip != nil
	case Brotli:
		return p.Brotli != nil
	}
	return false
}

// Negotiate is the encoding a client that takes brotli (br) and/or gzip
// (gz) gets: brotli, then gzip, then identity, among those the page has.
func (p *Page) Negotiate(br, gz bool) Encoding {
	switch {
	case br && p.Has(Brotli):
		return Brotli
	case gz && p.Has(Gzip):
		return Gzip
	}
	return Identity
}

// holds reports whether p holds the body of encoding e.
func (p *Page) holds(e Encoding) bool {
	return p.held == 0 || p.held&(1<<e) != 0
}

// trim turns the whole page p into a hot-cache copy holding only the
// bodies of the encodings in held (bits), copied into one new buffer so
// that it keeps no decoded record's buffer alive, and no dependency lists.
func (p *Page) trim(held uint8) {
	has, n := uint8(0), 0
	for e := Identity; e < numEncodings; e++ {
		if p.Has(e) {
			has |= 1 << e
		}
		if held&(1<<e) != 0 {
			n += len(p.body(e))
		}
	}
	buf := make([]byte, 0, n)
	for e := Identity; e < numEncodings; e++ {
		b := p.body(e)
		if held&(1<<e) != 0 && b != nil {
			off := len(buf)
			buf = append(buf, b...)
			b = buf[off:len(buf):len(buf)]
		} else {
			b = nil
		}
		p.setBody(e, b)
	}
	p.held, p.has = held, has
	p.Tags, p.Keys, p.Prefixes = nil, nil, nil
}

func (p *Page) body(e Encoding) []byte {
	switch e {
	case Gzip:
		return p.Gzip
	case Brotli:
		return p.Brotli
	}
	return p.Body
}

func (p *Page) setBody(e Encoding, b []byte) {
	switch e {
	case Gzip:
		p.Gzip = b
	case Brotli:
		p.Brotli = b
	default:
		p.Body = b
	}
}

// FreshUntil is when the page goes stale; zero if never.
func (p *Page) FreshUntil() time.Time {
	if p.Revalidate <= 0 {
		return time.Time{}
	}
	return p.Generated.Add(p.Revalidate)
}

// Seal computes the ETags of every encoding from ETag. Whoever builds a
// page calls it once its bodies and ETag are set; the store seals what it
// decodes.
func (p *Page) Seal() {
	p.etags[Identity] = p.ETag
	p.etags[Gzip], p.etags[Brotli] = "", ""
	if n := len(p.ETag); n >= 2 {
		tag := p.ETag[:n-1]
		if p.Gzip != nil {
			p.etags[Gzip] = tag + `-gzip"`
		}
		if p.Brotli != nil {
			p.etags[Brotli] = tag + `-br"`
		}
	}
}

// Variant returns the body and ETag of the page in encoding e; ok is
// false when the page has no such variant.
// A trimmed copy (GetFor) answers only for the encoding Negotiate picks.
func (p *Page) Variant(e Encoding) (body []byte, etag string, ok bool) {
	if e >= numEncodings || !p.Has(e) {
		return nil, "", false
	}
	return p.body(e), p.etags[e], true
}

// Event is one entry of a page's regeneration history.
type Event struct {
	At       time.Time
	Reason   string // "build", "stale", "on-demand", "event", "first-request", ...
	Outcome  string // "regenerated", "not_found", "redirect", "not_stored", "error", ...
	Duration time.Duration
	Error    string
}

// Job is a durable pending regeneration.
type Job struct {
	Path   string
	Reason string
	Queued time.Time
}

// PutOptions say when and how a page is stored.
type PutOptions struct {
	// Replaces is the Version of the stored page the new one was rendered
	// from (0: none was stored). If the stored version differs, Put
	// stores nothing and returns ErrConflict.
	Replaces uint64
	// Build stores the page unless the stored one was generated after it
	// (ErrNewer), whatever its version: what a build does.
	Build bool
	// NoSync does not wait for the disk: the page is atomic (old or new
	// after any crash), but a crash may lose it until the next sync (Sync,
	// any synced write after it, or the store's own sync within a second).
	// For pages whose loss only sends them back to their previous state.
	NoSync bool
	// Dequeue removes the path's queued job in the same batch.
	Dequeue bool
	// Replica stores a page another node rendered as it is, its Version
	// included, unless the stored page's Version is higher (ErrNewer):
	// what cluster mode applies from the shared bucket.
	Replica bool
}

// Pages are the stored page records and their dependency indexes.
type Pages interface {
	// Get returns the page for a normalized path, or ErrNotFound.
	// It is served from the hot cache when possible and does not allocate
	// on a hot-cache hit. The page is shared with other callers: treat it
	// as read-only. path may alias a reused buffer: Get does not retain it.
	Get(path string) (*Page, error)
	// GetFor is Get for serving a client that takes brotli (br) and/or
	// gzip (gz): the page may be a hot-cache copy that holds only the body
	// p.Negotiate(br, gz) picks, and no Tags, Keys or Prefixes, so the
	// cache's bytes go to the bodies clients ask for. Does not allocate on
	// a hot-cache hit.
	GetFor(path string, br, gz bool) (*Page, error)
	// Put stores p atomically with its key, prefix and tag index entries,
	// replacing the old record and its entries, under the conditions of
	// opts. The store keeps p's slices: do not modify them after Put.
	Put(p *Page, opts PutOptions) error
	// Delete removes a page and its index entries (and, with dequeue, the
	// path's queued job) in one batch. Deleting an absent path is not an
	// error.
	Delete(path string, dequeue bool) error
	// MarkStale sets StaleMarked on a stored page, or returns ErrNotFound.
	MarkStale(path string) error
	// SetVariants stores the gzip and brotli variants of the page stored
	// at path as an update of its version (the Version stays): it returns
	// ErrConflict if the stored page is another version, ErrNotFound if
	// none is stored. It does not wait for the disk: a crash may lose the
	// variants, never the page. The store keeps the slices.
	SetVariants(path string, version uint64, gz, br []byte) error
	// PathsForKey returns the paths of pages that read key, or listed a
	// prefix of key.
	PathsForKey(key string) ([]string, error)
	// PathsForTag returns the paths of pages carrying tag.
	PathsForTag(tag string) ([]string, error)
	// Paths calls fn for every stored path in key order until fn returns false.
	Paths(fn func(path string) bool) error
	// Sync makes every write before it durable.
	Sync() error
}

// Queue is the durable list of pending regenerations.
type Queue interface {
	// Enqueue records jobs in one synced batch (a path already queued
	// keeps its first job).
	Enqueue(jobs ...Job) error
	// Dequeue removes a path's job; an absent job is not an error.
	Dequeue(path string) error
	// Pending returns every queued job, oldest first.
	Pending() ([]Job, error)
}

// History is each path's regeneration log, bounded, newest kept.
type History interface {
	AddHistory(path string, e Event) error
	// History returns a path's events, oldest first.
	History(path string) ([]Event, error)
}

// Meta keeps small engine state, e.g. the last revision processed per
// data source.
type Meta interface {
	GetMeta(key string) ([]byte, error) // ErrNotFound if absent
	// SetMeta is durable (synced) when it returns.
	SetMeta(key string, value []byte) error
}

// Store is one database holding all four concepts.
type Store interface {
	Pages
	Queue
	History
	Meta
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
	ReadOnly   bool // writes are refused (ErrReadOnly)
}

var (
	ErrNotFound = errors.New("store: not found")
	ErrNewer    = errors.New("store: stored page is newer")
	// ErrConflict means the stored page is not the version a new one
	// replaces: another version was stored meanwhile.
	ErrConflict = errors.New("store: stored page changed")
	ErrClosed   = errors.New("store: closed")
	// ErrReadOnly means the store refuses writes: a write failed (a full
	// disk) or it was opened read-only. Reads keep working; writes resume
	// by themselves when a probe write succeeds.
	ErrReadOnly = errors.New("store: read-only (disk full or failing)")
	// ErrCorrupt reports a stored record that does not decode.
	ErrCorrupt = errors.New("store: corrupt record")
)
