// Package plugintest runs a data-source plugin as a real process in its
// package's tests, the way go-plugin's own tests do: the test binary is
// started again with an environment variable set, and then serves the
// plugin instead of running tests.
package plugintest

import (
	"context"
	"io"
	"os"
	"os/exec"
	"strconv"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	goplugin "github.com/hashicorp/go-plugin"

	"github.com/kilnhq/kiln/sdk/plugin"
)

// serveEnv makes the test binary serve the plugin instead of running tests.
const serveEnv = "KILN_PLUGINTEST_SERVE"

// Main is the body of a plugin package's TestMain: in the process started
// by Dial it serves newSource(), otherwise it runs the tests.
func Main(m *testing.M, newSource func() plugin.Source) {
	if os.Getenv(serveEnv) == "1" {
		plugin.Serve(newSource())
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// Dial starts the test binary as a plugin process and returns its
// host-side client, not configured yet. The process is killed when the
// test ends. The package's TestMain must call Main. With -short the test
// is skipped.
func Dial(t testing.TB) *plugin.Client {
	t.Helper()
	if testing.Short() {
		t.Skip("starts a plugin process")
	}
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), serveEnv+"=1")
	client := goplugin.NewClient(&goplugin.ClientConfig{
		HandshakeConfig:  plugin.Handshake,
		VersionedPlugins: plugin.VersionedPlugins(),
		Cmd:              cmd,
		AllowedProtocols: []goplugin.Protocol{goplugin.ProtocolGRPC},
		Logger:           hclog.New(&hclog.LoggerOptions{Level: hclog.Warn, Output: os.Stderr}),
	})
	t.Cleanup(client.Kill)
	rpc, err := client.Client()
	if err != nil {
		t.Fatal(err)
	}
	raw, err := rpc.Dispense(plugin.PluginName)
	if err != nil {
		t.Fatal(err)
	}
	return raw.(*plugin.Client)
}

// Start is Dial followed by Configure with config, which must succeed.
func Start(t testing.TB, config string) *plugin.Client {
	t.Helper()
	c := Dial(t)
	if ds := c.Configure(context.Background(), []byte(config)); ds.HasErrors() {
		t.Fatal(ds)
	}
	return c
}

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
