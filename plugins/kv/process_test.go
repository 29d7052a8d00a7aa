package kv

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"reflect"
	"testing"

	"github.com/hashicorp/go-hclog"
	goplugin "github.com/hashicorp/go-plugin"

	"github.com/kilnhq/kiln/sdk/plugin"
)

// servePluginEnv makes the test binary serve the plugin instead of running
// tests, so a test can start a real plugin process (go-plugin's pattern).
const servePluginEnv = "KILN_TEST_SERVE_KV"

func TestMain(m *testing.M) {
	if os.Getenv(servePluginEnv) == "1" {
		plugin.Serve(New())
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// startProcess starts this test binary as a kv plugin process and returns
// the host-side client, configured with config.
func startProcess(t testing.TB, config string) *plugin.Client {
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
	if diags := c.Configure(context.Background(), []byte(config)); diags.HasErrors() {
		t.Fatal(diags)
	}
	return c
}

// TestProcess runs the plugin as a real process: Put through the Writer,
// the event arrives through Watch, and Import/Export work over gRPC.
func TestProcess(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a plugin process")
	}
	dir := t.TempDir()
	c := startProcess(t, fmt.Sprintf(`{"dir":%q}`, dir))
	if got, want := c.Capabilities(), (plugin.Capabilities{Watch: true, Writable: true}); got != want {
		t.Errorf("capabilities = %+v, want %+v", got, want)
	}
	from := mustPut(t, c, "seed", `1`)
	w := startWatch(t, c, from)
	rev := mustPut(t, c, "post:hello-world", `{"title":"Hello ISR!"}`)
	if got, want := w.next(t, 1)[0], put(rev, "post:hello-world", `{"title":"Hello ISR!"}`); !reflect.DeepEqual(got, want) {
		t.Errorf("event = %+v, want %+v", got, want)
	}
	drev := mustDelete(t, c, "post:hello-world")
	if got, want := w.until(t, drev), []plugin.Event{del(drev, "post:hello-world")}; !reflect.DeepEqual(got, want) {
		t.Errorf("events = %+v, want %+v", got, want)
	}
	n, err := Import(context.Background(), c, importReader(100))
	if err != nil || n != 100 {
		t.Fatalf("import over gRPC: n = %d, err = %v", n, err)
	}
	if got := listPages(t, c, "post:", 30, true); len(got) != 4 || len(got[3]) != 10 {
		t.Errorf("reverse pages over gRPC: %d pages", len(got))
	}
	it, found, err := c.Get(context.Background(), "post:00042")
	if err != nil || !found || it.Revision == 0 {
		t.Errorf("get over gRPC = %+v, %v, %v", it, found, err)
	}
}
