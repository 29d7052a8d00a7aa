package datasource

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kilnhq/kiln/engine/internal/render"
)

// TestDegradedStartRenders is the degraded start end to end, with a real
// plugin process and a real wasm renderer (render/testdata/page): the
// data file is invalid when the engine starts, so the source is down and
// the render fails with ErrUnavailable (503 with Retry-After); once the
// file is fixed the source comes up and the same renderer succeeds.
func TestDegradedStartRenders(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a wasm renderer")
	}
	cache := filepath.Join(os.TempDir(), "kiln-datasource-test")
	wasm := filepath.Join(cache, "page.wasm")
	if err := os.MkdirAll(cache, 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := render.BuildGo(context.Background(), filepath.Join("..", "render", "testdata", "page"), wasm); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	ds := jsonSource(t, dir, `{"posts/hello": {"Title": "Hello", "Paragraphs": ["one"]}`) // unterminated
	sup := startOpts(t, Options{policy: fastPolicy}, ds)

	rt, err := render.NewRuntime(context.Background(), filepath.Join(cache, "wazero"), testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rt.Close(context.Background()) })
	r, err := rt.Load(context.Background(), render.Config{Name: "page", WasmPath: wasm, Pool: 1, Data: sup.Data("content")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close(context.Background()) })
	req := render.Request{Route: "/posts/:slug", Path: "/posts/hello", Params: []render.Param{{Name: "slug", Value: "hello"}}}

	if _, err := r.Render(context.Background(), req); !errors.Is(err, render.ErrUnavailable) {
		t.Fatalf("render while the source is down: err = %v, want ErrUnavailable", err)
	}
	writeAtomic(t, filepath.Join(dir, "data.json"), `{"posts/hello": {"Title": "Hello", "Paragraphs": ["one"]}}`)
	waitState(t, sup, "content", StateUp)
	resp, err := r.Render(context.Background(), req)
	if err != nil || !strings.Contains(string(resp.Body), "<h1>Hello</h1>") {
		t.Fatalf("render once up = %v, %v; want the post", resp, err)
	}
}
