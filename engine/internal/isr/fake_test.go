package isr

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/cockroachdb/datadriven"

	"github.com/kilnhq/kiln/engine/internal/datasource"
	"github.com/kilnhq/kiln/engine/internal/render"
)

// filler pads every body past encode.MinSize, so stored pages get gzip
// and brotli variants.
var filler = strings.Repeat("<!-- filler -->", 48)

// fakeRenderer is a scripted renderer: per path, what it answers, which
// data keys it reads and which tags it puts on the page. A body says
// which render produced it and the values it read: "/p/a #2 post:a=v1".
type fakeRenderer struct {
	mu       sync.Mutex
	data     map[string]string
	outcomes map[string][]string // path -> outcome words
	reads    map[string][]string
	tags     map[string][]string
	renders  map[string]int
	gates    map[string]chan struct{} // a render blocks on it once, after reading
	gated    map[string]chan struct{} // gates a render is blocked on
	inflight map[string]int           // renders running now, per path
	overlap  []string                 // paths that had two renders at once
}

func newFakeRenderer() *fakeRenderer {
	return &fakeRenderer{
		data: map[string]string{}, outcomes: map[string][]string{}, reads: map[string][]string{},
		tags: map[string][]string{}, renders: map[string]int{}, gates: map[string]chan struct{}{},
		gated: map[string]chan struct{}{}, inflight: map[string]int{},
	}
}

// set sets (or with del=KEY deletes) data values and returns the changes.
func (r *fakeRenderer) set(d *datadriven.TestData, events bool) []datasource.Change {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []datasource.Change
	for _, a := range d.CmdArgs {
		if a.Key == "del" {
			for _, k := range a.Vals {
				delete(r.data, k)
				out = append(out, datasource.Change{Source: "data", Key: k, Deleted: true})
			}
			continue
		}
		v := ""
		if len(a.Vals) > 0 {
			v = a.Vals[0]
		}
		r.data[a.Key] = v
		out = append(out, datasource.Change{Source: "data", Key: a.Key, Value: []byte(v)})
	}
	if !events {
		return nil
	}
	return out
}

func (r *fakeRenderer) script(d *datadriven.TestData) {
	r.mu.Lock()
	defer r.mu.Unlock()
	path := d.CmdArgs[0].Key
	var words []string
	for _, a := range d.CmdArgs[1:] {
		if a.Key == "gate" {
			r.gates[path] = make(chan struct{})
			continue
		}
		w := a.Key
		if len(a.Vals) > 0 {
			w += "=" + a.Vals[0]
		}
		words = append(words, w)
	}
	if len(words) > 0 || !d.HasArg("gate") {
		r.outcomes[path] = words
	}
}

func (r *fakeRenderer) deps(d *datadriven.TestData) {
	r.mu.Lock()
	defer r.mu.Unlock()
	var l []string
	for _, a := range d.CmdArgs[1:] {
		l = append(l, a.Key)
	}
	if d.Cmd == "reads" {
		r.reads[d.CmdArgs[0].Key] = l
	} else {
		r.tags[d.CmdArgs[0].Key] = l
	}
}

// release lets a gated render go on (or cancels a gate no render took).
func (r *fakeRenderer) release(path string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, m := range []map[string]chan struct{}{r.gated, r.gates} {
		if g := m[path]; g != nil {
			close(g)
			delete(m, path)
		}
	}
}

func (r *fakeRenderer) releaseAll() {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, m := range []map[string]chan struct{}{r.gated, r.gates} {
		for p, g := range m {
			close(g)
			delete(m, p)
		}
	}
}

func (r *fakeRenderer) counts() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, p := range slices.Sorted(maps.Keys(r.renders)) {
		out = append(out, fmt.Sprintf("%s: %d", p, r.renders[p]))
	}
	return strings.Join(out, "\n")
}

func (r *fakeRenderer) Name() string { return "page" }

// Render reads the path's keys, then (once, if gated) waits for release,
// then answers as scripted.
func (r *fakeRenderer) Render(ctx context.Context, req render.Request) (*render.Response, error) {
	r.mu.Lock()
	r.renders[req.Path]++
	n := r.renders[req.Path]
	if r.inflight[req.Path]++; r.inflight[req.Path] > 1 {
		r.overlap = append(r.overlap, req.Path)
	}
	defer func() {
		r.mu.Lock()
		r.inflight[req.Path]--
		r.mu.Unlock()
	}()
	words, scripted := r.outcomes[req.Path]
	if !scripted {
		words = r.outcomes["*"] // every path not scripted on its own
	}
	keys := r.reads[req.Path]
	var vals []string
	for _, k := range keys {
		vals = append(vals, k+"="+r.data[k])
	}
	tags := slices.Clone(r.tags[req.Path])
	gate := r.gates[req.Path]
	if gate != nil {
		r.gated[req.Path] = gate // release closes it
		delete(r.gates, req.Path)
	}
	r.mu.Unlock()
	if gate != nil {
		select {
		case <-gate:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	resp := &render.Response{
		Body:       []byte(strings.TrimSpace(fmt.Sprintf("%s #%d %s", req.Path, n, strings.Join(vals, " "))) + filler),
		Revalidate: render.RevalidateDefault, Tags: tags,
		Deps: render.Deps{Keys: slices.Clone(keys)},
	}
	timeout := req.Timeout
	if timeout <= 0 {
		timeout = 2 * time.Second
	}
	for _, w := range words {
		key, val, _ := strings.Cut(w, "=")
		switch key {
		case "ok":
		case "notfound":
			resp.NotFound = true
		case "redirect":
			resp.Redirect = val
		case "nostore":
			resp.NoStore = true
		case "fail":
			return nil, errors.New("renderer failed: scripted")
		case "unavailable":
			return nil, fmt.Errorf("%w: scripted", render.ErrUnavailable)
		case "hang":
			select {
			case <-ctx.Done():
				return nil, ctx.Err()
			case <-time.After(timeout):
				return nil, fmt.Errorf("%w after %s", render.ErrTimeout, timeout)
			}
		case "slow":
			d, _ := time.ParseDuration(val)
			time.Sleep(d)
		case "status":
			fmt.Sscan(val, &resp.Status)
		case "revalidate":
			d, _ := time.ParseDuration(val)
			resp.Revalidate = d
		default:
			return nil, fmt.Errorf("unknown outcome %q", w)
		}
	}
	return resp, nil
}

func (r *fakeRenderer) Paths(context.Context, render.Request) ([]string, bool, error) {
	return nil, false, nil
}

func (r *fakeRenderer) Fallback(context.Context, render.Request) (*render.Response, bool, error) {
	return nil, false, nil
}

func (r *fakeRenderer) Close(context.Context) error { return nil }
