package render

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// loadLazy loads the C guest that answers "ok" from a copy of its module
// in a temporary directory, without calling it.
func loadLazy(t *testing.T, cfg Config) (*wasmRenderer, string) {
	t.Helper()
	bin, err := os.ReadFile(buildCGuest(t, "OK"))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "ok.wasm")
	if err := os.WriteFile(path, bin, 0o644); err != nil {
		t.Fatal(err)
	}
	cfg.Name, cfg.WasmPath = "lazy", path
	r, err := newTestRuntime(t, nil).Load(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close(context.Background()) })
	return r.(*wasmRenderer), path
}

// TestLoadIsLazy checks Load keeps no module, pool or instance, and that
// renders arriving together before the first load share one load.
func TestLoadIsLazy(t *testing.T) {
	r, _ := loadLazy(t, Config{Pool: 1})
	if r.compiled != nil || r.pool != nil || r.created.Load() != 0 {
		t.Fatalf("after Load: compiled %v, pool %v, %d instances; want none", r.compiled, r.pool, r.created.Load())
	}
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			if _, err := r.Render(context.Background(), Request{Path: "/"}); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if got := r.created.Load(); got != 1 {
		t.Errorf("instances after 8 first renders with pool 1 = %d, want 1", got)
	}
	checkStats(t, r, "after the first renders", 1, 1)
}

// TestLazyLoadFails checks what a render gets when the module cannot be
// loaded: the module changed since Load, or the renderer was closed.
func TestLazyLoadFails(t *testing.T) {
	tests := []struct {
		name   string
		change func(t *testing.T, r *wasmRenderer, path string)
		want   string
		is     error
	}{
		{"module changed", func(t *testing.T, _ *wasmRenderer, path string) {
			if err := os.WriteFile(path, []byte("\x00asm\x01\x00\x00\x00"), 0o644); err != nil {
				t.Fatal(err)
			}
		}, "changed since kiln started", nil},
		{"module removed", func(t *testing.T, _ *wasmRenderer, path string) {
			if err := os.Remove(path); err != nil {
				t.Fatal(err)
			}
		}, "no such file", nil},
		{"closed", func(t *testing.T, r *wasmRenderer, _ string) {
			if err := r.Close(context.Background()); err != nil {
				t.Fatal(err)
			}
		}, "", ErrClosed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, path := loadLazy(t, Config{Pool: 1})
			tt.change(t, r, path)
			_, err := r.Render(context.Background(), Request{Path: "/a"})
			if err == nil || !strings.Contains(err.Error(), tt.want) || (tt.is != nil && !errors.Is(err, tt.is)) {
				t.Errorf("Render err = %v, want one containing %q", err, tt.want)
			}
			if r.created.Load() != 0 {
				t.Errorf("%d instances created, want 0", r.created.Load())
			}
		})
	}
}

// TestLazyLoadCanceled checks a render that gives up while the module
// loads leaves the load to finish for the next render.
func TestLazyLoadCanceled(t *testing.T) {
	r, _ := loadLazy(t, Config{Pool: 1})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	// The load may win the race with the canceled context; either way
	// there is one load and one instance.
	if _, err := r.Render(ctx, Request{Path: "/"}); err != nil && !errors.Is(err, context.Canceled) {
		t.Errorf("canceled Render err = %v, want context.Canceled", err)
	}
	if _, err := r.Render(context.Background(), Request{Path: "/"}); err != nil {
		t.Errorf("next Render: %v", err)
	}
	if got := r.created.Load(); got != 1 {
		t.Errorf("instances = %d, want 1", got)
	}
}

// TestLoadEagerKeepsTheModule checks an Eager renderer (kiln build's)
// keeps the module Load compiled: its first render reads nothing, so it
// renders even with the module file gone.
func TestLoadEagerKeepsTheModule(t *testing.T) {
	r, path := loadLazy(t, Config{Pool: 1, Eager: true})
	if r.compiled == nil || r.pool != nil {
		t.Fatalf("after an eager Load: compiled %v, pool %v; want a module and no pool", r.compiled, r.pool)
	}
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Render(context.Background(), Request{Path: "/"}); err != nil {
		t.Fatalf("first render with the module file gone: %v", err)
	}
	if got := r.created.Load(); got != 1 {
		t.Errorf("%d instances, want 1", got)
	}
}

// TestRelease checks when Release unloads a module, and that the next
// call loads it again.
func TestRelease(t *testing.T) {
	ctx := context.Background()
	r, _ := loadLazy(t, Config{Pool: 2})
	if r.Release(ctx) {
		t.Fatal("Release before any call = true, want false (nothing loaded)")
	}
	if _, err := r.Render(ctx, Request{Path: "/"}); err != nil {
		t.Fatal(err)
	}
	if err := r.module(ctx); err != nil { // a call in progress
		t.Fatal(err)
	}
	if r.Release(ctx) {
		t.Fatal("Release during a call = true, want false")
	}
	r.done()
	if !r.Release(ctx) {
		t.Fatal("Release once idle = false, want true")
	}
	if r.pool != nil || r.compiled != nil {
		t.Errorf("after Release: pool %v, compiled %v; want none (the cache is on disk)", r.pool, r.compiled)
	}
	if r.Release(ctx) {
		t.Error("Release twice = true, want false")
	}
	resp, err := r.Render(ctx, Request{Path: "/"})
	if err != nil {
		t.Fatalf("render after Release: %v", err)
	}
	if got := string(resp.Body); got != "ok" {
		t.Errorf("body after Release = %q, want %q", got, "ok")
	}
	if got := r.created.Load(); got != 2 {
		t.Errorf("instances created = %d, want 2 (one per load)", got)
	}
	if err := r.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if r.Release(ctx) {
		t.Error("Release after Close = true, want false")
	}
}

// TestReleaseWhileRendering releases a renderer over and over while
// renders run on it, in rounds: every render succeeds, on the module
// loaded before or after a release, and between rounds, with nothing
// running, Release always unloads.
func TestReleaseWhileRendering(t *testing.T) {
	ctx := context.Background()
	r, _ := loadLazy(t, Config{Pool: 2})
	during := 0
	for round := range 30 {
		var renders sync.WaitGroup
		for range 4 {
			renders.Go(func() {
				for range 3 {
					resp, err := r.Render(ctx, Request{Path: "/"})
					if err != nil {
						t.Error(err)
						return
					}
					if string(resp.Body) != "ok" {
						t.Errorf("body %q, want ok", resp.Body)
						return
					}
				}
			})
		}
		finished := make(chan struct{})
		go func() { renders.Wait(); close(finished) }()
	spin:
		for {
			select {
			case <-finished:
				break spin
			default:
				if r.Release(ctx) {
					during++
				}
			}
		}
		if !r.Release(ctx) && r.loaded {
			t.Fatalf("round %d: Release with nothing running = false, module loaded", round)
		}
	}
	t.Logf("%d releases during renders, %d instances created", during, r.created.Load())
}
