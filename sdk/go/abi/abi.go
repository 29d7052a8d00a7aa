// Package abi encodes and decodes the payloads of the Kiln renderer ABI,
// version 1 (sdk/ABI.md §5). Both the engine (the host) and the Go SDK (the
// guest) use it, so the two can never disagree about a byte.
package abi

import "errors"

// Version is the ABI version this package speaks.
const Version = 1

// Names of the version marker prefix, the exports and the import module.
const (
	MarkerPrefix   = "kiln_abi_version_"
	Marker         = "kiln_abi_version_1"
	ExportRender   = "kiln_render"
	ExportPaths    = "kiln_paths"
	ExportFallback = "kiln_fallback"
	ImportModule   = "kiln"
)

// Results of data_get and data_list below zero.
const (
	Missing     int32 = -1 // data_get: the key does not exist
	Unavailable int32 = -2 // the data source is down or failed
)

// Response flag bits.
const (
	FlagNotFound uint32 = 1 << 0
	FlagNoStore  uint32 = 1 << 1
	flagsKnown          = FlagNotFound | FlagNoStore
)

// List limits (sdk/ABI.md §4).
const (
	DefaultListLimit = 100
	MaxListLimit     = 1000
)

// ImportGetMany is the optional batched read (sdk/ABI.md §4); MaxGetMany
// is the most keys one call may carry.
const (
	ImportGetMany = "data_get_many"
	MaxGetMany    = 1000
)

// ErrMalformed is returned by every decoder for a payload that ends early,
// has bytes left over or breaks a structural rule.
var ErrMalformed = errors.New("abi: malformed payload")

// Param is one route parameter.
type Param struct {
	Name, Value string
}

// Header is one response header.
type Header struct {
	Name, Value string
}

// Request is the payload passed to every export (§5.2).
type Request struct {
	Mode          uint32
	Route         string
	Path          string
	Params        []Param
	PrevGenerated int64 // Unix milliseconds; 0 if none
}

// Response is the answer of kiln_render and kiln_fallback (§5.3).
type Response struct {
	Status     uint32
	Flags      uint32
	Revalidate int64 // -1 keep the route's; 0 never stale; n > 0 seconds
	Redirect   string
	Headers    []Header
	Tags       []string
	Body       []byte
}

// Item is one key/value pair of a list page.
type Item struct {
	Key   string
	Value []byte
}

// ListPage is the pending result of data_list (§5.5).
type ListPage struct {
	Items []Item
	Next  string
}
