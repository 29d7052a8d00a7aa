package site

import (
	"context"
	"fmt"
	"sync/atomic"

	"github.com/kilnhq/kiln/engine/internal/render"
)

// live is a renderer that `kiln dev` can swap for a rebuilt one while
// requests are running.
type live struct {
	name string
	cur  atomic.Pointer[render.Renderer]
}

var _ render.Renderer = (*live)(nil)

func newLive(r render.Renderer) *live {
	l := &live{name: r.Name()}
	l.cur.Store(&r)
	return l
}

func (l *live) get() render.Renderer { return *l.cur.Load() }

func (l *live) Name() string { return l.name }

func (l *live) Render(ctx context.Context, req render.Request) (*render.Response, error) {
	return l.get().Render(ctx, req)
}

func (l *live) Paths(ctx context.Context, req render.Request) ([]string, bool, error) {
	return l.get().Paths(ctx, req)
}

func (l *live) Fallback(ctx context.Context, req render.Request) (*render.Response, bool, error) {
	return l.get().Fallback(ctx, req)
}

func (l *live) Close(ctx context.Context) error { return l.get().Close(ctx) }

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
		old := l.cur.Swap(&r)
		return (*old).Close(ctx)
	}
	return fmt.Errorf("no renderer %q", name)
}
