// Package kilntest runs Kiln Go renderers natively, without WebAssembly,
// so their authors can unit-test them with go test.
//
// The renderer package's init registers its handlers as usual; a test then
// calls Render with a request and fake data:
//
//	resp, err := kilntest.Render(&kiln.Request{Path: "/posts/hi",
//		Params: []kiln.Param{{Name: "slug", Value: "hi"}}},
//		kilntest.Data{"posts/hi": `{"title":"Hi"}`})
//
// Requests and responses go through the same encoding and the same checks
// as in the engine, so a response the engine would refuse fails here too.
package kilntest

import (
	"errors"
	"fmt"
	"log"
	"sort"
	"strings"
	"sync"
	"time"

	kiln "github.com/kilnhq/kiln/sdk/go"
	"github.com/kilnhq/kiln/sdk/go/abi"
	"github.com/kilnhq/kiln/sdk/go/internal/hook"
)

// Source is the data a render reads.
type Source interface {
	Get(key string) (value []byte, found bool, err error)
	// List returns up to limit items under prefix after cursor, in key
	// order (descending when reverse); next is "" after the last page.
	List(prefix, cursor string, limit int, reverse bool) (items []kiln.Item, next string, err error)
}

// Data is an in-memory Source: key to value. Keys "kiln:asset:NAME" answer
// kiln.Asset(NAME).
type Data map[string]string

// Get returns the value of key.
func (d Data) Get(key string) ([]byte, bool, error) {
	v, ok := d[key]
	return []byte(v), ok, nil
}

// List pages through the keys under prefix; a page's next cursor is its
// last key when more items follow.
func (d Data) List(prefix, cursor string, limit int, reverse bool) ([]kiln.Item, string, error) {
	var keys []string
	for k := range d {
		after := cursor == "" || (!reverse && k > cursor) || (reverse && k < cursor)
		if strings.HasPrefix(k, prefix) && after {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	if reverse {
		sort.Sort(sort.Reverse(sort.StringSlice(keys)))
	}
	var next string
	if len(keys) > limit {
		keys, next = keys[:limit], keys[limit-1]
	}
	items := make([]kiln.Item, len(keys))
	for i, k := range keys {
		items[i] = kiln.Item{Key: k, Value: []byte(d[k])}
	}
	return items, next, nil
}

// Unavailable is a Source whose every read fails, as when the data source
// is down.
var Unavailable Source = down{}

type down struct{}

func (down) Get(string) ([]byte, bool, error) { return nil, false, kiln.ErrUnavailable }
func (down) List(string, string, int, bool) ([]kiln.Item, string, error) {
	return nil, "", kiln.ErrUnavailable
}

// ErrUnavailable is wrapped by the error of a render that read from an
// unavailable source, whatever the handler returned (as in the engine).
var ErrUnavailable = kiln.ErrUnavailable

// mu runs one render at a time: the SDK's host is global.
var mu sync.Mutex

// Render runs the renderer's kiln.Handle function on req with data.
func Render(req *kiln.Request, data Source) (*kiln.Response, error) {
	answer, err := run(abi.ExportRender, req, data)
	if err != nil {
		return nil, err
	}
	return decodeResponse(answer)
}

// Fallback runs the kiln.HandleFallback function on req.
func Fallback(req *kiln.Request) (*kiln.Response, error) {
	answer, err := run(abi.ExportFallback, req, Data{})
	if err != nil {
		return nil, err
	}
	return decodeResponse(answer)
}

// Paths runs the kiln.HandlePaths function on req with data.
func Paths(req *kiln.Request, data Source) ([]string, error) {
	answer, err := run(abi.ExportPaths, req, data)
	if err != nil {
		return nil, err
	}
	paths, err := abi.DecodePaths(answer)
	for _, p := range paths {
		if !strings.HasPrefix(p, "/") {
			return nil, fmt.Errorf("kilntest: path %q does not start with /", p)
		}
	}
	return paths, err
}

func run(export string, req *kiln.Request, data Source) ([]byte, error) {
	mu.Lock()
	defer mu.Unlock()
	h := &host{src: data}
	hook.Native = h
	defer func() { hook.Native = nil }()
	answer, msg, code := hook.Serve(export, abi.AppendRequest(nil, toABI(req)))
	switch {
	case h.unavailable != nil:
		return nil, fmt.Errorf("kilntest: %w", h.unavailable)
	case code == -1 && msg == "":
		return nil, errors.New("kilntest: no handler registered for " + export)
	case code != 0:
		return nil, fmt.Errorf("kilntest: render failed: %s", msg)
	}
	return answer, nil
}

func toABI(req *kiln.Request) *abi.Request {
	ar := &abi.Request{Mode: uint32(req.Mode), Route: req.Route, Path: req.Path}
	if !req.PrevGenerated.IsZero() {
		ar.PrevGenerated = req.PrevGenerated.UnixMilli()
	}
	for _, p := range req.Params {
		ar.Params = append(ar.Params, abi.Param{Name: p.Name, Value: p.Value})
	}
	return ar
}

func decodeResponse(b []byte) (*kiln.Response, error) {
	ar, err := abi.DecodeResponse(b)
	if err == nil {
		err = abi.ValidateResponse(&ar)
	}
	if err != nil {
		return nil, fmt.Errorf("kilntest: %w", err)
	}
	r := &kiln.Response{Status: int(ar.Status), Body: ar.Body, Redirect: ar.Redirect, Tags: ar.Tags,
		NotFound: ar.Flags&abi.FlagNotFound != 0, NoStore: ar.Flags&abi.FlagNoStore != 0,
		Revalidate: kiln.RevalidateDefault}
	if ar.Revalidate >= 0 {
		r.Revalidate = time.Duration(ar.Revalidate) * time.Second
	}
	for _, h := range ar.Headers {
		r.Headers = append(r.Headers, kiln.Header{Name: h.Name, Value: h.Value})
	}
	return r, nil
}

var _ interface {
	hook.Host
	hook.Many
} = (*host)(nil)

// host plays the engine's part for one render.
type host struct {
	src         Source
	unavailable error
}

func (h *host) Get(key string) ([]byte, int32) {
	v, found, err := h.src.Get(key)
	switch {
	case err != nil:
		h.unavailable = errors.Join(h.unavailable, err)
		return nil, abi.Unavailable
	case !found:
		return nil, abi.Missing
	}
	return v, int32(len(v))
}

// GetMany answers a batch with the source's GetMany when it has one (see
// ManySource), else one Get per key.
func (h *host) GetMany(keys []byte) ([]byte, int32) {
	ks, err := abi.DecodeKeys(keys)
	if err != nil || len(ks) > abi.MaxGetMany {
		panic(fmt.Sprintf("kilntest: data_get_many: %d keys, %v", len(ks), err))
	}
	values, found, err := getMany(h.src, ks)
	if err != nil {
		h.unavailable = errors.Join(h.unavailable, err)
		return nil, abi.Unavailable
	}
	b := abi.AppendValues(nil, values, found)
	return b, int32(len(b))
}

// ManySource is a Source that reads a batch of keys in one call, as a data
// source's GetMany does; kilntest uses it for kiln.GetMany when the Source
// has it.
type ManySource interface {
	Source
	GetMany(keys []string) (values [][]byte, found []bool, err error)
}

func getMany(src Source, keys []string) ([][]byte, []bool, error) {
	if m, ok := src.(ManySource); ok {
		values, found, err := m.GetMany(keys)
		if err == nil && (len(values) != len(keys) || len(found) != len(keys)) {
			err = fmt.Errorf("kilntest: GetMany answered %d values for %d keys", len(values), len(keys))
		}
		return values, found, err
	}
	values, found := make([][]byte, len(keys)), make([]bool, len(keys))
	for i, k := range keys {
		v, f, err := src.Get(k)
		if err != nil {
			return nil, nil, err
		}
		if f {
			values[i], found[i] = v, true
		}
	}
	return values, found, nil
}

func (h *host) List(prefix, cursor string, limit int, reverse bool) ([]byte, int32) {
	if limit <= 0 {
		limit = abi.DefaultListLimit
	}
	items, next, err := h.src.List(prefix, cursor, min(limit, abi.MaxListLimit), reverse)
	if err != nil {
		h.unavailable = errors.Join(h.unavailable, err)
		return nil, abi.Unavailable
	}
	page := abi.ListPage{Next: next}
	for _, it := range items {
		page.Items = append(page.Items, abi.Item{Key: it.Key, Value: it.Value})
	}
	b := abi.AppendListPage(nil, &page)
	return b, int32(len(b))
}

// Log prints the renderer's log messages with the standard logger.
func (h *host) Log(level int32, msg string) {
	log.Printf("kiln %s: %s", [...]string{"debug", "info", "warn", "error"}[min(max(level, 0), 3)], msg)
}
