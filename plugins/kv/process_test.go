package kv

import (
	"context"
	"fmt"
	"reflect"
	"testing"

	"github.com/kilnhq/kiln/plugins/internal/plugintest"
	"github.com/kilnhq/kiln/sdk/plugin"
)

// TestProcess runs the plugin as a real process: Put through the Writer,
// the event arrives through Watch, and Import/Export work over gRPC.
func TestProcess(t *testing.T) {
	dir := t.TempDir()
	c := plugintest.Start(t, fmt.Sprintf(`{"dir":%q}`, dir))
	if got, want := c.Capabilities(), (plugin.Capabilities{Watch: true, Writable: true}); got != want {
		t.Errorf("capabilities = %+v, want %+v", got, want)
	}
	from := mustPut(t, c, "seed", `1`)
	w := plugintest.Watch(t, c, from)
	rev := mustPut(t, c, "post:hello-world", `{"title":"Hello ISR!"}`)
	if got, want := next(t, w, 1)[0], put(rev, "post:hello-world", `{"title":"Hello ISR!"}`); !reflect.DeepEqual(got, want) {
		t.Errorf("event = %+v, want %+v", got, want)
	}
	drev := mustDelete(t, c, "post:hello-world")
	if got, want := until(t, w, drev), []plugin.Event{del(drev, "post:hello-world")}; !reflect.DeepEqual(got, want) {
		t.Errorf("events = %+v, want %+v", got, want)
	}
	n, err := Import(context.Background(), c, importReader(100))
	if err != nil || n != 100 {
		t.Fatalf("import over gRPC: n = %d, err = %v", n, err)
	}
	if got := plugintest.ListPages(t, c, "post:", 30, true); len(got) != 4 || len(got[3]) != 10 {
		t.Errorf("reverse pages over gRPC: %d pages", len(got))
	}
	it, found, err := c.Get(context.Background(), "post:00042")
	if err != nil || !found || it.Revision == 0 {
		t.Errorf("get over gRPC = %+v, %v, %v", it, found, err)
	}
}
