package postgres

import (
	"context"
	"testing"

	"github.com/kilnhq/kiln/plugins/internal/plugintest"
	"github.com/kilnhq/kiln/sdk/plugin"
)

// TestProcess runs the plugin as a real process: an UPDATE in the database
// arrives as an event through Watch over gRPC.
func TestProcess(t *testing.T) {
	db := newTestDB(t)
	c := plugintest.Start(t, db.config(`,"value_column":"title","key_prefix":"post:"`))
	if got, want := c.Capabilities(), (plugin.Capabilities{Watch: true}); got != want {
		t.Errorf("capabilities = %+v, want %+v", got, want)
	}
	db.insert(t, "hello-world")
	w := plugintest.Watch(t, c, 0)
	if ev := w.Next(t); !ev.Bookmark || ev.Revision != 1 {
		t.Fatalf("first event = %+v, want a bookmark at 1", ev)
	}
	db.exec(t, `UPDATE `+db.schema+`.posts SET title = 'Hello ISR!' WHERE slug = 'hello-world'`)
	if got, want := nextChange(t, w), (change{2, "post:hello-world", "Hello ISR!", false}); got != want {
		t.Errorf("event = %+v, want %+v", got, want)
	}
	it, found, err := c.Get(context.Background(), "post:hello-world")
	if err != nil || !found || string(it.Value) != "Hello ISR!" || it.Revision != 2 {
		t.Errorf("get over gRPC = %+v, %v, %v", it, found, err)
	}
	// A config error crosses the process boundary as a diagnostic.
	bad := `{"dsn":"` + testDSN + `","table":"no_such_table_kiln","key_column":"k"}`
	if ds := plugintest.Dial(t).Configure(context.Background(), []byte(bad)); !ds.HasErrors() || ds[0].Attribute != "table" {
		t.Errorf("diagnostics over gRPC = %v, want an error on table", ds)
	}
}
