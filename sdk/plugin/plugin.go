// Package plugin is the Go SDK for Kiln data-source plugins.
//
// A plugin is a separate process started by the Kiln engine through
// hashicorp/go-plugin over gRPC. A plugin author implements Source (and,
// for writable stores, Writer) and calls Serve from main:
//
//	func main() { plugin.Serve(&mySource{}) }
//
// Logging goes to stderr through hclog (see Logger); nothing may write to
// stdout, which carries the go-plugin handshake.
package plugin

import (
	"context"
)

// ProtocolVersion is the data-source protocol version this SDK speaks.
const ProtocolVersion = 1

// Item is one key/value pair. Values are opaque bytes; by convention JSON.
type Item struct {
	Key      string
	Value    []byte
	Revision uint64 // revision at which the item was last changed (0 if unknown)
}

// Event is one change, as streamed by Watch.
type Event struct {
	Revision uint64 // strictly increasing per source
	Key      string
	Value    []byte // nil for deletes
	Deleted  bool
	// Bookmark marks a progress event with no change: the source is at
	// Revision. Watch(from=0) should send one first, so the host knows
	// where "now" is and can resume from there after a crash.
	Bookmark bool
}

// ListRequest asks for one page of a prefix listing.
type ListRequest struct {
	Prefix  string
	Cursor  string // opaque; "" starts at the beginning (or end, if Reverse)
	Limit   int    // >0; the host caps it
	Reverse bool
}

// ListPage is one page of a listing. Next is "" at the end.
type ListPage struct {
	Items []Item
	Next  string
}

// Severity of a Diagnostic.
type Severity int

const (
	SeverityError   Severity = 1
	SeverityWarning Severity = 2
)

// Diagnostic is an error or warning that crosses the plugin boundary as
// data. Attribute names the config attribute it is about (e.g. "path"), so
// the host can point at the site.hcl line it came from.
//
// Transient marks an error from Configure that is not the config's fault:
// the source cannot serve now (a database unreachable, a data file
// invalid) but may later. The engine then starts without the source,
// serves stored pages, and retries. Any other error from Configure is one
// the user must fix in site.hcl, and stops the engine at start.
type Diagnostic struct {
	Severity  Severity
	Summary   string
	Detail    string
	Attribute string
	Transient bool
}

// Diagnostics is a list of diagnostics; it is an error when any has
// SeverityError.
type Diagnostics []Diagnostic

// HasErrors reports whether any diagnostic is an error.
func (ds Diagnostics) HasErrors() bool {
	for _, d := range ds {
		if d.Severity == SeverityError {
			return true
		}
	}
	return false
}

// Error makes Diagnostics usable as an error.
func (ds Diagnostics) Error() string {
	s := ""
	for i, d := range ds {
		if i > 0 {
			s += "; "
		}
		s += d.Summary
		if d.Attribute != "" {
			s += " (" + d.Attribute + ")"
		}
		if d.Detail != "" {
			s += ": " + d.Detail
		}
	}
	return s
}

// AttributeType is the type of one config attribute in a Schema.
type AttributeType string

const (
	TypeString AttributeType = "string"
	TypeNumber AttributeType = "number"
	TypeBool   AttributeType = "bool"
	TypeList   AttributeType = "list(string)"
)

// Attribute describes one attribute of a plugin's config block.
type Attribute struct {
	Name        string
	Type        AttributeType
	Required    bool
	Description string
}

// Schema is a plugin's config schema.
type Schema struct {
	Attributes []Attribute
}

// Capabilities says what a source can do.
type Capabilities struct {
	Watch    bool // streams change events
	Writable bool // implements Writer
}

// Source is what every data-source plugin implements.
type Source interface {
	Capabilities() Capabilities
	Schema() Schema
	// Configure receives the plugin's config block as JSON, evaluated by
	// the host. It is called once, before any other data call.
	Configure(ctx context.Context, config []byte) Diagnostics
	// Get returns a key's item; found is false when the key is missing.
	Get(ctx context.Context, key string) (item Item, found bool, err error)
	// List returns one page of items whose keys start with Prefix, in key
	// order (or reverse).
	List(ctx context.Context, req ListRequest) (ListPage, error)
	// Watch sends every change after revision from (0: only changes from
	// now on) until ctx is done or send fails. With from = 0 it must first
	// send a Bookmark event carrying the current revision: the host waits
	// for it at start-up and resumes from it after a crash. Events that
	// happened while the plugin was not running must be sent if the source
	// can recover them (its revisions are durable).
	Watch(ctx context.Context, from uint64, send func(Event) error) error
}

// BatchGetter is implemented by sources that read several keys at once
// faster than one by one (one query, one lock). Without it the SDK answers
// a batched read by calling Get per key.
type BatchGetter interface {
	// GetMany returns one item per key, in the order of keys; found[i] is
	// false when keys[i] is missing. An error fails the whole batch.
	GetMany(ctx context.Context, keys []string) (items []Item, found []bool, err error)
}

// Writer is implemented by writable sources.
type Writer interface {
	Put(ctx context.Context, key string, value []byte) (revision uint64, err error)
	Delete(ctx context.Context, key string) (revision uint64, err error)
}

// BatchWriter is implemented by writable sources that write several items
// at once faster than one by one (one transaction, one fsync). Without it
// the SDK answers a batched write by calling Put per item, in order. An
// import through the engine writes in batches, so its change events
// arrive together and the engine sees one burst, not a trickle.
type BatchWriter interface {
	// PutMany writes items, in order, each at its own new revision, and
	// returns the last revision. On an error, the items before it may have
	// been written (a store that can should write all or none).
	PutMany(ctx context.Context, items []Item) (revision uint64, err error)
}
