package pluginhost

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	goplugin "github.com/hashicorp/go-plugin"

	"github.com/kilnhq/kiln/plugins/jsonfile"
	"github.com/kilnhq/kiln/plugins/kv"
	"github.com/kilnhq/kiln/plugins/markdown"
	"github.com/kilnhq/kiln/plugins/postgres"
	"github.com/kilnhq/kiln/sdk/plugin"
)

// serveEnv makes the test binary serve the named plugin instead of running
// tests, so every test talks to a real plugin process, as the engine does.
const serveEnv = "KILN_PLUGINHOST_SERVE"

var sources = map[string]func() plugin.Source{
	"jsonfile": jsonfile.New,
	"kv":       kv.New,
	"markdown": markdown.New,
	"postgres": postgres.New,
}

func TestMain(m *testing.M) {
	switch name := os.Getenv(serveEnv); name {
	case "":
	case "old":
		serveOld()
		os.Exit(0)
	default:
		plugin.Serve(sources[name]())
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// dial starts the test binary serving the named plugin and returns the
// host client, not configured yet. The process is killed when the test
// ends.
func dial(t testing.TB, name string, versions map[int]goplugin.PluginSet) (*Client, error) {
	t.Helper()
	if testing.Short() {
		t.Skip("starts a plugin process")
	}
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), serveEnv+"="+name)
	client := goplugin.NewClient(&goplugin.ClientConfig{
		HandshakeConfig:  plugin.Handshake,
		VersionedPlugins: versions,
		Cmd:              cmd,
		AllowedProtocols: []goplugin.Protocol{goplugin.ProtocolGRPC},
		GRPCDialOptions:  DialOptions(),
		Logger:           hclog.New(&hclog.LoggerOptions{Output: tWriter{t}, Level: hclog.Info}),
	})
	t.Cleanup(client.Kill)
	rpc, err := client.Client()
	if err != nil {
		return nil, err
	}
	raw, err := rpc.Dispense(plugin.PluginName)
	if err != nil {
		return nil, err
	}
	return raw.(*Client), nil
}

// start dials the named plugin and configures it with config, which must
// succeed.
func start(t testing.TB, name, config string) *Client {
	t.Helper()
	c, err := dial(t, name, VersionedPlugins())
	if err != nil {
		t.Fatal(err)
	}
	if ds := c.Configure(context.Background(), []byte(config)); ds.HasErrors() {
		t.Fatal(ds)
	}
	return c
}

type tWriter struct{ t testing.TB }

func (w tWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSuffix(string(p), "\n"))
	return len(p), nil
}

// watcher runs a Watch in the background and queues its events.
type watcher struct {
	events chan plugin.Event
	done   chan error
}

func watch(t testing.TB, c *Client, from uint64) *watcher {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	w := &watcher{events: make(chan plugin.Event, 100), done: make(chan error, 1)}
	go func() {
		w.done <- c.Watch(ctx, from, func(ev plugin.Event) error {
			w.events <- ev
			return nil
		})
	}()
	t.Cleanup(cancel)
	return w
}

// next waits for the next event; the timeout only guards against a hang.
func (w *watcher) next(t testing.TB) plugin.Event {
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

// describe formats an event as "key=value@rev", "key-@rev" or
// "bookmark@rev".
func describe(ev plugin.Event) string {
	switch {
	case ev.Bookmark:
		return fmt.Sprintf("bookmark@%d", ev.Revision)
	case ev.Deleted:
		return fmt.Sprintf("%s-@%d", ev.Key, ev.Revision)
	}
	return fmt.Sprintf("%s=%s@%d", ev.Key, ev.Value, ev.Revision)
}

// listPages lists prefix page by page and returns the keys of each page.
func listPages(t testing.TB, c *Client, prefix string, limit int, reverse bool) [][]string {
	t.Helper()
	req := plugin.ListRequest{Prefix: prefix, Limit: limit, Reverse: reverse}
	var pages [][]string
	for range 100 {
		page, err := c.List(context.Background(), req)
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
