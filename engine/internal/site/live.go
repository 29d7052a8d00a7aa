package site

import (
	"context"
	"fmt"
	"sync/atomic"

	"github.com/kilnhq/kiln/engine/internal/render"
)

// live stands for a renderer from the moment the site opens: renders wait
// until its module is loaded (so serving stored pages need not wait for
// any module), and `kiln dev` can swap in a rebuilt module while requests
// are running.
type live struct {
	name  string
	ready chan struct{} // closed once loaded or failed
	err   error         // the load error, set before ready closes
	cur   atomic.Pointer[render.Renderer]
}

var _ render.Renderer = (*live)(nil)

func newLive(name string) *live { return &live{name: name, ready: make(chan struct{})} }

// loaded records the outcome of loading the module.
func (l *live) loaded(r render.Renderer, err error) {
	if err == nil {
		l.cur.Store(&r)
	}
	l.err = err
	close(l.ready)
}

// get waits for the module.
func (l *live) get(ctx context.Context) (render.Renderer, error) {
	select {
	case <-l.ready:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	if l.err != nil {
		return nil, l.err
	}
	return *l.cur.Load(), nil
}

func (l *live) Name() string { return l.name }

func (l *live) Render(ctx context.Context, req render.Request) (*render.Response, error) {
	r, err := l.get(ctx)
	if err != nil {
		return nil, err
	}
	return r.Render(ctx, req)
}

func (l *live) Paths(ctx context.Context, req render.Request) ([]string, bool, error) {
	r, err := l.get(ctx)
	if err != nil {
		return nil, false, err
	}
	return r.Paths(ctx, req)
}

func (l *live) Fallback(ctx context.Context, req render.Request) (*render.Response, bool, error) {
	r, err := l.get(ctx)
	if err != nil {
		return nil, false, err
	}
	return r.Fallback(ctx, req)
}

func (l *live) Close(ctx context.Context) error {
	select {
	case <-l.ready:
		if p := l.cur.Load(); p != nil {
			return (*p).Close(ctx)
		}
	default:
	}
	return nil
}

// release unloads the renderer's module if it is loaded and idle (see
// render.Releaser).
func (l *live) release(ctx context.Context) bool {
	select {
	case <-l.ready:
		if p := l.cur.Load(); p != nil {
			if r, ok := (*p).(render.Releaser); ok {
				return r.Release(ctx)
			}
		}
	default:
	}
	return false
}

// ReleaseRenderers unloads every loaded renderer no call is using: their
// instances and compiled code go, and each loads again at its next call.
// kiln serve calls it once the start-up check of the build-time paths is
// done, so a server whose pages are all stored holds no renderer until a
// page needs one. It returns how many it released.
func (s *Site) ReleaseRenderers(ctx context.Context) int {
	n := 0
	for _, r := range s.Renderers {
		if l, ok := r.(*live); ok && l.release(ctx) {
			n++
		}
	}
	return n
}

// Reload rebuilds one renderer and swaps it in. Renders already running
// finish on the old module.
func (s *Site) Reload(ctx context.Context, name string, opts Options) error {
	for _, rc := range s.Config.Renderers {
		if rc.Name != name {
			continue
		}
		if _, err := BuildRenderer(ctx, s.Config, rc); err != nil {
			return err
		}
		r, err := s.Runtime.Load(ctx, s.renderConfig(rc, opts))
		if err != nil {
			return err
		}
		l := s.Renderers[name].(*live)
		<-l.ready
		if old := l.cur.Swap(&r); old != nil {
			return (*old).Close(ctx)
		}
		l.err = nil
		return nil
	}
	return fmt.Errorf("no renderer %q", name)
}
