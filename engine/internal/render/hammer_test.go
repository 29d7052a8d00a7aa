package render

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestPoolHammer renders from many goroutines at once, mixing healthy
// renders with ones that break their instance, and checks every answer.
// Run it with -race.
func TestPoolHammer(t *testing.T) {
	if testing.Short() {
		t.Skip("hammer test")
	}
	rt := newTestRuntime(t, nil)
	r := load(t, rt, Config{Name: "hammer", WasmPath: buildGoGuest(t, "testdata/misbehave"), Pool: 3,
		Timeout: 100 * time.Millisecond})
	paths := []struct{ path, want string }{
		{"/ok", ""}, {"/ok", ""}, {"/ok", ""}, {"/panic", "panic: boom"}, {"/exit", "exited with code 3"},
		{"/ok", ""}, {"/crlf", "bad value"}, {"/loop", "render: timeout"},
	}
	const goroutines, iterations = 8, 12
	var wg sync.WaitGroup
	errs := make(chan error, goroutines*iterations)
	for g := range goroutines {
		wg.Go(func() {
			for i := range iterations {
				p := paths[(g+i)%len(paths)]
				resp, err := r.Render(context.Background(), Request{Path: p.path})
				if err := checkHammer(p.path, p.want, resp, err); err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if _, err := r.Render(context.Background(), Request{Path: "/ok"}); err != nil {
		t.Errorf("render after hammer: %v", err)
	}
}

func checkHammer(path, want string, resp *Response, err error) error {
	switch {
	case want == "" && (err != nil || string(resp.Body) != "ok"):
		return fmt.Errorf("%s = %v, %v; want ok", path, resp, err)
	case want != "" && (err == nil || !strings.Contains(err.Error(), want)):
		return fmt.Errorf("%s err = %v, want %q", path, err, want)
	}
	return nil
}

// TestCloseWhileRendering closes a renderer under load: every render
// either succeeds or fails with ErrClosed, and nothing hangs.
func TestCloseWhileRendering(t *testing.T) {
	rt := newTestRuntime(t, nil)
	r := load(t, rt, Config{Name: "closing", WasmPath: buildGoGuest(t, "testdata/misbehave"), Pool: 2})
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 20 {
				_, err := r.Render(context.Background(), Request{Path: "/exit"})
				if errors.Is(err, ErrClosed) {
					return
				}
			}
		})
	}
	time.Sleep(10 * time.Millisecond)
	if err := r.Close(context.Background()); err != nil {
		t.Error(err)
	}
	wg.Wait()
}
