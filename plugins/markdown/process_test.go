package markdown

import (
	"context"
	"testing"

	"github.com/kilnhq/kiln/plugins/internal/plugintest"
	"github.com/kilnhq/kiln/sdk/plugin"
)

// TestProcess edits a file under a real plugin process and receives the
// change through Watch over gRPC.
func TestProcess(t *testing.T) {
	dir := blogDir(t)
	c := plugintest.Start(t, dirConfig(dir))
	if got, want := c.Capabilities(), (plugin.Capabilities{Watch: true}); got != want {
		t.Errorf("capabilities = %+v, want %+v", got, want)
	}
	w := plugintest.Watch(t, c, 0)
	if ev := w.Next(t); !ev.Bookmark || ev.Revision != 3 {
		t.Fatalf("first event = %+v, want a bookmark at 3", ev)
	}
	writeFile(t, dir, "hello-world.md", "---\ntitle: Hello ISR!\n---\n")
	if got, want := summarize(t, w.Next(t)), (summary{4, "post:hello-world", "Hello ISR!", false}); got != want {
		t.Errorf("event = %+v, want %+v", got, want)
	}
	if got := plugintest.ListPages(t, c, "post:", 2, true); len(got) != 2 || got[0][0] != "post:preview" {
		t.Errorf("reverse pages over gRPC = %q", got)
	}
	it, found, err := c.Get(context.Background(), "post:hello-world")
	if err != nil || !found || it.Revision != 4 {
		t.Errorf("get over gRPC = %+v, %v, %v", it, found, err)
	}
}
