package markdown

import (
	"context"
	"os"
	"os/exec"
	"testing"

	"github.com/hashicorp/go-hclog"
	goplugin "github.com/hashicorp/go-plugin"

	"github.com/kilnhq/kiln/sdk/plugin"
)

// servePluginEnv makes the test binary serve the plugin instead of running
// tests, so a test can start a real plugin process (go-plugin's pattern).
const servePluginEnv = "KILN_TEST_SERVE_MARKDOWN"

func TestMain(m *testing.M) {
	if os.Getenv(servePluginEnv) == "1" {
		plugin.Serve(New())
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// startProcess starts this test binary as a markdown plugin process and
// returns the configured host-side client.
func startProcess(t *testing.T, config string) *plugin.Client {
	t.Helper()
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), servePluginEnv+"=1")
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
	c := raw.(*plugin.Client)
	if ds := c.Configure(context.Background(), []byte(config)); ds.HasErrors() {
		t.Fatal(ds)
	}
	return c
}

// TestProcess edits a file under a real plugin process and receives the
// change through Watch over gRPC.
func TestProcess(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a plugin process")
	}
	dir := blogDir(t)
	c := startProcess(t, dirConfig(dir))
	if got, want := c.Capabilities(), (plugin.Capabilities{Watch: true}); got != want {
		t.Errorf("capabilities = %+v, want %+v", got, want)
	}
	w := startWatch(t, c, 0)
	if ev := w.next(t); !ev.Bookmark || ev.Revision != 3 {
		t.Fatalf("first event = %+v, want a bookmark at 3", ev)
	}
	writeFile(t, dir, "hello-world.md", "---\ntitle: Hello ISR!\n---\n")
	if got, want := summarize(t, w.next(t)), (summary{4, "post:hello-world", "Hello ISR!", false}); got != want {
		t.Errorf("event = %+v, want %+v", got, want)
	}
	if got := listPages(t, c, "post:", 2, true); len(got) != 2 || got[0][0] != "post:preview" {
		t.Errorf("reverse pages over gRPC = %q", got)
	}
	it, found, err := c.Get(context.Background(), "post:hello-world")
	if err != nil || !found || it.Revision != 4 {
		t.Errorf("get over gRPC = %+v, %v, %v", it, found, err)
	}
}
