package postgres

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
const servePluginEnv = "KILN_TEST_SERVE_POSTGRES"

func TestMain(m *testing.M) {
	if os.Getenv(servePluginEnv) == "1" {
		plugin.Serve(New())
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// startProcess starts this test binary as a postgres plugin process and
// returns the configured host-side client.
func startProcess(t *testing.T, config string) *plugin.Client {
	t.Helper()
	c := dial(t)
	if ds := c.Configure(context.Background(), []byte(config)); ds.HasErrors() {
		t.Fatal(ds)
	}
	return c
}

// dial starts a plugin process and returns its unconfigured client.
func dial(t *testing.T) *plugin.Client {
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
	return raw.(*plugin.Client)
}

// TestProcess runs the plugin as a real process: an UPDATE in the database
// arrives as an event through Watch over gRPC.
func TestProcess(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a plugin process")
	}
	db := newTestDB(t)
	c := startProcess(t, db.config(`,"value_column":"title","key_prefix":"post:"`))
	if got, want := c.Capabilities(), (plugin.Capabilities{Watch: true}); got != want {
		t.Errorf("capabilities = %+v, want %+v", got, want)
	}
	db.insert(t, "hello-world")
	w := startWatch(t, c, 0)
	if ev := w.next(t); !ev.Bookmark || ev.Revision != 1 {
		t.Fatalf("first event = %+v, want a bookmark at 1", ev)
	}
	db.exec(t, `UPDATE `+db.schema+`.posts SET title = 'Hello ISR!' WHERE slug = 'hello-world'`)
	if got, want := w.nextChange(t), (change{2, "post:hello-world", "Hello ISR!", false}); got != want {
		t.Errorf("event = %+v, want %+v", got, want)
	}
	it, found, err := c.Get(context.Background(), "post:hello-world")
	if err != nil || !found || string(it.Value) != "Hello ISR!" || it.Revision != 2 {
		t.Errorf("get over gRPC = %+v, %v, %v", it, found, err)
	}
	// A config error crosses the process boundary as a diagnostic.
	bad := `{"dsn":"` + testDSN + `","table":"no_such_table_kiln","key_column":"k"}`
	if ds := dial(t).Configure(context.Background(), []byte(bad)); !ds.HasErrors() || ds[0].Attribute != "table" {
		t.Errorf("diagnostics over gRPC = %v, want an error on table", ds)
	}
}
