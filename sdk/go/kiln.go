// Package kiln is the Go SDK for writing Kiln page renderers.
//
// A renderer is a Go main package compiled to WebAssembly with
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o page.wasm .
//
// It registers its handlers from init and leaves main empty:
//
//	func init() { kiln.Handle(render) }
//	func main() {}
//
// Handlers read data with Get, GetJSON, GetMany, List and Each; every key
// and prefix they read becomes a dependency of the page, so a change to
// that data regenerates it. Pages are fastest written with package markup
// (no templates, no reflection); see the SDK's README. Outside WebAssembly the package still compiles, and
// package kilntest runs handlers natively for unit tests.
package kiln

import (
	"errors"
	"time"
)

// Mode says why a page is being rendered.
type Mode uint32

// Modes, with their ABI values.
const (
	ModeBuild      Mode = 0 // prerendering during `kiln build`
	ModeBackground Mode = 1 // background regeneration of a stale page
	ModeBlocking   Mode = 2 // a visitor is waiting for this render
	ModePreview    Mode = 3 // preview: rendered fresh, never stored
)

// Param is one route parameter.
type Param struct {
	Name, Value string
}

// Request is the page to render.
type Request struct {
	Mode          Mode
	Route         string    // the route pattern, e.g. "/posts/:slug"
	Path          string    // the request path, e.g. "/posts/hello-world"
	Params        []Param   // route parameters in pattern order
	PrevGenerated time.Time // generation time of the stored page; zero if none
}

// Param returns the value of the route parameter name, or "".
func (r *Request) Param(name string) string {
	for _, p := range r.Params {
		if p.Name == name {
			return p.Value
		}
	}
	return ""
}

// Header is one response header.
type Header struct {
	Name, Value string
}

// RevalidateDefault in Response.Revalidate keeps the route's revalidate.
const RevalidateDefault time.Duration = -1

// Response is a rendered page. Build one with HTML, NotFound or Redirect:
// a zero Response has Revalidate 0, which means "never stale".
type Response struct {
	Status  int // 0 means 200
	Headers []Header
	Body    []byte
	// NotFound stores a 404; an empty Body gets the site's 404 page.
	NotFound bool
	// Redirect, when set, is the Location; Status is 301, 302, 303, 307,
	// 308, or 0 for 307.
	Redirect string
	// Revalidate overrides the route's revalidate: RevalidateDefault keeps
	// it, 0 never goes stale, anything else is rounded up to seconds.
	Revalidate time.Duration
	// Tags let POST /_kiln/revalidate regenerate this page by tag.
	Tags []string
	// NoStore serves the page to the waiting visitor and stores nothing.
	NoStore bool
}

// HTML returns a 200 response with body, keeping the route's revalidate.
func HTML(body []byte) *Response {
	return &Response{Body: body, Revalidate: RevalidateDefault}
}

// NotFound returns a 404 response whose body is the site's 404 page.
func NotFound() *Response {
	return &Response{NotFound: true, Revalidate: RevalidateDefault}
}

// Redirect returns a redirect to url: 308 when permanent, else 307.
func Redirect(url string, permanent bool) *Response {
	status := 307
	if permanent {
		status = 308
	}
	return &Response{Status: status, Redirect: url, Revalidate: RevalidateDefault}
}

// ErrUnavailable is returned by the data functions when the data source is
// down. The render is then failed by the host whatever the handler does, so
// return the error.
var ErrUnavailable = errors.New("kiln: data source unavailable")

var handlers struct {
	render, fallback func(*Request) (*Response, error)
	paths            func(*Request) ([]string, error)
}

// Handle sets the function that renders pages. Call it from init.
func Handle(fn func(*Request) (*Response, error)) { handlers.render = fn }

// HandlePaths sets the function that lists a route's paths to prerender at
// build time (like Next.js getStaticPaths). Call it from init.
func HandlePaths(fn func(*Request) ([]string, error)) { handlers.paths = fn }

// HandleFallback sets the function that renders a route's fallback shell,
// sent at once for a path never generated before. It should not read data.
// Call it from init.
func HandleFallback(fn func(*Request) (*Response, error)) { handlers.fallback = fn }
