package site

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"github.com/kilnhq/kiln/engine/internal/render"
)

// timed is a renderer that reports when it was called and the timeout it
// was given, the way the wasm runtime starts a render's timeout.
type timed struct {
	render.Renderer
	called  time.Time
	timeout time.Duration
}

func (r *timed) Render(_ context.Context, req render.Request) (*render.Response, error) {
	r.called, r.timeout = time.Now(), req.Timeout
	return &render.Response{Body: []byte("ok")}, nil
}

// TestRenderWaitsForModuleOutsideTimeout: a render that waits for its
// module (a warm start loads renderers behind the server) gets its whole
// timeout once the module is there, however long the load took.
func TestRenderWaitsForModuleOutsideTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := newLive("post")
		inner := &timed{}
		go func() {
			time.Sleep(5 * time.Second) // longer than the render's timeout
			l.loaded(inner, nil)
		}()
		start := time.Now()
		resp, err := l.Render(context.Background(), render.Request{Path: "/p/a", Timeout: 2 * time.Second})
		if err != nil || string(resp.Body) != "ok" {
			t.Fatalf("render while loading: %v", err)
		}
		if got := inner.called.Sub(start); got != 5*time.Second {
			t.Errorf("render began %s after the call, want once the module loaded (5s)", got)
		}
		if inner.timeout != 2*time.Second {
			t.Errorf("the renderer got timeout %s, want the whole 2s", inner.timeout)
		}
	})
}
