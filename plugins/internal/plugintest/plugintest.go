// Package plugintest has the helpers the built-in plugins' tests share:
// configure a source in-process, page through List, run Watch. (The
// plugins as real processes, through the engine's host client, are tested
// in engine/internal/pluginhost.)
package plugintest

import (
	"context"
	"io"
	"strconv"
	"testing"
	"time"

	"github.com/kilnhq/kiln/sdk/plugin"
)

// Configure configures src in this process with config, which must
// succeed, and closes src when the test ends if it has a Close method.
func Configure[S plugin.Source](t testing.TB, src S, config string) S {
	t.Helper()
	if ds := src.Configure(context.Background(), []byte(config)); ds.HasErrors() {
		t.Fatal(ds)
	}
	if c, ok := any(src).(io.Closer); ok {
		t.Cleanup(func() { c.Close() })
	}
	return src
}

// ListPages lists prefix page by page, following cursors to the end, and
// returns the keys of each page.
func ListPages(t testing.TB, src plugin.Source, prefix string, limit int, reverse bool) [][]string {
	t.Helper()
	req := plugin.ListRequest{Prefix: prefix, Limit: limit, Reverse: reverse}
	var pages [][]string
	for range 100 {
		page, err := src.List(context.Background(), req)
		if err != nil {
			t.Fatal(err)
		}
		var keys []string
		for _, it := range page.Items {
			keys = append(keys, it.Key)
		}
		pages = append(pages, keys)
		if page.Next == "" {
			return pages
		}
		req.Cursor = page.Next
	}
	t.Fatal("cursor never ended")
	return nil
}

// Watchable is the part of plugin.Source that Watch and Changes use.
type Watchable interface {
	Watch(ctx context.Context, from uint64, send func(plugin.Event) error) error
}

// Watcher runs a source's Watch in the background and queues its events.
type Watcher struct {
	events chan plugin.Event
	done   chan error
}

// Watch starts src.Watch(from) until the test ends.
func Watch(t testing.TB, src Watchable, from uint64) *Watcher {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	w := &Watcher{events: make(chan plugin.Event, 100), done: make(chan error, 1)}
	go func() {
		w.done <- src.Watch(ctx, from, func(ev plugin.Event) error {
			w.events <- ev
			return nil
		})
	}()
	t.Cleanup(cancel)
	return w
}

// Next waits for the next event; the timeout only guards against a hang.
func (w *Watcher) Next(t testing.TB) plugin.Event {
	t.Helper()
	select {
	case ev := <-w.events:
		return ev
	case err := <-w.done:
		t.Fatalf("watch ended: %v", err)
	case <-time.After(30 * time.Second):
		t.Fatal("no event")
	}
	return plugin.Event{}
}

// Changes runs src.Watch(from) until it sends revision upto and returns
// the events, described.
func Changes(t testing.TB, src Watchable, from, upto uint64) []string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var got []string
	err := src.Watch(ctx, from, func(ev plugin.Event) error {
		got = append(got, Describe(ev))
		if ev.Revision >= upto {
			cancel()
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// Describe formats an event as "key=value@rev", "key-@rev" (deleted) or
// "bookmark@rev".
func Describe(ev plugin.Event) string {
	rev := "@" + strconv.FormatUint(ev.Revision, 10)
	switch {
	case ev.Bookmark:
		return "bookmark" + rev
	case ev.Deleted:
		return ev.Key + "-" + rev
	}
	return ev.Key + "=" + string(ev.Value) + rev
}
