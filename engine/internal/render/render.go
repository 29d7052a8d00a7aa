// Package render defines the seam between the ISR engine and page renderers.
//
// The engine only talks to renderers through the Renderer interface. The
// shipped implementation runs WebAssembly modules with wazero (see wasm.go);
// the ABI the modules implement is specified in sdk/ABI.md.
package render

import (
	"context"
	"errors"
	"time"
)

// Mode says why a page is being rendered. Its numeric values are part of the
// wasm ABI (sdk/ABI.md) and must not change.
type Mode uint32

const (
	ModeBuild      Mode = 0 // prerendering during `kiln build`
	ModeBackground Mode = 1 // stale-while-revalidate or event-driven regeneration
	ModeBlocking   Mode = 2 // a request is waiting for this render
	ModePreview    Mode = 3 // preview request: rendered fresh, never stored
)

func (m Mode) String() string {
	switch m {
	case ModeBuild:
		return "build"
	case ModeBackground:
		return "background"
	case ModeBlocking:
		return "blocking"
	case ModePreview:
		return "preview"
	}
	return "unknown"
}

// Param is one route parameter, in the order it appears in the pattern.
type Param struct {
	Name, Value string
}

// Request is what a renderer is asked to render.
type Request struct {
	Route         string    // the route pattern, e.g. "/posts/:slug"
	Path          string    // the normalized request path, e.g. "/posts/hello-world"
	Params        []Param   // route parameters in pattern order
	PrevGenerated time.Time // generation time of the stored page; zero if none
	Mode          Mode
	// Timeout overrides the renderer's own for this render (0 keeps it).
	// It starts when the render does, after any wait for the module.
	Timeout time.Duration
}

// Header is one response header set by a renderer.
type Header struct {
	Name, Value string
}

// Response is a renderer's answer.
type Response struct {
	Status   int // 0 means 200
	Headers  []Header
	Body     []byte
	NotFound bool
	// Redirect, when non-empty, is the Location; Status is then one of
	// 301, 302, 303, 307, 308 (0 becomes 307).
	Redirect string
	// Revalidate overrides the route's revalidate for this page:
	// RevalidateDefault (-1) keeps the route's; 0 means never; >0 is the interval.
	Revalidate time.Duration
	Tags       []string
	NoStore    bool // "don't cache this": served, not stored
	Deps       Deps // every key and prefix the render read (filled by the host)
}

// RevalidateDefault in Response.Revalidate keeps the route's revalidate.
const RevalidateDefault time.Duration = -1

// Deps is a page's dependency set: every data key it read and every prefix
// it listed.
type Deps struct {
	Keys     []string
	Prefixes []string
}

// Item is one key/value pair from a data source.
type Item struct {
	Key   string
	Value []byte
}

// Data is what renderers read. The data-source host implements it.
// Get returns found=false for a missing key. An error means the source is
// unavailable or failed; it should wrap ErrUnavailable when the source is down.
type Data interface {
	Get(ctx context.Context, key string) (value []byte, found bool, err error)
	// GetMany reads keys in one round trip: values[i] and found[i] answer
	// keys[i], and both slices have len(keys) elements. An error fails the
	// whole batch, as Get's does.
	GetMany(ctx context.Context, keys []string) (values [][]byte, found []bool, err error)
	// List returns up to limit items whose keys start with prefix, in key
	// order (or reverse), starting after cursor. next is "" at the end.
	List(ctx context.Context, prefix, cursor string, limit int, reverse bool) (items []Item, next string, err error)
}

// Renderer renders pages for the routes that use it. Implementations are
// safe for concurrent use.
type Renderer interface {
	// Name is the renderer's name from site.hcl.
	Name() string
	// Render renders one page. Errors name the renderer and the path.
	Render(ctx context.Context, req Request) (*Response, error)
	// Paths returns the build-time paths for a route (getStaticPaths).
	// ok is false when the module has no paths export.
	Paths(ctx context.Context, req Request) (paths []string, ok bool, err error)
	// Fallback renders the route's fallback shell. ok is false when the
	// module has no fallback export.
	Fallback(ctx context.Context, req Request) (resp *Response, ok bool, err error)
	// Close releases the renderer's instances.
	Close(ctx context.Context) error
}

// Releaser is a Renderer that can unload its module while idle, to load
// it again at its next call. Release reports whether it unloaded it: not
// while a call runs, a load is under way, or nothing is loaded.
type Releaser interface {
	Release(ctx context.Context) bool
}

var _ Releaser = (*wasmRenderer)(nil)

// Sentinel errors. Wrap them; match with errors.Is.
var (
	// ErrUnavailable means a data source needed by the render is down.
	// The server answers 503 with Retry-After to a blocking request.
	ErrUnavailable = errors.New("render: data source unavailable")
	// ErrTimeout means the render ran past its timeout and was stopped.
	ErrTimeout = errors.New("render: timeout")
)
