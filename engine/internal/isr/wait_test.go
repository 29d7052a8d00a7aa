package isr

import (
	"context"
	"testing"
	"time"

	"github.com/kilnhq/kiln/engine/internal/config"
	"github.com/kilnhq/kiln/engine/internal/render"
	"github.com/kilnhq/kiln/engine/internal/router"
	"github.com/kilnhq/kiln/engine/internal/store"
)

// loading is a renderer whose module is still loading, like site's live
// wrapper: Wait and Render block until loaded is closed, or their context
// is done.
type loading struct {
	loaded chan struct{}
}

func (l *loading) Name() string { return "post" }

func (l *loading) Wait(ctx context.Context) error {
	select {
	case <-l.loaded:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (l *loading) Render(ctx context.Context, req render.Request) (*render.Response, error) {
	if err := l.Wait(ctx); err != nil {
		return nil, err
	}
	return &render.Response{Body: []byte("<p>" + req.Path + "</p>")}, nil
}

func (l *loading) Paths(context.Context, render.Request) ([]string, bool, error) {
	return nil, false, nil
}

func (l *loading) Fallback(context.Context, render.Request) (*render.Response, bool, error) {
	return nil, false, nil
}

func (l *loading) Close(context.Context) error { return nil }

// TestRenderWaitsForModuleOutsideTimeout checks that a module loading for
// longer than the route's timeout (a warm start compiles renderers behind
// the server) delays the first render instead of failing it.
func TestRenderWaitsForModuleOutsideTimeout(t *testing.T) {
	st, err := store.Open(t.TempDir(), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	route := &config.Route{Pattern: "/p/:slug", Renderer: "post", Timeout: 20 * time.Millisecond, Fallback: config.FallbackBlocking}
	routes, err := router.New([]*config.Route{route})
	if err != nil {
		t.Fatal(err)
	}
	r := &loading{loaded: make(chan struct{})}
	e := New(Options{Site: &config.Site{Routes: []*config.Route{route}}, Store: st, Routes: routes,
		Renderers: map[string]render.Renderer{"post": r}})
	defer e.Close()
	time.AfterFunc(100*time.Millisecond, func() { close(r.loaded) })
	page, err := e.Render(context.Background(), "/p/a", "request")
	if err != nil {
		t.Fatalf("render while loading: %v", err)
	}
	if got, want := string(page.Body), "<p>/p/a</p>"; got != want {
		t.Errorf("body = %q, want %q", got, want)
	}
}
