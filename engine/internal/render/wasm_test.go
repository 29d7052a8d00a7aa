package render

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestRenderPage(t *testing.T) {
	rt := newTestRuntime(t, nil)
	data := &memData{items: map[string]string{
		"posts/hello": `{"Title":"Hello <world>","Paragraphs":["one","two"]}`,
	}}
	assets := func(name string) (string, bool) { return "/assets/" + name + ".abc", name == "style.css" }
	r := load(t, rt, Config{Name: "page", WasmPath: buildGoGuest(t, "testdata/page"), Pool: 1, Data: data, Assets: assets})
	req := Request{Mode: ModeBlocking, Route: "/posts/:slug", Path: "/posts/hello",
		Params: []Param{{Name: "slug", Value: "hello"}}}
	resp, err := r.Render(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	body := string(resp.Body)
	for _, want := range []string{"<title>Hello &lt;world&gt;</title>", "<p>two</p>", `href="/assets/style.css.abc"`} {
		if !strings.Contains(body, want) {
			t.Errorf("body lacks %q:\n%s", want, body)
		}
	}
	if got, want := resp.Status, 200; got != want {
		t.Errorf("status = %d, want %d", got, want)
	}
	if got, want := resp.Deps.Keys, []string{"posts/hello", "kiln:asset:style.css"}; !slices.Equal(got, want) {
		t.Errorf("deps = %q, want %q", got, want)
	}
	if got, want := resp.Tags, []string{"post:hello"}; !slices.Equal(got, want) {
		t.Errorf("tags = %q, want %q", got, want)
	}
	if got, want := resp.Headers, []Header{{"Content-Type", "text/html; charset=utf-8"}}; !slices.Equal(got, want) {
		t.Errorf("headers = %q, want %q", got, want)
	}
	if got, want := resp.Revalidate, RevalidateDefault; got != want {
		t.Errorf("revalidate = %v, want %v", got, want)
	}
	req.Path, req.Params = "/posts/nope", []Param{{Name: "slug", Value: "nope"}}
	resp, err = r.Render(context.Background(), req)
	if err != nil || !resp.NotFound || resp.Status != 404 {
		t.Errorf("missing post = %+v, %v; want 404", resp, err)
	}
	if _, ok, err := r.Paths(context.Background(), req); ok || err != nil {
		t.Errorf("Paths without handler = ok %v, %v; want not ok", ok, err)
	}
}

// TestEnv checks a renderer sees the environment from site.hcl and
// nothing else.
func TestEnv(t *testing.T) {
	rt := newTestRuntime(t, nil)
	r := load(t, rt, Config{Name: "misbehave", WasmPath: buildGoGuest(t, "testdata/misbehave"), Pool: 1,
		Env: map[string]string{"GREETING": "hi there", "OTHER": "x"}})
	resp, err := r.Render(context.Background(), Request{Route: "/*p", Path: "/env"})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(resp.Body), "env=2 args=0 file=true greeting=hi there"; got != want {
		t.Errorf("body = %q, want %q", got, want)
	}
}

// TestLoadRejects checks the load-time rules of sdk/ABI.md §1-2.
func TestLoadRejects(t *testing.T) {
	notWasm := filepath.Join(t.TempDir(), "notwasm.wasm")
	os.WriteFile(notWasm, []byte("<html>not wasm</html>"), 0o644)
	truncated := filepath.Join(t.TempDir(), "trunc.wasm")
	os.WriteFile(truncated, []byte("\x00asm\x01\x00\x00\x00\x01\x05"), 0o644)
	tests := []struct {
		name string
		path func(t *testing.T) string
		want string
	}{
		{"not wasm", func(*testing.T) string { return notWasm }, "not a WebAssembly module"},
		{"truncated", func(*testing.T) string { return truncated }, "compile"},
		{"missing file", func(*testing.T) string { return "/nonexistent.wasm" }, "no such file"},
		{"no marker", func(t *testing.T) string { return buildCGuest(t, "NOMARKER") }, "no kiln_abi_version_N export"},
		{"bad version", func(t *testing.T) string { return buildCGuest(t, "VERSION7") }, "unsupported Kiln ABI version 7 (this engine speaks 1)"},
		{"wrong signature", func(t *testing.T) string { return buildCGuest(t, "BADSIG") }, "kiln_render has signature func() -> (i32), want func(i32) -> (i32)"},
		{"unknown import", func(t *testing.T) string { return buildCGuest(t, "IMPORT") }, "unknown import env.sneaky"},
		{"command", func(t *testing.T) string { return buildCGuest(t, "COMMAND") }, "exports _start"},
	}
	rt := newTestRuntime(t, nil)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := tt.path(t)
			_, err := rt.Load(context.Background(), Config{Name: "bad", WasmPath: path, Pool: 1})
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), path) {
				t.Errorf("Load err = %v, want one naming %s and containing %q", err, path, tt.want)
			}
		})
	}
}

// TestMisbehavingGo proves the engine survives each way a Go guest can
// misbehave, and that a broken instance is replaced while a healthy one
// is kept.
func TestMisbehavingGo(t *testing.T) {
	rec := &logRecorder{}
	rt := newTestRuntime(t, slog.New(rec))
	data := &memData{down: true}
	r := load(t, rt, Config{Name: "misbehave", WasmPath: buildGoGuest(t, "testdata/misbehave"), Pool: 1,
		Timeout: time.Second, MaxMemory: 64 << 20, HighWater: 40 << 20, Data: data})
	tests := []struct {
		path     string
		want     string // error substring; "" for success
		is       error
		replaced bool
	}{
		{"/ok", "", nil, false},
		{"/panic", "renderer failed: panic: boom", nil, false},
		{"/nilmap", "panic: assignment to entry in nil map", nil, false},
		{"/exit", "renderer exited with code 3", nil, true},
		{"/loop", "render: timeout", ErrTimeout, true},
		{"/bomb", "trap: wasm error: unreachable", nil, true},
		{"/hoard", "", nil, true},
		{"/big", "response too large", nil, false},
		{"/crlf", `header X-Evil: bad value`, nil, false},
		{"/badutf8", `header X-Bad: bad value`, nil, false},
		{"/ignore-unavailable", "data source unavailable", ErrUnavailable, false},
		{"/env", "", nil, false},
	}
	if !r.guarded {
		t.Fatal("the Go guest was not instrumented")
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			before := r.created.Load()
			resp, err := r.Render(context.Background(), Request{Route: "/*p", Path: tt.path})
			checkErr(t, err, tt.want, tt.is)
			if tt.path == "/env" && err == nil {
				if got, want := string(resp.Body), "env=0 args=0 file=true greeting="; got != want {
					t.Errorf("sandbox = %q, want %q", got, want)
				}
			}
			// The next render gets a working instance either way.
			if _, err := r.Render(context.Background(), Request{Path: "/ok"}); err != nil {
				t.Fatalf("render after %s: %v", tt.path, err)
			}
			if got := r.created.Load() > before; got != tt.replaced {
				t.Errorf("instance replaced = %v, want %v", got, tt.replaced)
			}
		})
	}
}

func checkErr(t *testing.T, err error, want string, is error) {
	t.Helper()
	switch {
	case want == "" && err != nil:
		t.Errorf("err = %v, want nil", err)
	case want != "" && (err == nil || !strings.Contains(err.Error(), want)):
		t.Errorf("err = %v, want one containing %q", err, want)
	case is != nil && !errors.Is(err, is):
		t.Errorf("err = %v, want errors.Is %v", err, is)
	}
}

// TestMisbehavingC covers traps and lies a Go guest cannot produce.
func TestMisbehavingC(t *testing.T) {
	tests := []struct {
		variant, want string
		is            error
		replaced      bool
	}{
		{"OK", "", nil, false},
		{"TRAP", "trap", nil, true},
		{"HUGE", "response too large (104857600 bytes", nil, false},
		{"NORESULT", "nothing pending", nil, true},
		{"OOB", "out of memory bounds", nil, true},
		{"LOOP", "render: timeout", ErrTimeout, true},
	}
	rt := newTestRuntime(t, nil)
	for _, tt := range tests {
		t.Run(tt.variant, func(t *testing.T) {
			r := load(t, rt, Config{Name: tt.variant, WasmPath: buildCGuest(t, tt.variant), Pool: 1, Timeout: 200 * time.Millisecond})
			if !r.guarded {
				t.Fatal("the C guest was not instrumented")
			}
			before := r.created.Load()
			_, err := r.Render(context.Background(), Request{Path: "/"})
			checkErr(t, err, tt.want, tt.is)
			if got := waitCreated(r, before, tt.replaced); got != tt.replaced {
				t.Errorf("instance replaced = %v, want %v", got, tt.replaced)
			}
		})
	}
}

// waitCreated waits until an instance replacement shows up (when one is
// expected) by taking an instance from the pool, which blocks until the
// background replacement is ready.
func waitCreated(r *wasmRenderer, before int64, _ bool) bool {
	inst, err := r.pool.get(context.Background())
	if err == nil {
		r.pool.put(inst)
	}
	return r.created.Load() > before
}

func TestStdoutLogged(t *testing.T) {
	rec := &logRecorder{}
	rt := newTestRuntime(t, slog.New(rec))
	r := load(t, rt, Config{Name: "misbehave", WasmPath: buildGoGuest(t, "testdata/misbehave"), Pool: 1})
	if _, err := r.Render(context.Background(), Request{Path: "/stdout"}); err != nil {
		t.Fatal(err)
	}
	r.Close(context.Background()) // flushes the unfinished "line three"
	got := rec.messages()
	for _, want := range []string{"line one", "line two", "line three"} {
		if !slices.Contains(got, want) {
			t.Errorf("logs %q lack %q", got, want)
		}
	}
}

func TestClosed(t *testing.T) {
	rt := newTestRuntime(t, nil)
	r := load(t, rt, Config{Name: "c", WasmPath: buildGoGuest(t, "testdata/misbehave"), Pool: 1})
	r.Close(context.Background())
	if _, err := r.Render(context.Background(), Request{Path: "/ok"}); !errors.Is(err, ErrClosed) {
		t.Errorf("Render after Close err = %v, want ErrClosed", err)
	}
}

// TestTimeoutAllProcsBusy runs more runaway renders at once than there are
// Ps: each must still time out, though no P is free for the timer (the
// guard's periodic exits to Go let the scheduler preempt the guests).
func TestTimeoutAllProcsBusy(t *testing.T) {
	for _, mode := range []struct {
		name string
		stop stopMode
	}{{"guard", stopAuto}, {"wazero", stopWazero}} {
		t.Run(mode.name, func(t *testing.T) {
			n := runtime.GOMAXPROCS(0) + 1
			rt := newTestRuntime(t, nil)
			r := load(t, rt, Config{Name: "loop", WasmPath: buildGoGuest(t, "testdata/misbehave"), Pool: n,
				Timeout: 100 * time.Millisecond, stop: mode.stop})
			errs := make(chan error, n)
			for range n {
				go func() {
					_, err := r.Render(context.Background(), Request{Path: "/loop"})
					errs <- err
				}()
			}
			for range n {
				if err := <-errs; !errors.Is(err, ErrTimeout) {
					t.Errorf("err = %v, want ErrTimeout", err)
				}
			}
		})
	}
}

// TestCancel stops a render when the caller's context is canceled.
func TestCancel(t *testing.T) {
	rt := newTestRuntime(t, nil)
	r := load(t, rt, Config{Name: "loop", WasmPath: buildGoGuest(t, "testdata/misbehave"), Pool: 1, Timeout: time.Hour})
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(50*time.Millisecond, cancel)
	if _, err := r.Render(ctx, Request{Path: "/loop"}); !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
}
